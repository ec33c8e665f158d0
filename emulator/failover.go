package emulator

import (
	"context"
	"fmt"
	"time"

	"github.com/geoblob/geoblob/internal/durable"
	"github.com/geoblob/geoblob/internal/replica"
	"github.com/geoblob/geoblob/internal/store"
)

// FailoverType is the kind of account failover.
type FailoverType int

// Failover types, as Azure offers them.
const (
	// Planned needs both regions healthy, lets the secondary catch up,
	// then swaps the roles: nothing is lost and the account stays
	// geo-redundant.
	Planned FailoverType = iota + 1
	// Unplanned (customer-managed) promotes the secondary at once: every
	// write after the LastSyncTime is lost, and the account becomes
	// locally redundant (LRS) until geo-redundancy is enabled again.
	Unplanned
)

func (t FailoverType) String() string {
	switch t {
	case Planned:
		return "planned"
	case Unplanned:
		return "unplanned"
	}
	return fmt.Sprintf("FailoverType(%d)", int(t))
}

// ParseFailoverType reads "planned" or "unplanned".
func ParseFailoverType(s string) (FailoverType, error) {
	switch s {
	case "planned":
		return Planned, nil
	case "unplanned":
		return Unplanned, nil
	}
	return 0, fmt.Errorf("emulator: failover type %q: want planned or unplanned", s)
}

// FailoverOption adjusts one Failover call.
type FailoverOption func(*failoverOpts)

type failoverOpts struct {
	keepReads bool
	onSwap    func()
}

// KeepSecondaryReads keeps the secondary serving reads while a planned
// failover swaps the roles. Without it they are refused with 503
// ServerBusy for the swap, as writes to the primary always are.
func KeepSecondaryReads(keep bool) FailoverOption {
	return func(o *failoverOpts) { o.keepReads = keep }
}

// OnSwapping is called once a planned failover has stopped taking writes
// and is waiting out Options.SwapDuration on the emulator clock: the
// moment to look at the account mid-swap, or to move a manual clock.
func OnSwapping(f func()) FailoverOption {
	return func(o *failoverOpts) { o.onSwap = f }
}

// LostWrite is a write the primary acknowledged that an unplanned
// failover lost: committed after the LastSyncTime, never replicated.
type LostWrite struct {
	// Op is what the write did: put-blob (any write of a blob's content,
	// properties, metadata or lease), delete-blob, put-container,
	// delete-container or set-service-properties.
	Op        string    `json:"op"`
	Account   string    `json:"account"`
	Container string    `json:"container,omitempty"`
	Blob      string    `json:"blob,omitempty"`
	ETag      string    `json:"etag,omitempty"`  // of the blob version put-blob wrote
	Bytes     int64     `json:"bytes,omitempty"` // of that version
	Committed time.Time `json:"committed"`       // its commit time (Last-Modified)
}

// FailoverReport is what a failover did.
type FailoverReport struct {
	Type string `json:"type"` // planned or unplanned
	// At is the emulator clock when the roles changed.
	At time.Time `json:"at"`
	// From and To name the copies ("a", "b") that served the primary
	// endpoint before and after.
	From  string `json:"from"`
	To    string `json:"to"`
	Epoch uint64 `json:"epoch"`
	// RecoveryPoint is the LastSyncTime at the failover: the promoted copy
	// holds every write committed up to it, and (unplanned) none after.
	RecoveryPoint time.Time `json:"recoveryPoint"`
	// Lost lists the writes an unplanned failover lost, in commit order.
	Lost []LostWrite `json:"lost"`
	// LostBytes sums Lost[i].Bytes.
	LostBytes int64 `json:"lostBytes"`
	// Redundancy after the failover: RA-GRS or LRS.
	Redundancy string `json:"redundancy"`
}

