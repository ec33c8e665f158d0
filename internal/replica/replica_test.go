package replica

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
)

type pair struct {
	clk       *clock.Manual
	primary   *store.Store
	secondary *store.Store
	repl      *Replicator
}

func newPair(t *testing.T, lag time.Duration) *pair {
	t.Helper()
	p := &pair{clk: clock.NewManual(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))}
	p.secondary = store.New(store.Options{Now: p.clk.Now})
	p.primary = store.New(store.Options{Now: p.clk.Now, OnCommit: func(c store.Change) { p.repl.Enqueue(c) }})
	p.repl = New(p.secondary, Options{Lag: lag, Clock: p.clk, Fence: p.primary.FenceNow})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.repl.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

// settle gives the replication goroutine a moment to act on what is due.
func (p *pair) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		st := p.repl.State()
		if st.Pending == 0 || st.Paused {
			return
		}
		cutoff := p.clk.Now().Add(-p.repl.Lag())
		p.repl.mu.Lock()
		due := p.repl.head < len(p.repl.queue) && !p.repl.queue[p.repl.head].Time.After(cutoff)
		p.repl.mu.Unlock()
		if !due {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("replication did not settle")
}

func visible(p *pair, name string) bool {
	_, err := p.secondary.Blob("a", "c", name, store.ReadOptions{})
	return err == nil
}

func TestLagAndLastSyncTime(t *testing.T) {
	p := newPair(t, 10*time.Second)
	if _, err := p.primary.CreateContainer("a", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	b, err := p.primary.PutBlob("a", "c", "b1", store.Bytes([]byte("x")), store.HTTPHeaders{}, nil, store.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.settle(t)
	if visible(p, "b1") {
		t.Fatal("blob visible before the lag passed")
	}
	if lst := p.repl.State().LastSyncTime; !lst.Before(b.LastModified) {
		t.Fatalf("LastSyncTime %v must be before the unreplicated write %v", lst, b.LastModified)
	}
	p.clk.Advance(9 * time.Second)
	p.settle(t)
	if visible(p, "b1") {
		t.Fatal("blob visible after 9s of a 10s lag")
	}
	p.clk.Advance(2 * time.Second)
	if err := p.repl.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !visible(p, "b1") {
		t.Fatal("blob not visible after the lag")
	}
	if lst := p.repl.State().LastSyncTime; lst.Before(b.LastModified) {
		t.Fatalf("LastSyncTime %v must cover the replicated write %v", lst, b.LastModified)
	}
}

func TestPauseFreezesLastSyncTime(t *testing.T) {
	p := newPair(t, time.Second)
	if _, err := p.primary.CreateContainer("a", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	p.clk.Advance(2 * time.Second)
	if err := p.repl.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.repl.Pause()
	frozen := p.repl.State().LastSyncTime
	if _, err := p.primary.PutBlob("a", "c", "late", store.Bytes(nil), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		p.clk.Advance(time.Minute)
		time.Sleep(5 * time.Millisecond)
		st := p.repl.State()
		if !st.Paused || !st.LastSyncTime.Equal(frozen) || st.Pending != 1 {
			t.Fatalf("paused state moved: %+v (frozen %v)", st, frozen)
		}
		if visible(p, "late") {
			t.Fatal("write reached the secondary while paused")
		}
	}
	p.repl.Resume()
	if err := p.repl.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !visible(p, "late") {
		t.Fatal("write missing after resume")
	}
	if st := p.repl.State(); !st.LastSyncTime.After(frozen) {
		t.Fatalf("LastSyncTime did not advance after resume: %v", st.LastSyncTime)
	}
}

func TestStatus(t *testing.T) {
	p := newPair(t, 0)
	for _, s := range []Status{Bootstrap, Unavailable, Live} {
		if err := p.repl.SetStatus(s); err != nil {
			t.Fatal(err)
		}
		if got := p.repl.State().Status; got != s {
			t.Fatalf("status %s, want %s", got, s)
		}
	}
	if err := p.repl.SetStatus("broken"); !errors.Is(err, ErrInvalidStatus) {
		t.Fatalf("bad status: %v", err)
	}
}

// TestOrderAndWatermarkUnderConcurrency writes from many goroutines with a
// real clock and zero lag while a reader checks the LastSyncTime promise:
// every blob whose Last-Modified is at or before LastSyncTime must already
// be on the secondary with that version or a later one.
func TestOrderAndWatermarkUnderConcurrency(t *testing.T) {
	sec := store.New(store.Options{})
	var repl *Replicator
	prim := store.New(store.Options{OnCommit: func(c store.Change) { repl.Enqueue(c) }})
	repl = New(sec, Options{Fence: prim.FenceNow})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go repl.Run(ctx)
	if _, err := prim.CreateContainer("a", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 200
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			lst := repl.State().LastSyncTime
			for w := 0; w < writers; w++ {
				name := fmt.Sprint("w", w)
				pb, err := prim.Blob("a", "c", name, store.ReadOptions{})
				if err != nil || pb.LastModified.After(lst) {
					continue
				}
				sb, err := sec.Blob("a", "c", name, store.ReadOptions{})
				if err != nil || sb.LastModified.Before(pb.LastModified) {
					select {
					case errs <- fmt.Errorf("blob %s modified %v <= LastSyncTime %v but secondary has %v (%v)", name, pb.LastModified, lst, sb, err):
					default:
					}
					return
				}
			}
		}
	}()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := prim.PutBlob("a", "c", fmt.Sprint("w", w), store.Bytes([]byte{byte(i)}), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	if err := repl.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	for w := 0; w < writers; w++ {
		name := fmt.Sprint("w", w)
		pb, _ := prim.Blob("a", "c", name, store.ReadOptions{})
		sb, err := sec.Blob("a", "c", name, store.ReadOptions{})
		if err != nil || sb.ETag != pb.ETag {
			t.Fatalf("final state of %s differs: %v", name, err)
		}
	}
}
