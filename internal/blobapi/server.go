// Package blobapi is the emulator's Azure Blob Storage REST layer: it parses
// path-style requests (/ACCOUNT[-secondary]/CONTAINER/BLOB) and host-style
// ones (ACCOUNT[-secondary].blob.localhost/CONTAINER/BLOB), authorizes them
// through package auth, runs them against the primary or the secondary
// store.Store and answers with the XML bodies, headers and error codes of the
// Azure Blob REST API. The secondary is read-only: every write addressed to
// it is refused.
package blobapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/geoblob/geoblob/internal/auth"
	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/store"
)

// DefaultMaxBlobSize is the largest Put Blob or Put Block body accepted when
// Config.MaxBlobSize is zero.
const DefaultMaxBlobSize = 512 << 20

// Secondary write refusal. Real Azure answers a write sent to the
// -secondary endpoint of an RA-GRS account with 403 and the reason phrase
// "Write operations are not allowed." (seen in AzCopy logs quoted in
// microsoft/AzureStorageExplorer#4806); InsufficientAccountPermissions is the
// documented Azure Storage error code for an account that may not run the
// operation.
const (
	SecondaryWriteCode    = "InsufficientAccountPermissions"
	SecondaryWriteMessage = "Write operations are not allowed."
)

// Config configures a Server.
type Config struct {
	// Primary and Secondary hold the two copies of every account.
	Primary, Secondary *store.Store
	// Keys returns the decoded key of a known account.
	Keys func(account string) ([]byte, bool)
	// Stats reports the geo-replication status and last sync time of an
	// account, for Get Blob Service Stats on the secondary. When nil the
	// status is "live" and the last sync time is now.
	Stats func(account string) (status string, lastSync time.Time)
	// SKU is the x-ms-sku-name Get Account Information reports, such as
	// Standard_LRS after an unplanned failover; Standard_RAGRS when nil.
	SKU func(account string) string
	// Now is the time source; time.Now when nil.
	Now func() time.Time
	// Logger receives request errors; slog.Default when nil.
	Logger *slog.Logger
	// MaxBlobSize limits a single Put Blob or Put Block body; when zero,
	// DefaultMaxBlobSize.
	MaxBlobSize int64
	// MaxClockSkew bounds how far the request time of a Shared Key request
	// may be from Now: zero means auth.DefaultMaxClockSkew (15 minutes, as
	// in Azure), a negative value turns the check off.
	MaxClockSkew time.Duration
	// CopySourceTimeout bounds the fetch of an external copy source by a
	// From URL operation; DefaultCopySourceTimeout when zero.
	CopySourceTimeout time.Duration
	// OAuth accepts Microsoft Entra ID bearer tokens over HTTPS (see
	// auth.Bearer); without it a bearer token is refused.
	OAuth bool
}

// Server answers Blob service requests. It is safe for concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	settings settingsCache // settings.go
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBlobSize <= 0 {
		cfg.MaxBlobSize = DefaultMaxBlobSize
	}
	if cfg.Keys == nil {
		cfg.Keys = func(string) ([]byte, bool) { return nil, false }
	}
	return &Server{cfg: cfg, log: cfg.Logger}
}

// ServeHTTP answers a request for the primary (/ACCOUNT/... or
// ACCOUNT.blob.localhost) or the secondary (/ACCOUNT-secondary/... or
// ACCOUNT-secondary.blob.localhost).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serve(w, r, false) }

// SecondaryHandler returns the handler for the distinct secondary host,
// where every request addresses the secondary.
func (s *Server) SecondaryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, true) })
}

