// Package emulator runs a geo-redundant Azure Blob Storage endpoint pair in
// process: a read/write primary and a read-only secondary that receives
// every write asynchronously, in commit order, after a configurable lag.
//
// It speaks the Blob REST API path-style, like Azurite:
//
//	http://HOST:PORT/ACCOUNT/CONTAINER/BLOB            the primary
//	http://HOST:PORT/ACCOUNT-secondary/CONTAINER/BLOB  the secondary
//	http://HOST:SECONDARY_PORT/ACCOUNT/CONTAINER/BLOB  the secondary, as a distinct host
//
// so the official SDKs, the development account and UseDevelopmentStorage=true
// work unchanged. It also speaks it host-style, as real accounts are
// addressed (HostStyleURL), over HTTPS (Options.TLS, NewCertificate) and
// with Entra ID bearer tokens (Options.OAuth, DevTokenCredential):
//
//	http(s)://ACCOUNT.blob.localhost:PORT/CONTAINER/BLOB            the primary
//	http(s)://ACCOUNT-secondary.blob.localhost:PORT/CONTAINER/BLOB  the secondary
//
// Fault injection (Faults) and replication controls (Replication) are
// built in, and reachable over HTTP under /_geoblob/ for loopback clients.
//
// Each listener is a host. A refuse rule on the primary takes the primary
// listener down, path-style and host-style secondary requests on it
// included; the distinct secondary listener keeps serving. The control API
// stays reachable on a refused listener.
//
// Start a pair for a test:
//
//	emu, err := emulator.Start(ctx, emulator.Options{Lag: time.Second})
//	if err != nil { ... }
//	defer emu.Close()
//	client, err := azblob.NewClientFromConnectionString(emu.ConnectionString(), nil)
package emulator

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/blobapi"
	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/connlimit"
	"github.com/geoblob/geoblob/internal/control"
	"github.com/geoblob/geoblob/internal/durable"
	"github.com/geoblob/geoblob/internal/location"
	"github.com/geoblob/geoblob/internal/store"
)

// The published development account, as Azurite and the Azure SDKs know it.
const (
	DevAccountName = "devstoreaccount1"
	DevAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Clock is the time source of the emulator: replication lag, lease expiry
// and Last-Modified all read it. NewManualClock returns one for tests.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time once d has passed
	// on this clock.
	After(d time.Duration) <-chan time.Time
}

// ManualClock is a Clock that moves only when told to, for tests that must
// not depend on timing. It is safe for concurrent use.
type ManualClock struct{ m *clock.Manual }

// NewManualClock returns a ManualClock reading t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{m: clock.NewManual(t)} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time { return c.m.Now() }

// After returns a channel that receives the clock's time once it has been
// moved d or more past now.
func (c *ManualClock) After(d time.Duration) <-chan time.Time { return c.m.After(d) }

// Advance moves the clock forward by d, firing every timer that falls due.
func (c *ManualClock) Advance(d time.Duration) { c.m.Advance(d) }

// Set moves the clock to t if t is later than its time, firing every timer
// that falls due; an earlier t is ignored.
func (c *ManualClock) Set(t time.Time) { c.m.Set(t) }

// Account is a storage account the emulator serves.
type Account struct {
	Name string
	Key  string // base64, as in a connection string
}

