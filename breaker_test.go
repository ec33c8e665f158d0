package geoblob_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/testenv"
)

func TestSeedThresholds(t *testing.T) {
	f, c, r := newFake(t, nil)
	f.status[geoblob.Primary].Store(503)
	for i := range 25 {
		got, err := read(c)
		if err != nil || got != "data-secondary" {
			t.Fatalf("read %d: %q %v", i, got, err)
		}
	}
	// 5 failing primary tries trip; after 20 secondary reads one probe.
	if n := f.calls[geoblob.Primary].Load(); n != 6 {
		t.Fatalf("primary calls = %d, want 6", n)
	}
	f.status[geoblob.Primary].Store(0)
	for i := 0; i < 41 && r.State() != geoblob.Closed; i++ { // backed-off: 40 reads
		if _, err := read(c); err != nil {
			t.Fatal(err)
		}
	}
	if r.State() != geoblob.Closed {
		t.Fatalf("state = %v after recovery", r.State())
	}
}

func TestFailoverAndFailback(t *testing.T) {
	var retries []int
	var changes []geoblob.StateChange
	var mu sync.Mutex
	cfg := geoblob.DefaultConfig()
	cfg.OnRetry = func(ev geoblob.RetryEvent) {
		mu.Lock()
		defer mu.Unlock()
		if !ev.Probe {
			retries = append(retries, ev.Count)
		}
	}
	cfg.OnStateChange = func(ev geoblob.StateChange) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, ev)
	}
	e := newEnv(t, emulator.Options{}, cfg)
	data := []byte("hello, geo-redundant world")
	e.put(t, "hello.txt", data)
	ctx := context.Background()

	id := e.fault(t, outage(fault.Primary, 503))
	var seq []string
	for i := range 30 {
		b, st, err := e.get(ctx, "hello.txt")
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if !bytes.Equal(b, data) {
			t.Fatalf("read %d: wrong bytes %q", i, b)
		}
		seq = append(seq, st.Location.String()[:1])
		if i < 5 && (!st.Fallback || st.Location != geoblob.Secondary) {
			t.Fatalf("read %d: want a fallback to the secondary, got %+v", i, st)
		}
	}
	if got := e.router.State(); got != geoblob.Open {
		t.Fatalf("state after outage = %v, want open", got)
	}
	// 5 failures trip; 20 secondary reads later one probe fails: 6 primary
	// attempts in 30 reads, none per read once tripped.
	if n := e.fired(t, id); n != 6 {
		t.Errorf("primary attempts = %d, want 6 (reads: %v)", n, seq)
	}
	mu.Lock()
	if fmt.Sprint(retries) != "[1 2 3 4 5]" {
		t.Errorf("retry counts = %v, want [1 2 3 4 5]", retries)
	}
	mu.Unlock()

	// The primary recovers; the backed-off probe (after 40 secondary reads)
	// closes the breaker.
	e.emu.Faults().Clear()
	for i := 0; i < 100 && e.router.State() != geoblob.Closed; i++ {
		if _, _, err := e.get(ctx, "hello.txt"); err != nil {
			t.Fatalf("read %d after recovery: %v", i, err)
		}
	}
	if got := e.router.State(); got != geoblob.Closed {
		t.Fatalf("state after recovery = %v, want closed", got)
	}
	_, st, err := e.get(ctx, "hello.txt")
	if err != nil || st.Location != geoblob.Primary || st.Fallback {
		t.Fatalf("read after failback: %+v, %v", st, err)
	}
	c := e.router.Counters()
	// 6 fallbacks: the 5 reads that tripped the breaker and the failed probe.
	if c.Failovers != 1 || c.Failbacks != 1 || c.Errors != 0 || c.Fallbacks != 6 || c.Probes != 2 {
		t.Errorf("counters = %+v", c)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 2 || changes[0].To != geoblob.Open || changes[1].To != geoblob.Closed {
		t.Errorf("state changes = %+v", changes)
	}
}

