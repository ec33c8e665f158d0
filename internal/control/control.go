// Package control serves the emulator's control API under /_geoblob/: fault
// rules and replication controls as JSON over HTTP, and a Go client for it.
// The path cannot collide with a storage account, whose names hold only
// lowercase letters and digits.
//
// The API answers loopback clients only, unless a token is configured: then
// every client, loopback included, must present it as "Authorization:
// Bearer TOKEN" or "x-geoblob-control-token: TOKEN". Because a web page in
// a developer's browser can reach a loopback port, the API also refuses a
// Host that is neither a loopback name nor the listener's own address (DNS
// rebinding), a cross-site Origin, and a mutating request whose body is
// not declared application/json (which a cross-site form cannot send
// without a CORS preflight the API never grants). Refusals are 403, a wrong
// Content-Type 415. The endpoints are documented in docs/control-api.md.
package control

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/geoblob/geoblob/fault"
)

// PathPrefix is the root of the control API.
const PathPrefix = "/_geoblob/"

// TokenHeader is the alternative to "Authorization: Bearer" for the token.
const TokenHeader = "x-geoblob-control-token"

// maxBody caps a request body; a rule is a few hundred bytes.
const maxBody = 64 << 10

// Replication is what the control API needs from the replicator.
type Replication interface {
	Pause()
	Resume()
	// SetStatus sets the status the secondary reports: live, bootstrap or
	// unavailable. It returns an error for any other value.
	SetStatus(status string) error
	Status() ReplicationStatus
}

// ReplicationStatus is the state of geo-replication.
type ReplicationStatus struct {
	Status       string        // live, bootstrap or unavailable
	Paused       bool          // replication is paused
	LastSyncTime time.Time     // every write up to it is on the secondary
	Pending      int           // writes not yet on the secondary
	Lag          time.Duration // configured replication lag
	// Roles, when the server can fail over: which copy plays which role.
	Roles *Roles
}

type replicationJSON struct {
	Status       string    `json:"status"`
	Paused       bool      `json:"paused"`
	LastSyncTime time.Time `json:"lastSyncTime"`
	Pending      int       `json:"pending"`
	Lag          string    `json:"lag"`
	Roles        *Roles    `json:"roles,omitempty"`
}

// MarshalJSON writes the status with lag as a duration string.
func (s ReplicationStatus) MarshalJSON() ([]byte, error) {
	return json.Marshal(replicationJSON{Status: s.Status, Paused: s.Paused, LastSyncTime: s.LastSyncTime.UTC(), Pending: s.Pending, Lag: s.Lag.String(), Roles: s.Roles})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *ReplicationStatus) UnmarshalJSON(b []byte) error {
	var j replicationJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	lag, err := time.ParseDuration(j.Lag)
	if err != nil && j.Lag != "" {
		return fmt.Errorf("lag: %w", err)
	}
	*s = ReplicationStatus{Status: j.Status, Paused: j.Paused, LastSyncTime: j.LastSyncTime, Pending: j.Pending, Lag: lag, Roles: j.Roles}
	return nil
}

// Config configures the control API handler.
type Config struct {
	// Faults is the rule set the API edits; fault endpoints answer 404
	// when nil.
	Faults *fault.Set
	// Replication is controlled by the replication endpoints; they answer
	// 404 when nil.
	Replication Replication
	// Failover serves failover and the geo-redundancy controls; they
	// answer 404 when nil.
	Failover Failover
	// Versioning is the blob versioning setting (versioning.go); its
	// endpoint answers 404 when nil.
	Versioning Versioning
	// Token, when set, is required from every client, loopback included,
	// and admits non-loopback clients that present it.
	Token string
	// Logger receives one line per refused request and per change; nil
	// discards.
	Logger *slog.Logger
	// Mounts serves more handlers under PathPrefix behind the same access
	// checks: a key ending in "/" ("ui/") takes that subtree, any other
	// key one path. Handlers see the full request path. A token-less
	// browser refused on a mount is challenged (401, Basic) so that it
	// can send the token as the password.
	Mounts map[string]http.Handler
}

// FaultList is the body of GET /_geoblob/faults.
type FaultList struct {
	Faults []fault.RuleStatus `json:"faults"`
}

// Cleared is the body of DELETE /_geoblob/faults.
type Cleared struct {
	Cleared int `json:"cleared"`
}

// StatusRequest is the body of PUT /_geoblob/replication/status.
type StatusRequest struct {
	Status string `json:"status"`
}

// errorBody is every error answer.
type errorBody struct {
	Error string `json:"error"`
}

type handler struct {
	cfg     Config
	log     *slog.Logger
	hasTok  bool
	tokHash [sha256.Size]byte
}