// Options configure an emulator. The zero value serves the development
// account on ephemeral loopback ports with no replication lag.
type Options struct {
	// Host to listen on; "127.0.0.1" when empty.
	Host string
	// Port of the primary listener (which also serves the secondary
	// path-style); 0 picks a free port.
	Port int
	// SecondaryPort of the distinct secondary listener; 0 picks a free port.
	SecondaryPort int
	// NoSecondaryListener skips the distinct secondary listener: the
	// secondary is then reachable only path-style, at /ACCOUNT-secondary.
	NoSecondaryListener bool
	// Lag is how long after a write commits on the primary it becomes
	// visible on the secondary.
	Lag time.Duration
	// LagModel, when set, draws each write's lag from a distribution
	// instead (ConstantLag, JitterLag, TailLag, ParseLagModel); Lag is then
	// only how far LastSyncTime trails the clock while nothing is pending.
	LagModel LagModel
	// SwapDuration is how long, on Clock, a planned failover keeps writes
	// refused while it swaps the roles; 0 swaps at once.
	SwapDuration time.Duration
	// BootstrapDuration is how long, on Clock, a secondary built by
	// Replication().Enable bootstraps before it goes live;
	// DefaultBootstrapDuration when 0, none when negative.
	BootstrapDuration time.Duration
	// Accounts served; the development account when empty.
	Accounts []Account
	// Clock drives lag and timestamps; the system clock when nil.
	Clock Clock
	// ControlToken, when set, is required from every client of the control
	// API, loopback included, and lets non-loopback clients in. Without it
	// only loopback clients may use the API.
	ControlToken string
	// Logger receives request and lifecycle logs; discarded when nil.
	Logger *slog.Logger
	// MaxBlobSize caps a single upload body (Put Blob, Put Block); 0 means
	// the default of 5000 MiB. Put Block is further capped at Azure's
	// 4000 MiB.
	MaxBlobSize int64
	// MaxClockSkew is how far the request time (x-ms-date or Date) of a
	// Shared Key request may be from the emulator clock, as Azure allows 15
	// minutes; older or later requests are refused with 403
	// AuthenticationFailed. Zero means 15 minutes with the system clock,
	// and no check when Clock is set, because the SDKs sign with the wall
	// clock, which a test clock does not follow; set it explicitly to check
	// against a test clock. A negative value turns the check off.
	MaxClockSkew time.Duration
	// MaxStagedBytes caps the uncommitted block bytes each account may hold
	// on the primary; 0 means DefaultMaxStagedBytes (8 GiB), negative
	// means no cap. Put Block beyond it answers 409.
	MaxStagedBytes int64
	// MaxSupersededBytes bounds the overwritten or deleted blob versions
	// that replication keeps alive while it lags or is paused; 0 means
	// 32 MiB, negative means no bound. Beyond it, pending writes of one
	// blob are coalesced into its newest state (the secondary may show a
	// newer state early, never an older one than LastSyncTime promises;
	// internal/replica documents the rule).
	MaxSupersededBytes int64
	// RehydrateDelay is how long rehydrating a blob from the Archive tier
	// (Set Blob Tier) takes on Clock; 0 means DefaultRehydrateDelay,
	// negative means at once. Until then the blob reports
	// x-ms-archive-status rehydrate-pending-to-<tier> and cannot be read.
	RehydrateDelay time.Duration
	// Versioning enables blob versioning on every account from the start:
	// each write that makes a new version of a blob gives it an
	// x-ms-version-id and keeps the version it replaces, readable and
	// deletable by versionid and listed with include=versions.
	// SetVersioning (and the control API's /_geoblob/versioning) changes
	// it while the emulator runs; a restart takes this value again.
	Versioning bool
	// DataDir, when set, keeps every container, blob, uncommitted block,
	// lease, service property, the secondary's replica with its
	// replication position, and the roles that failovers and
	// Replication().Enable leave (RoleState) in that directory (package
	// internal/durable describes the format and its guarantees): a write
	// is acknowledged only once it is durable, blob bytes live in files
	// rather than memory, and a later emulator on the same directory
	// resumes where this one stopped. The directory is locked while the
	// emulator runs.
	// Empty keeps everything in memory.
	DataDir string

	// Connection limits, applied to the listeners Start opens (a server of
	// your own around Handler sets its own). For each timeout 0 means its
	// default and a negative value means none.
	//
	// ReadHeaderTimeout bounds reading a request's headers
	// (DefaultReadHeaderTimeout).
	ReadHeaderTimeout time.Duration
	// ReadTimeout is how long a request body may stop arriving before the
	// request is dropped (DefaultReadTimeout). It runs from the last bytes
	// received, not from the start, so a large upload that keeps moving is
	// never cut off.
	ReadTimeout time.Duration
	// WriteTimeout is how long a client may stop accepting a response
	// before it is dropped (DefaultWriteTimeout), again from the last bytes
	// sent.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that waits this long for
	// its next request (DefaultIdleTimeout).
	IdleTimeout time.Duration
	// TLS, when set, makes both listeners serve HTTPS with this
	// configuration (its Certificates or GetCertificate); URLs and the
	// connection string then say https. NewCertificate makes a throwaway
	// one for tests, and HTTPClient returns a client that trusts it.
	TLS *tls.Config
	// OAuth accepts Microsoft Entra ID bearer tokens (Authorization:
	// Bearer) besides Shared Key and SAS, over HTTPS only as in Azure: Start
	// needs TLS with it, and a token sent over plain HTTP (to Handler served
	// without TLS) is refused. The token's shape, audience, issuer and
	// lifetime are checked but not its signature, and every valid token may
	// do everything (no Azure RBAC); see the README. Without it bearer
	// tokens are refused.
	OAuth bool

	// MaxConns caps the connections open at once across the listeners
	// (DefaultMaxConns when 0; negative means no cap). At the cap a new
	// connection closes the one idle longest, so idle clients cannot lock
	// busy ones out; only when every connection is serving a request is
	// the new one refused. Reaching the cap is logged, rate-limited.
	MaxConns int
}

