package durable

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/geoblob/geoblob/internal/store"
)

// FormatVersion is the data directory format this build writes.
const FormatVersion = 1

// Sentinel errors of Open, for callers that branch on them.
var (
	// ErrLocked: another process has the directory open.
	ErrLocked = errors.New("durable: data directory in use")
	// ErrFormat: the directory is not a data directory this build can open.
	ErrFormat = errors.New("durable: unsupported data directory")
	// ErrCorrupt: the directory's metadata is damaged.
	ErrCorrupt = errors.New("durable: data directory damaged")
	// ErrClosed: the DB was closed.
	ErrClosed = errors.New("durable: data directory closed")
)

const (
	formatFile = "FORMAT"
	lockFile   = "LOCK"
	metaFile   = "meta.db"
	blobsDir   = "blobs"
	formatHead = "geoblob data directory"
)

// Options configure Open.
type Options struct {
	// Logger receives damage reports and write failures; discarded when nil.
	Logger *slog.Logger
	// MaxBatch caps the records one transaction commits; 0 means 1024.
	MaxBatch int
}

// DB is an open data directory.
type DB struct {
	dir   string
	log   *slog.Logger
	bolt  *bolt.DB
	files *store.Files
	lock  *os.File
	max   int
	// kept: when Open created the metadata afresh instead of loading an
	// existing database, the content files that were already there, which
	// GC never removes: nothing loaded says whether they are garbage. (Open
	// refuses a directory with content files and no metadata, so this is a
	// second guard; nil when the metadata was loaded.)
	kept map[string]bool

	// boltMu is held shared by every use of bolt outside the writer
	// goroutine, and exclusively by the writer while a compaction
	// (compact.go) replaces bolt.
	boltMu sync.RWMutex
	// noCompact: a compaction failed before it changed anything; this
	// process does not try again. Only the writer uses it.
	noCompact bool

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []*request
	failed error
	closed bool
	done   chan struct{}

	stats Stats // guarded by mu
}

// Stats counts the work of the writer.
type Stats struct {
	Commits int64 // transactions committed
	Records int64 // records they carried
}

// Stats reports the writer's counters.
func (db *DB) Stats() Stats {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.stats
}

type request struct {
	j     *Journal
	rec   store.Record
	roles *RoleChange // a role change instead of a record
	done  func(error)
	err   error
	ch    chan struct{}
}

// Open opens (creating if needed) the data directory dir, locking it
// against other processes. Errors are one line, say what to do, and wrap
// ErrLocked, ErrFormat or ErrCorrupt.
func Open(dir string, opts Options) (db *DB, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", dir, err)
	}
	lock, err := lockDir(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, fmt.Errorf("%w: data dir %s is in use by another geoblob serve (lock %s held); stop it or use another --data-dir",
			ErrLocked, dir, filepath.Join(dir, lockFile))
	}
	defer func() {
		if err != nil {
			unlockDir(lock)
		}
	}()
	stamped, err := checkFormat(dir)
	if err != nil {
		return nil, err
	}
	created, err := checkMeta(dir, stamped)
	if err != nil {
		return nil, err
	}
	files, err := store.OpenFiles(filepath.Join(dir, blobsDir), log)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: %w", dir, err)
	}
	b, err := openBolt(filepath.Join(dir, metaFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w; restore it from a backup or move the directory away to start empty", ErrCorrupt, filepath.Join(dir, metaFile), err)
	}
	// Only once meta.db has opened: a start that refuses the directory
	// leaves it as it found it.
	if err := removeStaleCompaction(dir); err != nil {
		_ = b.Close()
		return nil, err
	}
	db = &DB{dir: dir, log: log, bolt: b, files: files, lock: lock, max: opts.MaxBatch, done: make(chan struct{})}
	if created {
		if db.kept, err = contentFileSet(filepath.Join(dir, blobsDir)); err != nil {
			_ = b.Close()
			return nil, fmt.Errorf("data dir %s: %w", dir, err)
		}
	}
	if db.max <= 0 {
		db.max = 1024
	}
	db.cond = sync.NewCond(&db.mu)
	if err := db.init(); err != nil {
		_ = b.Close()
		return nil, err
	}
	if !stamped {
		// The stamp goes last: until it is in place, a process killed
		// while it set up this new directory leaves only what the next
		// start recognises as a first start cut short (see
		// checkFormat), never a stamped directory without metadata.
		err := os.Rename(filepath.Join(dir, formatFile+".tmp"), filepath.Join(dir, formatFile))
		if err == nil {
			err = syncDir(dir)
		}
		if err != nil {
			_ = b.Close()
			return nil, fmt.Errorf("data dir %s: stamping %s: %w", dir, formatFile, err)
		}
	}
	go db.writer()
	return db, nil
}