func opName(k store.ChangeKind) string {
	switch k {
	case store.PutBlob:
		return "put-blob"
	case store.DeleteBlob:
		return "delete-blob"
	case store.PutContainer:
		return "put-container"
	case store.DeleteContainer:
		return "delete-container"
	case store.SetServiceProperties:
		return "set-service-properties"
	case store.SoftDeleteContainer:
		return "soft-delete-container"
	case store.UndeleteContainer:
		return "restore-container"
	case store.PurgeDeletedContainer:
		return "purge-deleted-container"
	case store.UpdateHistory:
		return "update-history"
	}
	return "unknown"
}

// Failover fails the account over, as Azure's account failover does, and
// reports what it did.
//
// Planned: both regions must be healthy (no fault rule taking a whole
// endpoint down, secondary live, replication running), else it fails with
// ErrFailoverRefused. Writes to the primary are refused with 503 ServerBusy
// from then on; the secondary catches up at once, whatever the lag (the
// emulator does not make you wait it out); after Options.SwapDuration on
// the emulator clock the roles swap atomically. The primary endpoint then
// serves the former secondary's copy and takes writes; the secondary
// endpoint serves the former primary's copy, read-only, replicating from
// the new primary. Nothing is lost.
//
// Unplanned: the secondary is promoted at once. The primary endpoint
// serves exactly what had replicated by the LastSyncTime; every later
// write is gone and listed in the report. The account is then locally
// redundant: the secondary listener resets connections and path-style
// secondary requests get 403 InsufficientAccountPermissions, until
// Replication().Enable.
//
// Writes in progress when a failover starts finish first, on the old
// primary (ctx bounds that wait); later ones are refused with 503
// ServerBusy until the new primary takes over, as writes fail while a
// real account fails over.
func (e *Emulator) Failover(ctx context.Context, typ FailoverType, opts ...FailoverOption) (FailoverReport, error) {
	var o failoverOpts
	for _, f := range opts {
		f(&o)
	}
	switch typ {
	case Planned:
		return e.roles.planned(ctx, o)
	case Unplanned:
		return e.roles.unplanned(ctx)
	}
	return FailoverReport{}, fmt.Errorf("%w: unknown failover type %v", ErrFailoverRefused, typ)
}

// LastFailover is the report of the latest failover, nil before the first.
func (e *Emulator) LastFailover() *FailoverReport {
	e.roles.mu.Lock()
	defer e.roles.mu.Unlock()
	return e.roles.last
}

// refuse reports why the account cannot fail over now, or "". Callers
// hold r.mu.
func (r *roles) refuse(typ FailoverType) string {
	v := r.v.Load()
	switch {
	case !r.state.GeoRedundant:
		return "the account is locally redundant (LRS) after an unplanned failover: enable geo-redundancy first"
	case !r.state.BootstrapUntil.IsZero():
		return "the new secondary is still bootstrapping"
	case v.swapping:
		return "a failover is already in progress"
	case r.state.SecondaryDown:
		return "the secondary region is unavailable"
	}
	if typ == Planned {
		st := v.repl.State()
		switch {
		case st.Paused:
			return "replication is paused, so the secondary cannot catch up (a planned failover needs both regions healthy)"
		case st.Status != replica.Live:
			return fmt.Sprintf("the secondary reports status %s, not live (a planned failover needs both regions healthy)", st.Status)
		}
		if why := r.e.unhealthy(); why != "" {
			return why + " (a planned failover needs both regions healthy; use an unplanned failover)"
		}
	}
	return ""
}

// begin checks that the account may fail over and stops taking writes.
func (r *roles) begin(typ FailoverType, keepReads bool) (*view, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if why := r.refuse(typ); why != "" {
		return nil, fmt.Errorf("%w: %s", ErrFailoverRefused, why)
	}
	v := r.v.Load()
	r.publish(v.repl, true, keepReads)
	return v, nil
}

// lockGate takes the gate exclusively once the writes in flight on the
// primary are done (later ones see the failover under way and get 503),
// or fails when ctx ends first: a stalled upload cannot hold a failover
// for longer than its caller allows.
func (r *roles) lockGate(ctx context.Context) error {
	return r.gate.Lock(ctx)
}

