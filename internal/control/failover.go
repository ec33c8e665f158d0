package control

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Failover is what the control API needs for account failover and the
// geo-redundancy controls.
type Failover interface {
	// Failover fails the account over and reports what it did.
	Failover(ctx context.Context, req FailoverRequest) (FailoverReport, error)
	// LastFailover is the latest report, nil before the first failover.
	LastFailover() *FailoverReport
	// Enable makes a locally redundant account geo-redundant again.
	Enable(ctx context.Context) error
	// SetSecondaryAvailable takes the secondary region down or back.
	SetSecondaryAvailable(available bool) error
	// SetLagModel sets how each write's replication lag is drawn, in the
	// syntax of geoblob serve --lag-model.
	SetLagModel(spec string, seed uint64) error
}

// ErrConflict is wrapped by a Failover error that the account's state
// causes (answered 409); any other error is a bad request (400).
var ErrConflict = errors.New("control: conflict with the account's state")

// Roles says which copy plays which role; part of ReplicationStatus.
type Roles struct {
	Epoch          uint64    `json:"epoch"`
	Primary        string    `json:"primary"`    // the copy serving the primary endpoint: a or b
	Redundancy     string    `json:"redundancy"` // RA-GRS, or LRS after an unplanned failover
	BootstrapUntil time.Time `json:"bootstrapUntil,omitzero"`
	SecondaryDown  bool      `json:"secondaryDown,omitempty"`
	Swapping       bool      `json:"swapping,omitempty"`
	LagModel       string    `json:"lagModel,omitempty"`
}

// FailoverRequest is the body of POST /_geoblob/failover.
type FailoverRequest struct {
	Type               string `json:"type"` // planned or unplanned
	KeepSecondaryReads bool   `json:"keepSecondaryReads,omitempty"`
}

// LostWrite is one write an unplanned failover lost.
type LostWrite struct {
	Op        string    `json:"op"`
	Account   string    `json:"account"`
	Container string    `json:"container,omitempty"`
	Blob      string    `json:"blob,omitempty"`
	ETag      string    `json:"etag,omitempty"`
	Bytes     int64     `json:"bytes,omitempty"`
	Committed time.Time `json:"committed"`
}

// FailoverReport is the answer of POST /_geoblob/failover.
type FailoverReport struct {
	Type          string      `json:"type"`
	At            time.Time   `json:"at"`
	From          string      `json:"from"`
	To            string      `json:"to"`
	Epoch         uint64      `json:"epoch"`
	RecoveryPoint time.Time   `json:"recoveryPoint"`
	Lost          []LostWrite `json:"lost"`
	LostBytes     int64       `json:"lostBytes"`
	Redundancy    string      `json:"redundancy"`
}

// SecondaryRequest is the body of PUT /_geoblob/replication/secondary.
type SecondaryRequest struct {
	Available bool `json:"available"`
}

// LagRequest is the body of PUT /_geoblob/replication/lag.
type LagRequest struct {
	Model string `json:"model"`
	Seed  uint64 `json:"seed,omitempty"`
}

func (h *handler) failoverError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrConflict) {
		status = http.StatusConflict
	}
	writeError(w, status, err.Error())
}

func (h *handler) failover(w http.ResponseWriter, r *http.Request) {
	f := h.cfg.Failover
	if f == nil {
		writeError(w, http.StatusNotFound, "failover is not available on this server")
		return
	}
	switch r.Method {
	case http.MethodGet:
		last := f.LastFailover()
		if last == nil {
			writeError(w, http.StatusNotFound, "no failover yet")
			return
		}
		writeJSON(w, http.StatusOK, last)
	case http.MethodPost:
		var req FailoverRequest
		if err := decodeStrict(http.MaxBytesReader(w, r.Body, maxBody), &req); err != nil {
			writeError(w, http.StatusBadRequest, "invalid body: "+err.Error()+`; want {"type": "planned|unplanned"}`)
			return
		}
		rep, err := f.Failover(r.Context(), req)
		if err != nil {
			h.failoverError(w, err)
			return
		}
		h.log.Warn("control API: account failover", "type", rep.Type, "from", rep.From, "to", rep.To, "lost", len(rep.Lost))
		writeJSON(w, http.StatusOK, rep)
	default:
		methodNotAllowed(w, "GET, POST")
	}
}

// geoRedundancy serves the replication endpoints of failover: enable,
// secondary and lag. It reports false for any other sub-path.
func (h *handler) geoRedundancy(w http.ResponseWriter, r *http.Request, sub string) bool {
	f := h.cfg.Failover
	switch sub {
	case "enable", "secondary", "lag":
	default:
		return false
	}
	if f == nil {
		writeError(w, http.StatusNotFound, "geo-redundancy controls are not available on this server")
		return true
	}
	var err error
	switch sub {
	case "enable":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return true
		}
		err = f.Enable(r.Context())
	case "secondary":
		if r.Method != http.MethodPut {
			methodNotAllowed(w, "PUT")
			return true
		}
		var req SecondaryRequest
		if derr := decodeStrict(http.MaxBytesReader(w, r.Body, maxBody), &req); derr != nil {
			writeError(w, http.StatusBadRequest, "invalid body: "+derr.Error()+`; want {"available": true|false}`)
			return true
		}
		err = f.SetSecondaryAvailable(req.Available)
	case "lag":
		if r.Method != http.MethodPut {
			methodNotAllowed(w, "PUT")
			return true
		}
		var req LagRequest
		if derr := decodeStrict(http.MaxBytesReader(w, r.Body, maxBody), &req); derr != nil {
			writeError(w, http.StatusBadRequest, "invalid body: "+derr.Error()+`; want {"model": "constant:D|jitter:B,J|tail:T[,B,P,M]|gpr", "seed": N}`)
			return true
		}
		err = f.SetLagModel(req.Model, req.Seed)
	}
	if err != nil {
		h.failoverError(w, err)
		return true
	}
	h.log.Info("control API: replication " + sub)
	writeJSON(w, http.StatusOK, h.cfg.Replication.Status())
	return true
}

// Failover fails the account over: "planned" or "unplanned".
func (c *Client) Failover(ctx context.Context, req FailoverRequest) (FailoverReport, error) {
	var rep FailoverReport
	return rep, c.do(ctx, http.MethodPost, "failover", req, &rep)
}

// LastFailover fetches the latest failover report.
func (c *Client) LastFailover(ctx context.Context) (FailoverReport, error) {
	var rep FailoverReport
	return rep, c.do(ctx, http.MethodGet, "failover", nil, &rep)
}

// EnableGeoRedundancy starts a new secondary from the current primary
// after an unplanned failover.
func (c *Client) EnableGeoRedundancy(ctx context.Context) (ReplicationStatus, error) {
	var st ReplicationStatus
	return st, c.do(ctx, http.MethodPost, "replication/enable", nil, &st)
}

// SetSecondaryAvailable takes the secondary region down (false) or back.
func (c *Client) SetSecondaryAvailable(ctx context.Context, available bool) (ReplicationStatus, error) {
	var st ReplicationStatus
	return st, c.do(ctx, http.MethodPut, "replication/secondary", SecondaryRequest{Available: available}, &st)
}

// SetLagModel sets the replication lag model.
func (c *Client) SetLagModel(ctx context.Context, model string, seed uint64) (ReplicationStatus, error) {
	var st ReplicationStatus
	return st, c.do(ctx, http.MethodPut, "replication/lag", LagRequest{Model: model, Seed: seed}, &st)
}
