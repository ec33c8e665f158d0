package durable

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/geoblob/geoblob/internal/store"
)

// Position is where a restored store instance stands: the last change it
// committed (a primary) or applied (a secondary).
type Position struct {
	Seq  uint64
	Last time.Time // the commit time of that change
}

// Load restores store instance id into s, which must be new and empty, and
// returns its position. A damaged record is an error wrapping ErrCorrupt;
// Load never panics on a damaged file.
func (db *DB) Load(id string, s *store.Store) (pos Position, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: reading store %s: %v; restore it from a backup or move the directory away to start empty", ErrCorrupt, db.dir, id, r)
		}
	}()
	err = db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(storeBucket(id))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if err := db.loadRecord(s, k, v, &pos); err != nil {
				return fmt.Errorf("%w: %s: store %s, record %q: %w; restore it from a backup or move the directory away to start empty",
					ErrCorrupt, db.dir, id, k, err)
			}
			return nil
		})
	})
	if err != nil {
		return Position{}, err
	}
	s.RestorePosition(pos.Seq, pos.Last)
	return pos, nil
}

func (db *DB) loadRecord(s *store.Store, k, v []byte, pos *Position) error {
	if bytes.Equal(k, posKey) {
		var p position
		if err := json.Unmarshal(v, &p); err != nil {
			return err
		}
		pos.Seq, pos.Last = p.Seq, p.Last
		return nil
	}
	if len(k) == 0 {
		return fmt.Errorf("empty key")
	}
	switch k[0] {
	case kService:
		names, rest, ok := splitKey(k, 1)
		if !ok || len(rest) != 0 {
			return fmt.Errorf("bad key")
		}
		s.RestoreService(names[0], bytes.Clone(v))
	case kContainer:
		names, rest, ok := splitKey(k, 2)
		if !ok || len(rest) != 0 {
			return fmt.Errorf("bad key")
		}
		var c store.Container
		if err := json.Unmarshal(v, &c); err != nil {
			return err
		}
		if c.Name != names[1] {
			return fmt.Errorf("container record names %q", c.Name)
		}
		s.RestoreContainer(names[0], &c)
	case kBlob:
		names, rest, ok := splitKey(k, 3)
		if !ok || len(rest) != 0 {
			return fmt.Errorf("bad key")
		}
		var b store.Blob
		if err := db.files.Decode(v, &b); err != nil {
			return err
		}
		if b.Name != names[2] {
			return fmt.Errorf("blob record names %q", b.Name)
		}
		return s.RestoreBlob(names[0], names[1], &b)
	case kHistory:
		names, rest, ok := splitKey(k, 5)
		if !ok || len(rest) != 0 {
			return fmt.Errorf("bad key")
		}
		var b store.Blob
		if err := db.files.Decode(v, &b); err != nil {
			return err
		}
		if b.HistoryKey() != (store.HistoryKey{Name: names[2], Snapshot: names[3], VersionID: names[4]}) || !b.IsHistory() {
			return fmt.Errorf("history record names %q", b.Name)
		}
		return s.RestoreHistory(names[0], names[1], &b)
	case kStaged:
		names, rest, ok := splitKey(k, 3)
		if !ok || len(rest) != 4 {
			return fmt.Errorf("bad key")
		}
		var r stagedRecord
		if err := db.files.Decode(v, &r); err != nil {
			return err
		}
		return s.RestoreStaged(names[0], names[1], names[2], r.ID, r.Content, r.Touched)
	case kDeletedContainer, kDeletedRecord:
		return db.loadDeleted(s, k, v)
	default:
		return fmt.Errorf("unknown record kind %q", k[0])
	}
	return nil
}

// PendingLog returns the changes of replication log replLog with a sequence
// number above after, in commit order: what the secondary has not applied.
func (db *DB) PendingLog(replLog string, after uint64) (changes []store.Change, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: reading %s: %v", ErrCorrupt, db.dir, replLog, r)
		}
	}()
	err = db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(replLog))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
			var ch store.Change
			if len(k) != 8 {
				return fmt.Errorf("%w: %s: %s: bad key %q", ErrCorrupt, db.dir, replLog, k)
			}
			if err := db.files.Decode(v, &ch); err != nil || ch.Seq != binary.BigEndian.Uint64(k) {
				return fmt.Errorf("%w: %s: %s: record %d: %v", ErrCorrupt, db.dir, replLog, binary.BigEndian.Uint64(k), err)
			}
			changes = append(changes, ch)
		}
		return nil
	})
	return changes, err
}

// ResumeLastSyncTime is where a resumed replicator's LastSyncTime starts:
// just before the oldest pending change when there is one (everything
// before it was applied, in order, and the watermark never passed it), else
// the commit time of the last change the secondary applied (the replicator
// then advances it from its clock).
func ResumeLastSyncTime(secondary Position, pending []store.Change) time.Time {
	if len(pending) > 0 {
		return pending[0].Time.Add(-time.Nanosecond)
	}
	return secondary.Last
}
