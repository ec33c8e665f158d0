package store

import "time"

// CommitPoint returns the sequence number and time of the latest change
// the store committed or applied.
func (s *Store) CommitPoint() (seq uint64, t time.Time) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.seq, s.last
}

// ContinueAfter makes every later commit take a sequence number above seq
// and a time after t. A store promoted to primary by a failover continues
// the commit order of the one it replaces, so that no new write takes the
// time (and the ETag) of a write made before the failover.
func (s *Store) ContinueAfter(seq uint64, t time.Time) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if seq > s.seq {
		s.seq = seq
	}
	if t = t.UTC(); t.After(s.last) {
		s.last = t
	}
	if t.After(s.lastClock) {
		// Lag counts from lastClock; it must not run behind the commit
		// order either.
		s.lastClock = t
	}
}