// Defaults of the connection limits in Options.
const (
	DefaultReadHeaderTimeout = 20 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 30 * time.Second
	DefaultMaxConns          = 512
	// DefaultMaxStagedBytes is the cap on uncommitted block bytes per
	// account when Options.MaxStagedBytes is 0.
	DefaultMaxStagedBytes = store.DefaultMaxStagedBytes
	// DefaultRehydrateDelay is how long a rehydration from Archive takes
	// when Options.RehydrateDelay is 0.
	DefaultRehydrateDelay = store.DefaultRehydrateDelay
	// DefaultBootstrapDuration is Options.BootstrapDuration when 0.
	DefaultBootstrapDuration = 10 * time.Second
)

// orDefault resolves an Options duration: 0 is def, negative is none (0).
func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// ErrInvalidOptions is wrapped by every error New returns for bad Options.
var ErrInvalidOptions = errors.New("emulator: invalid options")

// Validate reports the first problem with o.
func (o Options) Validate() error {
	if o.Lag < 0 {
		return fmt.Errorf("%w: negative lag %v", ErrInvalidOptions, o.Lag)
	}
	if o.SwapDuration < 0 {
		return fmt.Errorf("%w: negative swap duration %v", ErrInvalidOptions, o.SwapDuration)
	}
	if o.Port < 0 || o.Port > 65535 || o.SecondaryPort < 0 || o.SecondaryPort > 65535 {
		return fmt.Errorf("%w: port out of range", ErrInvalidOptions)
	}
	if o.TLS != nil && len(o.TLS.Certificates) == 0 && o.TLS.GetCertificate == nil && o.TLS.GetConfigForClient == nil {
		return fmt.Errorf("%w: TLS configuration without a certificate", ErrInvalidOptions)
	}
	if o.Port != 0 && o.Port == o.SecondaryPort && !o.NoSecondaryListener {
		return fmt.Errorf("%w: primary and secondary port are both %d", ErrInvalidOptions, o.Port)
	}
	seen := map[string]bool{}
	for _, a := range o.Accounts {
		if err := ValidateAccountName(a.Name); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
		}
		if seen[a.Name] {
			return fmt.Errorf("%w: account %q given twice", ErrInvalidOptions, a.Name)
		}
		seen[a.Name] = true
		if k, err := base64.StdEncoding.DecodeString(a.Key); err != nil || len(k) == 0 {
			return fmt.Errorf("%w: key of account %q is not valid base64", ErrInvalidOptions, a.Name)
		}
	}
	return nil
}