// checkMeta refuses a data directory whose metadata is missing or empty
// although the directory is stamped or holds content files: that metadata
// was lost, and starting empty would hide every blob (and let garbage
// collection remove their content). It reports whether the metadata is to
// be created afresh.
func checkMeta(dir string, stamped bool) (created bool, err error) {
	path := filepath.Join(dir, metaFile)
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.Size() > 0:
		return false, nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return false, fmt.Errorf("data dir %s: %w", dir, err)
	}
	what := "missing"
	if err == nil {
		what = "empty"
	}
	n, lerr := countContentFiles(filepath.Join(dir, blobsDir))
	if lerr != nil {
		return false, fmt.Errorf("data dir %s: %w", dir, lerr)
	}
	if !stamped && n == 0 {
		return true, nil
	}
	return false, fmt.Errorf("%w: %s is %s but data dir %s has been used (%s stamp, %d content files); restore %s from a backup, or move the directory away to start empty",
		ErrCorrupt, path, what, dir, formatFile, n, metaFile)
}

// countContentFiles counts the content files in the blobs directory, which
// need not exist.
func countContentFiles(blobs string) (int, error) {
	ids, err := contentFileSet(blobs)
	return len(ids), err
}

// contentFileSet lists the content files in the blobs directory, which
// need not exist.
func contentFileSet(blobs string) (map[string]bool, error) {
	entries, err := os.ReadDir(blobs)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]bool{}, nil
	}
	ids := map[string]bool{}
	for _, e := range entries {
		if store.IsFileID(e.Name()) {
			ids[e.Name()] = true
		}
	}
	return ids, err
}

// openBolt opens the metadata file, turning a panic on a damaged file into
// an error.
func openBolt(path string) (b *bolt.DB, err error) {
	// A truncated file is mmapped past its end; touching that faults
	// (SIGBUS), which this goroutine turns into a panic and then an error.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unreadable: %v", r)
		}
	}()
	b, err = bolt.Open(path, 0o644, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	// The pages the last transaction claims must all be in the file.
	fi, serr := os.Stat(path)
	verr := b.View(func(tx *bolt.Tx) error {
		if serr == nil && fi.Size() < tx.Size() {
			return fmt.Errorf("truncated: %d bytes, its last transaction needs %d", fi.Size(), tx.Size())
		}
		return serr
	})
	if verr != nil {
		_ = b.Close()
		return nil, verr
	}
	return b, nil
}

// checkFormat reads the stamp and reports whether the directory has one.
// A directory without it must be new: empty, or holding only what a first
// start that was cut short leaves behind. That start wrote FORMAT.tmp
// first and renames it to FORMAT only once the metadata is set up, and it
// served nothing before, so its metadata (if any) holds no data and is
// removed. checkFormat then writes FORMAT.tmp for this start; Open
// renames it once the metadata is ready.
func checkFormat(dir string) (stamped bool, err error) {
	path := filepath.Join(dir, formatFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, prepareNew(dir)
	}
	if err != nil {
		return false, fmt.Errorf("data dir %s: %w", dir, err)
	}
	v, ok := parseFormat(data)
	switch {
	case !ok:
		return false, fmt.Errorf("%w: %s is not a geoblob format stamp; give a geoblob data directory", ErrFormat, path)
	case v > FormatVersion:
		return false, fmt.Errorf("%w: data dir %s has format %d, newer than this geoblob reads (%d); run a newer geoblob, or use another --data-dir",
			ErrFormat, dir, v, FormatVersion)
	case v < 1:
		return false, fmt.Errorf("%w: data dir %s has unknown format %d; use another --data-dir", ErrFormat, dir, v)
	}
	return true, nil
}

// prepareNew checks that an unstamped directory is new and writes
// FORMAT.tmp in it.
func prepareNew(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("data dir %s: %w", dir, err)
	}
	notOurs := fmt.Errorf("%w: %s is not empty and has no %s stamp, so it is not a geoblob data directory; give an empty or new directory",
		ErrFormat, dir, formatFile)
	started := false // FORMAT.tmp: an earlier first start was cut short
	var leftovers []string
	for _, e := range entries {
		switch e.Name() {
		case lockFile:
		case formatFile + ".tmp":
			started = true
		case metaFile, blobsDir:
			leftovers = append(leftovers, e.Name())
		default:
			return notOurs
		}
	}
	if len(leftovers) > 0 {
		// Only a cut-short first start may have left metadata or a
		// content directory, and never a content file.
		n, err := countContentFiles(filepath.Join(dir, blobsDir))
		if err != nil {
			return fmt.Errorf("data dir %s: %w", dir, err)
		}
		if !started || n > 0 {
			return notOurs
		}
		for _, name := range leftovers {
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("data dir %s: clearing a first start that was cut short: %w", dir, err)
			}
		}
	}
	return writeTemp(dir, formatFile, fmt.Appendf(nil, "%s\nformat %d\n", formatHead, FormatVersion))
}

