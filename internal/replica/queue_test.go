package replica

import (
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