// ValidateAccountName checks the Azure rule: 3 to 24 lowercase letters and
// digits.
func ValidateAccountName(name string) error {
	if len(name) < 3 || len(name) > 24 {
		return fmt.Errorf("account name %q must be 3 to 24 characters", name)
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return fmt.Errorf("account name %q may hold only lowercase letters and digits", name)
		}
	}
	return nil
}

// ParseAccount parses NAME:BASE64KEY, as given to geoblob serve --account.
func ParseAccount(s string) (Account, error) {
	name, key, ok := strings.Cut(s, ":")
	if !ok || name == "" || key == "" {
		return Account{}, fmt.Errorf("account %q: want NAME:BASE64KEY", redactAccountArg(s))
	}
	a := Account{Name: name, Key: key}
	if err := ValidateAccountName(name); err != nil {
		return Account{}, err
	}
	if _, err := base64.StdEncoding.DecodeString(key); err != nil {
		return Account{}, fmt.Errorf("account %q: key is not valid base64", name)
	}
	return a, nil
}

func redactAccountArg(s string) string {
	if name, _, ok := strings.Cut(s, ":"); ok {
		return name + ":REDACTED"
	}
	return s
}

// Emulator is a running (or, from New, ready-to-serve) emulator.
type Emulator struct {
	opts      Options
	log       *slog.Logger
	keys      map[string][]byte
	primary   *store.Store
	secondary *store.Store
	roles     *roles // which copy plays which role (roles.go)
	// versioning is shared by every copy, so a promoted copy versions as
	// the primary did.
	versioning *store.VersioningSwitch
	faults     *fault.Set
	api        *blobapi.Server
	handler    http.Handler
	secondH    http.Handler
	obs        observer           // metrics and dashboard (observe.go)
	limiter    *connlimit.Limiter // nil when MaxConns is negative

	db   *durable.DB // nil without a data directory
	boot *bootRoles  // the roles restored from the data directory, for newRoles

	cancel  context.CancelFunc
	done    chan struct{}
	servers []*http.Server
	wg      sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	fresh       map[net.Conn]struct{} // accepted connections that have not sent a request yet
	primaryAddr string
	secondAddr  string
}

// New builds an emulator without listening anywhere: serve Handler (and
// SecondaryHandler) yourself, for example with httptest. Close stops its
// replication.
func New(opts Options) (*Emulator, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if len(opts.Accounts) == 0 {
		opts.Accounts = []Account{{Name: DevAccountName, Key: DevAccountKey}}
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	skew := opts.MaxClockSkew
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	} else if skew == 0 {
		skew = -1
	}
	if opts.MaxBlobSize == 0 {
		opts.MaxBlobSize = 5000 << 20
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Emulator{opts: opts, log: log, keys: map[string][]byte{}, done: make(chan struct{}), versioning: &store.VersioningSwitch{}}
	e.versioning.Set(opts.Versioning)
	for _, a := range opts.Accounts {
		k, _ := base64.StdEncoding.DecodeString(a.Key)
		e.keys[a.Name] = k
	}
	now := opts.Clock.Now
	// Copies "a" (first primary) and "b"; a failover swaps their roles.
	var pending []store.Change
	var since time.Time
	if opts.DataDir != "" {
		var err error
		if pending, since, err = e.openDataDir(); err != nil {
			return nil, err
		}
	} else {
		e.primary, e.secondary = e.newCopy(nil, nil), e.newCopy(nil, nil)
	}
	e.faults = fault.NewSet(fault.WithTimeSource(opts.Clock))
	e.api = blobapi.New(blobapi.Config{
		Primary:   e.primary,
		Secondary: e.secondary,
		Keys: func(name string) ([]byte, bool) {
			k, ok := e.keys[name]
			return k, ok
		},
		Stats:        e.stats,
		SKU:          e.sku,
		Now:          now,
		Logger:       log,
		MaxBlobSize:  opts.MaxBlobSize,
		MaxClockSkew: skew,
		OAuth:        opts.OAuth,
	})
	// Before observe: the dashboard reads the replication state at once.
	e.roles = newRoles(e, e.primary, e.secondary, since, pending)
	e.boot = nil
	ctl := control.NewHandler(control.Config{
		Faults:      e.faults,
		Replication: replicationControl{e},
		Failover:    failoverControl{e},
		Versioning:  e,
		Token:       opts.ControlToken,
		Logger:      log,
		Mounts:      e.observe(),
	})
	e.handler = e.route(ctl, false)
	e.secondH = e.route(ctl, true)
	if opts.MaxConns >= 0 {
		n := opts.MaxConns
		if n == 0 {
			n = DefaultMaxConns
		}
		e.limiter = connlimit.NewLimiter(n, log, nil)
	}

	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.roles.start(ctx)
	if e.db != nil {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.collectGarbage(ctx)
		}()
	}
	return e, nil
}

