package durable

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/geoblob/geoblob/internal/store"
)

// GCStats is what one collection did.
type GCStats struct {
	Files   int // content files found
	Removed int // garbage files removed
}

// GC removes content files that nothing refers to any more: no Content in
// memory (blob versions of both stores, uncommitted blocks, replication
// queues, uploads and reads in flight) and no record of a pending
// replication log, and no file that was there when Open found no metadata
// to load. It first waits for every record submitted so far to be
// durable, so a file is removed only once the removal of its last durable
// reference is itself durable.
func (db *DB) GC() (GCStats, error) {
	var st GCStats
	// Let the runtime report Contents that have become unreachable.
	runtime.GC()
	entries, err := os.ReadDir(db.files.Dir())
	if err != nil {
		return st, fmt.Errorf("durable: listing content files: %w", err)
	}
	var cands []string
	for _, e := range entries {
		if !store.IsFileID(e.Name()) {
			continue
		}
		st.Files++
		if !db.files.Live(e.Name()) && !db.kept[e.Name()] {
			cands = append(cands, e.Name())
		}
	}
	if len(cands) == 0 {
		return st, nil
	}
	if err := db.Sync(); err != nil {
		return st, err
	}
	logged, err := db.logFiles()
	if err != nil {
		return st, err
	}
	for _, id := range cands {
		if logged[id] {
			continue
		}
		ok, err := db.files.Remove(id)
		if err != nil {
			return st, err
		}
		if ok {
			st.Removed++
		}
	}
	return st, nil
}

// logFiles returns the content files that records of pending replication
// logs name.
func (db *DB) logFiles() (map[string]bool, error) {
	ids := map[string]bool{}
	err := db.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if !bytes.HasPrefix(name, []byte("log:")) {
				return nil
			}
			return b.ForEach(func(_, v []byte) error {
				var doc any
				if err := json.Unmarshal(v, &doc); err != nil {
					return fmt.Errorf("%w: %s: %s: %w", ErrCorrupt, db.dir, name, err)
				}
				collectFiles(doc, ids)
				return nil
			})
		})
	})
	return ids, err
}

func collectFiles(v any, ids map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == store.ExtentFileKey && !strings.ContainsAny(s, "/\\") {
				ids[s] = true
				continue
			}
			collectFiles(e, ids)
		}
	case []any:
		for _, e := range x {
			collectFiles(e, ids)
		}
	}
}
