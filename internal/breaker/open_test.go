package breaker

import (
	"testing"
	"time"
)

func TestOpenRoutesToSecondary(t *testing.T) {
	b, clk := newTest(t, nil)
	trip(t, b, clk.Now())
	if rt := b.Route(); rt.First != Secondary || rt.Probe {
		t.Fatalf("route %+v", rt)
	}
	if !b.PrimaryDown() {
		t.Fatal("open breaker must hold the primary as down")
	}
	if c := b.Counts(); c.Failovers != 1 {
		t.Fatalf("counts %+v", c)
	}
	// Failures and successes of late primary reads change nothing.
	b.Success(clk.Now())
	if tr := b.Failure(clk.Now(), ""); tr != nil {
		t.Fatalf("transition while open: %+v", tr)
	}
}

func TestOpenProbeDueAfterReads(t *testing.T) {
	b, clk := newTest(t, nil)
	trip(t, b, clk.Now())
	for i := range 20 {
		if rt := b.Route(); rt.Probe {
			t.Fatalf("probe after %d secondary reads, want 20", i)
		}
		b.SecondarySuccess()
	}
	rt := b.Route()
	if !rt.Probe || rt.First != Primary {
		t.Fatalf("route %+v, want the read to probe the primary", rt)
	}
	if b.State() != HalfOpen {
		t.Fatalf("state %v, want half-open", b.State())
	}
}

func TestOpenProbeDueAfterTimeWithBackoff(t *testing.T) {
	b, clk := newTest(t, func(c *Config) { c.FailbackReads, c.FailbackAfter = 0, 10*time.Second })
	trip(t, b, clk.Now())
	for i, wait := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 40 * time.Second} {
		clk.Advance(wait - time.Millisecond)
		if b.Route().Probe {
			t.Fatalf("probe %d before %v", i, wait)
		}
		clk.Advance(time.Millisecond)
		rt := b.Route()
		if !rt.Probe {
			t.Fatalf("no probe %d after %v", i, wait)
		}
		b.ProbeResult(clk.Now(), rt.Gen, false)
	}
}

func TestOpenBackgroundProbe(t *testing.T) {
	b, clk := newTest(t, func(c *Config) { c.FailbackReads = 0 })
	if _, ok := b.BackgroundProbe(time.Second); ok {
		t.Fatal("background probe of a closed breaker")
	}
	trip(t, b, clk.Now())
	if _, ok := b.BackgroundProbe(time.Second); ok {
		t.Fatal("background probe right after opening")
	}
	clk.Advance(time.Second)
	gen, ok := b.BackgroundProbe(time.Second)
	if !ok {
		t.Fatal("no background probe after an idle second")
	}
	if _, ok := b.BackgroundProbe(time.Second); ok {
		t.Fatal("two probes at once")
	}
	if tr := b.ProbeResult(clk.Now(), gen, true); tr == nil || tr.To != Closed {
		t.Fatalf("transition %+v", tr)
	}
}