// GCInterval is how often an emulator with a data directory removes
// content files nothing refers to any more.
const GCInterval = time.Minute

// collectGarbage runs the content collector at start and every GCInterval
// (on the real clock: it is housekeeping, not modelled behaviour).
func (e *Emulator) collectGarbage(ctx context.Context) {
	t := time.NewTicker(GCInterval)
	defer t.Stop()
	for {
		st, err := e.db.GC()
		if err != nil {
			e.log.Error("data dir: collecting garbage", "err", err)
		} else if st.Removed > 0 {
			e.log.Debug("data dir: removed unreferenced content files", "removed", st.Removed, "files", st.Files)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CollectGarbage removes the content files of the data directory that
// nothing refers to any more (it also runs every GCInterval) and reports
// how many it removed. Without a data directory it does nothing.
func (e *Emulator) CollectGarbage() (int, error) {
	if e.db == nil {
		return 0, nil
	}
	st, err := e.db.GC()
	return st.Removed, err
}

// DropResidentPages drops the pages of the data directory's metadata file
// that reads have made resident in the process (the file and the kernel's
// page cache keep them) and reports the bytes advised. Without a data
// directory it does nothing. geoblob serve calls it when it hands idle
// memory back to the OS.
func (e *Emulator) DropResidentPages() uint64 {
	if e.db == nil {
		return 0
	}
	return e.db.DropResidentPages()
}

// route puts the control API beside the fault-wrapped Blob API.
func (e *Emulator) route(ctl http.Handler, secondaryHost bool) http.Handler {
	api := e.roles.handler(secondaryHost)
	classify := func(r *http.Request) (fault.Target, bool) {
		addr, err := blobapi.ParseAddress(r, secondaryHost)
		if err != nil {
			// Still subject to rules that break a whole endpoint: an
			// outage does not care whether the request was well formed.
			ep := fault.Primary
			if secondaryHost || location.ClassifyServed(r.Host, r.URL.Path).Secondary {
				ep = fault.Secondary
			}
			return fault.Target{Endpoint: ep, Method: r.Method}, true
		}
		ep := fault.Primary
		if addr.Location == blobapi.Secondary {
			ep = fault.Secondary
		}
		return fault.Target{Endpoint: ep, Method: r.Method, Account: addr.Account, Container: addr.Container, Blob: addr.Blob}, true
	}
	faulted := e.measured(fault.Middleware(e.faults, classify, api), secondaryHost)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, control.PathPrefix) {
			ctl.ServeHTTP(w, r)
			return
		}
		faulted.ServeHTTP(w, r)
	})
}

