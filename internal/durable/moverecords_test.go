package durable

import (
	"bytes"
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestMoveRecords moves every key of one prefix under another in one
// transaction, values unchanged, and leaves the keys around them.
func TestMoveRecords(t *testing.T) {
	const n = 5000
	db := fillPrefixes(t, n, "a", "b", "c")
	if err := db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		if err := b.Put([]byte("b/00000007"), []byte("seven")); err != nil {
			return err
		}
		return moveRecords(b, []byte("b/"), []byte("z/b/"))
	}); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	if err := db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		if v := b.Get([]byte("z/b/00000007")); !bytes.Equal(v, []byte("seven")) {
			return fmt.Errorf("moved value %q", v)
		}
		return b.ForEach(func(k, _ []byte) error { count[string(k[:1])]++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if count["a"] != n || count["b"] != 0 || count["c"] != n || count["z"] != n {
		t.Fatalf("left %v, want %d of a, c and z and none of b", count, n)
	}
}

// BenchmarkMoveRecords moves a container's worth of blob records in one
// transaction, as soft-deleting or restoring a container does.
func BenchmarkMoveRecords(b *testing.B) {
	for _, n := range []int{10_000, 40_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				db := fillPrefixes(b, n, "blob")
				b.StartTimer()
				if err := db.Update(func(tx *bolt.Tx) error {
					return moveRecords(tx.Bucket([]byte("b")), []byte("blob/"), []byte("q/blob/"))
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
