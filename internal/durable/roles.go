package durable

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// RoleChange is one change of the roles of a directory's store instances,
// made durable in one transaction with every record submitted before it:
// a crash leaves the directory either entirely before or entirely after it.
type RoleChange struct {
	// Roles is the new roles record; Secondary is empty while there is
	// no secondary (a locally redundant account).
	Roles Roles
	// DropLogs names replication logs to delete (LogName): a log a
	// planned failover drained, or the writes an unplanned one lost.
	DropLogs []string
	// DropStores names store instances to delete (the copy an unplanned
	// failover discarded); their content files become garbage.
	DropStores []string
	// Positions overrides the recorded position of store instances (a
	// promoted secondary continues the commit order of the old primary).
	Positions map[string]Position
	// Rebind binds journals to another replication log (LogName, or ""
	// for none); records submitted after the change use the new binding.
	Rebind map[*Journal]string
}

// ChangeRoles records rc durably after every record submitted so far and
// rebinds the journals it names. Callers keep writes off the stores whose
// binding changes until it returns.
func (db *DB) ChangeRoles(rc RoleChange) error {
	if err := validRoles(rc.Roles); err != nil {
		return err
	}
	j := &Journal{db: db}
	r := &request{j: j, roles: &rc, ch: make(chan struct{})}
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return ErrClosed
	}
	db.queue = append(db.queue, r)
	db.cond.Signal()
	db.mu.Unlock()
	<-r.ch
	return r.err
}

func validRoles(r Roles) error {
	if r.Primary == "" || r.Primary == r.Secondary {
		return fmt.Errorf("%w: roles record %+v", ErrCorrupt, r)
	}
	return nil
}

// changeRoles applies rc in tx, on the writer goroutine (the only one that
// reads a journal's binding).
func (db *DB) changeRoles(tx *bolt.Tx, rc *RoleChange) error {
	data, err := json.Marshal(rc.Roles)
	if err != nil {
		return err
	}
	if err := tx.Bucket(metaBucket).Put(rolesKey, data); err != nil {
		return err
	}
	for _, l := range rc.DropLogs {
		if err := dropBucket(tx, []byte(l)); err != nil {
			return err
		}
	}
	for _, id := range rc.DropStores {
		if err := dropBucket(tx, storeBucket(id)); err != nil {
			return err
		}
	}
	for id, p := range rc.Positions {
		b, err := tx.CreateBucketIfNotExists(storeBucket(id))
		if err != nil {
			return err
		}
		pos, _ := json.Marshal(position(p))
		if err := b.Put(posKey, pos); err != nil {
			return err
		}
	}
	for j, l := range rc.Rebind {
		j.log = nil
		if l != "" {
			j.log = []byte(l)
		}
	}
	return nil
}

func dropBucket(tx *bolt.Tx, name []byte) error {
	if tx.Bucket(name) == nil {
		return nil
	}
	return tx.DeleteBucket(name)
}

// NewStoreID returns an instance id no store bucket and no role uses.
func (db *DB) NewStoreID() (string, error) {
	n := 0
	err := db.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if id, ok := strings.CutPrefix(string(name), "store:"); ok {
				if v, err := strconv.Atoi(id); err == nil && v > n {
					n = v
				}
			}
			return nil
		})
	})
	r, rerr := db.Roles()
	if err == nil {
		err = rerr
	}
	for _, id := range []string{r.Primary, r.Secondary} {
		if v, err := strconv.Atoi(id); err == nil && v > n {
			n = v
		}
	}
	return strconv.Itoa(n + 1), err
}

// DropUnused deletes the store buckets and replication logs the roles
// record does not name: what a crash left of a role change that did not
// commit (a secondary being built). It returns what it deleted.
func (db *DB) DropUnused() ([]string, error) {
	r, err := db.Roles()
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{string(storeBucket(r.Primary)): true, string(metaBucket): true}
	if r.Secondary != "" {
		keep[string(storeBucket(r.Secondary))] = true
		keep[LogName(r.Primary)] = true
	}
	var drop []string
	db.boltMu.RLock()
	defer db.boltMu.RUnlock()
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		drop = drop[:0]
		if err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			n := string(name)
			if !keep[n] && (strings.HasPrefix(n, "store:") || strings.HasPrefix(n, "log:")) {
				drop = append(drop, n)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, n := range drop {
			if err := tx.DeleteBucket([]byte(n)); err != nil {
				return err
			}
		}
		return nil
	})
	return drop, err
}
