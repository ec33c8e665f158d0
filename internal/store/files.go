package store

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrCorruptContent is returned when blob content kept on disk is missing,
// has the wrong length or fails its checksum. It is real on-disk damage,
// never a client mistake.
var ErrCorruptContent = errors.New("store: blob content on disk is missing or damaged")

// ErrContentWrite wraps a failure to write or sync a content file: the
// disk's fault, not the client's.
var ErrContentWrite = errors.New("store: writing content to disk failed")

// Files keeps blob bytes in content files of one directory, one file per
// body or block, named by a random id and never modified once written. A
// Content refers to them by extent (file, offset, length), so bytes stay on
// disk and out of the heap. A file is garbage until a durable record refers
// to it; Garbage finds the files nothing refers to any more.
//
// Every content file a Content in memory refers to is "live": Files counts
// the in-memory references per file and learns, through runtime cleanups,
// when the last one has gone. That covers uploads in flight, reads in
// progress and replication queues without any caller registering anything.
type Files struct {
	dir string
	log *slog.Logger

	mu    sync.Mutex
	live  map[string]int // in-memory fileRefs per file id
	dirty bool           // files were created since the directory was last synced

	// Content files whose whole CRC-32C a read has verified, so that
	// ranged reads of them need not read the whole file again: at most
	// verifiedMax ids, least recently used dropped first. verifying holds
	// the verifications under way, so concurrent ranged reads of one file
	// (a parallel download) read it once.
	vmu       sync.Mutex
	verified  map[string]*list.Element // of string ids, in vlru
	vlru      list.List                // most recently used first
	verifying map[string]*verification
}

// verifiedMax bounds the ids Files remembers as verified.
const verifiedMax = 4096

// verification is a checksum verification under way.
type verification struct {
	done chan struct{}
	err  error
}

