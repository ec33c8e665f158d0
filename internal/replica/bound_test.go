package replica

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
)

// newBoundedPair returns a pair with no lag whose container "a"/"c" has
// reached the secondary.
func newBoundedPair(t *testing.T, maxSuper int64) *pair {
	t.Helper()
	p := &pair{clk: clock.NewManual(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))}
	p.secondary = store.New(store.Options{Now: p.clk.Now})
	p.primary = store.New(store.Options{Now: p.clk.Now, OnCommit: func(c store.Change) { p.repl.Enqueue(c) }})
	p.repl = New(p.secondary, Options{Clock: p.clk, Fence: p.primary.FenceNow, MaxSupersededBytes: maxSuper})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.repl.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if _, err := p.primary.CreateContainer("a", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := p.repl.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	return p
}

func aliveCount(ws []weak.Pointer[store.Blob]) int {
	runtime.GC()
	runtime.GC()
	n := 0
	for _, w := range ws {
		if w.Value() != nil {
			n++
		}
	}
	return n
}

// TestPausedReplicationBoundsSupersededVersions overwrites blobs many
// times while replication is paused: the overwritten versions pending
// changes hold stay within MaxSupersededBytes, and after Resume the
// secondary holds every blob's last version. Every version used to be kept
// until replication resumed.
func TestPausedReplicationBoundsSupersededVersions(t *testing.T) {
	const size, budget, versions, blobs = 1 << 10, 8 << 10, 200, 4
	p := newBoundedPair(t, budget)
	p.repl.Pause()
	var old []weak.Pointer[store.Blob]
	last := map[string]string{}
	for i := range versions {
		name := fmt.Sprint(i % blobs)
		b, err := p.primary.PutBlob("a", "c", name, store.Bytes(make([]byte, size)), store.HTTPHeaders{}, nil, store.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, weak.Make(b))
		last[name] = b.ETag
		if st := p.repl.State(); st.SupersededBytes > budget {
			t.Fatalf("after %d writes %d superseded bytes held, budget %d", i+1, st.SupersededBytes, budget)
		}
	}
	// The current versions, plus at most budget/size superseded ones.
	if alive, limit := aliveCount(old), blobs+budget/size; alive > limit {
		t.Fatalf("%d of %d versions alive while paused, want at most %d", alive, versions, limit)
	}
	p.repl.Resume()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.repl.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	for name, etag := range last {
		b, err := p.secondary.Blob("a", "c", name, store.ReadOptions{})
		if err != nil || b.ETag != etag {
			t.Fatalf("secondary %s: %v %v, want ETag %s", name, b, err, etag)
		}
	}
	if st := p.repl.State(); st.SupersededBytes != 0 || st.Pending != 0 {
		t.Fatalf("after catching up: %+v", st)
	}
}

// TestCoalescingKeepsLastSyncTimePromise: while coalescing, every write at
// or before LastSyncTime is visible on the secondary, or a later state of
// the same blob is.
func TestCoalescingKeepsLastSyncTimePromise(t *testing.T) {
	p := newBoundedPair(t, 1)
	p.repl.Pause()
	var times []time.Time
	for i := range 20 {
		b, err := p.primary.PutBlob("a", "c", fmt.Sprint(i%3), store.Bytes([]byte{byte(i)}), store.HTTPHeaders{}, nil, store.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, b.LastModified)
	}
	if err := p.primary.DeleteBlob("a", "c", "2", store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Apply one change at a time and check the promise after each.
	applied := make(chan struct{}, 64)
	p.repl.mu.Lock()
	p.repl.afterApply = func() { applied <- struct{}{} }
	p.repl.mu.Unlock()
	p.repl.Resume()
	for range 21 {
		<-applied
		st := p.repl.State()
		for i, at := range times {
			if at.After(st.LastSyncTime) {
				continue
			}
			b, err := p.secondary.Blob("a", "c", fmt.Sprint(i%3), store.ReadOptions{})
			if err != nil {
				continue // deleted by a later write: newer state
			}
			if b.LastModified.Before(at) {
				t.Fatalf("write %d at %v is before LastSyncTime %v, secondary shows %v", i, at, st.LastSyncTime, b.LastModified)
			}
		}
	}
}

// TestDeletedContainerReleasesPendingVersions: deleting a container while
// paused releases the versions its pending writes held.
func TestDeletedContainerReleasesPendingVersions(t *testing.T) {
	p := newBoundedPair(t, 1<<30)
	p.repl.Pause()
	var old []weak.Pointer[store.Blob]
	for i := range 50 {
		b, err := p.primary.PutBlob("a", "c", fmt.Sprint(i%5), store.Bytes(make([]byte, 100)), store.HTTPHeaders{}, nil, store.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, weak.Make(b))
	}
	if err := p.primary.DeleteContainer("a", "c", store.Conditions{}); err != nil {
		t.Fatal(err)
	}
	// Within the budget the superseded versions are kept; the current ones
	// went with the container.
	if alive := aliveCount(old); alive != 45 {
		t.Fatalf("%d versions alive, want the 45 superseded ones", alive)
	}
	p.repl.Resume()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.repl.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if alive := aliveCount(old); alive != 0 {
		t.Fatalf("%d versions alive after catching up", alive)
	}
}
