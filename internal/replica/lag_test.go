package replica

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
)

// script is a LagModel drawing given lags in turn.
type script struct {
	lags []time.Duration
	i    int
}

func (s *script) Next() time.Duration {
	d := s.lags[s.i%len(s.lags)]
	s.i++
	return d
}
func (s *script) String() string { return "script" }

// syncPair is a primary and a replicator driven by hand: applyDue runs
// only when the test calls it, so nothing depends on timing.
func syncPair(t *testing.T, m LagModel) (*clock.Manual, *store.Store, *store.Store, *Replicator) {
	t.Helper()
	clk := clock.NewManual(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	sec := store.New(store.Options{Now: clk.Now})
	var r *Replicator
	prim := store.New(store.Options{Now: clk.Now, OnCommit: func(c store.Change) { r.Enqueue(c) }})
	r = New(sec, Options{Clock: clk, Fence: prim.FenceNow, Model: m})
	if _, err := prim.CreateContainer("a", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	return clk, prim, sec, r
}

func put(t *testing.T, s *store.Store, name string) *store.Blob {
	t.Helper()
	b, err := s.PutBlob("a", "c", name, store.Bytes([]byte(name)), store.HTTPHeaders{}, nil, store.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestModelLagHoldsBackLaterWrites: a write drawing a long lag holds back
// the writes behind it, whatever they drew, and LastSyncTime stays before
// it until it is applied.
func TestModelLagHoldsBackLaterWrites(t *testing.T) {
	// The container drew 0; then b1 10s, b2 1s, b3 1s.
	clk, prim, sec, r := syncPair(t, &script{lags: []time.Duration{0, 10 * time.Second, time.Second, time.Second}})
	r.applyDue()
	b1 := put(t, prim, "b1")
	clk.Advance(time.Second)
	put(t, prim, "b2")
	put(t, prim, "b3")
	there := func(name string) bool {
		_, err := sec.Blob("a", "c", name, store.ReadOptions{})
		return err == nil
	}
	clk.Advance(5 * time.Second)
	r.applyDue()
	if there("b1") || there("b2") || there("b3") {
		t.Fatal("writes applied before the first one's lag passed")
	}
	if lst := r.State().LastSyncTime; !lst.Before(b1.LastModified) {
		t.Fatalf("LastSyncTime %v passes the pending b1 (%v)", lst, b1.LastModified)
	}
	clk.Advance(4 * time.Second) // b1 due at +10s
	due, ok := r.applyDue()
	if !there("b1") || !there("b2") || !there("b3") || ok {
		t.Fatalf("after b1's lag: b1 %v b2 %v b3 %v (still due %v %v)", there("b1"), there("b2"), there("b3"), due, ok)
	}
}

func TestTailModelKeepsItsPromise(t *testing.T) {
	m := NewTail(30*time.Second, 15*time.Minute, 0.99, time.Hour, 42)
	again := NewTail(30*time.Second, 15*time.Minute, 0.99, time.Hour, 42)
	const n = 100000
	within := 0
	for i := range n {
		d := m.Next()
		if d2 := again.Next(); d2 != d {
			t.Fatalf("draw %d: %v and %v from the same seed", i, d, d2)
		}
		if d < 0 || d >= time.Hour {
			t.Fatalf("draw %d: %v outside [0, 1h)", i, d)
		}
		if d < 15*time.Minute {
			within++
		}
	}
	if share := float64(within) / n; share < 0.985 || share > 0.995 {
		t.Fatalf("%.4f of draws within 15 minutes, want about 0.99", share)
	}
	j := NewJitter(time.Second, time.Second, 1)
	for range 1000 {
		if d := j.Next(); d < time.Second || d >= 2*time.Second {
			t.Fatalf("jitter draw %v outside [1s, 2s)", d)
		}
	}
}

func TestParseLagModel(t *testing.T) {
	tests := []struct {
		spec, want string
		err        bool
	}{
		{"constant:5s", "constant:5s", false},
		{"jitter:1s,2s", "jitter:1s,2s,seed=9", false},
		{"jitter:1s,2s,seed=3", "jitter:1s,2s,seed=3", false},
		{"gpr", "tail:30s,15m0s,0.99,1h0m0s,seed=9", false},
		{"tail:10s", "tail:10s,15m0s,0.99,1h0m0s,seed=9", false},
		{"tail:10s,1m,0.9,5m", "tail:10s,1m0s,0.9,5m0s,seed=9", false},
		{"tail:10s,1m,1.5,5m", "", true},
		{"tail:10s,5m,0.9,1m", "", true},
		{"tail:10s,1m,NaN,5m", "", true},
		{"tail:10s,0s,0.5,1s", "", true},
		{"constant:-1s", "", true},
		{"constant", "", true},
		{"constant:1s,2s", "", true},
		{"jitter:1s", "", true},
		{"gpr:1s", "", true},
		{"normal:1s", "", true},
		{"constant:1s,seed=x", "", true},
	}
	for _, tc := range tests {
		m, err := ParseLagModel(tc.spec, 9)
		if tc.err {
			if !errors.Is(err, ErrInvalidLagModel) {
				t.Errorf("%q: %v, want ErrInvalidLagModel", tc.spec, err)
			} else if strings.Contains(err.Error(), "<nil>") {
				t.Errorf("%q: message %q names a nil error", tc.spec, err)
			}
			continue
		}
		if err != nil || m.String() != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.spec, m, err, tc.want)
		}
	}
}

// TestJitterNeverWrapsBelowBase: a huge BASE plus JITTER saturates rather
// than overflowing to a negative lag (which would replicate at once).
func TestJitterNeverWrapsBelowBase(t *testing.T) {
	tests := []struct{ base, jitter time.Duration }{
		{math.MaxInt64 / 4 * 3, math.MaxInt64 / 4 * 3},
		{math.MaxInt64, math.MaxInt64},
		{time.Hour, math.MaxInt64},
	}
	for _, tc := range tests {
		j := NewJitter(tc.base, tc.jitter, 1)
		for range 50 {
			if d := j.Next(); d < tc.base {
				t.Fatalf("jitter %v,%v drew %v, below BASE", tc.base, tc.jitter, d)
			}
		}
	}
}

// TestAbandonReportsWhatIsPending: the changes Abandon returns are exactly
// those after the LastSyncTime it reports, with the ETag and size each
// wrote, even where coalescing redirected their version.
func TestAbandonReportsWhatIsPending(t *testing.T) {
	clk, prim, sec, r := syncPair(t, Constant(time.Minute))
	r.maxSuper = 1 // coalesce at once
	old := put(t, prim, "x")
	clk.Advance(time.Minute)
	r.applyDue()
	var want []string
	for i := range 3 {
		b, err := prim.PutBlob("a", "c", "x", store.Bytes(fmt.Appendf(nil, "v%d-%s", i, "xxxxxxxx"[:i])), store.HTTPHeaders{}, nil, store.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("x %s %d", b.ETag, b.Size()))
	}
	lost, lst := r.Abandon()
	if len(lost) != 3 {
		t.Fatalf("lost %+v", lost)
	}
	for i, l := range lost {
		if got := fmt.Sprintf("%s %s %d", l.Blob, l.ETag, l.Size); got != want[i] || !l.Time.After(lst) {
			t.Errorf("lost[%d] = %s at %v (LST %v), want %s", i, got, l.Time, lst, want[i])
		}
	}
	if b, err := sec.Blob("a", "c", "x", store.ReadOptions{}); err != nil || b.ETag != old.ETag {
		t.Fatalf("secondary after Abandon: %v %v", b, err)
	}
	clk.Advance(time.Hour)
	r.applyDue()
	if b, _ := sec.Blob("a", "c", "x", store.ReadOptions{}); b.ETag != old.ETag {
		t.Fatal("an abandoned replicator applied a change")
	}
	if err := r.Drain(context.Background()); !errors.Is(err, ErrPaused) {
		t.Fatalf("Drain after Abandon: %v", err)
	}
}
