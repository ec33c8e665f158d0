// Package replica replicates a primary store to its secondary the way
// geo-redundant storage does: asynchronously, in commit order, after a
// configurable lag.
//
// The primary store hands every committed change to Enqueue (from inside its
// commit, so the queue is in commit order). A single goroutine applies each
// change to the secondary store once the lag has passed since the change was
// committed (with Options.Grain, up to Grain later, so that changes due close
// together share one wake-up). The replicator tracks a watermark, LastSyncTime: every change
// committed at or before it is visible on the secondary. While replication
// is paused nothing is applied and the watermark stands still.
//
// # What a lagging or paused replication holds
//
// Every pending change keeps the blob version it wrote alive until it is
// applied, so an overwritten version outlives its overwrite for as long as
// replication lags or is paused. The replicator bounds this. A version is
// "superseded" once a later write of the same blob (an overwrite, a delete,
// or the deletion of its container) is pending behind it. Superseded
// versions may hold at most Options.MaxSupersededBytes (content bytes,
// counted in full even where versions share chunks); DefaultMaxSuperseded
// (32 MiB) when zero. Beyond that budget the replicator coalesces: the
// pending write of the superseded version is pointed at the blob's newest
// pending state instead, and the old version is released at once. Deleting
// a container coalesces the pending writes of its blobs into deletions at
// once, whatever the budget.
//
// # What coalescing changes for a reader of the secondary
//
// Take two pending writes of one blob: P1 committed at t1 and P2 at t2 > t1
// (an overwrite or a delete), with P2 committed before P1 was applied. Left
// alone, the secondary shows P1 from P1's apply time (t1 plus its lag) until
// P2's, then P2. Coalesced, it shows P2 from P1's apply time on: P1's state
// is never shown, and P2's is shown early, its lag shortened by up to
// t2-t1. What stays true, and what the tests check:
//
//   - Per blob, the secondary moves forward through the primary's states in
//     commit order, skipping some: it never shows a state the primary did
//     not commit, nor an older state after a newer one.
//   - LastSyncTime keeps Azure's promise: every write committed at or
//     before it is visible on the secondary, or a later write of the same
//     blob is. It never goes backwards, and it advances as it would without
//     coalescing (the queue keeps every change in its place, in commit
//     order, each applied at its own due time: only the state a blob write
//     applies changes).
//   - No write becomes visible before it committed, and a reader never sees
//     a state that is older than LastSyncTime promises.
//
// What is not kept: across blobs, a reader may see P2 while a write of
// another blob committed between t1 and t2 is not visible yet, a state
// the primary never had. Azure's geo-replication promises no more than
// LastSyncTime either: writes after it may or may not be on the secondary,
// in any combination. The default budget is small so that replicating
// overwrites of large blobs costs one copy, not one per pending overwrite
// (ten overwrites of a 64 MiB blob with a 1 s lag used to hold up to four
// superseded copies), while workloads of small blobs below the budget keep
// every intermediate version, exactly as lagged.
//
// So while replication lags or is paused the replicator holds, beyond the
// blob versions current on the primary (which the primary holds anyway), at
// most MaxSupersededBytes of superseded content, plus one small record per
// pending change. With a data directory the pending replication log still
// records every change (it only names content files, which stay on disk
// until the change that names them is applied); coalescing is redone when a
// restarted emulator enqueues that log again.
package replica

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
)

// Status is the geo-replication status Get Blob Service Stats reports.
type Status string

// Replication statuses.
const (
	Live        Status = "live"
	Bootstrap   Status = "bootstrap"
	Unavailable Status = "unavailable"
)

// ErrInvalidStatus is returned by SetStatus for an unknown status.
var ErrInvalidStatus = errors.New("replica: status must be live, bootstrap or unavailable")

// ParseStatus validates s.
func ParseStatus(s string) (Status, error) {
	switch Status(s) {
	case Live, Bootstrap, Unavailable:
		return Status(s), nil
	}
	return "", fmt.Errorf("%w: %q", ErrInvalidStatus, s)
}