// NewHandler returns the control API. Mount it at PathPrefix; it answers
// 404 for paths outside it.
func NewHandler(cfg Config) http.Handler {
	h := &handler{cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Token != "" {
		h.hasTok = true
		h.tokHash = sha256.Sum256([]byte(cfg.Token))
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	mount := h.mount(r.URL.Path)
	if msg := h.refuse(r); msg != "" {
		h.log.Warn("control API: request refused", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "reason", msg)
		// A browser that sent a wrong password is asked again: after a 403
		// it would keep sending the same one until it restarts.
		if _, presented := presentedToken(r); mount != nil && h.hasTok && (!presented || basicOnly(r)) {
			h.challenge(w, r, msg)
			return
		}
		writeError(w, http.StatusForbidden, msg)
		return
	}
	if mutating(r.Method) && !isJSON(r.Header.Get("Content-Type")) {
		h.log.Warn("control API: request refused", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "reason", "Content-Type is not application/json")
		writeError(w, http.StatusUnsupportedMediaType, "a "+r.Method+" to the control API must carry Content-Type: application/json")
		return
	}
	if msg := crossSiteBasic(r); msg != "" {
		h.log.Warn("control API: request refused", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "reason", msg)
		writeError(w, http.StatusForbidden, msg)
		return
	}
	if mount != nil {
		mount.ServeHTTP(w, r)
		return
	}
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, PathPrefix), "/")
	switch {
	case path == "faults":
		h.faults(w, r)
	case strings.HasPrefix(path, "faults/") && !strings.Contains(path[len("faults/"):], "/"):
		h.fault(w, r, path[len("faults/"):])
	case path == "replication":
		h.replication(w, r, "")
	case strings.HasPrefix(path, "replication/"):
		h.replication(w, r, path[len("replication/"):])
	case path == "failover":
		h.failover(w, r)
	case path == "versioning":
		h.versioning(w, r)
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no control endpoint %s", r.URL.Path))
	}
}

// refuse returns why r may not use the API, or "" when it may.
func (h *handler) refuse(r *http.Request) string {
	if !allowedHost(r) {
		return "the Host header must name a loopback address, localhost or the address the server listens on"
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
		return "cross-site requests are refused: the Origin is not this server"
	}
	tok, presented := presentedToken(r)
	if h.hasTok {
		if !presented {
			return "control token required: send Authorization: Bearer TOKEN or " + TokenHeader
		}
		sum := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(sum[:], h.tokHash[:]) != 1 {
			return "invalid control token"
		}
		return ""
	}
	if loopback(r) {
		return "" // a stray token from a loopback client is harmless
	}
	return "the control API is open to loopback clients only; start the server with --control-token to admit others"
}

// allowedHost reports whether r's Host names a loopback address, localhost
// (or a name under .localhost, which resolvers keep on loopback), or the
// address of the listener that accepted r. Any other name may be an
// attacker's domain rebound to this machine.
func allowedHost(r *http.Request) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ta, ok := la.(*net.TCPAddr); ok && ta.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether the Origin header o names the origin the
// request was sent to (scheme aside, since the emulator may sit behind TLS).
func sameOrigin(o, host string) bool {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false // includes "null"
	}
	return strings.EqualFold(u.Host, host)
}

