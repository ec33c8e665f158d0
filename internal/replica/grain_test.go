package replica

import (
	"context"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
)

// timerClock is a manual clock that reports the deadline of every timer
// the replicator asks it for.
type timerClock struct {
	*clock.Manual
	deadlines chan time.Time
}

func (c *timerClock) After(d time.Duration) <-chan time.Time {
	ch := c.Manual.After(d)
	c.deadlines <- c.Now().Add(d)
	return ch
}

// TestGrainRoundsWakeUpsUp: with Options.Grain the replicator wakes at the
// next multiple of Grain at or after a change's due time, never before it,
// and applies the change then; without, at the due time itself.
func TestGrainRoundsWakeUpsUp(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const lag = time.Second
	for _, tc := range []struct {
		name   string
		grain  time.Duration
		offset time.Duration // when the write commits, after the start
		wake   time.Duration // when the replicator must wake, after the start
	}{
		{"no grain", 0, 30 * time.Millisecond, lag + 30*time.Millisecond},
		{"rounded up", 100 * time.Millisecond, 30 * time.Millisecond, lag + 100*time.Millisecond},
		{"on the grain", 100 * time.Millisecond, 200 * time.Millisecond, lag + 200*time.Millisecond},
		{"a nanosecond past", time.Millisecond, time.Millisecond + time.Nanosecond, lag + 2*time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &timerClock{Manual: clock.NewManual(start), deadlines: make(chan time.Time, 16)}
			sec := store.New(store.Options{Now: clk.Now})
			var r *Replicator
			prim := store.New(store.Options{Now: clk.Now, OnCommit: func(c store.Change) { r.Enqueue(c) }})
			r = New(sec, Options{Lag: lag, Clock: clk, Fence: prim.FenceNow, Grain: tc.grain})
			if _, err := prim.CreateContainer("a", "c", nil, ""); err != nil {
				t.Fatal(err)
			}
			clk.Advance(lag)
			r.applyDue() // the container
			base := clk.Now()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { r.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			clk.Advance(tc.offset)
			put(t, prim, "b")
			if at := <-clk.deadlines; !at.Equal(base.Add(tc.wake)) {
				t.Fatalf("the replicator wakes %v after the start, want %v", at.Sub(base), tc.wake)
			}
			clk.Set(base.Add(tc.wake))
			if err := r.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := sec.Blob("a", "c", "b", store.ReadOptions{}); err != nil {
				t.Fatalf("not applied at its wake-up: %v", err)
			}
		})
	}
}