// Options configure a Replicator.
type Options struct {
	Lag   time.Duration
	Clock clock.Clock // clock.Real{} when nil
	// Fence reads the clock such that every change committed afterwards
	// carries a later or equal time (store.Store.FenceNow). It closes the
	// window between a commit taking its time and reaching Enqueue. When
	// nil, Clock.Now is used, which is only safe with no concurrent writes.
	Fence func() time.Time
	// MaxSupersededBytes bounds the content of superseded blob versions
	// pending changes may hold (see the package documentation);
	// DefaultMaxSuperseded when zero, no bound when negative.
	MaxSupersededBytes int64
	// LastSyncTime, when not zero, is where LastSyncTime starts: the
	// commit time of the last change the secondary applied, for a
	// replicator resumed from a data directory. It then advances as
	// usual, so it never goes backwards across a restart.
	LastSyncTime time.Time
	// Model, when set, draws each write's lag instead of the constant Lag
	// (see LagModel); Lag is then only the lag LastSyncTime trails by
	// while nothing is pending.
	Model LagModel
	// Since is a floor for LastSyncTime: a replicator that takes over
	// from another (after a failover) never reports an earlier one.
	Since time.Time
	// Grain, when positive, lets a change be applied up to Grain after
	// it is due: the replicator wakes at due times rounded up to a
	// multiple of Grain and applies every change due by then at once,
	// instead of waking for each distinct due time (under a steady load,
	// nearly one wake-up per write). Zero applies each change as soon as
	// the clock reaches its due time, as tests on a manual clock expect.
	Grain time.Duration
}

// DefaultMaxSuperseded is the default bound on superseded versions held by
// pending changes. A superseded version at least this large is coalesced
// as soon as it is superseded.
const DefaultMaxSuperseded = 32 << 20

// blobKey names a blob across accounts.
type blobKey struct{ account, container, blob string }

// version is the state a pending blob write will apply: a blob version or
// a deletion. Pending writes of one blob share it once they are coalesced,
// so redirecting them all to a newer state is one assignment.
type version struct {
	key     blobKey
	blob    *store.Blob // nil when deleted
	deleted bool
	refs    int   // pending changes that apply it
	counted int64 // bytes it adds to superseded; 0 while it is the blob's newest pending state
	// shown: a change applying the state now held has been applied, so
	// the secondary holds it and the pending changes sharing it are not
	// lost in a failover. Never set for a state a container deletion
	// imposed (the blob writes before it are lost if it is).
	shown   bool
	imposed bool // the state is a deletion of the blob's container
}

func (v *version) size() int64 {
	if v.blob == nil {
		return 0
	}
	return v.blob.Size()
}

// item is one pending change; v is set for blob writes.
type item struct {
	ch  store.Change
	v   *version
	due time.Time // when it may be applied: never before the change ahead of it
	// etag and size of the version it wrote (PutBlob), for the report of
	// writes a failover loses; v may have been coalesced since.
	etag string
	size int64
}

// Replicator applies a primary's changes to a secondary store.
type Replicator struct {
	secondary *store.Store
	lag       time.Duration
	clk       clock.Clock
	fence     func() time.Time

	mu         sync.Mutex
	queue      fifo
	newest     map[blobKey]*version // the newest pending state of each blob with pending writes
	newestPeak int                  // most entries newest held since it was last made anew
	superseded int64                // bytes held by pending, superseded versions
	maxSuper   int64
	paused     bool
	held       bool // bootstrapping: nothing is applied until Release
	drain      bool // catching up: every pending change is due now
	stopped    bool // abandoned by a failover: nothing more is applied
	model      LagModel
	grain      time.Duration
	lastDue    time.Time
	status     Status
	watermark  time.Time
	applied    uint64
	applying   bool // the head of the queue is being applied, outside mu
	wake       chan struct{}
	idle       *sync.Cond // signalled whenever the queue shrinks

	// batch and states are applyDue's, reused from one batch to the next
	// (only Run calls it).
	batch  []store.Change
	states []version

	afterApply func() // test hook: runs after each change is applied, before it is accounted
}

