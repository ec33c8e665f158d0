package store

import (
	"time"
)

// Blob soft delete: with a retention (DeleteOptions.Retain, from the
// account's DeleteRetentionPolicy), Delete Blob keeps what it deletes in
// the container's history, marked with DeletedTime and RetainUntil, until
// Undelete Blob restores it or the retention ends on the store's clock.
// A soft-deleted entry is never read (only listed with include=deleted);
// once expired it is not even listed, and the next history write of its
// blob, or the sweep every history write makes over a few entries of its
// container, removes it through a replicated change. So expiry is bounded
// work: a check per entry seen, at most sweepBatch entries per write.

// sweepBatch is how many history entries of a container one history
// write looks at for expired soft-deleted entries, besides its own blob's.
const sweepBatch = 32

// softDeleted is h soft-deleted at now, kept for retain.
func softDeleted(h *Blob, now time.Time, retain time.Duration) *Blob {
	d := h.clone()
	d.Lease = Lease{}
	d.DeletedTime = now.UTC()
	d.RetainUntil = d.DeletedTime.Add(retain)
	return d
}

// expired reports whether b is a soft-deleted entry whose retention has
// ended at now.
func (b *Blob) expired(now time.Time) bool {
	return !b.DeletedTime.IsZero() && !now.Before(b.RetainUntil)
}

// visible is h unless it is nil or soft-deleted.
func visible(h *Blob) *Blob {
	if h == nil || !h.DeletedTime.IsZero() {
		return nil
	}
	return h
}

// RemainingRetentionDays is how many days (rounded up) a soft-deleted
// blob is still kept at now.
func (b *Blob) RemainingRetentionDays(now time.Time) int {
	left := b.RetainUntil.Sub(now)
	if left <= 0 {
		return 0
	}
	return int((left + 24*time.Hour - 1) / (24 * time.Hour))
}

// lists reports whether a listing with o shows history entry h at now.
func (o ListOptions) lists(h *Blob, now time.Time) bool {
	if !h.DeletedTime.IsZero() {
		switch {
		case !o.IncludeDeleted || h.expired(now):
			return false
		case h.Snapshot != "":
			return o.IncludeSnapshots
		case h.NonCurrent:
			return o.IncludeVersions
		}
		return true // a soft-deleted blob
	}
	if h.Snapshot != "" {
		return o.IncludeSnapshots
	}
	return h.NonCurrent && o.IncludeVersions
}

// sweepExpired returns the keys of the expired entries of name and of
// those among the next sweepBatch entries of the container's history,
// moving the container's sweep position on. Callers hold the account's
// write lock and drop the keys in the change they commit.
func (c *container) sweepExpired(name string, now time.Time) []HistoryKey {
	var keys []HistoryKey
	c.eachHistory(name, func(h *Blob) bool {
		if h.expired(now) {
			keys = append(keys, h.HistoryKey())
		}
		return true
	})
	from, n := c.sweepFrom, 0
	if from == nil {
		from = &Blob{}
	}
	c.sweepFrom = nil
	c.history.AscendGreaterOrEqual(from, func(h *Blob) bool {
		if n == sweepBatch {
			c.sweepFrom = &Blob{Name: h.Name, Snapshot: h.Snapshot, VersionID: h.VersionID}
			return false
		}
		n++
		if h.expired(now) && h.Name != name {
			keys = append(keys, h.HistoryKey())
		}
		return true
	})
	return keys
}

// overwrittenSnapshot keeps cur, which a write at t replaces, as a
// soft-deleted snapshot, as Azure does while soft delete is on: Undelete
// Blob makes it a snapshot again, and copying it over the blob restores
// the old content. Callers hold the account's write lock, inside the
// write's commit.
func (c *container) overwrittenSnapshot(cur *Blob, t, now time.Time, retain time.Duration) *Blob {
	snap := cur.clone()
	snap.Lease, snap.NonCurrent = Lease{}, false
	snap.Snapshot = c.newHistoryID(cur.Name, t)
	d := softDeleted(snap, now, retain)
	c.history.ReplaceOrInsert(d)
	return d
}

// Undelete restores a blob's soft-deleted state (Undelete Blob): its
// soft-deleted snapshots and versions, and the soft-deleted blob itself
// unless a blob of that name exists again. A blob that exists with
// nothing to restore is left as it is; with neither it is
// ErrBlobNotFound.
func (s *Store) Undelete(acct, cname, name string) error {
	a, c, err := s.lockCont(acct, cname)
	if err != nil {
		return err
	}
	defer a.mu.Unlock()
	now := s.now()
	var base *Blob
	var restore []*Blob
	c.eachHistory(name, func(h *Blob) bool {
		if h.DeletedTime.IsZero() || h.expired(now) {
			return true
		}
		r := h.clone()
		r.DeletedTime, r.RetainUntil = time.Time{}, time.Time{}
		if r.Snapshot == "" && !r.NonCurrent {
			base = r
		} else {
			restore = append(restore, r)
		}
		return true
	})
	cur := c.blob(name)
	if cur != nil {
		base = nil // the blob exists again: its deleted predecessor stays deleted
	}
	switch {
	case cur == nil && base == nil && len(restore) == 0:
		return ErrBlobNotFound
	case base == nil && len(restore) == 0:
		return nil
	}
	return s.commit(a, func(time.Time, string) Change {
		ch := Change{Kind: UpdateHistory, Account: acct, Container: cname, BlobName: name, History: restore, DropHistory: c.sweepExpired(name, now)}
		if base != nil {
			ch.Kind, ch.Blob = PutBlob, base
			ch.DropHistory = append(ch.DropHistory, base.HistoryKey())
			c.blobs.ReplaceOrInsert(base)
		}
		c.applyHistory(&ch)
		return ch
	})
}
