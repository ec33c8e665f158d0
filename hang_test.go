package geoblob_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

// hangCfg is DefaultConfig with a fixed attempt bound. Every hang is
// infinite, so the bound always fires on a hanging location; it is long
// enough that a healthy location's read on a loaded machine never reaches
// it (the bound applies to the secondary too, and the tests count
// timeouts exactly). Tests using it run in parallel to save the wait.
func hangCfg() *geoblob.Config {
	cfg := geoblob.DefaultConfig()
	cfg.AttemptTimeout = hangBound
	return cfg
}

const hangBound = 2 * time.Second

func hang(ep fault.Endpoint) fault.Rule {
	return fault.Rule{Endpoint: ep, Match: fault.Match{Op: fault.Read, Container: testContainer}, Action: fault.Action{Hang: true}}
}

// bounded is a context that fails a test that would otherwise hang for
// the whole outage.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestHangFallsBackWithinTheTry: a primary that accepts the request and
// never answers costs one attempt bound, then the same try is served by
// the secondary.
func TestHangFallsBackWithinTheTry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{}, hangCfg())
	data := []byte("hung primary")
	e.put(t, "h", data)
	e.fault(t, hang(fault.Primary))
	got, st, err := e.get(bounded(t), "h")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) || !st.Served || st.Location != geoblob.Secondary || !st.Fallback {
		t.Fatalf("got %q from %+v", got, st)
	}
	if c := e.router.Counters(); c.AttemptTimeouts != 1 || c.Fallbacks != 1 {
		t.Fatalf("counters %+v", c)
	}
}

// TestHangTripsLoneReader: one reader, one read at a time, still trips the
// breaker after FailureThreshold timed-out attempts; then reads go
// straight to the secondary without waiting for the bound.
func TestHangTripsLoneReader(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{}, hangCfg())
	e.put(t, "h", []byte("x"))
	e.fault(t, hang(fault.Primary))
	ctx := bounded(t)
	for i := range 6 {
		if _, _, err := e.get(ctx, "h"); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	if s := e.router.State(); s != geoblob.Open {
		t.Fatalf("state %v, want open", s)
	}
	if c := e.router.Counters(); c.AttemptTimeouts != 5 || c.SecondaryReads != 6 {
		t.Fatalf("counters %+v", c)
	}
}

// TestHangingProbeFallsBack: the read chosen as the half-open probe waits
// at most the bound for the hanging primary, is served by the secondary,
// and the failed probe is an event.
func TestHangingProbeFallsBack(t *testing.T) {
	t.Parallel()
	cfg := hangCfg()
	cfg.FailureThreshold, cfg.FailbackReads = 1, 1
	var mu sync.Mutex
	var probes []geoblob.ProbeEvent
	cfg.OnProbe = func(ev geoblob.ProbeEvent) {
		mu.Lock()
		probes = append(probes, ev)
		mu.Unlock()
	}
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "h", []byte("x"))
	e.fault(t, hang(fault.Primary))
	ctx := bounded(t)
	for i := range 3 { // trip, one secondary read, the probe
		if _, st, err := e.get(ctx, "h"); err != nil || st.Location != geoblob.Secondary {
			t.Fatalf("read %d: %+v, %v", i, st, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(probes) == 0 {
		t.Fatal("no probe")
	}
	for _, p := range probes {
		if p.OK || !errors.Is(p.Err, geoblob.ErrAttemptTimeout) || p.Reason != "attempt timeout" {
			t.Fatalf("probe events %+v", probes)
		}
	}
	if s := e.router.State(); s != geoblob.Open {
		t.Fatalf("state %v after a hanging probe", s)
	}
	if c := e.router.Counters(); c.ProbesFailed != uint64(len(probes)) || c.AttemptTimeouts != 1+c.ProbesFailed {
		t.Fatalf("counters %+v", c)
	}
}

// TestBothHangEndsWithBothUnavailable: with both locations hanging a read
// ends after the bounded attempts with a typed error naming the timeouts.
func TestBothHangEndsWithBothUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{}, hangCfg())
	e.put(t, "h", []byte("x"))
	e.fault(t, hang(fault.Both))
	_, st, err := e.get(bounded(t), "h")
	if !errors.Is(err, geoblob.ErrBothUnavailable) || !errors.Is(err, geoblob.ErrAttemptTimeout) {
		t.Fatalf("err = %v", err)
	}
	var ge *geoblob.Error
	if !errors.As(err, &ge) || ge.Primary == nil || ge.Secondary == nil {
		t.Fatalf("not a *geoblob.Error with both causes: %#v", err)
	}
	if st.Served {
		t.Fatalf("ReadInfo says a location served the read: %+v", st)
	}
}

// TestAttemptBoundDisabled: a negative AttemptTimeout leaves a hang to the
// caller's context, as before.
func TestAttemptBoundDisabled(t *testing.T) {
	t.Parallel()
	cfg := geoblob.DefaultConfig()
	cfg.AttemptTimeout = -1
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "h", []byte("x"))
	e.fault(t, hang(fault.Primary))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, _, err := e.get(ctx, "h"); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("read ended without a bound: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// TestCallerCancelEndsBoundedAttempt: with the attempt bound on (and far
// away), cancelling the caller's context ends a read held by a hanging
// primary at once, through net/http, and counts nothing against it.
func TestCallerCancelEndsBoundedAttempt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Options{}, nil) // a one-minute bound
	e.put(t, "h", []byte("x"))
	id := e.fault(t, hang(fault.Primary))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, _, err := e.get(ctx, "h"); done <- err }()
	for e.fired(t, id) == 0 { // the request is held by the hang
		select {
		case err := <-done:
			t.Fatalf("read ended before the hang held it: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the cancelled read did not end")
	}
	if c := e.router.Counters(); c.AttemptTimeouts != 0 || c.Errors != 0 || c.Fallbacks != 0 {
		t.Fatalf("counters %+v", c)
	}
	if s := e.router.State(); s != geoblob.Closed {
		t.Fatalf("state %v", s)
	}
}
