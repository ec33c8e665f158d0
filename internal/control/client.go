package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/geoblob/geoblob/fault"
)

// APIError is an error answer of the control API.
type APIError struct {
	StatusCode int
	Message    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("control API: %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Client calls the control API of a geoblob server.
type Client struct {
	// BaseURL is the server, such as http://127.0.0.1:10000; a trailing
	// /_geoblob/ is accepted, and http:// is assumed without a scheme.
	BaseURL string
	// Token is sent as a bearer token when set.
	Token string
	// HTTP is the client used; http.DefaultClient when nil.
	HTTP *http.Client
}

// AddFault adds a rule and returns it as the server holds it.
func (c *Client) AddFault(ctx context.Context, r fault.Rule) (fault.RuleStatus, error) {
	var st fault.RuleStatus
	return st, c.do(ctx, http.MethodPost, "faults", r, &st)
}

// Faults lists the rules in evaluation order.
func (c *Client) Faults(ctx context.Context) ([]fault.RuleStatus, error) {
	var l FaultList
	err := c.do(ctx, http.MethodGet, "faults", nil, &l)
	return l.Faults, err
}

// RemoveFault deletes one rule.
func (c *Client) RemoveFault(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "faults/"+url.PathEscape(id), nil, nil)
}

// ClearFaults deletes every rule and returns how many there were.
func (c *Client) ClearFaults(ctx context.Context) (int, error) {
	var cl Cleared
	err := c.do(ctx, http.MethodDelete, "faults", nil, &cl)
	return cl.Cleared, err
}

// Replication reports the replication state.
func (c *Client) Replication(ctx context.Context) (ReplicationStatus, error) {
	var st ReplicationStatus
	return st, c.do(ctx, http.MethodGet, "replication", nil, &st)
}

// PauseReplication pauses replication.
func (c *Client) PauseReplication(ctx context.Context) (ReplicationStatus, error) {
	var st ReplicationStatus
	return st, c.do(ctx, http.MethodPost, "replication/pause", nil, &st)
}

// ResumeReplication resumes replication.
func (c *Client) ResumeReplication(ctx context.Context) (ReplicationStatus, error) {
	var st ReplicationStatus
	return st, c.do(ctx, http.MethodPost, "replication/resume", nil, &st)
}

// SetReplicationStatus sets the status the secondary reports: live,
// bootstrap or unavailable.
func (c *Client) SetReplicationStatus(ctx context.Context, status string) (ReplicationStatus, error) {
	var st ReplicationStatus
	return st, c.do(ctx, http.MethodPut, "replication/status", StatusRequest{Status: status}, &st)
}

// baseURL is BaseURL without a trailing /_geoblob/, with http:// added
// when it has no scheme (127.0.0.1:10000).
func (c *Client) baseURL() (string, error) {
	base := strings.TrimSpace(c.BaseURL)
	if base == "" {
		return "", errNoBaseURL
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	base = strings.TrimRight(base, "/")
	base = strings.TrimSuffix(base, strings.TrimSuffix(PathPrefix, "/"))
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("control: server URL %q: want http://HOST:PORT", c.BaseURL)
	}
	return strings.TrimRight(base, "/"), nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	base, err := c.baseURL()
	if err != nil {
		return err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("control: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+PathPrefix+path, body)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil || method != http.MethodGet {
		// The server requires it on every mutating request, body or not.
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the message already
		}
		return fmt.Errorf("control: cannot reach the geoblob server at %s: %w", base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("control: read answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var eb errorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
			eb.Error = string(b)
			if len(eb.Error) > 200 {
				eb.Error = strings.ToValidUTF8(eb.Error[:200], "") + "..."
			}
			if strings.TrimSpace(eb.Error) == "" {
				eb.Error = "no message (is this a geoblob server?)"
			}
		}
		// One line, whatever the server sent.
		return &APIError{StatusCode: resp.StatusCode, Message: strings.Join(strings.Fields(eb.Error), " ")}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("control: decode answer (is this a geoblob server?): %w", err)
	}
	return nil
}