func parseFormat(data []byte) (int, bool) {
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || lines[0] != formatHead || !strings.HasPrefix(lines[1], "format ") {
		return 0, false
	}
	v, err := strconv.Atoi(strings.TrimPrefix(lines[1], "format "))
	return v, err == nil
}

// writeTemp writes name+".tmp" in dir durably; the caller renames it into
// place when it is time.
func writeTemp(dir, name string, data []byte) error {
	f, err := os.Create(filepath.Join(dir, name+".tmp"))
	if err != nil {
		return fmt.Errorf("data dir %s: %w", dir, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("data dir %s: writing %s.tmp: %w", dir, name, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

var (
	metaBucket = []byte("geoblob")
	rolesKey   = []byte("roles")
	formatKey  = []byte("format")
	posKey     = []byte("\x00pos")
)

// Roles names the store instances of a data directory by role. Secondary
// is empty while there is none (a locally redundant account).
type Roles struct {
	Primary   string
	Secondary string
	// State is the caller's own record of the roles (the emulator's
	// RoleState and which copy is which instance), kept with them; absent
	// in a directory no role change has touched.
	State json.RawMessage `json:",omitempty"`
}

func (db *DB) init() error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		m, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if v := m.Get(formatKey); v != nil {
			n, err := strconv.Atoi(string(v))
			if err != nil || n > FormatVersion {
				return fmt.Errorf("%w: %s records format %q, which this geoblob does not read; run a newer geoblob", ErrFormat, db.dir, v)
			}
		} else if err := m.Put(formatKey, []byte(strconv.Itoa(FormatVersion))); err != nil {
			return err
		}
		if m.Get(rolesKey) == nil {
			r, _ := json.Marshal(Roles{Primary: "1", Secondary: "2"})
			if err := m.Put(rolesKey, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// Dir is the data directory.
func (db *DB) Dir() string { return db.dir }

// Files is the directory's content file store.
func (db *DB) Files() *store.Files { return db.files }

// Roles reports which store instance is the primary and which the secondary.
func (db *DB) Roles() (Roles, error) {
	var r Roles
	err := db.view(func(tx *bolt.Tx) error {
		m := tx.Bucket(metaBucket)
		if m == nil {
			return fmt.Errorf("%w: no %s bucket", ErrCorrupt, metaBucket)
		}
		return json.Unmarshal(m.Get(rolesKey), &r)
	})
	if err == nil {
		err = validRoles(r)
	}
	return r, err
}

// SetRoles records which instance is which, durably, after every record
// submitted so far; ChangeRoles also moves the replication logs.
func (db *DB) SetRoles(r Roles) error { return db.ChangeRoles(RoleChange{Roles: r}) }

func storeBucket(id string) []byte { return []byte("store:" + id) }

// LogName is the pending replication log of a primary instance.
func LogName(primary string) string { return "log:" + primary }

// Journal makes one store instance's records durable. It implements
// store.Journal.
type Journal struct {
	db     *DB
	bucket []byte
	log    []byte // the replication log this instance appends to (primary) or consumes (secondary); nil for none; only the writer goroutine reads or changes it (ChangeRoles)
}

// Journal returns the journal of store instance id. replLog names the
// replication log (LogName of the primary) the instance feeds as a primary
// or drains as a secondary; empty for none.
func (db *DB) Journal(id, replLog string) *Journal {
	j := &Journal{db: db, bucket: storeBucket(id)}
	if replLog != "" {
		j.log = []byte(replLog)
	}
	return j
}

// Submit implements store.Journal.
func (j *Journal) Submit(rec store.Record, done func(error)) func() error {
	r := &request{j: j, rec: rec, done: done, ch: make(chan struct{})}
	db := j.db
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		r.err = ErrClosed
		if done != nil {
			done(r.err)
		}
		close(r.ch)
	} else {
		db.queue = append(db.queue, r)
		db.cond.Signal()
		db.mu.Unlock()
	}
	return func() error {
		<-r.ch
		return r.err
	}
}

// Sync waits until every record submitted so far is durable.
func (db *DB) Sync() error {
	j := &Journal{db: db}
	return j.Submit(store.Record{}, nil)()
}

// writer commits queued records, as many as are waiting in one
// transaction (group commit).
func (db *DB) writer() {
	defer close(db.done)
	for {
		db.mu.Lock()
		for len(db.queue) == 0 && !db.closed {
			db.cond.Wait()
		}
		if len(db.queue) == 0 {
			db.mu.Unlock()
			return
		}
		n := min(len(db.queue), db.max)
		batch := db.queue[:n:n]
		db.queue = db.queue[n:]
		if len(db.queue) == 0 {
			db.queue = nil
		}
		failed := db.failed
		db.stats.Commits++
		db.stats.Records += int64(n)
		db.mu.Unlock()

		err := failed
		if err == nil {
			err = db.commit(batch)
			if err != nil {
				db.log.Error("durable: write failed; the store refuses further writes", "dir", db.dir, "err", err)
				db.mu.Lock()
				db.failed = err
				db.mu.Unlock()
			}
		}
		for _, r := range batch {
			r.err = err
			if r.done != nil {
				r.done(err)
			}
			close(r.ch)
		}
		if err == nil {
			// After the batch is acknowledged, so that its writers do
			// not wait for it.
			if err := db.maybeCompact(); err != nil {
				db.log.Error("durable: compaction failed; the store refuses further writes", "dir", db.dir, "err", err)
				db.mu.Lock()
				db.failed = err
				db.mu.Unlock()
			}
		}
	}
}

// view runs fn in a read transaction; for every reader but the writer
// goroutine, which alone replaces db.bolt.
func (db *DB) view(fn func(*bolt.Tx) error) error {
	db.boltMu.RLock()
	defer db.boltMu.RUnlock()
	return db.bolt.View(fn)
}

func (db *DB) commit(batch []*request) error {
	if err := db.files.SyncDir(); err != nil {
		return err
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, r := range batch {
			if r.roles != nil {
				if err := db.changeRoles(tx, r.roles); err != nil {
					return err
				}
				continue
			}
			if r.j.bucket == nil {
				continue
			}
			if err := r.j.write(tx, r.rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("durable: committing to %s: %w", db.dir, err)
	}
	return nil
}

// ---- keys ----

// Record keys within a store bucket: a kind byte, then length-prefixed
// names, so that every key of one container (or blob) shares a prefix.
const (
	kService   = 'a'
	kContainer = 'c'
	kBlob      = 'd'
	kStaged    = 'e'
	kHistory   = 'f' // snapshots and previous versions: account, container, blob, snapshot, version id
)

func key(kind byte, names ...string) []byte {
	k := []byte{kind}
	for _, n := range names {
		k = binary.AppendUvarint(k, uint64(len(n)))
		k = append(k, n...)
	}
	return k
}

func splitKey(k []byte, n int) ([]string, []byte, bool) {
	names := make([]string, 0, n)
	k = k[1:]
	for range n {
		l, m := binary.Uvarint(k)
		if m <= 0 || uint64(len(k)-m) < l {
			return nil, nil, false
		}
		names = append(names, string(k[m:m+int(l)]))
		k = k[m+int(l):]
	}
	return names, k, true
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// deletePrefix deletes every key of b that starts with prefix. It lists
// a batch of keys, deletes each by name, then lists the next batch from
// the last key deleted. Seeking the prefix again after each delete would
// walk over every leaf the transaction has emptied so far (bbolt removes
// them only at commit), which made deleting a container of 100k blobs
// quadratic, minutes of CPU; listing every key first held them all in
// memory at once (with a cursor for each delete, 43 MB allocated to
// delete 100k keys; 12 MB in batches).
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	var (
		keys []byte // the batch's keys, end to end
		ends []int  // where each key of keys ends
		last []byte // the key deleted last
	)
	from := prefix
	c := b.Cursor()
	for {
		keys, ends = keys[:0], ends[:0]
		for k, _ := c.Seek(from); k != nil && bytes.HasPrefix(k, prefix) && len(ends) < deleteBatch; k, _ = c.Next() {
			keys = append(keys, k...) // k is only valid while the cursor stays
			ends = append(ends, len(keys))
		}
		if len(ends) == 0 {
			return nil
		}
		start := 0
		for _, end := range ends {
			last = keys[start:end]
			if k, _ := c.Seek(last); bytes.Equal(k, last) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
			start = end
		}
		// Every key up to last is gone: the next batch starts after it.
		from = append(from[:0:0], last...)
	}
}

// deleteBatch is how many keys deletePrefix lists at a time.
const deleteBatch = 1024

type position struct {
	Seq  uint64
	Last time.Time
}

type stagedRecord struct {
	ID      string
	Content store.Content
	Touched time.Time
}

// write applies one record in tx.
func (j *Journal) write(tx *bolt.Tx, rec store.Record) error {
	b, err := tx.CreateBucketIfNotExists(j.bucket)
	if err != nil {
		return err
	}
	if ch := rec.Change; ch != nil {
		if err := writeChange(b, ch); err != nil {
			return err
		}
		pos, _ := json.Marshal(position{Seq: ch.Seq, Last: ch.Time})
		if err := b.Put(posKey, pos); err != nil {
			return err
		}
		if j.log != nil {
			lb, err := tx.CreateBucketIfNotExists(j.log)
			if err != nil {
				return err
			}
			if rec.Applied {
				err = lb.Delete(seqKey(ch.Seq))
			} else {
				var data []byte
				if data, err = json.Marshal(ch); err == nil {
					err = lb.Put(seqKey(ch.Seq), data)
				}
			}
			if err != nil {
				return err
			}
		}
	}
	for _, op := range rec.Staged {
		prefix := key(kStaged, op.Account, op.Container, op.Blob)
		if op.Drop {
			if err := deletePrefix(b, prefix); err != nil {
				return err
			}
			continue
		}
		data, err := json.Marshal(stagedRecord{ID: op.BlockID, Content: op.Content, Touched: op.Touched})
		if err != nil {
			return err
		}
		if err := b.Put(binary.BigEndian.AppendUint32(prefix, uint32(op.Index)), data); err != nil {
			return err
		}
	}
	return nil
}

func writeChange(b *bolt.Bucket, ch *store.Change) error {
	if err := writeBase(b, ch); err != nil {
		return err
	}
	if len(ch.History) == 0 && len(ch.DropHistory) == 0 {
		return nil
	}
	if b.Get(key(kContainer, ch.Account, ch.Container)) == nil {
		return nil // as for PutBlob
	}
	for _, k := range ch.DropHistory {
		if err := b.Delete(key(kHistory, ch.Account, ch.Container, k.Name, k.Snapshot, k.VersionID)); err != nil {
			return err
		}
	}
	for _, h := range ch.History {
		data, err := json.Marshal(h)
		if err != nil {
			return err
		}
		if err := b.Put(key(kHistory, ch.Account, ch.Container, h.Name, h.Snapshot, h.VersionID), data); err != nil {
			return err
		}
	}
	return nil
}

// writeBase writes what a change does besides its history updates.
func writeBase(b *bolt.Bucket, ch *store.Change) error {
	switch ch.Kind {
	case store.UpdateHistory:
		return nil
	case store.SetServiceProperties:
		if ch.Service == nil {
			return b.Delete(key(kService, ch.Account))
		}
		return b.Put(key(kService, ch.Account), ch.Service)
	case store.PutContainer:
		data, err := json.Marshal(ch.Props)
		if err != nil {
			return err
		}
		return b.Put(key(kContainer, ch.Account, ch.Container), data)
	case store.DeleteContainer:
		if err := b.Delete(key(kContainer, ch.Account, ch.Container)); err != nil {
			return err
		}
		if err := deletePrefix(b, key(kBlob, ch.Account, ch.Container)); err != nil {
			return err
		}
		if err := deletePrefix(b, key(kHistory, ch.Account, ch.Container)); err != nil {
			return err
		}
		return deletePrefix(b, key(kStaged, ch.Account, ch.Container))
	case store.PutBlob:
		if b.Get(key(kContainer, ch.Account, ch.Container)) == nil {
			// As in memory (store.Apply), a blob of a container that does
			// not exist here is not stored.
			return nil
		}
		data, err := json.Marshal(ch.Blob)
		if err != nil {
			return err
		}
		return b.Put(key(kBlob, ch.Account, ch.Container, ch.BlobName), data)
	case store.DeleteBlob:
		return b.Delete(key(kBlob, ch.Account, ch.Container, ch.BlobName))
	case store.SoftDeleteContainer, store.UndeleteContainer, store.PurgeDeletedContainer:
		return writeDeletedChange(b, ch)
	}
	// A kind this package does not know would be acknowledged and lost.
	return fmt.Errorf("durable: change kind %d is not persisted", ch.Kind)
}

// Close waits for queued records to be written, then closes the directory
// and releases its lock.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	db.cond.Broadcast()
	db.mu.Unlock()
	<-db.done
	err := db.bolt.Close()
	unlockDir(db.lock)
	return err
}
