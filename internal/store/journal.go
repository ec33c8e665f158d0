package store

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Journal makes a store's writes durable; internal/durable implements it
// over a data directory. A store without one keeps everything in memory.
type Journal interface {
	// Submit queues rec to be made durable after every record submitted
	// before it. It does not wait for the disk: wait blocks until rec is
	// durable and returns an error when it cannot be. done, when not nil,
	// is called once rec is durable (err nil) or has failed, in
	// submission order, before wait returns.
	Submit(rec Record, done func(err error)) (wait func() error)
}

// Record is one durable step of a store: a committed change (with the
// uncommitted-block updates that go with it), a change applied from the
// primary, or uncommitted-block updates alone.
type Record struct {
	// Change is a change this store committed, or, with Applied, a change
	// of the primary this store (a secondary) applied.
	Change  *Change
	Applied bool
	// Staged are the uncommitted-block updates to make durable with it.
	Staged []StagedOp
}

// StagedOp is an update of the uncommitted blocks of one blob: Drop
// discards them all, otherwise block BlockID at position Index of the
// blob's list is stored (or replaced) with Content, staged at Touched.
type StagedOp struct {
	Account, Container, Blob string
	Drop                     bool
	BlockID                  string
	Index                    int
	Content                  Content
	Touched                  time.Time
}

// ErrStoreFailed is returned by every write once a durable write has
// failed after its change was visible: the store refuses writes rather
// than let memory and disk diverge further. Restart the server to recover
// from what is on disk.
var ErrStoreFailed = errors.New("store: writes refused after a data directory write failed")

// failState remembers the first durable-write failure.
type failState struct {
	mu  sync.Mutex
	err error
}

func (f *failState) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *failState) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = fmt.Errorf("%w: %w", ErrStoreFailed, err)
	}
}

// Failed returns the error that made the store refuse writes, or nil.
func (s *Store) Failed() error { return s.failed.get() }

// OnDisk reports whether the store keeps bodies in content files
// (Options.Files). A nil store keeps them in memory.
func (s *Store) OnDisk() bool { return s != nil && s.files != nil }

// ReadContent reads a request body into a Content as the package function
// ReadContent does; with a data directory (Options.Files) the bytes go to a
// content file instead of memory.
func (s *Store) ReadContent(r io.Reader, sizeHint, limit int64) (Content, error) {
	if !s.OnDisk() {
		return ReadContent(r, sizeHint, limit)
	}
	return s.files.ReadContent(r, sizeHint, limit)
}

// NewContent is Bytes(b), or with a data directory a content file holding b.
func (s *Store) NewContent(b []byte) (Content, error) {
	if !s.OnDisk() || len(b) == 0 {
		return Bytes(b), nil
	}
	return s.files.Bytes(b)
}

// journalWait submits rec and waits for it, failing the store on error.
// Callers hold a's write lock; it is released while waiting, as in commit.
func (s *Store) journalWait(a *account, rec Record, done func(error)) error {
	wait := s.journal.Submit(rec, done)
	a.mu.Unlock()
	err := wait()
	a.mu.Lock()
	if err != nil {
		s.failed.set(err)
		s.log.Error("store: durable write failed; refusing further writes", "err", err)
		return s.failed.get()
	}
	return nil
}

// takeOps returns and clears the account's pending uncommitted-block ops.
func (a *account) takeOps() []StagedOp {
	ops := a.ops
	a.ops = nil
	return ops
}
