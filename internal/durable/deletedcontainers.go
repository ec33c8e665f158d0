package durable

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/geoblob/geoblob/internal/store"
)

// Soft-deleted containers (store/deletedcontainers.go) are kept under keys
// of their own, so that a live container of the same name never meets
// them:
//
//	kDeletedContainer ACCOUNT NAME VERSION          the deleted store.Container
//	kDeletedRecord    ACCOUNT NAME VERSION KIND ... a record of the container
//
// A record of the container is its live key (KIND ACCOUNT NAME ...) moved
// under the deleted container's prefix, value unchanged: a soft delete
// moves every record of containerKinds there, a restore moves them back,
// and a purge deletes them. Each is one transaction, so a crash leaves the
// container wholly live or wholly deleted. The kind bytes sort after every
// live kind, so a load meets a deleted container before its records.
const (
	kDeletedContainer = 'p'
	kDeletedRecord    = 'q'
)

// containerKinds are the record kinds keyed by account and container name
// that a deleted container keeps: its blobs and their snapshots and
// previous versions. Uncommitted blocks (kStaged) are not among them: a
// container delete discards them.
var containerKinds = []byte{kBlob, kHistory}

func writeDeletedChange(b *bolt.Bucket, ch *store.Change) error {
	deleted := key(kDeletedContainer, ch.Account, ch.Container, ch.ContainerVersion)
	prefix := key(kDeletedRecord, ch.Account, ch.Container, ch.ContainerVersion)
	switch ch.Kind {
	case store.SoftDeleteContainer:
		if ch.Props == nil || ch.Props.Deleted == nil {
			return fmt.Errorf("durable: soft delete of %q without its deletion", ch.Container)
		}
		data, err := json.Marshal(ch.Props)
		if err != nil {
			return err
		}
		if err := b.Delete(key(kContainer, ch.Account, ch.Container)); err != nil {
			return err
		}
		if err := b.Put(deleted, data); err != nil {
			return err
		}
		for _, kind := range containerKinds {
			live := key(kind, ch.Account, ch.Container)
			if err := moveRecords(b, live, append(bytes.Clone(prefix), live...)); err != nil {
				return err
			}
		}
		return deletePrefix(b, key(kStaged, ch.Account, ch.Container))
	case store.UndeleteContainer:
		data, err := json.Marshal(ch.Props)
		if err != nil {
			return err
		}
		if err := b.Put(key(kContainer, ch.Account, ch.Container), data); err != nil {
			return err
		}
		if err := b.Delete(deleted); err != nil {
			return err
		}
		for _, kind := range containerKinds {
			live := key(kind, ch.Account, ch.Container)
			if err := moveRecords(b, append(bytes.Clone(prefix), live...), live); err != nil {
				return err
			}
		}
		return nil
	case store.PurgeDeletedContainer:
		if err := b.Delete(deleted); err != nil {
			return err
		}
		return deletePrefix(b, prefix)
	}
	return fmt.Errorf("durable: change kind %d is not persisted", ch.Kind)
}

// moveRecords moves every record whose key starts with from to the same
// key with from replaced by to. Like deletePrefix it lists the keys first:
// seeking from again after each delete made soft-deleting or restoring a
// container quadratic in its blobs (seconds for 10k, tens of seconds for
// 100k, with every write of the directory waiting behind it).
func moveRecords(b *bolt.Bucket, from, to []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(from); k != nil && bytes.HasPrefix(k, from); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k)) // k is only valid while the cursor stays
	}
	for _, k := range keys {
		val := bytes.Clone(b.Get(k))
		if err := b.Delete(k); err != nil {
			return err
		}
		if err := b.Put(append(bytes.Clone(to), k[len(from):]...), val); err != nil {
			return err
		}
	}
	return nil
}

// loadDeleted restores a record of a deleted container.
func (db *DB) loadDeleted(s *store.Store, k, v []byte) error {
	switch k[0] {
	case kDeletedContainer:
		names, rest, ok := splitKey(k, 3)
		if !ok || len(rest) != 0 {
			return fmt.Errorf("bad key")
		}
		var c store.Container
		if err := json.Unmarshal(v, &c); err != nil {
			return err
		}
		if c.Name != names[1] || c.Deleted == nil || c.Deleted.Version != names[2] {
			return fmt.Errorf("deleted container record names %q", c.Name)
		}
		return s.RestoreDeletedContainer(names[0], &c)
	case kDeletedRecord:
		names, rest, ok := splitKey(k, 3)
		if !ok || len(rest) == 0 {
			return fmt.Errorf("bad key")
		}
		acct, cname, version := names[0], names[1], names[2]
		switch rest[0] {
		case kBlob:
			inner, tail, ok := splitKey(rest, 3)
			if !ok || len(tail) != 0 || inner[0] != acct || inner[1] != cname {
				return fmt.Errorf("bad key")
			}
			var bl store.Blob
			if err := db.files.Decode(v, &bl); err != nil {
				return err
			}
			if bl.Name != inner[2] {
				return fmt.Errorf("blob record names %q", bl.Name)
			}
			return s.RestoreDeletedBlob(acct, cname, version, &bl)
		case kHistory:
			inner, tail, ok := splitKey(rest, 5)
			if !ok || len(tail) != 0 || inner[0] != acct || inner[1] != cname {
				return fmt.Errorf("bad key")
			}
			var bl store.Blob
			if err := db.files.Decode(v, &bl); err != nil {
				return err
			}
			if bl.HistoryKey() != (store.HistoryKey{Name: inner[2], Snapshot: inner[3], VersionID: inner[4]}) || !bl.IsHistory() {
				return fmt.Errorf("history record names %q", bl.Name)
			}
			return s.RestoreDeletedBlob(acct, cname, version, &bl)
		}
		return fmt.Errorf("unknown record kind %q of a deleted container", rest[0])
	}
	return fmt.Errorf("unknown record kind %q", k[0])
}