func TestProbeIsExclusive(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.FailbackReads = 1
	f, c, r := newFake(t, cfg)
	f.status[geoblob.Primary].Store(503)
	for range 6 {
		_, _ = read(c)
	}
	if r.State() != geoblob.Open {
		t.Fatalf("state = %v", r.State())
	}
	// The primary hangs a little: while the probe is in flight, every other
	// read must use the secondary.
	f.status[geoblob.Primary].Store(0)
	f.delay[geoblob.Primary].Store(int64(50 * time.Millisecond))
	before := f.calls[geoblob.Primary].Load()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := read(c); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := f.calls[geoblob.Primary].Load() - before; n < 1 || n > 2 {
		// One probe, plus possibly one more once the breaker closed.
		t.Fatalf("primary calls during half-open = %d", n)
	}
}

func TestTimeBasedFailbackBacksOff(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	cfg := geoblob.DefaultConfig()
	cfg.FailbackReads = 0
	cfg.FailbackAfter = 10 * time.Second
	cfg.ProbeBackoff = 2
	cfg.MaxProbeBackoff = 4
	cfg.Now = clock
	f, c, r := newFake(t, cfg)
	f.status[geoblob.Primary].Store(-1) // connection refused
	for range 5 {
		_, _ = read(c)
	}
	probesAt := func(d time.Duration) int64 {
		before := f.calls[geoblob.Primary].Load()
		advance(d)
		_, _ = read(c)
		return f.calls[geoblob.Primary].Load() - before
	}
	for _, step := range []struct {
		advance time.Duration
		probes  int64
	}{
		{9 * time.Second, 0}, {time.Second, 1}, // first probe after 10s, fails
		{19 * time.Second, 0}, {time.Second, 1}, // backed off to 20s
		{39 * time.Second, 0}, {time.Second, 1}, // 40s, the cap
		{39 * time.Second, 0}, {time.Second, 1}, // stays at 40s
	} {
		if got := probesAt(step.advance); got != step.probes {
			t.Fatalf("after +%v: %d primary attempts, want %d", step.advance, got, step.probes)
		}
	}
	if r.Counters().Probes != 4 || r.State() != geoblob.Open {
		t.Fatalf("counters %+v state %v", r.Counters(), r.State())
	}
}

func TestFailureRatioAndSlowCalls(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.FailureThreshold = 0
	cfg.FailureRatio = 0.5
	cfg.MinThroughput = 10
	cfg.Window = time.Hour
	f, c, r := newFake(t, cfg)
	// Alternate failures and successes: never 5 in a row, but 50%.
	for i := 0; i < 20 && r.State() == geoblob.Closed; i++ {
		if i%2 == 0 {
			f.status[geoblob.Primary].Store(503)
		} else {
			f.status[geoblob.Primary].Store(0)
		}
		_, _ = read(c)
	}
	if r.State() != geoblob.Open {
		t.Fatal("ratio rule did not trip")
	}

	cfg = geoblob.DefaultConfig()
	cfg.SlowCallThreshold = time.Millisecond
	cfg.FailureThreshold = 3
	f, c, r = newFake(t, cfg)
	f.delay[geoblob.Primary].Store(int64(5 * time.Millisecond))
	for range 3 {
		if got, err := read(c); err != nil || got != "data-primary" {
			t.Fatalf("slow read: %q %v", got, err)
		}
	}
	if r.State() != geoblob.Open {
		t.Fatal("slow-call rule did not trip")
	}
}

// TestSlowCallTripEmitsStateChange: a trip by the slow-call rule is a
// transition like any other and must reach OnStateChange.
func TestSlowCallTripEmitsStateChange(t *testing.T) {
	var events eventLog
	cfg := geoblob.DefaultConfig()
	cfg.SlowCallThreshold = time.Millisecond
	cfg.FailureThreshold = 3
	events.attach(cfg)
	f, c, r := newFake(t, cfg)
	f.delay[geoblob.Primary].Store(int64(5 * time.Millisecond))
	for range 3 {
		if _, err := read(c); err != nil {
			t.Fatal(err)
		}
	}
	if r.State() != geoblob.Open {
		t.Fatal("slow-call rule did not trip")
	}
	if got := events.transitions(); got != "closed>open" {
		t.Fatalf("transitions %q, want closed>open", got)
	}
	if c := r.Counters(); c.Failovers != 1 {
		t.Fatalf("counters %+v", c)
	}
}