// New returns a replicator feeding secondary. Call Run to start it.
func New(secondary *store.Store, opts Options) *Replicator {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Lag < 0 {
		opts.Lag = 0
	}
	if opts.Fence == nil {
		opts.Fence = opts.Clock.Now
	}
	if opts.MaxSupersededBytes == 0 {
		opts.MaxSupersededBytes = DefaultMaxSuperseded
	}
	r := &Replicator{
		fence:     opts.Fence,
		secondary: secondary,
		lag:       opts.Lag,
		clk:       opts.Clock,
		status:    Live,
		watermark: opts.Clock.Now().UTC().Add(-opts.Lag - time.Nanosecond),
		wake:      make(chan struct{}, 1),
		newest:    map[blobKey]*version{},
		maxSuper:  opts.MaxSupersededBytes,
		model:     opts.Model,
		grain:     max(opts.Grain, 0),
	}
	if opts.Since.After(r.watermark) {
		r.watermark = opts.Since.UTC()
	}
	if !opts.LastSyncTime.IsZero() {
		r.watermark = opts.LastSyncTime.UTC()
	}
	r.idle = sync.NewCond(&r.mu)
	return r
}

// Lag is the configured replication lag.
func (r *Replicator) Lag() time.Duration { return r.lag }

// Enqueue records a committed change. It never blocks; it is meant to be
// the primary store's OnCommit hook.
func (r *Replicator) Enqueue(c store.Change) {
	r.mu.Lock()
	it := item{ch: c, due: r.dueTime(c)}
	if c.Blob != nil {
		it.etag, it.size = c.Blob.ETag, c.Blob.Size()
	}
	switch c.Kind {
	case store.PutBlob, store.DeleteBlob:
		it.v = r.supersede(blobKey{c.Account, c.Container, c.BlobName}, c)
		it.ch.Blob = nil // held by it.v, which coalescing may redirect
	case store.DeleteContainer:
		for k, v := range r.newest {
			if k.account == c.Account && k.container == c.Container {
				v.blob, v.deleted = nil, true
				v.shown, v.imposed = false, true
				delete(r.newest, k)
			}
		}
	case store.SoftDeleteContainer:
		// The secondary keeps the container's blobs as they stand when
		// it applies this change: the pending writes before it must apply
		// their own states, so later writes of a new container of the
		// same name are never coalesced into them.
		for k := range r.newest {
			if k.account == c.Account && k.container == c.Container {
				delete(r.newest, k)
			}
		}
	}
	// Run needs waking only for a queue that was empty: otherwise it
	// either waits on a timer for the head of the queue, which becomes
	// due no later than this change (due times never decrease), or is
	// applying, and then looks at the queue again before it sleeps.
	wake := r.queue.len() == 0
	r.queue.push(it)
	r.mu.Unlock()
	if wake {
		r.poke()
	}
}

// supersede makes c the newest pending state of blob k and returns the
// version c's change applies. The state it supersedes is counted against
// the budget when it fits, else coalesced into c. Callers hold r.mu.
func (r *Replicator) supersede(k blobKey, c store.Change) *version {
	deleted := c.Kind == store.DeleteBlob
	if old := r.newest[k]; old != nil {
		n := old.size()
		if old.deleted || r.maxSuper < 0 || r.superseded+n <= r.maxSuper {
			old.counted = n
			r.superseded += n
		} else {
			// Over budget: the older pending writes apply c's state,
			// and their version is released.
			old.blob, old.deleted = c.Blob, deleted
			old.shown = false
			old.refs++
			return old
		}
	}
	v := &version{key: k, blob: c.Blob, deleted: deleted, refs: 1}
	r.newest[k] = v
	r.newestPeak = max(r.newestPeak, len(r.newest))
	return v
}

