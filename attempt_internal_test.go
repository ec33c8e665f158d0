package geoblob

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLatencies checks the quantiles and that recording latencies
// allocates nothing.
func TestLatencies(t *testing.T) {
	var l latencies
	for i := range 1000 {
		l.observe(time.Duration(i%100+1) * time.Millisecond)
	}
	if p := time.Duration(l.p95.Load()); p < 90*time.Millisecond || p > 100*time.Millisecond {
		t.Fatalf("p95 = %v", p)
	}
	if p := time.Duration(l.p99.Load()); p < 98*time.Millisecond || p > 100*time.Millisecond {
		t.Fatalf("p99 = %v", p)
	}
	// Each run makes p95Every observations, one of which recomputes the
	// quantiles: none may allocate.
	if n := testing.AllocsPerRun(100, func() {
		for range p95Every {
			l.observe(time.Millisecond)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per %d observations", n, p95Every)
	}
}

// TestHedgeDelay: no hedge before a p95 exists, then the p95, at least
// MinDelay.
func TestHedgeDelay(t *testing.T) {
	var l latencies
	h := newHedger(&HedgeConfig{MinDelay: 5 * time.Millisecond, Budget: 0.05, Burst: 10}, &l)
	if _, ok := h.delay(); ok {
		t.Fatal("a delay before any sample")
	}
	for range p95Every {
		l.observe(time.Millisecond)
	}
	if d, ok := h.delay(); !ok || d != 5*time.Millisecond {
		t.Fatalf("delay = %v, %v", d, ok)
	}
}

// TestAdaptiveAttemptBound: four times the p99, between 500ms and 1s; a
// configured bound wins.
func TestAdaptiveAttemptBound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sample  time.Duration
		samples int
		want    time.Duration
	}{
		{"no samples", 0, 0, minAttemptTimeout},
		{"fast primary: floor", 10 * time.Millisecond, 512, minAttemptTimeout},
		{"200ms primary", 200 * time.Millisecond, 512, 800 * time.Millisecond},
		{"slow primary: cap", 2 * time.Second, 512, maxAttemptTimeout},
	} {
		r, err := NewRouter("https://a.blob.core.windows.net", nil)
		if err != nil {
			t.Fatal(err)
		}
		for range tc.samples {
			r.lat.observe(tc.sample)
		}
		if got := r.AttemptTimeout(); got != tc.want {
			t.Errorf("%s: bound %v, want %v", tc.name, got, tc.want)
		}
	}
	r, _ := NewRouter("https://a.blob.core.windows.net", &Config{AttemptTimeout: 42 * time.Millisecond})
	if got := r.AttemptTimeout(); got != 42*time.Millisecond {
		t.Errorf("configured bound: %v", got)
	}
}

// TestWatchContext checks the attempt's context, which its watch is: the
// ways it ends (its own cancel, its parent), contexts derived from it, and
// values and deadlines from the parent.
func TestWatchContext(t *testing.T) {
	type key struct{}
	deadline := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name    string
		end     func(w *watch, cancelParent context.CancelFunc)
		wantErr error
	}{
		{"own cancel", func(w *watch, _ context.CancelFunc) { w.cancel() }, context.Canceled},
		{"parent cancelled", func(_ *watch, cancel context.CancelFunc) { cancel() }, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), deadline)
			defer cancel()
			w := &watch{parent: parent, bounded: true}
			w.stopParent = context.AfterFunc(parent, w.parentDone)
			child, stopChild := context.WithCancel(w) // as net/http derives one
			defer stopChild()
			if w.Value(key{}) != "v" || child.Value(key{}) != "v" {
				t.Fatal("values not inherited")
			}
			if d, ok := w.Deadline(); !ok || !d.Equal(deadline) {
				t.Fatalf("deadline %v %v", d, ok)
			}
			done := w.Done()
			if w.Err() != nil || child.Err() != nil {
				t.Fatal("done before its end")
			}
			tc.end(w, cancel)
			<-done
			<-child.Done()
			if !errors.Is(w.Err(), tc.wantErr) || !errors.Is(child.Err(), context.Canceled) {
				t.Fatalf("errors %v, %v", w.Err(), child.Err())
			}
			if w.Done() != done {
				t.Fatal("Done changed")
			}
			// A context derived after the end is done at once.
			late, stopLate := context.WithCancel(w)
			defer stopLate()
			<-late.Done()
		})
	}
	t.Run("background parent", func(t *testing.T) {
		w := &watch{parent: context.Background(), bounded: true}
		w.cancel()
		if w.Err() != context.Canceled {
			t.Fatalf("err %v", w.Err())
		}
		<-w.Done()
	})
}