// TestTryTimeoutCountsAsFailure: a primary that hangs past the SDK's
// TryTimeout fails with context.DeadlineExceeded on the try's context. That
// is a timeout, which the issue lists as a retryable failure: it must count
// and eventually trip the breaker.
func TestTryTimeoutCountsAsFailure(t *testing.T) {
	var events eventLog
	cfg := geoblob.DefaultConfig()
	events.attach(cfg)
	f, _, r := newFake(t, cfg)
	f.delay[geoblob.Primary].Store(int64(time.Minute)) // hangs; honours ctx
	// newFake's client has MaxRetries 2; give each try 20 ms.
	o := &azblob.ClientOptions{}
	o.Transport = f
	o.Retry = policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Microsecond, MaxRetryDelay: time.Microsecond, TryTimeout: 20 * time.Millisecond}
	c, err := azblob.NewClientWithNoCredential(fakeURL+"?sv=1&sig=x", r.ClientOptions(o))
	if err != nil {
		t.Fatal(err)
	}
	var ok bool
	for i := 0; i < 4 && !ok; i++ {
		got, err := read(c)
		ok = err == nil && got == "data-secondary"
	}
	if !ok || r.State() != geoblob.Open {
		t.Fatalf("hanging primary: state %v, a read served by the secondary: %v", r.State(), ok)
	}
	if n := events.retryCount(); n != 5 {
		t.Errorf("OnRetry called %d times, want 5", n)
	}
	if got := events.transitions(); got != "closed>open" {
		t.Errorf("transitions %q", got)
	}
}

// TestCancellationIsNeutral: caller cancellation never counts against the
// primary, not even from many goroutines at once, and an abandoned probe
// frees the probe slot.
func TestCancellationIsNeutral(t *testing.T) {
	var events eventLog
	cfg := geoblob.DefaultConfig()
	cfg.FailureThreshold = 2
	cfg.FailbackReads = 1
	cfg.ProbeBackoff = 1
	events.attach(cfg)
	f, c, r := newFake(t, cfg)
	f.delay[geoblob.Primary].Store(int64(time.Minute))
	cancelled := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		go func() { time.Sleep(2 * time.Millisecond); cancel() }()
		_, err := c.DownloadStream(ctx, "c", "b", nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	}
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() { defer wg.Done(); cancelled() }()
	}
	wg.Wait()
	if r.State() != geoblob.Closed || events.retryCount() != 0 || r.Counters().Errors != 0 {
		t.Fatalf("cancellation counted: state %v, %d retries, %+v", r.State(), events.retryCount(), r.Counters())
	}
	// Trip, then cancel the probe: the slot must be released.
	f.delay[geoblob.Primary].Store(0)
	f.status[geoblob.Primary].Store(503)
	for range 2 {
		_, _ = read(c)
	}
	// The tripping read fell back to the secondary: a probe is due.
	if r.State() != geoblob.Open {
		t.Fatalf("state %v", r.State())
	}
	f.status[geoblob.Primary].Store(0)
	f.delay[geoblob.Primary].Store(int64(time.Minute))
	cancelled() // the probe
	if r.State() != geoblob.Open || r.Counters().Probes != 1 {
		t.Fatalf("after a cancelled probe: state %v, %+v", r.State(), r.Counters())
	}
	f.delay[geoblob.Primary].Store(0)
	if _, err := read(c); err != nil || r.State() != geoblob.Closed {
		t.Fatalf("next probe: %v, state %v", err, r.State())
	}
}

