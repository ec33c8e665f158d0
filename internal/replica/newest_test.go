package replica

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/store"
)

// TestNewestIsMadeAnewAfterABurst: the map of blobs with pending writes
// keeps the room of its largest size, so once a burst of writes to many
// blobs has been applied it is replaced by an empty one; a small one is
// kept.
func TestNewestIsMadeAnewAfterABurst(t *testing.T) {
	for _, tc := range []struct {
		blobs    int
		replaced bool
	}{{shrinkNewestAt - 1, false}, {shrinkNewestAt, true}, {3 * shrinkNewestAt, true}} {
		t.Run(fmt.Sprint(tc.blobs), func(t *testing.T) {
			clk, prim, sec, r := syncPair(t, nil)
			for i := range tc.blobs {
				put(t, prim, fmt.Sprintf("b%05d", i))
			}
			r.mu.Lock()
			before, n := reflect.ValueOf(r.newest).UnsafePointer(), len(r.newest)
			r.mu.Unlock()
			if n != tc.blobs {
				t.Fatalf("%d blobs pending, want %d", n, tc.blobs)
			}
			clk.Advance(time.Hour)
			r.applyDue()
			r.applyDue() // a round applies a bounded batch
			for range tc.blobs {
				r.mu.Lock()
				done := r.queue.len() == 0
				r.mu.Unlock()
				if done {
					break
				}
				r.applyDue()
			}
			r.mu.Lock()
			after, left := reflect.ValueOf(r.newest).UnsafePointer(), len(r.newest)
			r.mu.Unlock()
			if left != 0 {
				t.Fatalf("%d blobs still pending", left)
			}
			if replaced := after != before; replaced != tc.replaced {
				t.Fatalf("map replaced: %v, want %v", replaced, tc.replaced)
			}
			if _, err := sec.Blob("a", "c", fmt.Sprintf("b%05d", tc.blobs-1), store.ReadOptions{}); err != nil {
				t.Fatalf("last write not applied: %v", err)
			}
		})
	}
}
