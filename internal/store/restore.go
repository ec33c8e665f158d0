package store

import (
	"fmt"
	"time"
)

// The Restore methods rebuild a store from durable records before it
// serves anything (internal/durable calls them at start). They do not
// journal or publish anything.

// RestoreService sets an account's service properties document.
func (s *Store) RestoreService(acct string, doc []byte) {
	a := s.acct(acct, true)
	a.mu.Lock()
	a.service = doc
	a.mu.Unlock()
}

// RestoreContainer installs a container.
func (s *Store) RestoreContainer(acct string, p *Container) {
	a := s.acct(acct, true)
	a.mu.Lock()
	a.containers.ReplaceOrInsert(newContainer(p))
	a.mu.Unlock()
}

// RestoreBlob installs a committed blob version in an existing container.
func (s *Store) RestoreBlob(acct, cname string, b *Blob) error {
	a, c, err := s.lockCont(acct, cname)
	if err != nil {
		return fmt.Errorf("store: restoring blob %q: container %q: %w", b.Name, cname, err)
	}
	defer a.mu.Unlock()
	c.blobs.ReplaceOrInsert(b)
	return nil
}

// RestoreStaged appends an uncommitted block to a blob's list; blocks of
// one blob must come in list order.
func (s *Store) RestoreStaged(acct, cname, blob, id string, content Content, touched time.Time) error {
	a, c, err := s.lockCont(acct, cname)
	if err != nil {
		return fmt.Errorf("store: restoring uncommitted block of %q: container %q: %w", blob, cname, err)
	}
	defer a.mu.Unlock()
	st := c.staged[blob]
	if st == nil {
		st = &stagedBlocks{blocks: map[string]Content{}}
		c.staged[blob] = st
	}
	old, replacing := st.blocks[id]
	if !replacing {
		st.order = append(st.order, id)
	}
	st.blocks[id] = content
	grow := content.Size() - old.Size()
	st.bytes += grow
	a.stagedBytes += grow
	if touched.After(st.touched) {
		st.touched = touched
	}
	return nil
}

// RestorePosition sets the last sequence number and commit time the store
// handed out (or, for a secondary, applied), so that new commits continue
// after them.
func (s *Store) RestorePosition(seq uint64, last time.Time) {
	s.commitMu.Lock()
	s.seq = max(s.seq, seq)
	if last.After(s.last) {
		s.last = last
	}
	if last.After(s.lastClock) {
		s.lastClock = last
	}
	seq = s.seq
	s.commitMu.Unlock()
	s.pubMu.Lock()
	s.published = max(s.published, seq)
	s.pubMu.Unlock()
}

// Seq is the sequence number of the last change the store committed or
// applied.
func (s *Store) Seq() uint64 {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.seq
}
