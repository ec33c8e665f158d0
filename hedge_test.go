package geoblob_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

// TestFastReadNotHedged: a primary that answers within the hedge delay is
// never hedged. The delay is long enough that a loaded machine cannot
// make the local primary miss it.
func TestFastReadNotHedged(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: 10 * time.Second}
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "h.txt", []byte("hedge"))
	if _, st, err := e.get(context.Background(), "h.txt"); err != nil || st.Location != geoblob.Primary || st.Hedged {
		t.Fatalf("fast primary read: %+v, %v", st, err)
	}
	if c := e.router.Counters(); c.Hedges != 0 {
		t.Fatalf("counters = %+v", c)
	}
}

// TestHedgedRead: a primary slower than the hedge delay is raced by the
// secondary, within the hedge budget. The primary is slowed before the
// first read, so no read can win or lose a race with the delay by chance.
func TestHedgedRead(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: 20 * time.Millisecond, Budget: 0.01, Burst: 1}
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "h.txt", []byte("hedge"))
	ctx := context.Background()
	e.fault(t, fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read, Blob: "h.txt"},
		Action: fault.Action{Latency: fault.Duration(10 * time.Second)}})
	b, st, err := e.get(ctx, "h.txt")
	if err != nil || string(b) != "hedge" {
		t.Fatalf("hedged read: %q, %v", b, err)
	}
	if st.Location != geoblob.Secondary || !st.Hedged {
		t.Fatalf("status = %+v, want the secondary's hedge to win", st)
	}
	if c := e.router.Counters(); c.Hedges != 1 || c.HedgeWins != 1 || c.Failovers != 0 {
		t.Fatalf("counters = %+v", c)
	}
	// The budget caps hedging: the one-hedge burst is spent and 3 reads earn
	// only 0.03 of another, so slow reads now wait for the primary.
	for range 3 {
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, _, _ = e.get(ctx, "h.txt")
		cancel()
	}
	if c := e.router.Counters(); c.Hedges != 1 {
		t.Fatalf("hedges = %d, budget exceeded", c.Hedges)
	}
}

// TestHedgeWinsTrip: reads the hedge keeps winning count as slow primary
// calls, so a hanging primary trips a hedging breaker.
func TestHedgeWinsTrip(t *testing.T) {
	t.Parallel()
	cfg := geoblob.DefaultConfig()
	cfg.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: 5 * time.Millisecond}
	cfg.AttemptTimeout = 10 * time.Second // the hedge, not the bound, rescues these reads
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "p", []byte("x"))
	e.fault(t, hang(fault.Primary))
	for i := range 5 {
		_, st, err := e.get(bounded(t), "p")
		if err != nil || st.Location != geoblob.Secondary || !st.Hedged {
			t.Fatalf("read %d: %+v, %v", i, st, err)
		}
	}
	if s := e.router.State(); s != geoblob.Open {
		t.Fatalf("state %v after 5 hedge wins", s)
	}
	if c := e.router.Counters(); c.HedgeWins != 5 || c.AttemptTimeouts != 0 {
		t.Fatalf("counters %+v", c)
	}
}

// TestHedgeClosesLosers: every response a hedged read does not return is
// closed, on every path, and no goroutine outlives the reads.
func TestHedgeClosesLosers(t *testing.T) {
	for _, tc := range []struct {
		name               string
		primary, secondary int32
		disableFallback    bool
		wantErr            bool
	}{
		{"secondary wins", 0, 0, false, false},
		{"both fail", 503, 500, false, true},
		{"both fail, no fallback", 503, 500, true, true},
		{"secondary fails, primary wins", 0, 503, false, false},
		{"secondary lacks the blob", 0, 404, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := geoblob.DefaultConfig()
			cfg.FailureThreshold = 1000
			cfg.DisableFallback = tc.disableFallback
			cfg.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: time.Millisecond, Budget: 1, Burst: 1000}
			f, c, r := newFake(t, cfg)
			f.delay[geoblob.Primary].Store(int64(15 * time.Millisecond))
			f.status[geoblob.Primary].Store(tc.primary)
			f.status[geoblob.Secondary].Store(tc.secondary)
			g0 := runtime.NumGoroutine()
			for range 10 {
				_, err := read(c)
				if (err != nil) != tc.wantErr {
					t.Fatalf("err = %v", err)
				}
			}
			waitFor(t, func() bool { return f.openBodies.Load() == 0 })
			waitFor(t, func() bool { return runtime.NumGoroutine() <= g0+2 })
			if r.Counters().Hedges == 0 {
				t.Fatal("no hedges")
			}
		})
	}
}