// abort ends a failover that did not happen.
func (r *roles) abort(v *view) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.publish(v.repl, false, false)
}

func (r *roles) planned(ctx context.Context, o failoverOpts) (FailoverReport, error) {
	v, err := r.begin(Planned, o.keepReads)
	if err != nil {
		return FailoverReport{}, err
	}
	if err := r.lockGate(ctx); err != nil {
		r.abort(v)
		return FailoverReport{}, fmt.Errorf("%w: writes in flight did not finish: %w", ErrFailoverRefused, err)
	}
	r.gate.Unlock() // the wait was the point; writes are refused from here
	if err := v.repl.Drain(ctx); err != nil {
		r.abort(v)
		return FailoverReport{}, fmt.Errorf("%w: the secondary did not catch up: %w", ErrFailoverRefused, err)
	}
	if d := r.e.opts.SwapDuration; d > 0 {
		done := r.e.opts.Clock.After(d)
		if o.onSwap != nil {
			o.onSwap()
		}
		select {
		case <-done:
		case <-ctx.Done():
			r.abort(v)
			return FailoverReport{}, fmt.Errorf("%w: %w", ErrFailoverRefused, ctx.Err())
		}
	} else if o.onSwap != nil {
		o.onSwap()
	}
	if err := r.lockGate(ctx); err != nil {
		r.abort(v)
		return FailoverReport{}, fmt.Errorf("%w: %w", ErrFailoverRefused, err)
	}
	defer r.gate.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	lost, recovery := v.repl.Abandon()
	if len(lost) != 0 {
		// Cannot happen: writes were refused since the drain.
		r.e.log.Error("planned failover: writes pending after the catch-up", "pending", len(lost))
	}
	from, to := r.state.Primary, otherCopy(r.state.Primary)
	oldP, newP := r.copies[from], r.copies[to]
	st := r.state
	st.Primary = to
	st.Epoch++
	// The old primary's log is empty after the catch-up; the new primary
	// feeds its own, which the old one consumes.
	newLog := durable.LogName(r.ids[to])
	if err := r.persist(st, r.ids, durable.RoleChange{
		DropLogs:  []string{durable.LogName(r.ids[from])},
		Positions: map[string]durable.Position{r.ids[to]: position(oldP)},
		Rebind:    map[*durable.Journal]string{r.journals[to]: newLog, r.journals[from]: newLog},
	}); err != nil {
		r.publish(v.repl, false, false)
		return FailoverReport{}, fmt.Errorf("%w: %w", ErrFailoverRefused, err)
	}
	newP.ContinueAfter(oldP.CommitPoint())
	repl := r.newReplicator(oldP, newP, recovery, false)
	r.state = st
	r.publish(repl, false, false)
	r.run(repl)
	rep := FailoverReport{Type: Planned.String(), At: r.e.opts.Clock.Now().UTC(), From: from, To: to, Epoch: r.state.Epoch,
		RecoveryPoint: recovery, Lost: []LostWrite{}, Redundancy: r.state.Redundancy()}
	r.last = &rep
	r.e.log.Info("planned failover", "from", from, "to", to, "epoch", rep.Epoch)
	return rep, nil
}

