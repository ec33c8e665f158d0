package durable

import (
	"bytes"
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
				k := fmt.Appendf(nil, "%s/%08d", p, i)
				if err := b.Put(k, prefixValue(k)); err != nil {
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

// prefixValue is the value fillPrefixes stores under k: its own, so that
// a page read back wrong shows.
func prefixValue(k []byte) []byte { return bytes.Repeat(k, 200/len(k)+1)[:200] }

// TestDeletePrefix deletes every key of one prefix, in one transaction,
// and leaves the keys before and after it, with their values: in one
// batch and over several.
func TestDeletePrefix(t *testing.T) {
	for _, n := range []int{deleteBatch / 2, deleteBatch, 5*deleteBatch + 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			db := fillPrefixes(t, n, "a", "b", "c")
			if err := db.Update(func(tx *bolt.Tx) error { return deletePrefix(tx.Bucket([]byte("b")), []byte("b/")) }); err != nil {
				t.Fatal(err)
			}
			count := map[byte]int{}
			if err := db.View(func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("b")).ForEach(func(k, v []byte) error {
					count[k[0]]++
					if !bytes.Equal(v, prefixValue(k)) {
						return fmt.Errorf("value of %s: %q", k, v)
					}
					return nil
				})
			}); err != nil {
				t.Fatal(err)
			}
			if count['a'] != n || count['b'] != 0 || count['c'] != n {
				t.Fatalf("left %v, want %d of a and c and none of b", count, n)
			}
		})
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
