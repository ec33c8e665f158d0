package breaker

import (
	"testing"
	"time"
)

func TestClosedRoutesToPrimary(t *testing.T) {
	b, _ := newTest(t, nil)
	if rt := b.Route(); rt.First != Primary || rt.Probe {
		t.Fatalf("route %+v", rt)
	}
	if b.State() != Closed || b.PrimaryDown() {
		t.Fatalf("state %v", b.State())
	}
}

func TestClosedTripRules(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mod      func(*Config)
		outcomes string // f = failure, s = success
		wantTrip int    // index of the outcome that trips, -1 for none
	}{
		{"consecutive", nil, "ffff" + "f", 4},
		{"success resets the count", nil, "ffffsffff", -1},
		{"threshold 1", func(c *Config) { c.FailureThreshold = 1 }, "f", 0},
		{"disabled", func(c *Config) { c.FailureThreshold = 0 }, "ffffffffff", -1},
		{"ratio waits for throughput", func(c *Config) {
			c.FailureThreshold, c.FailureRatio, c.MinThroughput = 0, 0.5, 4
		}, "ffsf", 3},
		{"ratio below the bar", func(c *Config) {
			c.FailureThreshold, c.FailureRatio, c.MinThroughput = 0, 0.75, 4
		}, "fsfsfs", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, clk := newTest(t, tc.mod)
			got := -1
			for i, o := range tc.outcomes {
				var tr *Transition
				if o == 'f' {
					tr = b.Failure(clk.Now(), "")
				} else {
					b.Success(clk.Now())
				}
				if tr != nil {
					if got >= 0 {
						t.Fatalf("second transition at %d", i)
					}
					got = i
					if tr.From != Closed || tr.To != Open || tr.Reason == "" {
						t.Fatalf("transition %+v", tr)
					}
				}
			}
			if got != tc.wantTrip {
				t.Fatalf("tripped at %d, want %d", got, tc.wantTrip)
			}
		})
	}
}

// TestClosedRatioWindowForgets: failures older than the window no longer
// count.
func TestClosedRatioWindowForgets(t *testing.T) {
	b, clk := newTest(t, func(c *Config) { c.FailureThreshold, c.FailureRatio, c.MinThroughput = 0, 0.5, 4 })
	for range 3 {
		b.Failure(clk.Now(), "")
	}
	clk.Advance(time.Minute)
	if tr := b.Failure(clk.Now(), ""); tr != nil {
		t.Fatal("tripped on failures outside the window")
	}
}