func (r *roles) unplanned(ctx context.Context) (FailoverReport, error) {
	v, err := r.begin(Unplanned, false)
	if err != nil {
		return FailoverReport{}, err
	}
	// Writes in flight finish on the old primary and are either
	// replicated or reported lost; later ones get 503 until the new
	// primary takes over.
	if err := r.lockGate(ctx); err != nil {
		r.abort(v)
		return FailoverReport{}, fmt.Errorf("%w: writes in flight did not finish: %w", ErrFailoverRefused, err)
	}
	defer r.gate.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	lost, recovery := v.repl.Abandon()
	from, to := r.state.Primary, otherCopy(r.state.Primary)
	oldP, newP := r.copies[from], r.copies[to]
	st := r.state
	st.Primary = to
	st.GeoRedundant = false
	st.Epoch++
	// The lost writes' log and the failed region's copy are gone on disk
	// too; the new primary feeds no log until a secondary is back.
	ids := cloneIDs(r.ids)
	delete(ids, from)
	if err := r.persist(st, ids, durable.RoleChange{
		DropLogs:   []string{durable.LogName(r.ids[from])},
		DropStores: []string{r.ids[from]},
		Positions:  map[string]durable.Position{r.ids[to]: position(oldP)},
		Rebind:     map[*durable.Journal]string{r.journals[to]: "", r.journals[from]: ""},
	}); err != nil {
		// The secondary stopped applying (Abandon): the account cannot go
		// back; the data directory has failed and refuses every write.
		r.e.log.Error("unplanned failover: the data directory did not record it", "err", err)
	}
	newP.ContinueAfter(oldP.CommitPoint())
	delete(r.copies, from) // the failed region's copy is gone
	if r.ids != nil {
		r.ids = ids
		delete(r.journals, from)
	}
	r.state = st
	r.publish(nil, false, false)
	r.run(nil)
	rep := FailoverReport{Type: Unplanned.String(), At: r.e.opts.Clock.Now().UTC(), From: from, To: to, Epoch: r.state.Epoch,
		RecoveryPoint: recovery, Lost: make([]LostWrite, 0, len(lost)), Redundancy: r.state.Redundancy()}
	for _, l := range lost {
		rep.Lost = append(rep.Lost, LostWrite{Op: opName(l.Kind), Account: l.Account, Container: l.Container, Blob: l.Blob,
			ETag: l.ETag, Bytes: l.Size, Committed: l.Time})
		rep.LostBytes += l.Size
	}
	r.last = &rep
	r.e.log.Warn("unplanned failover", "from", from, "to", to, "epoch", rep.Epoch, "recoveryPoint", recovery, "lostWrites", len(lost), "lostBytes", rep.LostBytes)
	return rep, nil
}

// enable builds a new secondary from the current primary: a snapshot of
// the primary, then every later write, after the bootstrap duration.
func (r *roles) enable(ctx context.Context) error {
	// No write runs while the snapshot is taken.
	if err := r.lockGate(ctx); err != nil {
		return fmt.Errorf("emulator: enable geo-redundancy: %w", err)
	}
	defer r.gate.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state.GeoRedundant {
		return ErrAlreadyGeoRedundant
	}
	p := r.copies[r.state.Primary]
	id := otherCopy(r.state.Primary)
	// With a data directory the new secondary is a new store instance,
	// written as the snapshot is taken; it counts only once the roles
	// record names it (a crash before leaves garbage, removed at start).
	var ns *store.Store
	var nj *durable.Journal
	var nid, plog string
	if db := r.e.db; db != nil {
		var err error
		if nid, err = db.NewStoreID(); err != nil {
			return fmt.Errorf("emulator: enable geo-redundancy: %w", err)
		}
		plog = durable.LogName(r.ids[r.state.Primary])
		nj = db.Journal(nid, plog)
		ns = r.e.newCopy(nj, db.Files())
	} else {
		ns = r.e.newCopy(nil, nil)
	}
	if err := snapshot(ctx, ns, p, r.e.accountNames(), r.e.opts.Clock.Now().UTC()); err != nil {
		return fmt.Errorf("emulator: enable geo-redundancy: %w", err)
	}
	repl := r.newReplicator(ns, p, time.Time{}, false)
	d := r.e.opts.BootstrapDuration
	switch {
	case d == 0:
		d = DefaultBootstrapDuration
	case d < 0:
		d = 0
	}
	st := r.state
	st.GeoRedundant = true
	st.Epoch++
	if d > 0 {
		st.BootstrapUntil = r.e.opts.Clock.Now().UTC().Add(d)
	}
	ids := cloneIDs(r.ids)
	if nj != nil {
		ids[id] = nid
		if err := r.persist(st, ids, durable.RoleChange{
			DropLogs: []string{plog},
			Rebind:   map[*durable.Journal]string{r.journals[r.state.Primary]: plog},
		}); err != nil {
			return fmt.Errorf("emulator: enable geo-redundancy: %w", err)
		}
		r.ids = ids
		r.journals[id] = nj
	}
	r.copies[id] = ns
	r.state = st
	if d > 0 {
		repl.Hold()
		_ = repl.SetStatus(replica.Bootstrap)
		r.armBootstrap(repl, d)
	}
	r.publish(repl, false, false)
	r.run(repl)
	r.e.log.Info("geo-redundancy enabled", "secondary", id, "bootstrap", d, "epoch", r.state.Epoch)
	return nil
}

