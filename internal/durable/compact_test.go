package durable

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
	bolt "go.etcd.io/bbolt"
)

// lowCompactThresholds lets a test compact a meta.db of a few MB.
func lowCompactThresholds(t testing.TB) {
	t.Helper()
	free, live := compactMinFree, compactMaxLive
	compactMinFree, compactMaxLive = 1<<20, 64<<20
	t.Cleanup(func() { compactMinFree, compactMaxLive = free, live })
}

// setCompactHook sets compactHook for the test.
func setCompactHook(t testing.TB, f func(step string)) {
	t.Helper()
	compactHook = f
	t.Cleanup(func() { compactHook = nil })
}

// bulkyMeta makes each blob record about a kB, so that a few thousand
// fill MBs of meta.db.
var bulkyMeta = map[string]string{"pad": strings.Repeat("x", 700)}

// deleteBig fills container "big" with 3000 bulky blobs and deletes it,
// waiting for the writer after each step: enough free pages in meta.db for
// a compaction (with lowCompactThresholds).
func deleteBig(t testing.TB, p *pair) {
	t.Helper()
	fillContainer(t, p, "big", 3000)
	p.waitIdle(t)
	if err := p.primary.DeleteContainer("acct", "big", store.Conditions{}); err != nil {
		t.Fatal(err)
	}
	p.waitIdle(t)
}

