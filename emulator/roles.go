package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/durable"
	"github.com/geoblob/geoblob/internal/location"
	"github.com/geoblob/geoblob/internal/replica"
	"github.com/geoblob/geoblob/internal/store"
)

// The account's two copies are named "a" and "b": "a" starts as the
// primary. A failover swaps which copy serves the primary endpoint; an
// unplanned one discards the old primary's copy, and enabling
// geo-redundancy again builds a new copy under the freed name.
const (
	CopyA = "a"
	CopyB = "b"
)

func otherCopy(id string) string {
	if id == CopyA {
		return CopyB
	}
	return CopyA
}

// RoleState is the small record that says which copy plays which role. It
// is everything a restart needs, besides the copies' contents, to come
// back in the same state: a server with a data directory persists it
// whenever it changes (each change bumps Epoch).
type RoleState struct {
	// Epoch counts role changes: failovers and re-enabling geo-redundancy.
	Epoch uint64 `json:"epoch"`
	// Primary names the copy serving the primary endpoint: "a" or "b".
	Primary string `json:"primary"`
	// GeoRedundant is false after an unplanned failover (the account is
	// then locally redundant) until geo-redundancy is enabled again.
	GeoRedundant bool `json:"geoRedundant"`
	// BootstrapUntil is when, on the emulator clock, a new secondary
	// finishes bootstrapping; zero when it is live.
	BootstrapUntil time.Time `json:"bootstrapUntil,omitzero"`
	// SecondaryDown is set while the secondary region is unavailable:
	// Stats reports "unavailable", reads fail and replication stalls.
	SecondaryDown bool `json:"secondaryDown,omitempty"`
}

// Redundancy is what the account is: "RA-GRS" or, after an unplanned
// failover, "LRS".
func (s RoleState) Redundancy() string {
	if s.GeoRedundant {
		return "RA-GRS"
	}
	return "LRS"
}

// Errors of Failover and of the replication controls.
var (
	// ErrFailoverRefused is wrapped by every error Failover returns when
	// the account cannot fail over in its current state.
	ErrFailoverRefused = errors.New("emulator: failover refused")
	// ErrNotGeoRedundant is returned for an operation that needs a
	// secondary while the account is locally redundant (after an
	// unplanned failover).
	ErrNotGeoRedundant = errors.New("emulator: the account is locally redundant (LRS): it has no secondary")
	// ErrAlreadyGeoRedundant is returned by Enable when the account
	// already has a secondary.
	ErrAlreadyGeoRedundant = errors.New("emulator: the account is already geo-redundant")
)

// view is an immutable snapshot of the roles, read by every request.
type view struct {
	state     RoleState
	repl      *replica.Replicator // nil while locally redundant
	api       http.Handler        // path-style: primary and /ACCOUNT-secondary
	secAPI    http.Handler        // the distinct secondary host
	swapping  bool                // a failover is under way: primary writes refused
	keepReads bool                // secondary reads stay up while swapping
	changed   chan struct{}       // closed when the view is replaced
}

// roles owns the copies, the replication between them and who plays which
// role.
type roles struct {
	e *Emulator
	// gate orders role changes against writes: a write to the primary
	// holds it shared for its whole request, a role change exclusively,
	// so that no write straddles a change of primary.
	gate writeGate
	v    atomic.Pointer[view]

	mu       sync.Mutex // serializes role changes; held after gate, never before
	state    RoleState
	copies   map[string]*store.Store
	ids      map[string]string           // with a data directory: each copy's store instance id
	journals map[string]*durable.Journal // with a data directory: each copy's journal
	model    replica.LagModel
	ctx      context.Context // the emulator's lifetime, from start
	stopRepl context.CancelFunc
	last     *FailoverReport
}

// newRoles starts with a as the primary and b as its secondary. since and
// pending resume replication from a data directory: the LastSyncTime b
// had reached and the changes of a it has still to apply.
//
// With a data directory, e.boot holds the roles restored from it instead:
// which copy is primary, whether there is a secondary, and whether it is
// bootstrapping or down.
func newRoles(e *Emulator, a, b *store.Store, since time.Time, pending []store.Change) *roles {
	r := &roles{e: e, copies: map[string]*store.Store{CopyA: a, CopyB: b}, model: e.opts.LagModel,
		state: RoleState{Epoch: 1, Primary: CopyA, GeoRedundant: true}}
	if bt := e.boot; bt != nil {
		r.state, r.copies, r.ids, r.journals = bt.state, bt.copies, bt.ids, bt.journals
	}
	var repl *replica.Replicator
	if r.state.GeoRedundant {
		repl = r.newReplicator(r.copies[otherCopy(r.state.Primary)], r.copies[r.state.Primary], since, len(pending) > 0)
		for _, c := range pending {
			repl.Enqueue(c)
		}
		switch {
		case r.state.SecondaryDown:
			repl.Hold()
			_ = repl.SetStatus(replica.Unavailable)
		case !r.state.BootstrapUntil.IsZero():
			repl.Hold()
			_ = repl.SetStatus(replica.Bootstrap)
		}
	}
	r.publish(repl, false, false)
	return r
}

