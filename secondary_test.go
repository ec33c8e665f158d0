package geoblob_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/testenv"
)

// secondaryLog records OnSecondaryChange events.
type secondaryLog struct {
	mu      sync.Mutex
	changes []geoblob.SecondaryChange
	ch      chan geoblob.SecondaryChange
}

func (l *secondaryLog) attach(cfg *geoblob.Config) {
	l.ch = make(chan geoblob.SecondaryChange, 100)
	cfg.OnSecondaryChange = func(ev geoblob.SecondaryChange) {
		l.mu.Lock()
		l.changes = append(l.changes, ev)
		l.mu.Unlock()
		l.ch <- ev
	}
}

func (l *secondaryLog) list() []geoblob.SecondaryChange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]geoblob.SecondaryChange(nil), l.changes...)
}

// await waits for the secondary to be marked down (or up).
func (l *secondaryLog) await(t *testing.T, down bool) geoblob.SecondaryChange {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-l.ch:
			if ev.Down == down {
				return ev
			}
		case <-timeout:
			t.Fatalf("the secondary was never marked down=%v", down)
		}
	}
}

// refuseSecondary makes the secondary endpoint refuse every connection, as
// the -secondary host of an account does after an unplanned failover.
func refuseSecondary(t *testing.T, e *env) string {
	t.Helper()
	return e.fault(t, fault.Rule{Endpoint: fault.Secondary, Action: fault.Action{Refuse: true}})
}

// primaryBlip makes the next primary read of the test container fail with
// 503, once.
func primaryBlip(t *testing.T, e *env) string {
	t.Helper()
	r := outage(fault.Primary, 503)
	r.Limits.Count = 1
	return e.fault(t, r)
}

// TestDeadSecondaryDoesNotTripPrimaryReads: with the primary healthy but
// for one 503 per read and the secondary refusing connections, no read
// fails, the breaker never opens, the secondary is marked down after
// SecondaryFailureThreshold refused fallbacks, and then fallbacks stop:
// the primary's 503 goes back to the SDK, whose next try succeeds.
func TestDeadSecondaryDoesNotTripPrimaryReads(t *testing.T) {
	clk := testenv.Clock()
	cfg := geoblob.DefaultConfig()
	cfg.Now = clk.Now
	cfg.SecondaryRecheck = -1 // no background check: this test is about routing
	var l secondaryLog
	l.attach(cfg)
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "b", []byte("primary bytes"))
	sec := refuseSecondary(t, e)
	ctx := context.Background()
	for i := range 6 {
		primaryBlip(t, e)
		b, st, err := e.get(ctx, "b")
		if err != nil || string(b) != "primary bytes" || st.Location != geoblob.Primary {
			t.Fatalf("read %d: %q %+v %v", i, b, st, err)
		}
	}
	if s := e.router.State(); s != geoblob.Closed {
		t.Fatalf("breaker %v: secondary failures counted against the primary", s)
	}
	// Three fallbacks were refused; the other three reads never tried.
	if n := e.fired(t, sec); n != 3 {
		t.Fatalf("the secondary was tried %d times, want 3", n)
	}
	ss := e.router.SecondaryState()
	if !ss.Down || !strings.Contains(ss.Reason, "3 consecutive") || ss.Err == nil || !ss.Since.Equal(testenv.Epoch) {
		t.Fatalf("SecondaryState %+v", ss)
	}
	c := e.router.Counters()
	if c.Failovers != 0 || c.SecondaryDowns != 1 || c.SecondarySkipped != 3 || c.PrimaryReads != 6 || c.SecondaryReads != 0 {
		t.Fatalf("counters %+v", c)
	}
	if ev := l.list(); len(ev) != 1 || !ev[0].Down || ev[0].Err == nil {
		t.Fatalf("events %+v", ev)
	}
}