// shrinkNewestAt is the size from which newest is made anew once empty: a
// Go map keeps the room of its largest size, and a burst of writes to many
// blobs (filling a container of 100k blobs) would otherwise keep megabytes
// for the life of the process.
const shrinkNewestAt = 1024

// applied accounts for a pending change that has been applied. Callers
// hold r.mu.
func (r *Replicator) applied1(it item) {
	v := it.v
	if v == nil {
		return
	}
	if v.refs--; v.refs == 0 {
		r.superseded -= v.counted
		v.counted = 0
		if r.newest[v.key] == v {
			delete(r.newest, v.key)
			if len(r.newest) == 0 && r.newestPeak >= shrinkNewestAt {
				r.newest, r.newestPeak = map[blobKey]*version{}, 0
			}
		}
	}
}

// change is the change it applies, with the state of its version now.
// Callers hold r.mu.
func (it item) change() store.Change {
	ch := it.ch
	if it.v != nil {
		if it.v.deleted {
			ch.Kind, ch.Blob = store.DeleteBlob, nil
		} else {
			ch.Kind, ch.Blob = store.PutBlob, it.v.blob
		}
	}
	return ch
}

func (r *Replicator) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run applies changes until ctx is done.
func (r *Replicator) Run(ctx context.Context) {
	var (
		timer   <-chan time.Time
		timerAt time.Time
	)
	for {
		due, ok := r.applyDue()
		switch {
		case !ok:
			timer = nil
		case timer == nil || !due.Equal(timerAt):
			// One timer per deadline: a wake-up that leaves the head of
			// the queue unchanged keeps the timer it already has, so a
			// burst of writes does not pile up timers (a manual clock
			// keeps every one until it is advanced past it).
			at := due
			if r.grain > 0 {
				if at = due.Truncate(r.grain); at.Before(due) {
					at = at.Add(r.grain)
				}
			}
			timer, timerAt = r.clk.After(at.Sub(r.clk.Now())), due
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-timer:
			timer = nil
		}
	}
}

// applyDue applies every change whose lag has passed. When a change is
// still waiting it returns the clock time at which it becomes due.
func (r *Replicator) applyDue() (due time.Time, ok bool) {
	for {
		// The fence must be read before r.mu: a commit holds the primary's
		// lock while it calls Enqueue, which takes r.mu.
		fenced := r.fence().UTC()
		now := r.clk.Now().UTC()
		r.mu.Lock()
		if r.paused || r.held || r.stopped {
			r.mu.Unlock()
			return time.Time{}, false
		}
		if r.queue.len() == 0 {
			r.advance(fenced.Add(-r.lag - time.Nanosecond))
			r.mu.Unlock()
			return time.Time{}, false
		}
		// Take the due changes at the head of the queue, up to maxBatch:
		// one wake-up applies all that are due, and with a durable
		// secondary their applies share the wait for the disk.
		batch, states := r.batch[:0], r.states[:0]
		var dueAt time.Time
		r.queue.each(func(it *item) bool {
			// Each change is due at its own time (the lag model drew it
			// from the commit's clock reading); a drain takes everything.
			if !r.drain && it.due.After(now) {
				dueAt = it.due
				return false
			}
			batch = append(batch, it.change())
			if v := it.v; v != nil {
				states = append(states, version{blob: v.blob, deleted: v.deleted})
			} else {
				states = append(states, version{})
			}
			return len(batch) < maxBatch
		})
		if len(batch) == 0 {
			// Everything before the head is applied and everything after
			// it commits later, so the watermark may stand just before it.
			r.advance(r.queue.front().ch.Time.Add(-time.Nanosecond))
			r.mu.Unlock()
			return dueAt, true
		}
		// Apply outside r.mu so Enqueue (called under the primary's lock)
		// never waits on the secondary's lock. State waits for the apply
		// to finish instead of reporting a LastSyncTime that a reader of
		// the secondary has already seen overtaken.
		r.applying = true
		r.mu.Unlock()
		var wait func() error
		for _, next := range batch {
			wait = r.secondary.ApplyAsync(next)
			if r.afterApply != nil {
				r.afterApply()
			}
		}
		// Changes become durable in order: the last one's wait covers all.
		// A failure has failed the secondary store, which logged it.
		_ = wait()
		r.mu.Lock()
		r.applying = false
		for i := range batch {
			// Coalescing may have given the version a newer state while
			// this one was applied: only the state applied is shown.
			it := r.queue.front()
			if v := it.v; v != nil && !v.imposed && v.blob == states[i].blob && v.deleted == states[i].deleted {
				v.shown = true
			}
			r.applied1(*it)
			r.queue.pop()
			r.applied++
		}
		r.advance(batch[len(batch)-1].Time)
		// Keep the slices for the next batch, without the changes and
		// versions they point to.
		clear(batch)
		clear(states)
		r.batch, r.states = batch, states
		r.idle.Broadcast()
		r.mu.Unlock()
	}
}