// TestConcurrentTransitionsEmittedOnce: many goroutines failing and then
// succeeding at once produce exactly one trip and one fail-back, with
// counters that agree with the events and the reads.
func TestConcurrentTransitionsEmittedOnce(t *testing.T) {
	var events eventLog
	cfg := geoblob.DefaultConfig()
	cfg.FailbackReads = 10
	events.attach(cfg)
	f, c, r := newFake(t, cfg)
	f.status[geoblob.Primary].Store(503)
	const readers, each = 16, 20
	var failed atomic.Int64
	run := func() {
		var wg sync.WaitGroup
		for range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					if _, err := read(c); err != nil {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
	}
	run()
	if got := events.transitions(); got != "closed>open" {
		t.Fatalf("transitions during the outage %q", got)
	}
	f.status[geoblob.Primary].Store(0)
	run()
	if got := events.transitions(); got != "closed>open,open>closed" {
		t.Fatalf("transitions %q", got)
	}
	cs := r.Counters()
	if failed.Load() != 0 || cs.Errors != 0 || cs.Failovers != 1 || cs.Failbacks != 1 {
		t.Fatalf("%d failed, counters %+v", failed.Load(), cs)
	}
	if cs.PrimaryReads+cs.SecondaryReads != 2*readers*each {
		t.Fatalf("reads %d+%d, want %d", cs.PrimaryReads, cs.SecondaryReads, 2*readers*each)
	}
	if f.openBodies.Load() != 0 {
		t.Fatalf("%d response bodies never closed", f.openBodies.Load())
	}
}

// TestStaleProbeVerdictIgnored: a probe's verdict applies only to the
// breaker state it was sent from. Here the probe hangs, the breaker is
// reset by hand and trips again on a fresh failure; the old probe's
// success must not close the new open state.
func TestStaleProbeVerdictIgnored(t *testing.T) {
	var events eventLog
	cfg := geoblob.DefaultConfig()
	cfg.FailureThreshold = 1
	cfg.FailbackReads = 1
	cfg.ProbeBackoff = 1
	events.attach(cfg)
	f, c, r := newFake(t, cfg)
	f.status[geoblob.Primary].Store(503)
	_, _ = read(c) // trips; its fallback makes a probe due
	f.status[geoblob.Primary].Store(0)
	gate := make(chan struct{})
	f.gate.Store(&gate)
	probed := make(chan error, 1)
	go func() { _, err := read(c); probed <- err }()
	waitFor(t, func() bool { return r.State() == geoblob.HalfOpen })
	r.Force(geoblob.SecondaryOnly)
	r.Force(geoblob.Auto) // closed again, the probe still in flight
	f.status[geoblob.Primary].Store(503)
	_, _ = read(c) // trips again
	close(gate)    // the old probe now succeeds
	if err := <-probed; err != nil {
		t.Fatal(err)
	}
	if r.State() != geoblob.Open || r.Counters().Failbacks != 0 {
		t.Fatalf("state %v, counters %+v, transitions %s", r.State(), r.Counters(), events.transitions())
	}
	// The probe slot was released: the next due probe goes out.
	f.status[geoblob.Primary].Store(0)
	for i := 0; i < 3 && r.State() != geoblob.Closed; i++ {
		_, _ = read(c)
	}
	if r.State() != geoblob.Closed {
		t.Fatalf("no probe after the stale one: %v", r.State())
	}
}

// TestSecondaryFailureClosesWhenPrimaryAnswers: with the breaker open, a
// read that fails on the secondary and is then served by the primary shows
// the primary is back. The breaker closes at once instead of making every
// read pay for the failing secondary until the next probe.
func TestSecondaryFailureClosesWhenPrimaryAnswers(t *testing.T) {
	var changes []geoblob.StateChange
	var mu sync.Mutex
	cfg := geoblob.DefaultConfig()
	cfg.OnStateChange = func(ev geoblob.StateChange) {
		mu.Lock()
		changes = append(changes, ev)
		mu.Unlock()
	}
	f, c, r := newFake(t, cfg)
	f.status[geoblob.Primary].Store(503)
	for range 6 {
		if _, err := read(c); err != nil {
			t.Fatal(err)
		}
	}
	if r.State() != geoblob.Open {
		t.Fatalf("state %v, want open", r.State())
	}
	// The regions swap: the primary recovers, the secondary fails.
	f.status[geoblob.Primary].Store(0)
	f.status[geoblob.Secondary].Store(503)
	got, err := read(c)
	if err != nil || got != "data-primary" {
		t.Fatalf("fallback read: %q %v", got, err)
	}
	if r.State() != geoblob.Closed {
		t.Fatalf("state %v after the primary answered, want closed", r.State())
	}
	secBefore := f.calls[geoblob.Secondary].Load()
	for range 5 {
		if got, err := read(c); err != nil || got != "data-primary" {
			t.Fatalf("read after recovery: %q %v", got, err)
		}
	}
	if n := f.calls[geoblob.Secondary].Load() - secBefore; n != 0 {
		t.Fatalf("%d reads still went to the failing secondary first", n)
	}
	ctr := r.Counters()
	mu.Lock()
	defer mu.Unlock()
	if ctr.Failovers != 1 || ctr.Failbacks != 1 || len(changes) != 2 || changes[1].To != geoblob.Closed {
		t.Fatalf("counters %+v, changes %+v", ctr, changes)
	}
}

// TestNotReplicatedDoesNotClose: a 404 from the secondary sent to the
// primary says nothing about the primary's health; the breaker stays open.
func TestNotReplicatedDoesNotClose(t *testing.T) {
	f, c, r := newFake(t, nil)
	f.status[geoblob.Primary].Store(503)
	for range 6 {
		if _, err := read(c); err != nil {
			t.Fatal(err)
		}
	}
	f.status[geoblob.Primary].Store(0)
	f.status[geoblob.Secondary].Store(404)
	if got, err := read(c); err != nil || got != "data-primary" {
		t.Fatalf("not-replicated read: %q %v", got, err)
	}
	if r.State() != geoblob.Open {
		t.Fatalf("state %v, want still open", r.State())
	}
}

func TestConcurrentReadersDuringOutage(t *testing.T) {
	e := newEnv(t, emulator.Options{}, nil)
	data := []byte("concurrent")
	e.put(t, "c.txt", data)
	ctx := context.Background()
	var failed atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() { // toggle the outage while readers run
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if i%2 == 0 {
				_, _ = e.emu.Faults().Add(outage(fault.Primary, 503))
			} else {
				e.emu.Faults().Clear()
			}
			_ = e.router.Counters()
			_ = e.router.State()
		}
	}()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				b, _, err := e.get(ctx, "c.txt")
				if err != nil || !bytes.Equal(b, data) {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d failed reads", n)
	}
	c := e.router.Counters()
	if c.PrimaryReads+c.SecondaryReads != 16*50 {
		t.Fatalf("counters = %+v", c)
	}
}

// TestFlappingPrimaryDamped: a primary failing half of its reads at random
// trips and closes the breaker a few times, then flap damping keeps it
// open: the transitions stay bounded however long the flapping lasts.
func TestFlappingPrimaryDamped(t *testing.T) {
	clk := testenv.Clock()
	var transitions atomic.Int64
	cfg := geoblob.DefaultConfig()
	cfg.Now = clk.Now
	cfg.ProbeInterval = -1 // real-time background probes would make the run vary
	cfg.OnStateChange = func(geoblob.StateChange) { transitions.Add(1) }
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "f", []byte("x"))
	e.emu.Faults().SetRand(rand.NewPCG(1, 2)) // the same flapping every run
	half := 0.5
	e.fault(t, fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read, Container: testContainer},
		Action: fault.Action{Status: 503}, Limits: fault.Limits{Probability: &half}})
	for i := range 2000 {
		clk.Advance(5 * time.Millisecond) // 10 s of simulated flapping
		if _, _, err := e.get(context.Background(), "f"); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	if n := transitions.Load(); n > 12 {
		t.Fatalf("%d transitions in 10 simulated seconds", n)
	}
	t.Logf("%d transitions in 10 simulated seconds", transitions.Load())
}