// TestDeadSecondaryDoubleOutageStaysTyped: once the secondary is marked
// down, a primary outage still ends reads with ErrBothUnavailable (its
// secondary cause ErrSecondaryDown), final once the double outage has
// lasted, without sending anything to the secondary.
func TestDeadSecondaryDoubleOutageStaysTyped(t *testing.T) {
	clk := testenv.Clock()
	cfg := geoblob.DefaultConfig()
	cfg.Now = clk.Now
	cfg.SecondaryRecheck = -1
	cfg.FailureThreshold = 100 // keep the breaker closed: the secondary is skipped
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "b", []byte("x"))
	sec := refuseSecondary(t, e)
	p := e.fault(t, outage(fault.Primary, 503))
	ctx := context.Background()
	if _, _, err := e.get(ctx, "b"); !errors.Is(err, geoblob.ErrBothUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if !e.router.SecondaryState().Down {
		t.Fatal("three refused tries did not mark the secondary down")
	}
	clk.Advance(2 * time.Second)
	before, secBefore := e.fired(t, p), e.fired(t, sec)
	_, _, err := e.get(ctx, "b")
	var ge *geoblob.Error
	if !errors.Is(err, geoblob.ErrBothUnavailable) || !errors.As(err, &ge) || !errors.Is(ge.Secondary, geoblob.ErrSecondaryDown) {
		t.Fatalf("err = %v", err)
	}
	if tries := e.fired(t, p) - before; tries != 1 {
		t.Fatalf("%d primary tries, want 1 (final)", tries)
	}
	if n := e.fired(t, sec) - secBefore; n != 0 {
		t.Fatalf("the secondary was tried %d times while down", n)
	}
}

// TestUnplannedFailoverWithOpenBreaker: reads are on the secondary (the
// breaker open on a primary outage) when the account fails over: the
// primary URL serves again and the secondary refuses. The secondary is
// marked down, the next read goes to the primary first, its answer
// closes the breaker, and the refused secondary is not tried again.
func TestUnplannedFailoverWithOpenBreaker(t *testing.T) {
	clk := testenv.Clock()
	cfg := geoblob.DefaultConfig()
	cfg.Now = clk.Now
	cfg.SecondaryRecheck = -1
	cfg.FailbackReads = -1 // no probe from reads: the failover alone must bring the primary back
	cfg.FailbackAfter = time.Hour
	var l eventLog
	l.attach(cfg)
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "b", []byte("before"))
	p := e.fault(t, outage(fault.Primary, 503))
	e.trip(t, "b")
	// Both down for a moment: the primary still failing, the secondary
	// already gone. Reads fail with ErrBothUnavailable and the secondary
	// is marked down.
	sec := refuseSecondary(t, e)
	ctx := context.Background()
	for !e.router.SecondaryState().Down {
		if _, _, err := e.get(ctx, "b"); !errors.Is(err, geoblob.ErrBothUnavailable) {
			t.Fatalf("err = %v", err)
		}
	}
	if s := e.router.State(); s != geoblob.Open {
		t.Fatalf("breaker %v", s)
	}
	// The promoted copy answers at the primary URL.
	if err := e.emu.Faults().Remove(p); err != nil {
		t.Fatal(err)
	}
	secBefore := e.fired(t, sec)
	for i := range 3 {
		b, st, err := e.get(ctx, "b")
		if err != nil || string(b) != "before" || st.Location != geoblob.Primary {
			t.Fatalf("read %d: %q %+v %v", i, b, st, err)
		}
	}
	if s := e.router.State(); s != geoblob.Closed {
		t.Fatalf("breaker %v after the primary answered", s)
	}
	if n := e.fired(t, sec) - secBefore; n != 0 {
		t.Fatalf("the dead secondary was tried %d times", n)
	}
	if got := l.transitions(); got != "closed>open,open>closed" {
		t.Fatalf("transitions %s", got)
	}
	if c := e.router.Counters(); c.SecondarySkipped < 1 || c.Failbacks != 1 {
		t.Fatalf("counters %+v", c)
	}
	// Writes work again.
	if _, err := e.client.UploadBuffer(ctx, testContainer, "after", []byte("after"), nil); err != nil {
		t.Fatal(err)
	}
}