// call is one request being served.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	q     url.Values
	addr  Address
	st    *store.Store
	now   time.Time
	anon  bool        // no credentials: public access only
	auth  auth.Method // how the request was authenticated
	wrote bool
	tt    tagTierHeaders // tags.go
	hist  historyRef     // history.go
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, secondaryHost bool) {
	c := &call{s: s, w: w, r: r, now: s.cfg.Now()}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("blobapi: panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !c.wrote {
				c.fail(http.StatusInternalServerError, "InternalError", "The server encountered an internal error. Please retry the request.")
			}
		}
	}()
	if !s.checkHeaderSize(w, r) {
		return
	}
	azerr.SetCommonHeaders(w, r)
	// Names are matched without regard to case, exactly as Shared Key
	// signing reads them; this is the only place the query is parsed.
	q, err := auth.ParseQuery(r.URL.RawQuery)
	if err != nil {
		c.fail(http.StatusBadRequest, "InvalidQueryParameterValue", "The query string is malformed: "+err.Error())
		return
	}
	c.q = q
	addr, err := parseAddress(r.Host, r.URL.Path, q, secondaryHost)
	if err != nil && r.Method == http.MethodOptions {
		addr, err = preflightAddress(r.Host, r.URL.Path, secondaryHost)
	}
	if err != nil {
		if ae, ok := asAddressError(err); ok {
			c.fail(http.StatusBadRequest, ae.Code, ae.Message)
		} else {
			c.fail(http.StatusBadRequest, "InvalidUri", err.Error())
		}
		return
	}
	c.addr = addr
	key, ok := s.cfg.Keys(addr.Account)
	if !ok && r.Method == http.MethodOptions {
		c.preflight() // no account, no rules: not an authentication failure
		return
	}
	if !ok {
		c.fail(http.StatusForbidden, "AuthenticationFailed", fmt.Sprintf("The account %s does not exist in this emulator.", addr.Account))
		return
	}
	c.st = s.cfg.Primary
	if addr.Location == Secondary {
		c.st = s.cfg.Secondary
	}
	if r.Method == http.MethodOptions {
		c.preflight() // cors.go: before authentication, as Azure
		return
	}
	c.w = c.corsWrap(w)
	if !s.checkVersion(c.w, r) { // version.go
		c.wrote = true
		return
	}
	o, code, msg := route(r.Method, q, addr)
	if o == nil {
		status := http.StatusBadRequest
		if code == "UnsupportedHttpVerb" {
			status = http.StatusMethodNotAllowed
		}
		c.fail(status, code, msg)
		return
	}
	o = fromURLOp(o, r.Header)
	if !c.authorize(o, key) {
		return
	}
	if len(r.Header["X-Ms-Version"]) == 0 && !c.q.Has("sig") {
		// A request without x-ms-version (an anonymous one) is served at
		// the account's DefaultServiceVersion when one is set, as Azure
		// does; a SAS request's version is its sv instead. Set after
		// authorization: a signature covers the headers the client sent.
		if v := s.settings.get(c.st, addr.Account).version; v != "" {
			r.Header["X-Ms-Version"] = []string{v}
			c.w.Header()["X-Ms-Version"] = []string{v}
		}
	}
	if o.write && addr.Location == Secondary {
		c.fail(http.StatusForbidden, SecondaryWriteCode, SecondaryWriteMessage)
		return
	}
	if c.refuseUnmodelled(o) || !c.parseTagTierHeaders(o) {
		return
	}
	o.run(c)
}

// fail writes an Azure error response.
func (c *call) fail(status int, code, msg string, details ...azerr.Detail) {
	c.wrote = true
	// A handler may have prepared success headers before failing.
	c.w.Header().Del("Content-Length")
	if status >= 500 {
		c.s.log.Error("blobapi: request failed", "method", c.r.Method, "path", c.r.URL.Path, "status", status, "code", code)
	} else {
		c.s.log.Debug("blobapi: request failed", "method", c.r.Method, "path", c.r.URL.Path, "status", status, "code", code)
	}
	azerr.Write(c.w, c.r, status, code, msg, details...)
}

// badQuery answers 400 for an invalid query parameter value.
func (c *call) badQuery(name, value, reason string) {
	c.fail(http.StatusBadRequest, "InvalidQueryParameterValue",
		"Value for one of the query parameters specified in the request URI is invalid.",
		azerr.NewDetail("QueryParameterName", name), azerr.NewDetail("QueryParameterValue", value), azerr.NewDetail("Reason", reason))
}