// TestHedgeBudgetUnderConcurrency: concurrent slow reads never hedge more
// than the burst plus the budget earned.
func TestHedgeBudgetUnderConcurrency(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: time.Millisecond, Budget: 0.1, Burst: 3}
	f, c, r := newFake(t, cfg)
	f.delay[geoblob.Primary].Store(int64(10 * time.Millisecond))
	var wg sync.WaitGroup
	const reads = 200
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range reads / 20 {
				if _, err := read(c); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if h := r.Counters().Hedges; h == 0 || h > 3+reads/10 {
		t.Fatalf("%d hedges for %d reads with burst 3 and budget 0.1", h, reads)
	}
	if f.secWrites.Load() != 0 {
		t.Fatal("a hedge wrote to the secondary")
	}
}

// TestHedgeSkippedForStalenessIsNotAnError: when the secondary is too
// stale to hedge to, the read simply waits for the primary; nothing failed.
func TestHedgeSkippedForStalenessIsNotAnError(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.MaxStaleness = time.Minute // the fake's LastSyncTime is in 2025
	cfg.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: time.Millisecond}
	f, c, r := newFake(t, cfg)
	f.delay[geoblob.Primary].Store(int64(10 * time.Millisecond))
	for range 3 {
		if got, err := read(c); err != nil || got != "data-primary" {
			t.Fatalf("%q %v", got, err)
		}
	}
	if cs := r.Counters(); cs.Errors != 0 || cs.TooStale != 0 || cs.Hedges != 0 {
		t.Fatalf("counters %+v", cs)
	}
}

// TestHedgeBudgetSpentStillBounded: once the hedge budget is spent, a
// hanging primary costs each read the attempt bound, not the whole hang.
func TestHedgeBudgetSpentStillBounded(t *testing.T) {
	t.Parallel()
	cfg := hangCfg()
	cfg.FailureThreshold = 100 // keep the breaker closed: every read meets the hang
	cfg.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: 5 * time.Millisecond, Budget: 0.001, Burst: 1}
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "p", []byte("x"))
	e.fault(t, hang(fault.Primary))
	for i := range 4 {
		if _, st, err := e.get(bounded(t), "p"); err != nil || st.Location != geoblob.Secondary {
			t.Fatalf("read %d: %+v, %v", i, st, err)
		}
	}
	if c := e.router.Counters(); c.Hedges != 1 || c.AttemptTimeouts != 3 {
		t.Fatalf("counters %+v", c)
	}
}

// TestHedgeBothHangBounded: with hedging on and both locations hanging,
// the hedge sent to the secondary is bounded like any attempt, so the read
// ends with ErrBothUnavailable instead of waiting for the caller's context.
func TestHedgeBothHangBounded(t *testing.T) {
	t.Parallel()
	cfg := hangCfg()
	cfg.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: 5 * time.Millisecond}
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "p", []byte("x"))
	e.fault(t, hang(fault.Both))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, st, err := e.get(ctx, "p")
	if !errors.Is(err, geoblob.ErrBothUnavailable) || !errors.Is(err, geoblob.ErrAttemptTimeout) {
		t.Fatalf("err = %v, want ErrBothUnavailable from two timed-out attempts", err)
	}
	if st.Served {
		t.Fatalf("ReadInfo says a location served the read: %+v", st)
	}
	if c := e.router.Counters(); c.Hedges == 0 || c.AttemptTimeouts < 2*c.Hedges {
		t.Fatalf("counters %+v: every hedged try should time out on both locations", c)
	}
}