// TestStatsUnavailableMarksSecondaryDown: Get Blob Service Stats reporting
// "unavailable" marks the secondary down; "live" brings it back, here
// through CheckSecondary. A read in between uses only the primary.
func TestStatsUnavailableMarksSecondaryDown(t *testing.T) {
	clk := testenv.Clock()
	cfg := geoblob.DefaultConfig()
	cfg.Now = clk.Now
	cfg.SecondaryRecheck = -1
	var l secondaryLog
	l.attach(cfg)
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "b", []byte("x"))
	ctx := context.Background()
	repl := e.emu.Replication()
	if err := repl.SetStatus(emulator.StatusUnavailable); err != nil {
		t.Fatal(err)
	}
	s, err := e.router.Staleness(ctx)
	if err != nil || s.Status != "unavailable" {
		t.Fatalf("Staleness %+v %v", s, err)
	}
	ev := l.await(t, true)
	if !strings.Contains(ev.Reason, "unavailable") || ev.Err != nil || !ev.At.Equal(testenv.Epoch) {
		t.Fatalf("event %+v", ev)
	}
	// A primary failure does not fall back to the secondary now.
	id := primaryBlip(t, e)
	if _, st, err := e.get(ctx, "b"); err != nil || st.Location != geoblob.Primary {
		t.Fatalf("read: %+v %v", st, err)
	}
	if e.fired(t, id) != 1 {
		t.Fatal("the blip did not fire")
	}
	if err := repl.SetStatus(emulator.StatusBootstrap); err != nil {
		t.Fatal(err)
	}
	ss, err := e.router.CheckSecondary(ctx)
	if err != nil || !ss.Down || ss.Checks != 1 {
		t.Fatalf("after a bootstrap check: %+v %v", ss, err)
	}
	if err := repl.SetStatus(emulator.StatusLive); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if ss, err := e.router.CheckSecondary(ctx); err != nil || ss.Down {
		t.Fatalf("after a live check: %+v %v", ss, err)
	}
	up := l.await(t, false)
	if !strings.Contains(up.Reason, "live") || !up.At.Equal(testenv.Epoch.Add(time.Minute)) {
		t.Fatalf("event %+v", up)
	}
	c := e.router.Counters()
	if c.SecondaryDowns != 1 || c.SecondaryUps != 1 || c.SecondaryChecks != 2 || c.SecondarySkipped != 1 || c.SecondaryReads != 0 {
		t.Fatalf("counters %+v", c)
	}
	// Back in use: a primary failure falls back to it again.
	primaryBlip(t, e)
	if _, st, err := e.get(ctx, "b"); err != nil || st.Location != geoblob.Secondary || !st.Fallback {
		t.Fatalf("read after recovery: %+v %v", st, err)
	}
}

// TestBackgroundCheckBacksOffAndResumes: while the secondary is down the
// background check reads Stats once the back-off has passed on the
// Router's clock, doubles it while the secondary stays down, and brings
// the secondary back once it reports live.
func TestBackgroundCheckBacksOffAndResumes(t *testing.T) {
	clk := testenv.Clock()
	cfg := geoblob.DefaultConfig()
	cfg.Now = clk.Now
	cfg.SecondaryRecheck = 40 * time.Millisecond // the loop looks every 10ms of real time
	var l secondaryLog
	l.attach(cfg)
	e := newEnv(t, emulator.Options{}, cfg)
	ctx := context.Background()
	repl := e.emu.Replication()
	if err := repl.SetStatus(emulator.StatusUnavailable); err != nil {
		t.Fatal(err)
	}
	if _, err := e.router.CheckSecondary(ctx); err != nil {
		t.Fatal(err)
	}
	l.await(t, true)
	ss := e.router.SecondaryState()
	if !ss.NextCheck.Equal(testenv.Epoch.Add(40 * time.Millisecond)) {
		t.Fatalf("first check due %v", ss.NextCheck.Sub(testenv.Epoch))
	}
	checks := func() uint64 { return e.router.Counters().SecondaryChecks }
	// Not due on the Router's clock: nothing happens, however long the
	// loop looks.
	clk.Advance(39 * time.Millisecond)
	if err := repl.SetStatus(emulator.StatusBootstrap); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Millisecond)
	waitFor(t, func() bool { return checks() == 2 })
	ss = e.router.SecondaryState()
	if !ss.Down || ss.Checks != 1 || !ss.NextCheck.Equal(testenv.Epoch.Add(120*time.Millisecond)) {
		t.Fatalf("after one check %+v (next in %v)", ss, ss.NextCheck.Sub(testenv.Epoch))
	}
	if err := repl.SetStatus(emulator.StatusLive); err != nil {
		t.Fatal(err)
	}
	clk.Advance(80 * time.Millisecond)
	up := l.await(t, false)
	if !strings.Contains(up.Reason, "live") {
		t.Fatalf("event %+v", up)
	}
	// The event fires inside the check; the check is counted as it ends.
	waitFor(t, func() bool { return checks() >= 3 })
	if c := e.router.Counters(); c.SecondaryChecks != 3 || c.SecondaryUps != 1 {
		t.Fatalf("counters %+v", c)
	}
}

