package control

import (
	"context"
	"net/http"
)

// Versioning is the emulator's blob versioning setting, served at
// /_geoblob/versioning.
type Versioning interface {
	Versioning() bool
	SetVersioning(on bool)
}

// VersioningState is the body of GET and PUT /_geoblob/versioning.
type VersioningState struct {
	Enabled bool `json:"enabled"`
}

// versioning serves GET (the setting) and PUT (change it) of
// /_geoblob/versioning.
func (h *handler) versioning(w http.ResponseWriter, r *http.Request) {
	v := h.cfg.Versioning
	if v == nil {
		writeError(w, http.StatusNotFound, "versioning control is not available on this server")
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut:
		var req VersioningState
		if err := decodeStrict(http.MaxBytesReader(w, r.Body, maxBody), &req); err != nil {
			writeError(w, http.StatusBadRequest, "invalid body: "+err.Error()+`; want {"enabled": true|false}`)
			return
		}
		v.SetVersioning(req.Enabled)
		h.log.Info("control API: blob versioning set", "enabled", req.Enabled)
	default:
		methodNotAllowed(w, "GET, PUT")
		return
	}
	writeJSON(w, http.StatusOK, VersioningState{Enabled: v.Versioning()})
}

// Versioning reports whether blob versioning is on.
func (c *Client) Versioning(ctx context.Context) (VersioningState, error) {
	var st VersioningState
	return st, c.do(ctx, http.MethodGet, "versioning", nil, &st)
}

// SetVersioning turns blob versioning on or off.
func (c *Client) SetVersioning(ctx context.Context, enabled bool) (VersioningState, error) {
	var st VersioningState
	return st, c.do(ctx, http.MethodPut, "versioning", VersioningState{Enabled: enabled}, &st)
}
