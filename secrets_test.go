package geoblob_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/geoblob/geoblob"
)

func TestSecretsNeverLeak(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	var logs strings.Builder
	cfg := geoblob.DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.OnResponse = func(ev geoblob.ResponseEvent) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, ev.URL)
		if ev.Err != nil {
			seen = append(seen, ev.Err.Error())
		}
	}
	cfg.OnRetry = func(ev geoblob.RetryEvent) {
		if ev.Err != nil {
			mu.Lock()
			seen = append(seen, ev.Err.Error())
			mu.Unlock()
		}
	}
	f, c, _ := newFake(t, cfg)
	f.status[geoblob.Primary].Store(-1)
	f.status[geoblob.Secondary].Store(-1)
	_, err := read(c)
	if !errors.Is(err, geoblob.ErrBothUnavailable) {
		t.Fatalf("err = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	seen = append(seen, err.Error(), logs.String())
	if !strings.Contains(logs.String(), "both locations") {
		t.Fatalf("expected a log line, got %q", logs.String())
	}
	for _, s := range seen {
		if strings.Contains(s, "SECRETSIG") {
			t.Fatalf("signature leaked: %s", s)
		}
	}
}

// leakyTransport fails in ways that put secrets into error text.
type leakyTransport struct{ shape int }

const leakSecret = "S3CRETVALUE"

func (l leakyTransport) Do(req *http.Request) (*http.Response, error) {
	secondary := strings.Contains(req.URL.Host, "-secondary")
	if strings.Contains(req.URL.RawQuery, "comp=stats") {
		return nil, fmt.Errorf("stats: %w", &url.Error{Op: "Get", URL: req.URL.String(), Err: errors.New("refused")})
	}
	switch {
	case !secondary && l.shape == 0:
		return nil, &url.Error{Op: "Get", URL: req.URL.String(), Err: errors.New("connection refused")}
	case !secondary && l.shape == 1:
		return nil, fmt.Errorf("proxy: %w", &url.Error{Op: "Get", URL: req.URL.String(), Err: errors.New("reset")})
	case !secondary:
		return nil, errors.New("dial: Authorization: Bearer " + leakSecret)
	}
	body := "<?xml version=\"1.0\"?><Error><Code>ServerBusy</Code><Message>The MAC signature found in the HTTP request '" +
		leakSecret + "=' is not the same as any computed signature. sig=" + leakSecret + "</Message></Error>"
	h := http.Header{"Content-Type": {"application/xml"}, "X-Ms-Error-Code": {"ServerBusy"}}
	return &http.Response{StatusCode: 503, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req, ContentLength: int64(len(body))}, nil
}

// TestSecretsNeverLeakAnywhere: errors, every event and debug logs stay
// free of signatures and tokens, whatever shape the failure takes.
func TestSecretsNeverLeakAnywhere(t *testing.T) {
	for shape := range 3 {
		t.Run(fmt.Sprint("shape", shape), func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			note := func(s string) { mu.Lock(); seen = append(seen, s); mu.Unlock() }
			var logs strings.Builder
			cfg := geoblob.DefaultConfig()
			cfg.FailureThreshold = 2
			cfg.MaxStaleness = time.Hour
			cfg.Logger = slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
			cfg.OnResponse = func(ev geoblob.ResponseEvent) { note(fmt.Sprintf("%+v %v", ev, ev.Err)) }
			cfg.OnRetry = func(ev geoblob.RetryEvent) { note(fmt.Sprintf("%+v %v", ev, ev.Err)) }
			cfg.OnStateChange = func(ev geoblob.StateChange) { note(fmt.Sprintf("%+v", ev)) }
			o := &azblob.ClientOptions{}
			o.Transport = leakyTransport{shape}
			o.Retry = policy.RetryOptions{MaxRetries: -1}
			c, r, err := geoblob.NewClientWithNoCredential(fakeURL+"?sv=2024&sig="+leakSecret, cfg, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Close() })
			for range 4 {
				_, err := read(c)
				if err == nil {
					t.Fatal("read succeeded")
				}
				note(err.Error())
				var ge *geoblob.Error
				if errors.As(err, &ge) {
					note(ge.Error())
				}
			}
			r.Force(geoblob.Auto)
			_, err = r.Staleness(context.Background())
			note(fmt.Sprint(err))
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, logs.String())
			for _, s := range seen {
				if strings.Contains(s, leakSecret) {
					t.Fatalf("secret leaked: %s", s)
				}
			}
		})
	}
}