// TestRecoveryPoint: with replication paused, the recovery point stays at
// the last write the secondary has, and its lag grows with the clock; a
// secondary that reports no LastSyncTime has none.
func TestRecoveryPoint(t *testing.T) {
	clk := emulator.NewManualClock(testenv.Epoch)
	cfg := geoblob.DefaultConfig()
	cfg.Now = clk.Now
	e := newEnv(t, emulator.Options{Clock: clk}, cfg)
	ctx := context.Background()
	e.put(t, "1", []byte("one"))
	synced := clk.Now()
	e.emu.Replication().Pause()
	clk.Advance(time.Minute)
	if _, err := e.client.UploadBuffer(ctx, testContainer, "2", []byte("two"), nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	rp, err := e.router.RecoveryPoint(ctx)
	if err != nil || rp.Status != "live" || rp.LastSyncTime.After(synced) || rp.Lag < 2*time.Minute || !rp.FetchedAt.Equal(clk.Now()) {
		t.Fatalf("RecoveryPoint %+v %v (synced %v)", rp, err, synced)
	}
	// Never cached: a minute later it is asked again.
	clk.Advance(time.Minute)
	if rp2, err := e.router.RecoveryPoint(ctx); err != nil || rp2.Lag != rp.Lag+time.Minute || !rp2.FetchedAt.Equal(clk.Now()) {
		t.Fatalf("second RecoveryPoint %+v %v", rp2, err)
	}
}

// TestNoRecoveryPoint: a secondary that reports no LastSyncTime (status
// unavailable, as after an unplanned failover) has no recovery point:
// RecoveryPoint says so with ErrNoRecoveryPoint, still returning the
// status, and the secondary is marked down.
func TestNoRecoveryPoint(t *testing.T) {
	_, _, r := newFake(t, nil)
	r.SetStats(func(context.Context) (geoblob.GeoStats, error) {
		return geoblob.GeoStats{Status: "unavailable"}, nil
	})
	rp, err := r.RecoveryPoint(context.Background())
	if !errors.Is(err, geoblob.ErrNoRecoveryPoint) || rp.Status != "unavailable" || !rp.LastSyncTime.IsZero() {
		t.Fatalf("RecoveryPoint %+v %v", rp, err)
	}
	if !r.SecondaryState().Down {
		t.Fatal("the secondary is not marked down")
	}
}

// TestSecondaryFailureThreshold: failed secondary attempts mark the
// secondary down at the threshold, and never with a negative one.
func TestSecondaryFailureThreshold(t *testing.T) {
	for _, tc := range []struct {
		threshold int
		reads     int
		down      bool
	}{
		{0, 1, true}, // the default, 3: one read makes three tries
		{5, 1, false},
		{5, 2, true},
		{-1, 4, false},
	} {
		cfg := geoblob.DefaultConfig()
		cfg.SecondaryFailureThreshold, cfg.SecondaryRecheck = tc.threshold, -1
		f, c, r := newFake(t, cfg)
		f.status[geoblob.Primary].Store(503)
		f.status[geoblob.Secondary].Store(-1) // connection refused
		for range tc.reads {
			if _, err := read(c); !errors.Is(err, geoblob.ErrBothUnavailable) {
				t.Fatalf("threshold %d: err = %v", tc.threshold, err)
			}
		}
		if got := r.SecondaryState().Down; got != tc.down {
			t.Errorf("threshold %d after %d reads: down %v, want %v", tc.threshold, tc.reads, got, tc.down)
		}
	}
}

// TestNoHedgeToDeadSecondary: with hedging on, a read slower than the
// hedge delay is not hedged to a secondary marked down.
func TestNoHedgeToDeadSecondary(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: time.Millisecond, Budget: 1, Burst: 10}
	cfg.SecondaryRecheck = -1
	f, c, r := newFake(t, cfg)
	f.delay[geoblob.Primary].Store(int64(50 * time.Millisecond))
	r.SetStats(func(context.Context) (geoblob.GeoStats, error) {
		return geoblob.GeoStats{Status: "unavailable"}, nil
	})
	if _, err := r.CheckSecondary(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got, err := read(c); err != nil || got != "data-primary" {
			t.Fatalf("read %q %v", got, err)
		}
	}
	if n := r.Counters().Hedges; n != 0 || f.calls[geoblob.Secondary].Load() != 0 {
		t.Fatalf("%d hedges, %d secondary calls to a secondary marked down", n, f.calls[geoblob.Secondary].Load())
	}
}