// maxBatch is the most changes applied at once: to a durable secondary,
// before waiting for the disk once for all of them.
const maxBatch = 256

func (r *Replicator) advance(t time.Time) {
	if t.After(r.watermark) {
		r.watermark = t
	}
}

// Pause stops applying changes. LastSyncTime stops advancing and later
// writes stay off the secondary until Resume.
func (r *Replicator) Pause() {
	r.mu.Lock()
	r.paused = true
	r.mu.Unlock()
}

// Resume restarts replication; changes that are due are applied at once.
func (r *Replicator) Resume() {
	r.mu.Lock()
	r.paused = false
	r.mu.Unlock()
	r.poke()
}

// SetStatus sets the status Get Blob Service Stats reports.
func (r *Replicator) SetStatus(s Status) error {
	if _, err := ParseStatus(string(s)); err != nil {
		return err
	}
	r.mu.Lock()
	r.status = s
	r.mu.Unlock()
	return nil
}

// State is a snapshot of the replicator.
type State struct {
	Status       Status
	Paused       bool
	LastSyncTime time.Time // every change committed at or before it is on the secondary
	Pending      int       // changes not yet applied
	Applied      uint64    // changes applied so far
	Lag          time.Duration
	// SupersededBytes is the content of overwritten or deleted blob
	// versions that pending changes still hold; at most the
	// MaxSupersededBytes option.
	SupersededBytes int64
}

// State reports the current replication state. LastSyncTime is exact: it
// never claims a change that has not been applied.
func (r *Replicator) State() State {
	fenced := r.fence().UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	// A change being applied may already be visible on the secondary:
	// wait for its accounting, so that LastSyncTime covers every version
	// a reader could have seen before asking.
	for r.applying {
		r.idle.Wait()
	}
	if !r.paused && !r.held && !r.stopped {
		// Everything committed before the fence has been enqueued, so with
		// nothing due, everything up to fence-lag is on the secondary.
		cutoff := fenced.Add(-r.lag - time.Nanosecond)
		if r.queue.len() > 0 {
			if t := r.queue.front().ch.Time.Add(-time.Nanosecond); t.Before(cutoff) {
				cutoff = t
			}
		}
		r.advance(cutoff)
	}
	return State{
		Status:       r.status,
		Paused:       r.paused,
		LastSyncTime: r.watermark,
		Pending:      r.queue.len(),
		Applied:      r.applied,
		Lag:          r.lag,

		SupersededBytes: r.superseded,
	}
}

// WaitIdle blocks until every change enqueued so far has been applied, or
// ctx is done. It is meant for tests and for flushing before shutdown; with
// replication paused it waits for Resume.
func (r *Replicator) WaitIdle(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.idle.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	target := r.applied + uint64(r.queue.len())
	for r.applied < target {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.idle.Wait()
	}
	return nil
}