// mutating reports whether method may change state.
func mutating(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// isJSON reports whether a Content-Type is application/json.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// challenge asks a browser for the token as a Basic password. A browser
// sends the credentials it is given, unasked, only to URLs under the
// directory of the URL that was challenged; the challenge is therefore
// made only at PathPrefix+"ui" and the like, whose directory is PathPrefix,
// so that the page's calls to the control API carry them too. A request
// deeper in a subtree mount is sent there first.
func (h *handler) challenge(w http.ResponseWriter, r *http.Request, msg string) {
	rest := strings.TrimPrefix(r.URL.Path, PathPrefix)
	if top, _, deeper := strings.Cut(rest, "/"); deeper {
		http.Redirect(w, r, PathPrefix+top, http.StatusFound)
		return
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="geoblob", charset="UTF-8"`)
	writeError(w, http.StatusUnauthorized, msg)
}

// crossSiteBasic refuses a state-changing request authenticated only by a
// Basic password unless its Origin is this server. A browser attaches the
// Basic credentials it holds to every request to the server, those a page
// of another site makes included; it always sends Origin with a POST or a
// DELETE.
func crossSiteBasic(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || !basicOnly(r) {
		return ""
	}
	if u, err := url.Parse(r.Header.Get("Origin")); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return ""
	}
	return "a " + r.Method + " authenticated with Basic credentials must come from a page of this server (Origin " + strconv.Quote(r.Header.Get("Origin")) + ")"
}

// basicOnly reports whether r presents the token as a Basic password (what
// a browser does) and in no other way.
func basicOnly(r *http.Request) bool {
	if r.Header.Get(TokenHeader) != "" {
		return false
	}
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Basic")
}

// mount returns the Config.Mounts handler for path, or nil.
func (h *handler) mount(path string) http.Handler {
	rest, ok := strings.CutPrefix(path, PathPrefix)
	if !ok {
		return nil
	}
	for k, m := range h.cfg.Mounts {
		if rest == k || (strings.HasSuffix(k, "/") && (strings.HasPrefix(rest, k) || rest+"/" == k)) {
			return m
		}
	}
	return nil
}

// presentedToken returns the token r carries: in TokenHeader, as a bearer
// token, or as the password of Basic authentication (what a browser sends
// after a challenge; the user name is ignored).
func presentedToken(r *http.Request) (string, bool) {
	if v := r.Header.Get(TokenHeader); v != "" {
		return v, true
	}
	if v := r.Header.Get("Authorization"); v != "" {
		scheme, tok, ok := strings.Cut(v, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok), true
		}
		if _, pass, ok := r.BasicAuth(); ok && pass != "" {
			return pass, true
		}
	}
	return "", false
}

func loopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (h *handler) faults(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Faults == nil {
		writeError(w, http.StatusNotFound, "fault injection is not available on this server")
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, FaultList{Faults: nonNil(h.cfg.Faults.List())})
	case http.MethodPost:
		rule, err := fault.DecodeRule(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		id, err := h.cfg.Faults.Add(rule)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		st, err := h.cfg.Faults.Get(id)
		if err != nil { // removed concurrently
			writeError(w, http.StatusConflict, err.Error())
			return
		}
		h.log.Info("control API: fault added", "id", id, "rule", rule.String())
		w.Header().Set("Location", PathPrefix+"faults/"+id)
		writeJSON(w, http.StatusCreated, st)
	case http.MethodDelete:
		n := h.cfg.Faults.Clear()
		h.log.Info("control API: faults cleared", "count", n)
		writeJSON(w, http.StatusOK, Cleared{Cleared: n})
	default:
		methodNotAllowed(w, "GET, POST, DELETE")
	}
}

func (h *handler) fault(w http.ResponseWriter, r *http.Request, id string) {
	if h.cfg.Faults == nil {
		writeError(w, http.StatusNotFound, "fault injection is not available on this server")
		return
	}
	switch r.Method {
	case http.MethodGet:
		st, err := h.cfg.Faults.Get(id)
		if err != nil {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, st)
	case http.MethodDelete:
		if err := h.cfg.Faults.Remove(id); err != nil {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		h.log.Info("control API: fault removed", "id", id)
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, "GET, DELETE")
	}
}

func (h *handler) replication(w http.ResponseWriter, r *http.Request, sub string) {
	rep := h.cfg.Replication
	if rep == nil {
		writeError(w, http.StatusNotFound, "replication control is not available on this server")
		return
	}
	switch sub {
	case "":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
	case "pause", "resume":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		if sub == "pause" {
			rep.Pause()
		} else {
			rep.Resume()
		}
		h.log.Info("control API: replication " + sub + "d")
	case "status":
		switch r.Method {
		case http.MethodGet:
		case http.MethodPut:
			var req StatusRequest
			if err := decodeStrict(http.MaxBytesReader(w, r.Body, maxBody), &req); err != nil {
				writeError(w, http.StatusBadRequest, "invalid body: "+err.Error()+`; want {"status": "live|bootstrap|unavailable"}`)
				return
			}
			if err := rep.SetStatus(req.Status); err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			h.log.Info("control API: replication status set", "status", req.Status)
		default:
			methodNotAllowed(w, "GET, PUT")
			return
		}
	default:
		if !h.geoRedundancy(w, r, sub) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no control endpoint %s", r.URL.Path))
		}
		return
	}
	writeJSON(w, http.StatusOK, rep.Status())
}

// decodeStrict decodes exactly one JSON value from r into v: no unknown
// fields, nothing after it.
func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			return errors.New("trailing data after the JSON value")
		}
		return nil
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("empty body")
	case errors.As(err, &mbe):
		return fmt.Errorf("larger than %d bytes", mbe.Limit)
	}
	return errors.New(strings.TrimPrefix(err.Error(), "json: "))
}

func nonNil(s []fault.RuleStatus) []fault.RuleStatus {
	if s == nil {
		return []fault.RuleStatus{}
	}
	return s
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method not allowed; use "+allow)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"cannot encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// errNoBaseURL is returned by a Client without a BaseURL.
var errNoBaseURL = errors.New("control: client has no BaseURL")
