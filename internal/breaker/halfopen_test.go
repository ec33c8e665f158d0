package breaker

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestHalfOpenOneProbeAtATime(t *testing.T) {
	b, clk := newTest(t, nil)
	trip(t, b, clk.Now())
	for range 20 {
		b.SecondarySuccess()
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	probes := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if b.Route().Probe {
				mu.Lock()
				probes++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if probes != 1 {
		t.Fatalf("%d probes in flight, want 1", probes)
	}
}

func TestHalfOpenVerdicts(t *testing.T) {
	b, clk := newTest(t, nil)
	trip(t, b, clk.Now())
	rt := probe(t, b)
	if tr := b.ProbeResult(clk.Now(), rt.Gen, false); tr != nil {
		t.Fatalf("failed probe made a transition: %+v", tr)
	}
	if b.State() != Open {
		t.Fatalf("state %v after a failed probe", b.State())
	}
	// Backed off: 40 reads now.
	for range 39 {
		b.SecondarySuccess()
	}
	if b.Route().Probe {
		t.Fatal("probe before the backed-off count")
	}
	rt = probe(t, b)
	tr := b.ProbeResult(clk.Now(), rt.Gen, true)
	if tr == nil || tr.From != Open || tr.To != Closed {
		t.Fatalf("transition %+v", tr)
	}
	if c := b.Counts(); c.Failbacks != 1 || c.Probes != 2 {
		t.Fatalf("counts %+v", c)
	}
}

func TestHalfOpenStaleVerdictIgnored(t *testing.T) {
	b, clk := newTest(t, nil)
	trip(t, b, clk.Now())
	rt := probe(t, b)
	b.Force(clk.Now(), SecondaryOnly)
	b.Force(clk.Now(), Auto)
	trip(t, b, clk.Now())
	if tr := b.ProbeResult(clk.Now(), rt.Gen, true); tr != nil {
		t.Fatalf("stale verdict closed the breaker: %+v", tr)
	}
}

func TestHalfOpenNeedsConsecutiveSuccesses(t *testing.T) {
	b, clk := newTest(t, func(c *Config) { c.ProbeSuccesses = 3 })
	trip(t, b, clk.Now())
	rt := probe(t, b)
	b.ProbeResult(clk.Now(), rt.Gen, true)
	// The next read probes again at once.
	rt = b.Route()
	if !rt.Probe {
		t.Fatal("no immediate second probe after a success")
	}
	b.ProbeResult(clk.Now(), rt.Gen, true)
	rt = b.Route()
	if tr := b.ProbeResult(clk.Now(), rt.Gen, true); tr == nil || tr.To != Closed {
		t.Fatalf("third success: %+v", tr)
	}
}

// TestHalfOpenFlapDamping: each re-trip soon after closing doubles the
// successes the next close needs; a long healthy spell forgets it.
func TestHalfOpenFlapDamping(t *testing.T) {
	b, clk := newTest(t, func(c *Config) { c.FlapWindow = 30 * time.Second; c.MaxProbeSuccesses = 8 })
	closeIt := func() {
		t.Helper()
		for i := 0; b.State() != Closed; i++ {
			if i > 100 {
				t.Fatal("breaker never closed")
			}
			rt := probe(t, b)
			b.ProbeResult(clk.Now(), rt.Gen, true)
		}
	}
	for i, want := range []int{1, 2, 4, 8, 8} {
		trip(t, b, clk.Now())
		if got := b.ProbesNeeded(); got != want {
			t.Fatalf("trip %d needs %d probes, want %d", i, got, want)
		}
		clk.Advance(time.Second)
		closeIt()
	}
	clk.Advance(time.Minute)
	trip(t, b, clk.Now())
	if got := b.ProbesNeeded(); got != 1 {
		t.Fatalf("after a healthy minute %d probes needed, want 1", got)
	}
}

// TestHalfOpenFlappingTransitionsBounded drives the breaker with a primary
// failing half of its reads at random (seeded) and counts transitions per
// simulated second, with and without damping.
func TestHalfOpenFlappingTransitionsBounded(t *testing.T) {
	for _, tc := range []struct {
		name    string
		window  time.Duration
		maxRate int
		minRate int
	}{
		{"damped", 30 * time.Second, 10, 0},
		{"undamped", 0, 1 << 30, 11}, // shows the test can fail
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, clk := newTest(t, func(c *Config) { c.FlapWindow = tc.window })
			rnd := rand.New(rand.NewPCG(1, 2))
			transitions := 0
			const secs, perSecond = 10, 2000 // 16 readers at 8 ms
			for range secs * perSecond {
				clk.Advance(time.Second / perSecond)
				fail := rnd.IntN(2) == 0
				rt := b.Route()
				var tr *Transition
				switch {
				case rt.Probe:
					tr = b.ProbeResult(clk.Now(), rt.Gen, !fail)
					b.SecondarySuccess()
				case rt.First == Secondary:
					b.SecondarySuccess()
				case fail:
					tr = b.Failure(clk.Now(), "")
				default:
					b.Success(clk.Now())
				}
				if tr != nil {
					transitions++
				}
			}
			rate := transitions / secs
			if rate > tc.maxRate || rate < tc.minRate {
				t.Fatalf("%d transitions in %d s", transitions, secs)
			}
			t.Logf("%d transitions in %d simulated seconds", transitions, secs)
		})
	}
}

// TestHalfOpenTimedOutProbeRestartsBackoff: a probe that waited the whole
// attempt bound re-arms at the base count instead of growing the back-off.
func TestHalfOpenTimedOutProbeRestartsBackoff(t *testing.T) {
	b, clk := newTest(t, nil)
	trip(t, b, clk.Now())
	rt := probe(t, b)
	b.ProbeResult(clk.Now(), rt.Gen, false) // backoff 2: 40 reads
	rt = probe(t, b)
	b.ProbeTimedOut(clk.Now(), rt.Gen)
	for i := range 20 {
		if b.Route().Probe {
			t.Fatalf("probe after %d reads", i)
		}
		b.SecondarySuccess()
	}
	if !b.Route().Probe {
		t.Fatal("no probe 20 reads after a timed-out probe")
	}
}

// TestHalfOpenStuckProbeReleased: a probe whose verdict never comes stops
// blocking probes after MaxProbeHold.
func TestHalfOpenStuckProbeReleased(t *testing.T) {
	b, clk := newTest(t, func(c *Config) { c.MaxProbeHold = 10 * time.Second })
	trip(t, b, clk.Now())
	probe(t, b) // never answered
	for range 100 {
		b.SecondarySuccess()
	}
	if b.Route().Probe {
		t.Fatal("second probe while the first is in flight")
	}
	clk.Advance(10 * time.Second)
	if !b.Route().Probe {
		t.Fatal("the stuck probe still blocks probing")
	}
}