// armBootstrap ends the bootstrap of repl after d on the emulator clock.
// Callers hold r.mu.
func (r *roles) armBootstrap(repl *replica.Replicator, d time.Duration) {
	if r.ctx == nil {
		return
	}
	done := r.e.opts.Clock.After(d)
	ctx := r.ctx
	r.e.wg.Add(1)
	go func() {
		defer r.e.wg.Done()
		select {
		case <-done:
			r.goLive(repl)
		case <-ctx.Done():
		}
	}()
}

// goLive ends the bootstrap of repl, if it is still the current one.
func (r *roles) goLive(repl *replica.Replicator) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.v.Load().repl != repl || r.state.BootstrapUntil.IsZero() {
		return
	}
	st := r.state
	st.BootstrapUntil = time.Time{}
	st.Epoch++
	if err := r.persistState(st); err != nil {
		// The data directory has failed: it refuses every write anyway.
		r.e.log.Error("new secondary live: the data directory did not record it", "err", err)
	}
	r.state = st
	if r.state.SecondaryDown {
		_ = repl.SetStatus(replica.Unavailable)
	} else {
		_ = repl.SetStatus(replica.Live)
		repl.Release()
	}
	r.publish(repl, false, false)
	r.e.log.Info("new secondary live", "epoch", r.state.Epoch)
}

// setSecondaryDown marks the secondary region unavailable or back.
func (r *roles) setSecondaryDown(down bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.v.Load()
	if v.repl == nil {
		return ErrNotGeoRedundant
	}
	if r.state.SecondaryDown == down {
		return nil
	}
	st := r.state
	st.SecondaryDown = down
	st.Epoch++
	if err := r.persistState(st); err != nil {
		return err
	}
	r.state = st
	bootstrapping := !r.state.BootstrapUntil.IsZero()
	switch {
	case down:
		v.repl.Hold()
		_ = v.repl.SetStatus(replica.Unavailable)
	case bootstrapping:
		_ = v.repl.SetStatus(replica.Bootstrap)
	default:
		_ = v.repl.SetStatus(replica.Live)
		v.repl.Release()
	}
	r.publish(v.repl, v.swapping, v.keepReads)
	return nil
}

// setModel changes the lag model of the current and every later
// replication stream.
func (r *roles) setModel(m replica.LagModel) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.model = m
	if v := r.v.Load(); v.repl != nil {
		v.repl.SetModel(m)
	}
}

// snapshot copies every container, blob and service document of src into
// dst as changes stamped at. Callers keep writes off src meanwhile. With a
// journal, dst has them all durable when it returns (changes applied in
// order become durable in order, so the last wait covers them all).
func snapshot(ctx context.Context, dst, src *store.Store, accounts []string, at time.Time) error {
	var wait func() error
	apply := func(c store.Change) { wait = dst.ApplyAsync(c) }
	if err := snapshotInto(ctx, apply, src, accounts, at); err != nil {
		return err
	}
	if wait != nil {
		return wait()
	}
	return nil
}