// Start builds an emulator and serves it on loopback (or Options.Host): the
// primary and the path-style secondary on Options.Port, and the secondary as
// a distinct host on Options.SecondaryPort unless NoSecondaryListener is
// set. ctx bounds only the start-up; stop the emulator with Close.
func Start(ctx context.Context, opts Options) (*Emulator, error) {
	if opts.OAuth && opts.TLS == nil {
		return nil, fmt.Errorf("%w: OAuth needs TLS: Azure accepts bearer tokens over HTTPS only", ErrInvalidOptions)
	}
	e, err := New(opts)
	if err != nil {
		return nil, err
	}
	if err := e.listen(ctx); err != nil {
		_ = e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Emulator) listen(ctx context.Context) error {
	var lc net.ListenConfig
	host := e.opts.Host
	pl, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(e.opts.Port)))
	if err != nil {
		return fmt.Errorf("emulator: primary listener: %w", err)
	}
	pl = e.tlsListener(pl)
	// The primary listener is the primary's host: a refuse rule on the
	// primary takes it down, path-style secondary requests included.
	e.serve(fault.RefuseListenerExcept(pl, e.faults, fault.Primary, isControlRequest), e.handler)
	e.primaryAddr = pl.Addr().String()
	if !e.opts.NoSecondaryListener {
		sl, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(e.opts.SecondaryPort)))
		if err != nil {
			_ = pl.Close()
			return fmt.Errorf("emulator: secondary listener: %w", err)
		}
		sl = e.tlsListener(sl)
		e.serve(fault.RefuseListenerExcept(e.roles.lrsListener(sl), e.faults, fault.Secondary, isControlRequest), e.secondH)
		e.secondAddr = sl.Addr().String()
	}
	e.log.Info("emulator listening", "primary", e.PrimaryURL(), "secondary", e.SecondaryURL(), "lag", e.opts.Lag)
	return nil
}

// isControlRequest reports whether the first bytes of a connection start a
// request for the control API, which a refused endpoint keeps serving so
// that the outage can be ended.
func isControlRequest(first []byte) bool {
	_, target, ok := bytes.Cut(first, []byte(" "))
	return ok && bytes.HasPrefix(target, []byte(control.PathPrefix))
}

func (e *Emulator) serve(l net.Listener, h http.Handler) {
	o := e.opts
	connState := e.trackFresh
	// net/http's own error answers become Azure errors; the limiter wraps
	// outermost, so that the connections ConnState reports are its own.
	l = azerr.Listener(l)
	if e.limiter != nil {
		l = e.limiter.Listener(l)
		connState = func(c net.Conn, st http.ConnState) {
			e.trackFresh(c, st)
			e.limiter.ConnState(c, st)
		}
	}
	srv := &http.Server{
		ConnState:         connState,
		ConnContext:       withConn,
		Handler:           keepExpectContinue(connlimit.Deadlines(withTLSState(h), orDefault(o.ReadTimeout, DefaultReadTimeout), orDefault(o.WriteTimeout, DefaultWriteTimeout))),
		ReadHeaderTimeout: orDefault(o.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		IdleTimeout:       orDefault(o.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    blobapi.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
	}
	if srv.IdleTimeout == 0 {
		srv.IdleTimeout = -1 // net/http would fall back to ReadTimeout
	}
	e.servers = append(e.servers, srv)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("listener stopped", "err", err)
		}
	}()
}

// trackFresh remembers connections that were accepted but have not sent a
// request. http.Server.Shutdown treats those as busy for up to five seconds;
// Close closes them at once instead, as nothing is in flight on them.
func (e *Emulator) trackFresh(c net.Conn, st http.ConnState) {
	e.connState(c, st)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fresh == nil {
		e.fresh = map[net.Conn]struct{}{}
	}
	if st == http.StateNew {
		if e.closed {
			// Accepted while Close was running: nothing to wait for.
			_ = c.Close()
			return
		}
		e.fresh[c] = struct{}{}
	} else {
		delete(e.fresh, c)
	}
}

// Handler serves the primary and, path-style under /ACCOUNT-secondary, the
// secondary, plus the control API under /_geoblob/.
func (e *Emulator) Handler() http.Handler { return e.handler }

