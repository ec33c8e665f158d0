package durable

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bbolt never shrinks its file: the pages a large delete frees (a
// container of 100k blobs spans about 400 MB of meta.db) stay in the file
// and, one entry per page, in the free list bbolt keeps in memory, several
// MB of heap for as long as the process runs. When most of meta.db is free
// and what is live is small, the writer compacts it: it copies the live
// records into meta.db.compact, makes that file durable, and renames it
// over meta.db, between two commits, with no record in flight.
//
// A crash at any point leaves a complete database under the name meta.db:
// the old one until the rename, the compacted copy (every record committed
// so far, fsynced before the rename) after it. Open removes a
// meta.db.compact a crash left behind, which is never named by anything,
// once meta.db has opened.
const (
	compactFile = metaFile + ".compact"
	// compactTxSize bounds one transaction of the copy.
	compactTxSize = 8 << 20
)

// The thresholds of a compaction; variables so that tests can compact a
// small file.
var (
	// compactMinFree is the free space that makes compacting worth it.
	compactMinFree int64 = 64 << 20
	// compactMaxLive bounds what a compaction copies, and so how long it
	// holds up the records submitted meanwhile.
	compactMaxLive int64 = 64 << 20
)

// compactHook, when set (by tests), is called at each step of a
// compaction: "copied", "closed", "renamed", "reopened".
var compactHook func(step string)

func compactStep(step string) {
	if compactHook != nil {
		compactHook(step)
	}
}

// removeStaleCompaction removes the copy of a compaction a crash cut
// short.
func removeStaleCompaction(dir string) error {
	err := os.Remove(filepath.Join(dir, compactFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("data dir %s: removing an unfinished compaction: %w", dir, err)
	}
	return nil
}

// compactWorth reports whether meta.db holds at least compactMinFree free
// bytes, three times what is live, and at most compactMaxLive live. Only
// the writer calls it.
func (db *DB) compactWorth() bool {
	var size, page int64
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		// Info inside a transaction, which holds off a Close.
		size, page = tx.Size(), int64(db.bolt.Info().PageSize)
		return nil
	}); err != nil {
		return false
	}
	st := db.bolt.Stats()
	free := int64(st.FreePageN+st.PendingPageN) * page
	live := size - free
	return free >= compactMinFree && free >= 3*live && live <= compactMaxLive
}

// maybeCompact compacts meta.db when compactWorth says so. Only the writer
// calls it, between commits. An error before the old file is closed leaves
// everything as it was (the compaction is given up for this process); an
// error after it is returned, and the store refuses further writes.
func (db *DB) maybeCompact() error {
	if db.noCompact || !db.compactWorth() {
		return nil
	}
	t0 := time.Now()
	before := db.bolt.Stats().FreePageN
	err := db.compact()
	var failed *compactFailed
	if errors.As(err, &failed) && failed.raced {
		db.log.Debug("durable: compaction of meta.db given up: it changed during the copy", "dir", db.dir)
		return nil
	}
	if errors.As(err, &failed) {
		db.noCompact = true
		db.log.Warn("durable: compacting meta.db failed; it keeps its size", "dir", db.dir, "err", failed.err)
		return nil
	}
	if err != nil {
		return err
	}
	db.log.Debug("durable: compacted meta.db", "dir", db.dir, "free_pages", before, "took", time.Since(t0))
	return nil
}

// compactFailed is a compaction that failed before it changed anything.
// raced: meta.db was written outside the writer (DropUnused) during the
// copy, which lacks that write; the next commit may try again.
type compactFailed struct {
	err   error
	raced bool
}

func (e *compactFailed) Error() string { return e.err.Error() }

// compact copies the live records to compactFile, fsyncs it, and swaps it
// in for meta.db.
func (db *DB) compact() error {
	path := filepath.Join(db.dir, metaFile)
	tmp := filepath.Join(db.dir, compactFile)
	// The copy is of one read transaction: a commit made after it
	// (outside the writer: DropUnused) would be lost with the old file.
	// Its transaction id, taken before the copy and again once no such
	// commit can start, tells.
	txid, err := db.txID()
	if err == nil {
		err = copyCompacted(db.bolt, tmp)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return &compactFailed{err: err}
	}
	compactStep("copied")

	// From here readers wait: bbolt's Close waits for the read
	// transactions open on the old file, and none starts until the new
	// one is open.
	db.boltMu.Lock()
	defer db.boltMu.Unlock()
	if now, err := db.txID(); err != nil || now != txid {
		_ = os.Remove(tmp)
		return &compactFailed{err: fmt.Errorf("meta.db changed during the copy (transaction %d -> %d): %w", txid, now, err), raced: err == nil}
	}
	if err := db.bolt.Close(); err != nil {
		return db.reopen(path, fmt.Errorf("closing meta.db to compact it: %w", err))
	}
	compactStep("closed")
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return db.reopen(path, fmt.Errorf("renaming the compacted meta.db: %w", err))
	}
	compactStep("renamed")
	if err := syncDir(db.dir); err != nil {
		// Either name is a complete database; but a directory that
		// cannot be synced cannot promise the next commit either.
		return db.reopen(path, fmt.Errorf("syncing %s after compacting meta.db: %w", db.dir, err))
	}
	if err := db.reopen(path, nil); err != nil {
		return err
	}
	compactStep("reopened")
	return nil
}

// txID is the id of meta.db's last committed transaction.
func (db *DB) txID() (id int, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		id = int(tx.ID())
		return nil
	})
	return id, err
}

// reopen opens meta.db again after the old handle was closed and returns
// cause (nil: none); an error to open it is returned instead, wrapped.
func (db *DB) reopen(path string, cause error) error {
	b, err := openBolt(path)
	if err != nil {
		return fmt.Errorf("durable: reopening %s after compacting it: %w", path, errors.Join(cause, err))
	}
	db.bolt = b
	if cause != nil {
		return fmt.Errorf("durable: %w", cause)
	}
	return nil
}

// copyCompacted writes every bucket and record of src to a new bbolt file
// at path, fsynced.
func copyCompacted(src *bolt.DB, path string) error {
	_ = os.Remove(path)
	dst, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	err = bolt.Compact(dst, src, compactTxSize)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// bbolt fsyncs each commit; the file itself once more, so that its
	// size and every page are on disk before the rename names it.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