// badHeader answers 400 for an invalid header value.
func (c *call) badHeader(name, value string) {
	c.fail(http.StatusBadRequest, "InvalidHeaderValue",
		"The value for one of the HTTP headers is not in the correct format.",
		azerr.NewDetail("HeaderName", name), azerr.NewDetail("HeaderValue", value))
}

// missingHeader answers 400 for a required header that is absent.
func (c *call) missingHeader(name string) {
	c.fail(http.StatusBadRequest, "MissingRequiredHeader",
		"An HTTP header that's mandatory for this request is not specified.",
		azerr.NewDetail("HeaderName", name))
}

// storeErr answers with the HTTP status Azure uses for a store error.
func (c *call) storeErr(err error) {
	if errors.Is(err, store.ErrNotModified) {
		c.wrote = true
		azerr.Write(c.w, c.r, http.StatusNotModified, store.ErrNotModified.Code, "")
		return
	}
	if errors.Is(err, store.ErrCorruptContent) {
		// Real damage on the server's disk, logged by the store.
		c.fail(http.StatusInternalServerError, "InternalError", "The blob's content is missing or damaged in the server's data directory; see the server log.")
		c.s.log.Error("blobapi: damaged content", "err", err)
		return
	}
	var se *store.Error
	if !errors.As(err, &se) {
		c.fail(http.StatusInternalServerError, "InternalError", "The server encountered an internal error. Please retry the request.")
		c.s.log.Error("blobapi: store error", "err", err)
		return
	}
	c.fail(statusFor(se.Code), se.Code, se.Message)
}

func statusFor(code string) int {
	switch code {
	case "ContainerNotFound", "BlobNotFound", "CannotVerifyCopySource", "ResourceNotFound":
		return http.StatusNotFound
	case "PreviousSnapshotNotFound":
		return http.StatusConflict
	case "OperationNotAllowedOnRootBlob":
		return http.StatusForbidden
	case "ConditionNotMet", "SourceConditionNotMet", "AppendPositionConditionNotMet", "SequenceNumberConditionNotMet", "MaxBlobSizeConditionNotMet", "LeaseIdMissing", "LeaseIdMismatchWithBlobOperation",
		"LeaseNotPresentWithBlobOperation", "LeaseIdMismatchWithContainerOperation", "LeaseNotPresentWithContainerOperation":
		return http.StatusPreconditionFailed
	case "ContainerAlreadyExists", "BlobAlreadyExists", "ContainerBeingDeleted", "LeaseAlreadyPresent",
		"LeaseIdMismatchWithLeaseOperation", "LeaseNotPresentWithLeaseOperation", "LeaseIsBrokenAndCannotBeRenewed",
		"LeaseIsBreakingAndCannotBeAcquired", "LeaseIsBreakingAndCannotBeChanged", "BlockCountExceedsLimit",
		"PendingCopyOperation", "LeaseLost", "SnapshotCountExceeded", "SnapshotsPresent", store.ErrStagedBytesExceeded.Code, "InvalidBlobType", "BlobIsSealed", "BlobArchived", "BlobBeingRehydrated":
		return http.StatusConflict
	case "InvalidRange", "InvalidPageRange":
		return http.StatusRequestedRangeNotSatisfiable
	}
	return http.StatusBadRequest
}

// ok writes the success status with the standard headers already set.
func (c *call) ok(status int) {
	c.wrote = true
	c.w.WriteHeader(status)
}

// serviceEndpoint is the ServiceEndpoint attribute of listings.
func (c *call) serviceEndpoint() string {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	if c.addr.hostStyle {
		return scheme + "://" + c.r.Host + "/"
	}
	acct := c.addr.Account
	if c.addr.pathSecondary {
		acct += SecondarySuffix
	}
	return scheme + "://" + c.r.Host + "/" + acct + "/"
}

func hasToken(list, tok string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), tok) {
			return true
		}
	}
	return false
}
