package store

// Abort Copy Blob. Every copy of the emulator completes before Copy Blob
// answers, so a blob never has a pending copy to abort: the store checks
// what Azure checks before it looks for the copy (the blob, its lease) and
// then reports that no copy is pending.

// ErrNoPendingCopy is Abort Copy Blob's answer for a blob without a copy in
// progress (409). Azure's other copy conflict, CopyIdMismatch (a copy id
// that is not the pending copy's), needs a pending copy and so never
// happens here.
var ErrNoPendingCopy = newErr("NoPendingCopyOperation", "There is currently no pending copy operation.")

// AbortCopy aborts the pending copy into acct/cname/name. A leased
// blob needs leaseID when its lease is infinite, as Azure documents, and
// any lease id given must be the blob's. It returns ErrBlobNotFound for a
// missing blob, a lease error, or ErrNoPendingCopy: copies are never
// pending here.
func (s *Store) AbortCopy(acct, cname, name, leaseID string) error {
	a, c, err := s.rlockCont(acct, cname)
	if err != nil {
		return err
	}
	defer a.mu.RUnlock()
	b, _ := c.find(name, "", "")
	if b == nil {
		return ErrBlobNotFound
	}
	lease := b.Lease.At(s.now())
	if leaseID != "" || (lease.State == LeaseLeased && lease.Duration < 0) {
		if err := lease.checkWrite(leaseID); err != nil {
			return err
		}
	}
	return ErrNoPendingCopy
}
