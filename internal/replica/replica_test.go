package replica

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
	"weak"

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
		due := p.repl.queue.len() > 0 && !p.repl.queue.front().ch.Time.After(cutoff)
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
	for _, lag := range []time.Duration{0, 2 * time.Millisecond} {
		t.Run(lag.String(), func(t *testing.T) { orderAndWatermark(t, lag) })
	}
}

func orderAndWatermark(t *testing.T, lag time.Duration) {
	sec := store.New(store.Options{})
	var repl *Replicator
	prim := store.New(store.Options{OnCommit: func(c store.Change) { repl.Enqueue(c) }})
	repl = New(sec, Options{Lag: lag, Fence: prim.FenceNow})
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
			var seen [writers]*store.Blob
			for w := range seen {
				seen[w], _ = sec.Blob("a", "c", fmt.Sprint("w", w), store.ReadOptions{})
			}
			lst := repl.State().LastSyncTime
			for w := 0; w < writers; w++ {
				name := fmt.Sprint("w", w)
				if seen[w] != nil && seen[w].LastModified.After(lst) {
					select {
					case errs <- fmt.Errorf("blob %s: the secondary served %v, after the LastSyncTime %v read next", name, seen[w].LastModified, lst):
					default:
					}
					return
				}
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

// TestWritesAtOneInstantReplicateTogether: writes made while a manual clock
// stands still get commit times a nanosecond apart, but the lag counts from
// the clock, so advancing it by exactly the lag replicates all of them.
func TestWritesAtOneInstantReplicateTogether(t *testing.T) {
	const lag = 5 * time.Second
	p := newPair(t, lag)
	if _, err := p.primary.CreateContainer("a", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	var last *store.Blob
	for i := 0; i < 5; i++ {
		b, err := p.primary.PutBlob("a", "c", fmt.Sprint("b", i), store.Bytes(nil), store.HTTPHeaders{}, nil, store.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		last = b
	}
	p.clk.Advance(lag)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.repl.WaitIdle(ctx); err != nil {
		t.Fatalf("writes made at T are not all on the secondary at T+lag: %v (%+v)", err, p.repl.State())
	}
	for i := 0; i < 5; i++ {
		if !visible(p, fmt.Sprint("b", i)) {
			t.Fatalf("b%d missing", i)
		}
	}
	if lst := p.repl.State().LastSyncTime; lst.Before(last.LastModified) {
		t.Fatalf("LastSyncTime %v does not cover the last write %v", lst, last.LastModified)
	}
}

// TestBurstKeepsOneTimer: every write wakes the replication goroutine; with
// the head of the queue unchanged it must keep the timer it has instead of
// adding one per wake-up, which a manual clock would hold until advanced.
func TestBurstKeepsOneTimer(t *testing.T) {
	p := newPair(t, time.Minute)
	if _, err := p.primary.CreateContainer("a", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if _, err := p.primary.PutBlob("a", "c", "b", store.Bytes(nil), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		// Let the goroutine take each wake-up on its own.
		for deadline := time.Now().Add(5 * time.Second); len(p.repl.wake) > 0 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Microsecond)
		}
	}
	p.settle(t)
	if n := p.clk.Timers(); n > 2 {
		t.Fatalf("%d timers waiting for one pending deadline", n)
	}
	p.clk.Advance(time.Minute)
	if err := p.repl.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestReplicatedVersionsAreReleased: once a version is replicated and
// overwritten on both sides, nothing in the replicator may keep it alive,
// including the queue's backing array after it was compacted.
func TestReplicatedVersionsAreReleased(t *testing.T) {
	p := newPair(t, time.Second)
	if _, err := p.primary.CreateContainer("a", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	const versions, blobs = 3000, 10
	old := make([]weak.Pointer[store.Blob], 0, versions)
	for i := 0; i < versions; i++ {
		b, err := p.primary.PutBlob("a", "c", fmt.Sprint(i%blobs), store.Bytes(make([]byte, 64)), store.HTTPHeaders{}, nil, store.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, weak.Make(b))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.clk.Advance(time.Second)
	if err := p.repl.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < blobs; i++ {
		if _, err := p.primary.PutBlob("a", "c", fmt.Sprint(i), store.Bytes(nil), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	p.clk.Advance(time.Second)
	if err := p.repl.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	alive := 0
	for _, w := range old {
		if w.Value() != nil {
			alive++
		}
	}
	if alive > 0 {
		t.Fatalf("%d of %d overwritten, replicated versions are still reachable", alive, versions)
	}
}

// TestLastSyncTimeCoversWhatReadersSaw: a reader that sees a version on the
// secondary and then asks for LastSyncTime must get a time at or after that
// version's, even while the replicator is still accounting for the apply.
func TestLastSyncTimeCoversWhatReadersSaw(t *testing.T) {
	p := newPair(t, 0)
	applied := make(chan struct{}, 1)
	release := make(chan struct{})
	var once sync.Once
	p.repl.mu.Lock()
	p.repl.afterApply = func() {
		once.Do(func() {
			applied <- struct{}{}
			<-release
		})
	}
	p.repl.mu.Unlock()
	p.clk.Advance(time.Second)
	if _, err := p.primary.CreateContainer("a", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	<-applied
	c, err := p.secondary.Container("a", "c")
	if err != nil {
		t.Fatalf("the applied container is not visible: %v", err)
	}
	// Release the replicator a little later; State must wait for it
	// rather than answer with a time before the container's creation.
	go func() {
		time.Sleep(20 * time.Millisecond)
		close(release)
	}()
	if lst := p.repl.State().LastSyncTime; lst.Before(c.LastModified) {
		t.Fatalf("LastSyncTime %v is before %v, which the secondary already served", lst, c.LastModified)
	}
}

// TestFirstLastSyncTime: with no lag, a write made at the very instant the
// replicator started must not count as replicated before it is applied.
func TestFirstLastSyncTime(t *testing.T) {
	p := newPair(t, 0)
	p.repl.Pause()
	c, err := p.primary.CreateContainer("a", "c", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if lst := p.repl.State().LastSyncTime; !lst.Before(c.LastModified) {
		t.Fatalf("LastSyncTime %v claims the unreplicated write of %v", lst, c.LastModified)
	}
}

// TestLastSyncTimeUnderPauseAndManualClock: writers, a goroutine moving a
// manual clock and toggling Pause/Resume, and a reader checking the
// promises of LastSyncTime at every step: it never goes back; everything
// written at or before it is on the secondary; nothing the secondary
// served before it was read lies after it.
func TestLastSyncTimeUnderPauseAndManualClock(t *testing.T) {
	p := newPair(t, 3*time.Second)
	if _, err := p.primary.CreateContainer("a", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	const writers, each = 3, 300
	var writing sync.WaitGroup
	for w := 0; w < writers; w++ {
		writing.Add(1)
		go func(w int) {
			defer writing.Done()
			for i := 0; i < each; i++ {
				if _, err := p.primary.PutBlob("a", "c", fmt.Sprint("w", w), store.Bytes([]byte{byte(i)}), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	stop := make(chan struct{})
	var driving sync.WaitGroup
	driving.Add(1)
	go func() {
		defer driving.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p.clk.Advance(time.Duration(i%7) * 100 * time.Millisecond)
			if i%5 == 0 {
				p.repl.Pause()
			} else if i%5 == 2 {
				p.repl.Resume()
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	var prev time.Time
	check := func() {
		t.Helper()
		var seen [writers]*store.Blob
		for w := range seen {
			seen[w], _ = p.secondary.Blob("a", "c", fmt.Sprint("w", w), store.ReadOptions{})
		}
		lst := p.repl.State().LastSyncTime
		if lst.Before(prev) {
			t.Fatalf("LastSyncTime went back from %v to %v", prev, lst)
		}
		prev = lst
		for w, sb := range seen {
			if sb != nil && sb.LastModified.After(lst) {
				t.Fatalf("w%d: the secondary served a version of %v, after the LastSyncTime %v read next", w, sb.LastModified, lst)
			}
			pb, err := p.primary.Blob("a", "c", fmt.Sprint("w", w), store.ReadOptions{})
			if err != nil || pb.LastModified.After(lst) {
				continue
			}
			if sb, err := p.secondary.Blob("a", "c", fmt.Sprint("w", w), store.ReadOptions{}); err != nil || sb.LastModified.Before(pb.LastModified) {
				t.Fatalf("w%d: written at %v, at or before LastSyncTime %v, but the secondary has %v", w, pb.LastModified, lst, sb)
			}
		}
	}
	done := make(chan struct{})
	go func() { writing.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		check()
	}
	close(stop)
	driving.Wait()
	p.repl.Resume()
	p.clk.Advance(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.repl.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	check()
	for w := 0; w < writers; w++ {
		pb, _ := p.primary.Blob("a", "c", fmt.Sprint("w", w), store.ReadOptions{})
		sb, err := p.secondary.Blob("a", "c", fmt.Sprint("w", w), store.ReadOptions{})
		if err != nil || sb.ETag != pb.ETag {
			t.Fatalf("w%d differs at the end: %v", w, err)
		}
	}
}