// TestRecoveryPointNeverCached: when Get Blob Service Stats fails,
// RecoveryPoint reports the failure instead of the statistics an earlier
// fetch cached (Staleness, by contrast, falls back on them).
func TestRecoveryPointNeverCached(t *testing.T) {
	_, _, r := newFake(t, nil)
	fail := false
	r.SetStats(func(context.Context) (geoblob.GeoStats, error) {
		if fail {
			return geoblob.GeoStats{}, errors.New("dial tcp: connection refused")
		}
		return geoblob.GeoStats{Status: "live", LastSyncTime: testenv.Epoch}, nil
	})
	ctx := context.Background()
	if rp, err := r.RecoveryPoint(ctx); err != nil || !rp.LastSyncTime.Equal(testenv.Epoch) {
		t.Fatalf("RecoveryPoint %+v %v", rp, err)
	}
	fail = true
	if rp, err := r.RecoveryPoint(ctx); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("RecoveryPoint with Stats failing: %+v %v", rp, err)
	}
	if s, err := r.Staleness(ctx); err != nil || !s.LastSyncTime.Equal(testenv.Epoch) {
		t.Fatalf("Staleness falls back on the cached statistics: %+v %v", s, err)
	}
}

// TestCloseEndsSecondaryCheck: Close ends the background check of a
// secondary marked down at once, not at its next poll (a goroutine that
// outlived Close failed goleak in the soak).
func TestCloseEndsSecondaryCheck(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.SecondaryRecheck = time.Hour // the loop would sleep 15 minutes between polls
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "b", []byte("x"))
	if err := e.emu.Replication().SetStatus(emulator.StatusUnavailable); err != nil {
		t.Fatal(err)
	}
	if _, err := e.router.Staleness(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ss := e.router.SecondaryState(); !ss.Down {
		t.Fatalf("secondary state %+v, want down", ss)
	}
	const loop = "geoblob.(*Router).secondaryLoop"
	if !awaitGoroutine(loop, true) {
		t.Fatal("no background check runs while the secondary is down")
	}
	if err := e.router.Close(); err != nil {
		t.Fatal(err)
	}
	if !awaitGoroutine(loop, false) {
		t.Fatal("the background check outlived Close")
	}
}

// awaitGoroutine reports whether a goroutine running fn comes to exist
// (want) or to be gone (!want) within a bounded number of looks, as goleak
// does: a goroutine's start and end are observable only this way.
func awaitGoroutine(fn string, want bool) bool {
	buf := make([]byte, 1<<20)
	for i := range 100 {
		n := runtime.Stack(buf, true)
		if bytes.Contains(buf[:n], []byte(fn)) == want {
			return true
		}
		time.Sleep(time.Duration(i) * time.Millisecond)
	}
	return false
}