func snapshotInto(ctx context.Context, apply func(store.Change), src *store.Store, accounts []string, at time.Time) error {
	for _, acct := range accounts {
		if doc := src.ServiceProperties(acct); doc != nil {
			apply(store.Change{Time: at, Kind: store.SetServiceProperties, Account: acct, Service: doc})
		}
		if err := snapshotDeleted(apply, src, acct, at); err != nil {
			return err
		}
		marker := ""
		for {
			page := src.ListContainers(acct, store.ListOptions{Marker: marker})
			for _, c := range page.Containers {
				if err := ctx.Err(); err != nil {
					return err
				}
				apply(store.Change{Time: at, Kind: store.PutContainer, Account: acct, Container: c.Name, Props: c})
				if err := snapshotBlobs(apply, src, acct, c.Name, at); err != nil {
					return err
				}
			}
			if marker = page.NextMarker; marker == "" {
				break
			}
		}
	}
	return nil
}

func snapshotBlobs(apply func(store.Change), src *store.Store, acct, container string, at time.Time) error {
	marker := ""
	for {
		page, err := src.ListBlobs(acct, container, store.ListOptions{Marker: marker, IncludeSnapshots: true, IncludeVersions: true, IncludeDeleted: true})
		if err != nil {
			return fmt.Errorf("list %s/%s: %w", acct, container, err)
		}
		for _, b := range page.Blobs {
			if b.IsHistory() {
				apply(store.Change{Time: at, Kind: store.UpdateHistory, Account: acct, Container: container, BlobName: b.Name, History: []*store.Blob{b}})
				continue
			}
			apply(store.Change{Time: at, Kind: store.PutBlob, Account: acct, Container: container, BlobName: b.Name, Blob: b})
		}
		if marker = page.NextMarker; marker == "" {
			return nil
		}
	}
}

// snapshotDeleted copies the soft-deleted containers of an account, each
// as the live container with its blobs and then its soft delete, before the
// live containers (which may share a name with them).
func snapshotDeleted(apply func(store.Change), src *store.Store, acct string, at time.Time) error {
	for _, d := range src.DeletedContainers(acct) {
		live := *d
		live.Deleted = nil
		apply(store.Change{Time: at, Kind: store.PutContainer, Account: acct, Container: d.Name, Props: &live})
		marker := ""
		for {
			page, err := src.DeletedContainerBlobs(acct, d.Name, d.Deleted.Version, store.ListOptions{Marker: marker})
			if err != nil {
				return fmt.Errorf("list deleted %s/%s: %w", acct, d.Name, err)
			}
			for _, b := range page.Blobs {
				if b.IsHistory() {
					apply(store.Change{Time: at, Kind: store.UpdateHistory, Account: acct, Container: d.Name, BlobName: b.Name, History: []*store.Blob{b}})
					continue
				}
				apply(store.Change{Time: at, Kind: store.PutBlob, Account: acct, Container: d.Name, BlobName: b.Name, Blob: b})
			}
			if marker = page.NextMarker; marker == "" {
				break
			}
		}
		apply(store.Change{Time: at, Kind: store.SoftDeleteContainer, Account: acct, Container: d.Name, ContainerVersion: d.Deleted.Version, Props: d})
	}
	return nil
}

// accountNames lists the configured accounts.
func (e *Emulator) accountNames() []string {
	names := make([]string, 0, len(e.opts.Accounts))
	for _, a := range e.opts.Accounts {
		names = append(names, a.Name)
	}
	return names
}

// newCopy builds an empty copy of the account data, committing through
// replication when it is primary.
func (e *Emulator) newCopy(j store.Journal, files *store.Files) *store.Store {
	o := store.Options{Now: e.opts.Clock.Now, MaxStagedBytes: e.opts.MaxStagedBytes, RehydrateDelay: e.opts.RehydrateDelay,
		OnCommit: e.onCommit, Logger: e.log, Versioning: e.versioning}
	if j != nil {
		// A nil *durable.Journal in the interface would not be nil.
		o.Journal, o.Files = j, files
	}
	return store.New(o)
}