// fileRef is a content file as Contents in memory share it.
type fileRef struct {
	fs   *Files
	id   string
	size int64  // length of the whole file
	crc  uint32 // CRC-32C of the whole file
	// checked is set once check has found the file whole; content files
	// never change, and every read checks the length again anyway.
	checked atomic.Bool
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// OpenFiles uses dir (created if needed) for content files. log receives
// reports of damaged files; nil discards them.
func OpenFiles(dir string, log *slog.Logger) (*Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: content directory: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Files{dir: dir, log: log, live: map[string]int{},
		verified: map[string]*list.Element{}, verifying: map[string]*verification{}}, nil
}

// Dir is the directory of the content files.
func (f *Files) Dir() string { return f.dir }

// ref returns a new in-memory reference to a content file, counted live
// until the garbage collector finds it unreachable.
func (f *Files) ref(id string, size int64, crc uint32) *fileRef {
	r := &fileRef{fs: f, id: id, size: size, crc: crc}
	f.mu.Lock()
	f.live[id]++
	f.mu.Unlock()
	runtime.AddCleanup(r, f.release, id)
	return r
}

func (f *Files) release(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.live[id]--; f.live[id] <= 0 {
		delete(f.live, id)
	}
}

// Live reports whether a Content in memory still refers to file id.
func (f *Files) Live(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.live[id] > 0
}

func newFileID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// IsFileID reports whether name has the form of a content file's name, so
// that a sweep never touches anything else in the directory.
func IsFileID(name string) bool {
	if len(name) != 32 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil && strings.ToLower(name) == name
}

func (f *Files) path(id string) string { return filepath.Join(f.dir, id) }

// copyBufSize is the buffer a body streams through to or from disk.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// ReadContent streams r to EOF into a new content file through a bounded
// buffer, at most limit bytes (negative: no limit), and fsyncs it. The
// Content it returns is one extent of that file. sizeHint is unused beyond
// sanity: the body is never held in memory. Errors are as for the package
// function ReadContent; a failed body leaves no file behind.
func (f *Files) ReadContent(r io.Reader, sizeHint, limit int64) (Content, error) {
	_ = sizeHint
	id := newFileID()
	ref := f.ref(id, 0, 0)
	file, err := os.OpenFile(f.path(id), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return Content{}, fmt.Errorf("%w: creating content file: %w", ErrContentWrite, err)
	}
	f.mu.Lock()
	f.dirty = true
	f.mu.Unlock()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var (
		size int64
		crc  uint32
		rerr error
	)
	for {
		n, err := fill(r, buf)
		if n > 0 {
			size += int64(n)
			if limit >= 0 && size > limit {
				rerr = ErrTooLarge
				break
			}
			crc = crc32.Update(crc, castagnoli, buf[:n])
			if _, werr := file.Write(buf[:n]); werr != nil {
				rerr = fmt.Errorf("%w: writing content file: %w", ErrContentWrite, werr)
				break
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rerr = fmt.Errorf("store: reading body: %w", err)
			break
		}
	}
	if rerr == nil {
		if err := file.Sync(); err != nil {
			rerr = fmt.Errorf("%w: syncing content file: %w", ErrContentWrite, err)
		}
	}
	if err := file.Close(); err != nil && rerr == nil {
		rerr = fmt.Errorf("%w: closing content file: %w", ErrContentWrite, err)
	}
	if rerr != nil || size == 0 {
		_ = os.Remove(f.path(id))
		return Content{}, rerr
	}
	ref.size, ref.crc = size, crc
	return Content{chunks: []chunk{{f: ref, n: size}}, size: size}, nil
}

// Bytes writes b to a new content file, as ReadContent would.
func (f *Files) Bytes(b []byte) (Content, error) {
	return f.ReadContent(&sliceReader{b: b}, int64(len(b)), -1)
}

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// SyncDir makes the names of the files created since the last call durable
// (an fsync of the directory). A record that refers to a file must become
// durable only after its name has.
func (f *Files) SyncDir() error {
	f.mu.Lock()
	dirty := f.dirty
	f.dirty = false
	f.mu.Unlock()
	if !dirty {
		return nil
	}
	d, err := os.Open(f.dir)
	if err != nil {
		return fmt.Errorf("store: syncing content directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		f.mu.Lock()
		f.dirty = true
		f.mu.Unlock()
		return fmt.Errorf("store: syncing content directory: %w", err)
	}
	return nil
}

// Remove deletes content file id unless a Content in memory refers to it;
// it reports whether it did. Callers must have checked that no durable
// record refers to it.
func (f *Files) Remove(id string) (bool, error) {
	if !IsFileID(id) {
		return false, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.live[id] > 0 {
		return false, nil
	}
	if err := os.Remove(f.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("store: removing content file: %w", err)
	}
	return true, nil
}

func (r *fileRef) corrupt(why string, err error) error {
	r.fs.log.Error("store: damaged content file", "file", r.fs.path(r.id), "problem", why, "err", err)
	return fmt.Errorf("%w: content file %s: %s", ErrCorruptContent, r.id, why)
}

// open opens the file and checks its length.
func (r *fileRef) open() (*os.File, error) {
	file, err := os.Open(r.fs.path(r.id))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, r.corrupt("missing", err)
		}
		return nil, fmt.Errorf("store: opening content file: %w", err)
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("store: stat of content file: %w", err)
	}
	if st.Size() != r.size {
		file.Close()
		return nil, r.corrupt(fmt.Sprintf("%d bytes instead of %d", st.Size(), r.size), nil)
	}
	return file, nil
}

func (r *fileRef) check() error {
	if r.checked.Load() {
		return nil
	}
	file, err := r.open()
	if err != nil {
		return err
	}
	r.checked.Store(true)
	return file.Close()
}

func (r *fileRef) readAt(p []byte, off int64) (int, error) {
	if err := r.verify(); err != nil {
		return 0, err
	}
	file, err := r.open()
	if err != nil {
		return 0, err
	}
	defer file.Close()
	n, err := file.ReadAt(p, off)
	if n == len(p) {
		return n, nil
	}
	return n, fmt.Errorf("store: reading content file: %w", err)
}

// markVerified remembers that file id matches its checksum.
func (f *Files) markVerified(id string) {
	f.vmu.Lock()
	defer f.vmu.Unlock()
	f.markVerifiedLocked(id)
}

func (f *Files) markVerifiedLocked(id string) {
	if e, ok := f.verified[id]; ok {
		f.vlru.MoveToFront(e)
		return
	}
	f.verified[id] = f.vlru.PushFront(id)
	for f.vlru.Len() > verifiedMax {
		last := f.vlru.Back()
		f.vlru.Remove(last)
		delete(f.verified, last.Value.(string))
	}
}

// verify checks the CRC-32C of the whole file once, before a part of it is
// read: a part cannot be checked on its own, and a damaged file must not
// serve wrong bytes as right ones. A file found whole is remembered (see
// Files.verified), so later parts cost nothing extra; concurrent callers
// share one verification. A file that fails is not remembered: each read
// of it fails again.
func (r *fileRef) verify() error {
	f := r.fs
	f.vmu.Lock()
	if e, ok := f.verified[r.id]; ok {
		f.vlru.MoveToFront(e)
		f.vmu.Unlock()
		return nil
	}
	v, busy := f.verifying[r.id]
	if !busy {
		v = &verification{done: make(chan struct{})}
		f.verifying[r.id] = v
	}
	f.vmu.Unlock()
	if busy {
		<-v.done
		return v.err
	}
	v.err = r.checksum()
	f.vmu.Lock()
	delete(f.verifying, r.id)
	if v.err == nil {
		f.markVerifiedLocked(r.id)
	}
	f.vmu.Unlock()
	close(v.done)
	return v.err
}

// checksum reads the whole file through a pooled buffer and compares its
// CRC-32C with the one recorded when it was written.
func (r *fileRef) checksum() error {
	file, err := r.open()
	if err != nil {
		return err
	}
	defer file.Close()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var crc uint32
	for off := int64(0); off < r.size; {
		p := buf[:min(int64(len(buf)), r.size-off)]
		k, err := file.ReadAt(p, off)
		if k < len(p) {
			return r.corrupt("short read", err)
		}
		crc = crc32.Update(crc, castagnoli, p)
		off += int64(k)
	}
	if crc != r.crc {
		return r.corrupt("checksum mismatch", nil)
	}
	return nil
}

// writeRange copies n bytes at off of the file to w. When that is the
// whole file it checks the CRC before writing the last piece, so damaged
// bytes are never delivered complete; a part of the file is written only
// once the whole file has been verified (see verify).
func (r *fileRef) writeRange(w io.Writer, off, n int64) (int64, error) {
	whole := off == 0 && n == r.size
	if !whole {
		if err := r.verify(); err != nil {
			return 0, err
		}
	}
	file, err := r.open()
	if err != nil {
		return 0, err
	}
	defer file.Close()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var (
		written int64
		crc     uint32
	)
	for n > 0 {
		p := buf[:min(int64(len(buf)), n)]
		k, err := file.ReadAt(p, off)
		if k < len(p) {
			return written, r.corrupt("short read", err)
		}
		off += int64(k)
		n -= int64(k)
		if whole {
			crc = crc32.Update(crc, castagnoli, p)
			if n == 0 {
				if crc != r.crc {
					return written, r.corrupt("checksum mismatch", nil)
				}
				r.fs.markVerified(r.id)
			}
		}
		m, err := w.Write(p)
		written += int64(m)
		if err != nil {
			return written, err
		}
	}
	return written, nil
}
