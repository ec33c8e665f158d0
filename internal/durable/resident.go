package durable

import (
	bolt "go.etcd.io/bbolt"

	"github.com/geoblob/geoblob/internal/memidle"
)

// DropResidentPages drops the pages of meta.db that reads have made
// resident in the process (bbolt maps the file read-only and shared); the
// next read maps them again from the page cache. It runs inside a read
// transaction, which keeps bbolt from remapping the file meanwhile, so the
// range it drops is still meta.db's. It returns the bytes it advised: 0
// on a closed DB or where the platform cannot drop pages.
func (db *DB) DropResidentPages() uint64 {
	var n uint64
	_ = db.view(func(*bolt.Tx) error {
		n = memidle.DropFileMapping(db.bolt.Info().Data)
		return nil
	})
	return n
}
