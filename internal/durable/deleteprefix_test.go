package durable

import (
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// fillPrefixes opens a bbolt file with one bucket holding n keys under
// each of the prefixes.
func fillPrefixes(tb testing.TB, n int, prefixes ...string) *bolt.DB {
	tb.Helper()
	db, err := bolt.Open(filepath.Join(tb.TempDir(), "t.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		for _, p := range prefixes {
			for i := range n {
				if err := b.Put(fmt.Appendf(nil, "%s/%08d", p, i), make([]byte, 200)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// TestDeletePrefix deletes every key of one prefix, in one transaction,
// and leaves the keys before and after it.
func TestDeletePrefix(t *testing.T) {
	const n = 5000
	db := fillPrefixes(t, n, "a", "b", "c")
	if err := db.Update(func(tx *bolt.Tx) error { return deletePrefix(tx.Bucket([]byte("b")), []byte("b/")) }); err != nil {
		t.Fatal(err)
	}
	count := map[byte]int{}
	if err := db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("b")).ForEach(func(k, _ []byte) error { count[k[0]]++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if count['a'] != n || count['b'] != 0 || count['c'] != n {
		t.Fatalf("left %v, want %d of a and c and none of b", count, n)
	}
}

// BenchmarkDeletePrefix deletes a container's worth of 100k blob records
// in one transaction, as deleting a container of 100k blobs does.
func BenchmarkDeletePrefix(b *testing.B) {
	for range b.N {
		b.StopTimer()
		db := fillPrefixes(b, 100_000, "blob")
		b.StartTimer()
		if err := db.Update(func(tx *bolt.Tx) error { return deletePrefix(tx.Bucket([]byte("b")), []byte("blob/")) }); err != nil {
			b.Fatal(err)
		}
	}
}