// fillContainer creates container cont and writes n blobs with bulky
// metadata into it, from 16 writers (group commit shares their fsyncs).
func fillContainer(t testing.TB, p *pair, cont string, n int) {
	t.Helper()
	if _, err := p.primary.CreateContainer("acct", cont, nil, ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				c, err := p.primary.NewContent([]byte(fmt.Sprint("v", i)))
				if err == nil {
					_, err = p.primary.PutBlob("acct", cont, fmt.Sprintf("b%06d", i), c, store.HTTPHeaders{}, bulkyMeta, store.WriteOptions{})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// checkBlobs checks that both copies hold blobs 0..n-1 of cont, with
// their bytes.
func checkBlobs(t *testing.T, p *pair, cont string, n int) {
	t.Helper()
	for _, s := range []*store.Store{p.primary, p.secondary} {
		for i := range n {
			got, err := read(t, s, "acct", cont, fmt.Sprintf("b%06d", i))
			if err != nil || got != fmt.Sprint("v", i) {
				t.Fatalf("%s/b%06d: %q, %v; want %q", cont, i, got, err, fmt.Sprint("v", i))
			}
		}
	}
}

// readMetaUntil reads meta.db the ways the emulator does besides the
// writer (roles, the pending log, dropping resident pages) until stop is
// closed, and returns the first error. (Not GC: it waits for the writer,
// which would order every read after the compaction.)
func readMetaUntil(db *DB, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		r, err := db.Roles()
		if err == nil {
			_, err = db.PendingLog(LogName(r.Primary), 0)
		}
		if err != nil {
			return err
		}
		db.DropResidentPages()
	}
}

func metaSize(t *testing.T, dir string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, metaFile))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestCompactAfterLargeDelete: deleting most of meta.db compacts it, the
// records left and a write submitted during the compaction survive it
// and a restart; a delete that leaves most of the file live does not
// compact.
func TestCompactAfterLargeDelete(t *testing.T) {
	tests := []struct {
		name      string
		keep, big int // blobs in the container kept and in the one deleted
		compacts  bool
	}{
		{"most of the file deleted", 20, 3000, true},
		{"most of the file kept", 3000, 300, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lowCompactThresholds(t)
			var steps []string
			late := make(chan error, 1)
			dir := t.TempDir()
			p := openPair(t, dir, clock.NewManual(t0), 0)
			setCompactHook(t, func(step string) {
				steps = append(steps, step) // only the writer goroutine calls the hook
				if step == "copied" {
					// Queued while the writer compacts: it must land in
					// the new file.
					go func() {
						c, err := p.primary.NewContent([]byte("late"))
						if err == nil {
							_, err = p.primary.PutBlob("acct", "keep", "late", c, store.HTTPHeaders{}, nil, store.WriteOptions{})
						}
						late <- err
					}()
				}
			})
			fillContainer(t, p, "keep", tc.keep)
			fillContainer(t, p, "big", tc.big)
			p.waitIdle(t)
			before := metaSize(t, dir)
			// Readers of meta.db from other goroutines run throughout
			// the delete and the compaction that follows.
			stop, readers := make(chan struct{}), make(chan error, 1)
			go func() { readers <- readMetaUntil(p.db, stop) }()
			if err := p.primary.DeleteContainer("acct", "big", store.Conditions{}); err != nil {
				t.Fatal(err)
			}
			p.waitIdle(t)
			if err := p.db.Sync(); err != nil {
				t.Fatal(err)
			}
			close(stop)
			if err := <-readers; err != nil {
				t.Fatalf("a reader during the compaction: %v", err)
			}
			after := metaSize(t, dir)
			if tc.compacts {
				if got := strings.Join(steps, ","); got != "copied,closed,renamed,reopened" {
					t.Fatalf("compaction steps %q", got)
				}
				// The step "copied" started the write.
				if err := <-late; err != nil {
					t.Fatalf("write queued during the compaction: %v", err)
				}
				if after > before/4 {
					t.Fatalf("meta.db %d bytes after the delete, %d before: not compacted", after, before)
				}
			} else {
				if len(steps) > 0 || after != before {
					t.Fatalf("compacted (steps %q, %d -> %d bytes) with most of the file live", steps, before, after)
				}
			}
			checkBlobs(t, p, "keep", tc.keep)
			p.close()

			p = openPair(t, dir, clock.NewManual(t0), 0)
			checkBlobs(t, p, "keep", tc.keep)
			for _, s := range []*store.Store{p.primary, p.secondary} {
				if _, err := s.Blob("acct", "big", "b000000", store.ReadOptions{}); !errors.Is(err, store.ErrContainerNotFound) {
					t.Fatalf("deleted container after restart: %v, want ErrContainerNotFound", err)
				}
			}
			if tc.compacts {
				if got, err := read(t, p.primary, "acct", "keep", "late"); got != "late" || err != nil {
					t.Fatalf("write queued during the compaction, after restart: %q, %v", got, err)
				}
			}
			// Still writable, and the write is on disk.
			if _, err := p.primary.PutBlob("acct", "keep", "after", content(t, p.primary, "after"), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			p.close()
			p = openPair(t, dir, clock.NewManual(t0), 0)
			if got, err := read(t, p.primary, "acct", "keep", "after"); got != "after" || err != nil {
				t.Fatalf("write after the compaction, after restart: %q, %v", got, err)
			}
		})
	}
}

// TestCompactKeepsCommitDuringCopy: a commit made outside the writer
// while a compaction copies meta.db (DropUnused, which removes a store
// bucket no role names) is not undone by the swap: the copy, taken
// before it, must not replace the file.
func TestCompactKeepsCommitDuringCopy(t *testing.T) {
	lowCompactThresholds(t)
	dir := t.TempDir()
	p := openPair(t, dir, clock.NewManual(t0), 0)
	// A store bucket no role names, as a cut-short role change leaves.
	if err := p.db.bolt.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("store:9"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var dropped []string
	var dropErr error
	setCompactHook(t, func(step string) {
		if step == "copied" && dropped == nil && dropErr == nil {
			dropped, dropErr = p.db.DropUnused()
		}
	})
	deleteBig(t, p)
	if err := p.db.Sync(); err != nil {
		t.Fatal(err)
	}
	if dropErr != nil || strings.Join(dropped, ",") != "store:9" {
		t.Fatalf("DropUnused during the copy: %q, %v; want store:9 dropped (no compaction ran?)", dropped, dropErr)
	}
	p.close()

	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.view(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("store:9")) != nil {
			return errors.New("store:9, dropped during the compaction's copy, is back")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestStaleCompactionKeptWhenMetaRefused: Open removes a meta.db.compact
// a crash left only once meta.db has opened; a start that refuses a
// damaged or missing meta.db leaves the directory as it found it.
func TestStaleCompactionKeptWhenMetaRefused(t *testing.T) {
	tests := []struct {
		name   string
		damage func(path string) error
	}{
		{"truncated", func(path string) error { return os.Truncate(path, 4096) }},
		{"missing", os.Remove},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := openPair(t, dir, clock.NewManual(t0), 0)
			fillContainer(t, p, "keep", 200)
			p.waitIdle(t)
			p.close()
			stale := filepath.Join(dir, compactFile)
			if err := os.WriteFile(stale, []byte("an unfinished copy"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(filepath.Join(dir, metaFile)); err != nil {
				t.Fatal(err)
			}
			if db, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
				if err == nil {
					_ = db.Close()
				}
				t.Fatalf("Open with meta.db %s: %v, want ErrCorrupt", tc.name, err)
			}
			if _, err := os.Stat(stale); err != nil {
				t.Fatalf("%s after a refused start: %v", compactFile, err)
			}
		})
	}
}

// TestCompactReopenFails: when meta.db cannot be opened again after the
// swap, the store refuses every later write with an error (none is
// acknowledged and lost), readers get errors rather than a panic, and
// Close returns.
func TestCompactReopenFails(t *testing.T) {
	lowCompactThresholds(t)
	dir := t.TempDir()
	p := openPair(t, dir, clock.NewManual(t0), 0)
	meta := filepath.Join(dir, metaFile)
	setCompactHook(t, func(step string) {
		if step == "renamed" {
			// What a disk that fails the reopen leaves: the compacted
			// file aside, an unreadable one in its place.
			if err := os.Rename(meta, meta+".aside"); err != nil {
				t.Error(err)
			}
			if err := os.WriteFile(meta, bytes.Repeat([]byte("x"), 8192), 0o644); err != nil {
				t.Error(err)
			}
		}
	})
	deleteBig(t, p)
	if err := p.db.Sync(); err == nil {
		t.Fatal("Sync after a failed reopen: no error")
	}
	if _, err := p.primary.CreateContainer("acct", "after", nil, ""); err == nil || !strings.Contains(err.Error(), "after compacting") {
		t.Fatalf("a write after a failed reopen: %v, want the reopen's error", err)
	}
	if _, err := p.db.Roles(); err == nil {
		t.Fatal("Roles after a failed reopen: no error")
	}
	if _, err := p.db.PendingLog(LogName("1"), 0); err == nil {
		t.Fatal("PendingLog after a failed reopen: no error")
	}
	// Neither panics.
	p.db.DropResidentPages()
	_, _ = p.db.GC()
	p.close()
}

// TestCompactCopyFails: a copy that fails (here meta.db.compact cannot be
// created) changes nothing: meta.db keeps its size, the store keeps
// accepting writes, and they survive a restart.
func TestCompactCopyFails(t *testing.T) {
	lowCompactThresholds(t)
	dir := t.TempDir()
	p := openPair(t, dir, clock.NewManual(t0), 0)
	var steps []string
	setCompactHook(t, func(step string) { steps = append(steps, step) })
	blocker := filepath.Join(dir, compactFile, "x")
	if err := os.MkdirAll(blocker, 0o755); err != nil {
		t.Fatal(err)
	}
	fillContainer(t, p, "keep", 20)
	fillContainer(t, p, "big", 3000)
	p.waitIdle(t)
	before := metaSize(t, dir)
	if err := p.primary.DeleteContainer("acct", "big", store.Conditions{}); err != nil {
		t.Fatal(err)
	}
	p.waitIdle(t)
	if _, err := p.primary.PutBlob("acct", "keep", "after", content(t, p.primary, "after"), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
		t.Fatalf("a write after a failed copy: %v", err)
	}
	p.waitIdle(t)
	if err := p.db.Sync(); err != nil {
		t.Fatal(err)
	}
	// Set by the writer before it took the write above.
	if !p.db.noCompact {
		t.Fatal("no compaction was tried")
	}
	if len(steps) > 0 || metaSize(t, dir) != before {
		t.Fatalf("a failed copy went on (steps %q) or changed meta.db (%d -> %d bytes)", steps, before, metaSize(t, dir))
	}
	p.close()
	if err := os.RemoveAll(filepath.Join(dir, compactFile)); err != nil {
		t.Fatal(err)
	}
	p = openPair(t, dir, clock.NewManual(t0.Add(time.Hour)), 0)
	defer p.close()
	checkBlobs(t, p, "keep", 20)
	if got, err := read(t, p.primary, "acct", "keep", "after"); got != "after" || err != nil {
		t.Fatalf("write after a failed copy, after restart: %q, %v", got, err)
	}
}
