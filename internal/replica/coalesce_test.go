package replica

import (
	"fmt"
	"testing"
	"time"
	"weak"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
)

// lagPair is a primary and a replicator with a constant lag and a budget,
// driven by hand: applyDue runs only when the test calls it.
func lagPair(t *testing.T, lag time.Duration, budget int64) (*clock.Manual, *store.Store, *store.Store, *Replicator) {
	t.Helper()
	clk := clock.NewManual(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	sec := store.New(store.Options{Now: clk.Now})
	var r *Replicator
	prim := store.New(store.Options{Now: clk.Now, OnCommit: func(c store.Change) { r.Enqueue(c) }})
	r = New(sec, Options{Lag: lag, Clock: clk, Fence: prim.FenceNow, MaxSupersededBytes: budget})
	if _, err := prim.CreateContainer("a", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	clk.Advance(lag)
	r.applyDue()
	return clk, prim, sec, r
}

// commit is one write the primary committed: the blob's state after it.
type commit struct {
	blob    string
	at      time.Time
	etag    string // "" for a delete
	deleted bool
}

// TestCoalescingOverwritesOfALargeBlob replays the bench's overwrite phase
// on a manual clock: a blob larger than the budget overwritten every 400
// ms with a 1 s lag, a small blob written between the overwrites, and a
// delete at the end. After every step it checks what a reader of the
// secondary could see against the rules of the package documentation:
// each blob moves forward through states the primary committed, in commit
// order; LastSyncTime never goes backwards and every write at or before it
// is visible or overtaken by a later visible write of its blob; nothing is
// visible before it committed; and the queue applies changes in commit
// order at their own due time (LastSyncTime matches a replicator without
// coalescing).
func TestCoalescingOverwritesOfALargeBlob(t *testing.T) {
	const lag, step = time.Second, 400 * time.Millisecond
	const large, budget = 64 << 10, 32 << 10
	clk, prim, sec, r := lagPair(t, lag, budget)
	// A twin replicator with no budget shows where LastSyncTime would be
	// without coalescing.
	twinSec := store.New(store.Options{Now: clk.Now})
	twin := New(twinSec, Options{Lag: lag, Clock: clk, Fence: prim.FenceNow, MaxSupersededBytes: -1})
	twinSec.Apply(store.Change{Kind: store.PutContainer, Account: "a", Container: "c", Props: &store.Container{Name: "c"}})
	r.mu.Lock()
	twin.watermark = r.watermark
	base := r.applied // the container
	r.mu.Unlock()

	var commits []commit
	write := func(name string, size int) {
		t.Helper()
		b, err := prim.PutBlob("a", "c", name, store.Bytes(make([]byte, size)), store.HTTPHeaders{}, nil, store.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		twin.Enqueue(store.Change{Kind: store.PutBlob, Account: "a", Container: "c", BlobName: name, Blob: b, Time: b.LastModified, Clock: clk.Now()})
		commits = append(commits, commit{blob: name, at: b.LastModified, etag: b.ETag})
	}
	del := func(name string) {
		t.Helper()
		if err := prim.DeleteBlob("a", "c", name, store.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		at := prim.FenceNow() // the delete's commit time is the latest one
		for _, c := range commits {
			if !at.After(c.at) {
				at = c.at.Add(time.Nanosecond)
			}
		}
		twin.Enqueue(store.Change{Kind: store.DeleteBlob, Account: "a", Container: "c", BlobName: name, Time: at, Clock: clk.Now()})
		commits = append(commits, commit{blob: name, at: at, deleted: true})
	}

	shown := map[string]int{} // index in commits of the last state seen per blob; -1 for none yet
	for _, n := range []string{"big", "small"} {
		shown[n] = -1
	}
	seen := map[int]bool{} // commits the secondary has shown
	var lastLST time.Time
	check := func(when string) {
		t.Helper()
		r.applyDue()
		twin.applyDue()
		st, tw := r.State(), twin.State()
		now := clk.Now()
		if st.LastSyncTime.Before(lastLST) {
			t.Fatalf("%s: LastSyncTime went back from %v to %v", when, lastLST, st.LastSyncTime)
		}
		lastLST = st.LastSyncTime
		if !st.LastSyncTime.Equal(tw.LastSyncTime) || st.Pending != tw.Pending || st.Applied-base != tw.Applied {
			t.Fatalf("%s: coalescing changed the queue: %+v, without it %+v", when, st, tw)
		}
		for _, name := range []string{"big", "small"} {
			b, err := sec.Blob("a", "c", name, store.ReadOptions{})
			// Which commit of this blob is the secondary showing?
			idx := -1
			for i, c := range commits {
				if c.blob != name {
					continue
				}
				if (err == nil && c.etag == b.ETag) || (err != nil && c.deleted) {
					idx = i
				}
			}
			switch {
			case err == nil && idx < 0:
				t.Fatalf("%s: secondary shows %s as %s, a state the primary never committed", when, name, b.ETag)
			case err != nil && idx < 0 && shown[name] >= 0:
				t.Fatalf("%s: %s vanished from the secondary", when, name)
			case idx >= 0 && idx < shown[name]:
				t.Fatalf("%s: %s went back from commit %d to %d", when, name, shown[name], idx)
			case idx >= 0 && commits[idx].at.After(now):
				t.Fatalf("%s: %s shows a write of %v at %v", when, name, commits[idx].at, now)
			}
			if idx >= 0 {
				shown[name] = idx
				seen[idx] = true
			}
			// Every write of name at or before LastSyncTime is visible or
			// overtaken by the state shown.
			for i, c := range commits {
				if c.blob == name && !c.at.After(st.LastSyncTime) && idx < i {
					t.Fatalf("%s: write %d of %s at %v is before LastSyncTime %v, secondary shows commit %d", when, i, name, c.at, st.LastSyncTime, idx)
				}
			}
		}
		if st.SupersededBytes > budget {
			t.Fatalf("%s: %d superseded bytes held, budget %d", when, st.SupersededBytes, budget)
		}
	}

	for i := range 10 {
		write("big", large)
		check(fmt.Sprintf("after overwrite %d", i))
		write("small", 10)
		check(fmt.Sprintf("after small write %d", i))
		clk.Advance(step)
		check(fmt.Sprintf("%v after overwrite %d", step, i))
	}
	del("big")
	check("after the delete")
	for range 5 {
		clk.Advance(step)
		check("draining")
	}
	if st := r.State(); st.Pending != 0 || st.SupersededBytes != 0 {
		t.Fatalf("after draining: %+v", st)
	}
	if _, err := sec.Blob("a", "c", "big", store.ReadOptions{}); err == nil {
		t.Fatal("the deleted blob is still on the secondary")
	}
	// Intermediate large versions were skipped (coalescing happened) and
	// every small write was shown at its own time.
	skipped := 0
	for i, c := range commits {
		switch {
		case c.blob == "big" && !seen[i]:
			skipped++
		case c.blob == "small" && !seen[i]:
			t.Fatalf("small write %d was never shown", i)
		}
	}
	if skipped == 0 {
		t.Fatal("no large version was skipped: coalescing did not happen")
	}
}

// TestSmallOverwritesWithinBudgetKeepEveryVersion: below the budget every
// intermediate version reaches the secondary at its own lag, as before.
func TestSmallOverwritesWithinBudgetKeepEveryVersion(t *testing.T) {
	const lag = time.Second
	clk, prim, sec, r := lagPair(t, lag, 0) // the default budget
	var etags []string
	for range 5 {
		b, err := prim.PutBlob("a", "c", "b", store.Bytes(make([]byte, 1<<10)), store.HTTPHeaders{}, nil, store.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		etags = append(etags, b.ETag)
		clk.Advance(200 * time.Millisecond)
	}
	clk.Advance(lag - 5*200*time.Millisecond)
	for i, want := range etags {
		r.applyDue()
		b, err := sec.Blob("a", "c", "b", store.ReadOptions{})
		if err != nil || b.ETag != want {
			t.Fatalf("at step %d the secondary shows %v %v, want version %d (%s)", i, b, err, i, want)
		}
		clk.Advance(200 * time.Millisecond)
	}
}

// TestDefaultBudgetCoalescesA64MiBOverwrite: with the default budget an
// overwritten 64 MiB version is not kept for the lag: its pending write
// applies the newest state.
func TestDefaultBudgetCoalescesA64MiBOverwrite(t *testing.T) {
	const size = 64 << 20
	_, prim, _, r := lagPair(t, time.Second, 0)
	data := make([]byte, size)
	b1, err := prim.PutBlob("a", "c", "big", store.Bytes(data), store.HTTPHeaders{}, nil, store.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := weak.Make(b1)
	b1 = nil
	if _, err := prim.PutBlob("a", "c", "big", store.Bytes(data), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if st := r.State(); st.SupersededBytes != 0 || st.Pending != 2 {
		t.Fatalf("after the overwrite: %+v, want 2 pending changes holding no superseded bytes", st)
	}
	if aliveCount([]weak.Pointer[store.Blob]{w}) != 0 {
		t.Fatal("the overwritten 64 MiB version is still held")
	}
}

// TestAbandonDoesNotReportCoalescedWritesOnTheSecondary: an overwrite
// coalesced into an earlier pending write is on the secondary once that
// earlier write is applied; a failover then does not report it lost
// (the promoted secondary serves it), while a write still pending is
// reported, whether it is a put or a delete.
func TestAbandonDoesNotReportCoalescedWritesOnTheSecondary(t *testing.T) {
	const lag = time.Minute
	clk, prim, sec, r := lagPair(t, lag, 1)
	put := func(name, data string) *store.Blob {
		t.Helper()
		b, err := prim.PutBlob("a", "c", name, store.Bytes([]byte(data)), store.HTTPHeaders{}, nil, store.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	put("x", "version one")
	put("d", "to be deleted")
	clk.Advance(20 * time.Second)
	v2 := put("x", "version two, coalesced") // over budget: x's first write now applies this
	if err := prim.DeleteBlob("a", "c", "d", store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(20 * time.Second)
	v3 := put("y", "pending")
	clk.Advance(21 * time.Second) // the first writes are due, not the later ones
	r.applyDue()
	if b, err := sec.Blob("a", "c", "x", store.ReadOptions{}); err != nil || b.ETag != v2.ETag {
		t.Fatalf("secondary x: %v %v, want the coalesced %s", b, err, v2.ETag)
	}
	if _, err := sec.Blob("a", "c", "d", store.ReadOptions{}); err == nil {
		t.Fatal("secondary still has d, whose deletion was coalesced into its write")
	}
	lost, _ := r.Abandon()
	if len(lost) != 1 || lost[0].Blob != "y" || lost[0].ETag != v3.ETag {
		t.Fatalf("lost %+v, want only y (%s): x's %s and d's deletion are on the secondary", lost, v3.ETag, v2.ETag)
	}
}
