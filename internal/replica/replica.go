// Package replica replicates a primary store to its secondary the way
// geo-redundant storage does: asynchronously, in commit order, after a
// configurable lag.
//
// The primary store hands every committed change to Enqueue (from inside its
// commit, so the queue is in commit order). A single goroutine applies each
// change to the secondary store once the lag has passed since the change was
// committed. The replicator tracks a watermark, LastSyncTime: every change
// committed at or before it is visible on the secondary. While replication
// is paused nothing is applied and the watermark stands still.
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
}

// Replicator applies a primary's changes to a secondary store.
type Replicator struct {
	secondary *store.Store
	lag       time.Duration
	clk       clock.Clock
	fence     func() time.Time

	mu        sync.Mutex
	queue     []store.Change
	head      int
	paused    bool
	status    Status
	watermark time.Time
	applied   uint64
	wake      chan struct{}
	idle      *sync.Cond // signalled whenever the queue shrinks
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
	r := &Replicator{
		fence:     opts.Fence,
		secondary: secondary,
		lag:       opts.Lag,
		clk:       opts.Clock,
		status:    Live,
		watermark: opts.Clock.Now().UTC().Add(-opts.Lag),
		wake:      make(chan struct{}, 1),
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
	r.queue = append(r.queue, c)
	r.mu.Unlock()
	r.poke()
}

func (r *Replicator) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run applies changes until ctx is done.
func (r *Replicator) Run(ctx context.Context) {
	for {
		wait := r.applyDue()
		var timer <-chan time.Time
		if wait > 0 {
			timer = r.clk.After(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-timer:
		}
	}
}

// applyDue applies every change whose lag has passed and returns how long
// to wait for the next one (0 when there is nothing to wait for).
func (r *Replicator) applyDue() time.Duration {
	for {
		// The fence must be read before r.mu: a commit holds the primary's
		// lock while it calls Enqueue, which takes r.mu.
		cutoff := r.fence().UTC().Add(-r.lag)
		r.mu.Lock()
		if r.paused {
			r.mu.Unlock()
			return 0
		}
		if r.head == len(r.queue) {
			r.advance(cutoff.Add(-time.Nanosecond))
			r.mu.Unlock()
			return 0
		}
		next := r.queue[r.head]
		if next.Time.After(cutoff) {
			r.advance(next.Time.Add(-time.Nanosecond))
			r.mu.Unlock()
			return next.Time.Sub(cutoff)
		}
		// Apply outside r.mu so Enqueue (called under the primary's lock)
		// never waits on the secondary's lock.
		r.mu.Unlock()
		r.secondary.Apply(next)
		r.mu.Lock()
		r.queue[r.head] = store.Change{}
		r.head++
		r.applied++
		if r.head == len(r.queue) {
			r.queue, r.head = r.queue[:0], 0
		} else if r.head > 1024 && r.head*2 > len(r.queue) {
			r.queue = append(r.queue[:0], r.queue[r.head:]...)
			r.head = 0
		}
		r.advance(next.Time)
		r.idle.Broadcast()
		r.mu.Unlock()
	}
}

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
}

// State reports the current replication state. LastSyncTime is exact: it
// never claims a change that has not been applied.
func (r *Replicator) State() State {
	fenced := r.fence().UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.paused {
		// Everything committed before the fence has been enqueued, so with
		// nothing due, everything up to fence-lag is on the secondary.
		cutoff := fenced.Add(-r.lag - time.Nanosecond)
		if r.head < len(r.queue) {
			if t := r.queue[r.head].Time.Add(-time.Nanosecond); t.Before(cutoff) {
				cutoff = t
			}
		}
		r.advance(cutoff)
	}
	return State{
		Status:       r.status,
		Paused:       r.paused,
		LastSyncTime: r.watermark,
		Pending:      len(r.queue) - r.head,
		Applied:      r.applied,
		Lag:          r.lag,
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
	target := r.applied + uint64(len(r.queue)-r.head)
	for r.applied < target {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.idle.Wait()
	}
	return nil
}
