package replica

import (
	"fmt"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/store"
)

// TestFIFO: the segmented queue keeps commit order across segment
// boundaries, with pushes and pops interleaved, and clears what it pops.
func TestFIFO(t *testing.T) {
	for _, tc := range []struct {
		name       string
		push, pop  int // per round
		rounds     int
		wantLength int
	}{
		{"one", 1, 0, 1, 1},
		{"one segment", segItems, 0, 1, segItems},
		{"across a boundary", segItems + 1, 0, 1, segItems + 1},
		{"drain each round", segItems + 3, segItems + 3, 4, 0},
		{"steady backlog", 50, 40, 20, 200},
		{"pop across boundaries", 3 * segItems, 2*segItems + 1, 3, 3 * (segItems - 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q fifo
			next, head := uint64(0), uint64(0)
			for range tc.rounds {
				for range tc.push {
					next++
					q.push(item{ch: store.Change{Seq: next}})
				}
				for range tc.pop {
					if got := q.front().ch.Seq; got != head+1 {
						t.Fatalf("front is change %d, want %d", got, head+1)
					}
					it := q.front()
					q.pop()
					if it.ch.Seq != 0 {
						t.Fatal("a popped slot still holds its change")
					}
					head++
				}
			}
			if q.len() != tc.wantLength || uint64(q.len()) != next-head {
				t.Fatalf("len %d, want %d", q.len(), tc.wantLength)
			}
			want := head
			q.each(func(it *item) bool {
				want++
				if it.ch.Seq != want {
					t.Fatalf("each: change %d, want %d", it.ch.Seq, want)
				}
				return true
			})
			if want != next {
				t.Fatalf("each visited up to change %d, want %d", want, next)
			}
			stopped := 0
			q.each(func(*item) bool { stopped++; return false })
			if q.len() > 0 && stopped != 1 {
				t.Fatalf("each went on after false: %d calls", stopped)
			}
		})
	}
}

// TestEnqueueWakesOnlyAnIdleRunner: Run sleeps either with an empty queue
// (it must be woken) or on a timer for the head of the queue, which no
// later change can come before (it must not be: one wake-up per write
// cost more than the rest of replication).
func TestEnqueueWakesOnlyAnIdleRunner(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	r := New(store.New(store.Options{}), Options{Lag: time.Second, Fence: func() time.Time { return start }})
	put := func(seq uint64) {
		r.Enqueue(store.Change{Seq: seq, Kind: store.PutContainer, Account: "a", Container: "c",
			Props: &store.Container{Name: "c"}, Time: start, Clock: start})
	}
	put(1)
	if len(r.wake) != 1 {
		t.Fatal("a change on an empty queue did not wake the replicator")
	}
	<-r.wake
	put(2)
	put(3)
	if len(r.wake) != 0 {
		t.Fatal("a change behind a pending one woke the replicator")
	}
}

// TestOneWakeUpAppliesEveryDueChange: in memory, applyDue takes due
// changes in batches of up to maxBatch and goes on until the first change
// that is not due, which stays pending with everything behind it; its
// due time is returned. Counted in changes applied, not in wake-ups, so
// it holds whatever the batch size.
func TestOneWakeUpAppliesEveryDueChange(t *testing.T) {
	for _, tc := range []struct {
		name       string
		due, later int // writes due at the wake-up, and written a second later
	}{
		{"none due", 0, 3},
		{"one", 1, 0},
		{"one batch", maxBatch, 1},
		{"over a batch", maxBatch + 1, 2},
		{"several batches", 3*maxBatch + 7, maxBatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk, prim, sec, r := syncPair(t, Constant(10*time.Second))
			r.applyDue() // the container
			for i := range tc.due {
				put(t, prim, fmt.Sprint("due-", i))
			}
			clk.Advance(time.Second)
			for i := range tc.later {
				put(t, prim, fmt.Sprint("later-", i))
			}
			clk.Advance(9 * time.Second)
			due, ok := r.applyDue()
			if st := r.State(); st.Pending != tc.later {
				t.Fatalf("%d changes pending, want %d", st.Pending, tc.later)
			}
			if tc.later > 0 && (!ok || !due.Equal(clk.Now().Add(time.Second))) {
				t.Fatalf("next due %v %v, want %v", due, ok, clk.Now().Add(time.Second))
			}
			for i := range tc.due {
				if _, err := sec.Blob("a", "c", fmt.Sprint("due-", i), store.ReadOptions{}); err != nil {
					t.Fatalf("due-%d is not on the secondary: %v", i, err)
				}
			}
			for i := range tc.later {
				if _, err := sec.Blob("a", "c", fmt.Sprint("later-", i), store.ReadOptions{}); err == nil {
					t.Fatalf("later-%d is on the secondary before its lag passed", i)
				}
			}
		})
	}
}
