package breaker

import (
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// newTest returns a breaker on a manual clock with the seed's thresholds
// (5 failures trip, 20 secondary reads make a probe due), changed by mod.
func newTest(t *testing.T, mod func(*Config)) (*Breaker, *clock.Manual) {
	t.Helper()
	clk := clock.NewManual(t0)
	cfg := Config{
		FailureThreshold: 5, Window: 30 * time.Second, MinThroughput: 20,
		FailbackReads: 20, ProbeSuccesses: 1, MaxProbeSuccesses: 16,
		ProbeBackoff: 2, MaxProbeBackoff: 4, Now: clk.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	return New(cfg), clk
}

// trip fails the primary until the breaker opens.
func trip(t *testing.T, b *Breaker, now time.Time) {
	t.Helper()
	for i := 0; i < 1000 && b.State() == Closed; i++ {
		b.Failure(now, "")
	}
	if !b.PrimaryDown() {
		t.Fatalf("state %v after failures, want open", b.State())
	}
}

// probe reads from the secondary until a probe is due and returns it.
func probe(t *testing.T, b *Breaker) Route {
	t.Helper()
	for range 10000 {
		if rt := b.Route(); rt.Probe {
			return rt
		}
		b.SecondarySuccess()
	}
	t.Fatal("no probe became due")
	return Route{}
}