// SecondaryHandler serves the secondary as a distinct host, where
// /ACCOUNT/... addresses the secondary.
func (e *Emulator) SecondaryHandler() http.Handler { return e.secondH }

// URL is the base URL of the primary listener, e.g. http://127.0.0.1:10000,
// where the control API lives under /_geoblob/. It is empty for an emulator
// built with New.
func (e *Emulator) URL() string {
	if e.primaryAddr == "" {
		return ""
	}
	return e.scheme() + "://" + e.primaryAddr
}

// AccountName is the first configured account, the one PrimaryURL,
// SecondaryURL and ConnectionString describe.
func (e *Emulator) AccountName() string { return e.opts.Accounts[0].Name }

// AccountKey is the base64 key of AccountName.
func (e *Emulator) AccountKey() string { return e.opts.Accounts[0].Key }

// PrimaryURL is ServiceURL(Primary, ""): the Blob service URL of the first
// account's primary.
func (e *Emulator) PrimaryURL() string { return e.ServiceURL(Primary, "") }

// SecondaryURL is ServiceURL(Secondary, ""): the Blob service URL of the
// first account's secondary.
func (e *Emulator) SecondaryURL() string { return e.ServiceURL(Secondary, "") }

// ServiceURL is the Blob service URL of an account (the first configured
// one when account is empty) at a location:
//
//	Primary             http://HOST:PORT/ACCOUNT
//	Secondary           http://HOST:SECONDARY_PORT/ACCOUNT, on the distinct
//	                    secondary listener, or the path-style form without one
//	SecondaryPathStyle  http://HOST:PORT/ACCOUNT-secondary
//
// It is empty for an emulator built with New, which does not know where its
// handlers are served.
func (e *Emulator) ServiceURL(loc Location, account string) string {
	if account == "" {
		account = e.AccountName()
	}
	if e.URL() == "" {
		return ""
	}
	switch {
	case loc == Primary:
		return e.URL() + "/" + account
	case loc == Secondary && e.secondAddr != "":
		return e.scheme() + "://" + e.secondAddr + "/" + account
	}
	return e.URL() + "/" + account + "-secondary"
}

// ConnectionString describes the first account, including
// BlobSecondaryEndpoint. It is empty for an emulator built with New, which
// does not know where its handlers are served.
func (e *Emulator) ConnectionString() string {
	if e.URL() == "" {
		return ""
	}
	name := e.AccountName()
	return fmt.Sprintf("DefaultEndpointsProtocol=%s;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;BlobSecondaryEndpoint=%s;",
		e.scheme(), name, e.AccountKey(), e.ServiceURL(Primary, name), e.ServiceURL(Secondary, name))
}

// Faults is the emulator's fault-injection rule set.
func (e *Emulator) Faults() *fault.Set { return e.faults }

// Replication controls the emulator's geo-replication.
func (e *Emulator) Replication() *Replication { return &Replication{e: e} }

// SetVersioning turns blob versioning on or off for every account.
// Versions already kept stay readable, deletable and listed.
func (e *Emulator) SetVersioning(on bool) { e.versioning.Set(on) }

// Versioning reports whether blob versioning is on.
func (e *Emulator) Versioning() bool { return e.versioning.On() }

// Close stops the listeners, waiting briefly for requests in flight, and
// stops replication. It is safe to call more than once.
func (e *Emulator) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	for c := range e.fresh {
		_ = c.Close()
	}
	e.mu.Unlock()
	// Release requests held by hang and latency faults first, so that
	// Shutdown does not wait for them.
	e.faults.Close()
	e.obs.close() // ends the dashboard's event streams
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, s := range e.servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
			_ = s.Close()
		}
	}
	e.cancel()
	e.wg.Wait()
	if e.db != nil {
		if err := e.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("emulator: closing data dir: %w", err))
		}
	}
	return errors.Join(errs...)
}