// applyGrain is how late the replicator may apply a change on the system
// clock (replica.Options.Grain).
const applyGrain = time.Millisecond

// newReplicator builds the replicator from primary to secondary. since is
// a floor for LastSyncTime. With resumed (changes committed
// before this start are still to be applied) it is where LastSyncTime
// starts instead: the clock has moved on since those commits, and a
// LastSyncTime of now less the lag would claim them before they are
// applied.
func (r *roles) newReplicator(secondary, primary *store.Store, since time.Time, resumed bool) *replica.Replicator {
	o := r.e.opts
	opts := replica.Options{Lag: o.Lag, Clock: o.Clock, Fence: primary.FenceNow,
		MaxSupersededBytes: o.MaxSupersededBytes, Model: r.model, Since: since}
	if resumed {
		opts.LastSyncTime = since
	}
	if _, system := o.Clock.(clock.Real); system {
		// Changes due within a millisecond share one wake-up of the
		// replicator; a manual clock keeps exact due times.
		opts.Grain = applyGrain
	}
	return replica.New(secondary, opts)
}

// publish installs a new view of r.state. Callers hold r.mu (or are
// building r).
func (r *roles) publish(repl *replica.Replicator, swapping, keepReads bool) {
	p := r.copies[r.state.Primary]
	s := r.copies[otherCopy(r.state.Primary)]
	if s == nil {
		s = p // locally redundant: the gate refuses the secondary first
	}
	api := r.e.api.WithStores(p, s)
	nv := &view{state: r.state, repl: repl, api: api, secAPI: api.SecondaryHandler(),
		swapping: swapping, keepReads: keepReads, changed: make(chan struct{})}
	if old := r.v.Swap(nv); old != nil {
		close(old.changed)
	}
}

// start runs the current replicator until ctx is done.
func (r *roles) start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ctx = ctx
	repl := r.v.Load().repl
	r.run(repl)
	if until := r.state.BootstrapUntil; repl != nil && !until.IsZero() {
		// Restored mid-bootstrap: it ends when it would have.
		r.armBootstrap(repl, until.Sub(r.e.opts.Clock.Now()))
	}
}

// run starts repl in place of the running replicator. Callers hold r.mu.
func (r *roles) run(repl *replica.Replicator) {
	if r.stopRepl != nil {
		r.stopRepl()
		r.stopRepl = nil
	}
	if repl == nil || r.ctx == nil {
		return
	}
	ctx, cancel := context.WithCancel(r.ctx)
	r.stopRepl = cancel
	r.e.wg.Add(1)
	go func() {
		defer r.e.wg.Done()
		repl.Run(ctx)
	}()
}

// onCommit hands a change committed on the primary to replication; it is
// every copy's store.Options.OnCommit. Only the copy serving the primary
// commits: the gate keeps writes off a copy being demoted.
func (e *Emulator) onCommit(c store.Change) {
	if e.roles == nil {
		return
	}
	if v := e.roles.v.Load(); v != nil && v.repl != nil {
		v.repl.Enqueue(c)
	}
}

// replicator is the running replicator, nil while locally redundant.
func (e *Emulator) replicator() *replica.Replicator { return e.roles.v.Load().repl }

// primaryStore is the copy serving the primary endpoint.
func (e *Emulator) primaryStore() *store.Store {
	e.roles.mu.Lock()
	defer e.roles.mu.Unlock()
	return e.roles.copies[e.roles.state.Primary]
}

// secondaryStore is the copy serving the secondary endpoint, nil while
// locally redundant.
func (e *Emulator) secondaryStore() *store.Store {
	e.roles.mu.Lock()
	defer e.roles.mu.Unlock()
	if !e.roles.state.GeoRedundant {
		return nil
	}
	return e.roles.copies[otherCopy(e.roles.state.Primary)]
}

// RoleState reports which copy plays which role.
func (e *Emulator) RoleState() RoleState { return e.roles.v.Load().state }

// stats answers Get Blob Service Stats.
func (e *Emulator) stats(string) (string, time.Time) {
	v := e.roles.v.Load()
	if v.repl == nil {
		return string(replica.Unavailable), time.Time{}
	}
	st := v.repl.State()
	if !v.state.BootstrapUntil.IsZero() {
		// Azure leaves LastSyncTime out while it is not available, as
		// during bootstrap.
		return string(replica.Bootstrap), time.Time{}
	}
	return string(st.Status), st.LastSyncTime
}

// sku answers Get Account Information's x-ms-sku-name: the account is
// Standard_LRS after an unplanned failover until geo-redundancy is back.
func (e *Emulator) sku(string) string {
	if e.roles.v.Load().state.GeoRedundant {
		return "Standard_RAGRS"
	}
	return "Standard_LRS"
}

// Azure's answers for the secondary of an account that has none (LRS) or
// whose secondary cannot be read: Get Blob Service Stats documents 403
// InsufficientAccountPermissions for a secondary endpoint without read
// access; 503 ServerBusy is Azure's retryable refusal.
const (
	noSecondaryCode    = "InsufficientAccountPermissions"
	noSecondaryMessage = "The account being accessed does not have sufficient permissions to execute this operation."
	busyCode           = "ServerBusy"
	busyMessage        = "The server is currently unable to receive requests. Please retry your request."
)

// handler serves the Blob API for whichever copies currently play the
// roles, applying the role states: no secondary, a bootstrapping or
// unavailable secondary, a failover under way.
func (r *roles) handler(secondaryHost bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if secondaryHost || location.ClassifyServed(req.Host, req.URL.Path).Secondary {
			r.serveSecondary(w, req, secondaryHost)
			return
		}
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			r.v.Load().api.ServeHTTP(w, req)
			return
		}
		if r.v.Load().swapping {
			// Refused before the gate, which a failover waiting for
			// writes in flight holds back.
			azerr.Write(w, req, http.StatusServiceUnavailable, busyCode, busyMessage+" A failover is in progress.")
			return
		}
		r.gate.RLock()
		defer r.gate.RUnlock()
		v := r.v.Load()
		if v.swapping {
			azerr.Write(w, req, http.StatusServiceUnavailable, busyCode, busyMessage+" A failover is in progress.")
			return
		}
		v.api.ServeHTTP(w, req)
	})
}

func (r *roles) serveSecondary(w http.ResponseWriter, req *http.Request, secondaryHost bool) {
	v := r.v.Load()
	q := req.URL.Query()
	stats := strings.EqualFold(q.Get("comp"), "stats") && strings.EqualFold(q.Get("restype"), "service")
	switch {
	case !v.state.GeoRedundant:
		azerr.Write(w, req, http.StatusForbidden, noSecondaryCode, noSecondaryMessage)
		return
	case stats:
		// Stats stays up: it is how a client learns the secondary's state.
	case !v.state.BootstrapUntil.IsZero():
		azerr.Write(w, req, http.StatusForbidden, noSecondaryCode, noSecondaryMessage)
		return
	case v.state.SecondaryDown:
		azerr.Write(w, req, http.StatusServiceUnavailable, busyCode, busyMessage)
		return
	case v.swapping && !v.keepReads:
		azerr.Write(w, req, http.StatusServiceUnavailable, busyCode, busyMessage+" A failover is in progress.")
		return
	}
	if secondaryHost {
		v.secAPI.ServeHTTP(w, req)
	} else {
		v.api.ServeHTTP(w, req)
	}
}

// lrsListener resets every connection to the distinct secondary listener
// while the account is locally redundant, as a client of a real LRS
// account fails to reach ACCOUNT-secondary at all; control API requests
// still get through.
func (r *roles) lrsListener(l net.Listener) net.Listener { return &lrsListener{Listener: l, r: r} }

type lrsListener struct {
	net.Listener
	r *roles
}

func (l *lrsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lrsConn{Conn: c, r: l.r, first: true}, nil
}

type lrsConn struct {
	net.Conn
	r     *roles
	first bool
	kept  bool // a control API connection: never refused
}

// NetConn returns the connection c wraps, so that a reset reaches it.
func (c *lrsConn) NetConn() net.Conn { return c.Conn }

func (c *lrsConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n == 0 || c.kept {
		return n, err
	}
	if c.first {
		c.first = false
		if isControlRequest(p[:n]) {
			c.kept = true
			return n, err
		}
	}
	if !c.r.v.Load().state.GeoRedundant {
		if tc, ok := c.Conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, not an orderly close
		}
		_ = c.Conn.Close()
		return 0, net.ErrClosed
	}
	return n, err
}

// wait blocks until pred holds for the current view, or ctx is done.
func (r *roles) wait(ctx context.Context, pred func(*view) bool) error {
	for {
		v := r.v.Load()
		if pred(v) {
			return nil
		}
		select {
		case <-v.changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// unhealthy names an endpoint that an active fault rule takes down as a
// whole (every request fails), or "" when both are healthy.
func (e *Emulator) unhealthy() string {
	for _, rs := range e.faults.List() {
		a := rs.Action
		down := a.Status >= 500 || a.Reset || a.Refuse || a.Hang
		if !down || rs.State != fault.Active || !reflect.ValueOf(rs.Match).IsZero() {
			continue
		}
		return fmt.Sprintf("fault rule %s takes the %s endpoint down", rs.ID, rs.Endpoint)
	}
	return ""
}
