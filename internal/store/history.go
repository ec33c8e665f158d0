package store

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// A container's history holds the blobs that are not current: snapshots
// (Snapshot Blob) and previous versions (while versioning is enabled, or
// of blobs written while it was). It is a second ordered index beside the
// current blobs, keyed by name, then snapshot id, then version id. Its
// entries are immutable *Blob values like the current ones and share
// their content with them: a snapshot costs no copy of the bytes.
//
// Every change to it travels in a Change (History, DropHistory), so it is
// replicated in commit order and journaled like the current blobs.

// MaxHistoryPerBlob caps the snapshots and previous versions one blob name
// may hold: Azure sets no hard limit (it recommends fewer than 1,000
// versions per blob), the emulator refuses the snapshot or versioned write
// beyond it with 409 SnapshotCountExceeded, so that no blob grows memory
// without bound and a delete that drops them all stays bounded work.
const MaxHistoryPerBlob = 1000

// Errors of snapshots and versions, named after their Azure error codes.
var (
	ErrSnapshotCountExceeded = newErr("SnapshotCountExceeded", "The snapshot count against this blob has been exceeded.")
	ErrSnapshotsPresent      = newErr("SnapshotsPresent", "This operation is not permitted because the blob has snapshots.")
	// ErrDeleteCurrentVersion: Delete Blob with the versionid of the
	// current version; delete the base blob instead.
	ErrDeleteCurrentVersion = newErr("OperationNotAllowedOnRootBlob", "The current version of a blob cannot be deleted by its version id; delete the base blob.")
	// ErrPreviousSnapshotNotFound: the prevsnapshot of a page range diff
	// does not exist.
	ErrPreviousSnapshotNotFound = newErr("PreviousSnapshotNotFound", "The previous snapshot is not found.")
)

// HistoryKey names one entry of a container's history.
type HistoryKey struct {
	Name, Snapshot, VersionID string
}

// HistoryKey is the key of b in its container's history.
func (b *Blob) HistoryKey() HistoryKey {
	return HistoryKey{Name: b.Name, Snapshot: b.Snapshot, VersionID: b.VersionID}
}

// IsHistory reports whether b is a history entry (a snapshot, a previous
// version or a soft-deleted blob) rather than a current blob.
func (b *Blob) IsHistory() bool { return b.Snapshot != "" || b.NonCurrent || !b.DeletedTime.IsZero() }

func historyLess(a, b *Blob) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.Snapshot != b.Snapshot {
		return a.Snapshot < b.Snapshot
	}
	return a.VersionID < b.VersionID
}

// HistoryID formats t as Azure writes snapshot and version ids.
func HistoryID(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// historyTick is the resolution of snapshot and version ids.
const historyTick = 100 * time.Nanosecond

// eachHistory calls fn for the history entries of name in key order until
// it returns false.
func (c *container) eachHistory(name string, fn func(*Blob) bool) {
	c.history.AscendGreaterOrEqual(&Blob{Name: name}, func(h *Blob) bool {
		if h.Name != name {
			return false
		}
		return fn(h)
	})
}

// historyCount counts the entries of name that have not expired.
func (c *container) historyCount(name string, now time.Time) int {
	n := 0
	c.eachHistory(name, func(h *Blob) bool {
		if !h.expired(now) {
			n++
		}
		return true
	})
	return n
}

// liveSnapshots returns the snapshots of name that are not soft-deleted.
func (c *container) liveSnapshots(name string, now time.Time) []*Blob {
	var out []*Blob
	c.eachHistory(name, func(h *Blob) bool {
		if h.Snapshot != "" && h.DeletedTime.IsZero() {
			out = append(out, h)
		}
		return true
	})
	return out
}

// newHistoryID returns the id of t for a new snapshot or version of name,
// moved on by one tick while an entry of name already has it (writes
// within one tick of the clock, or while a manual clock stands still).
// The walk is bounded by MaxHistoryPerBlob.
func (c *container) newHistoryID(name string, t time.Time) string {
	t = t.UTC().Truncate(historyTick)
	for {
		id := HistoryID(t)
		cur := c.blob(name)
		taken := cur != nil && cur.VersionID == id ||
			c.history.Has(&Blob{Name: name, Snapshot: id}) || c.history.Has(&Blob{Name: name, VersionID: id})
		if !taken {
			return id
		}
		t = t.Add(historyTick)
	}
}

// find returns the blob a request addresses: the snapshot or version it
// names, else the current blob; current says it is the current blob. nil
// when there is none.
func (c *container) find(name, snapshot, versionID string) (b *Blob, current bool) {
	switch {
	case snapshot != "":
		h, _ := c.history.Get(&Blob{Name: name, Snapshot: snapshot})
		return visible(h), false
	case versionID != "":
		if cur := c.blob(name); cur != nil && cur.VersionID == versionID {
			return cur, true
		}
		h, _ := c.history.Get(&Blob{Name: name, VersionID: versionID})
		return visible(h), false
	}
	return c.blob(name), true
}

// applyHistory installs a change's history updates. Callers hold the
// account's write lock.
func (c *container) applyHistory(ch *Change) {
	for _, k := range ch.DropHistory {
		c.history.Delete(&Blob{Name: k.Name, Snapshot: k.Snapshot, VersionID: k.VersionID})
	}
	for _, h := range ch.History {
		c.history.ReplaceOrInsert(h)
	}
}

// VersioningSwitch turns blob versioning on and off; stores given the same
// switch (Options.Versioning) share the setting, so a copy promoted by a
// failover versions as the primary did. It is safe for concurrent use.
type VersioningSwitch struct{ on atomic.Bool }

// Set turns versioning on or off.
func (v *VersioningSwitch) Set(on bool) { v.on.Store(on) }

// On reports whether versioning is on.
func (v *VersioningSwitch) On() bool { return v.on.Load() }

// SetVersioning turns blob versioning on or off: while it is on, every
// write that makes a new version of a blob (Put Blob, Put Block List, Copy
// Blob, Set Blob Metadata, creating an append or page blob) gives it a new
// version id and keeps the version it replaces in the container's history.
func (s *Store) SetVersioning(on bool) { s.versioning.Set(on) }

// Versioning reports whether blob versioning is on.
func (s *Store) Versioning() bool { return s.versioning.On() }

// SnapshotBlob takes a read-only snapshot of a blob (Snapshot Blob). meta,
// when not nil, replaces the blob's metadata in the snapshot. A lease id,
// when given, must match the blob's active lease; the snapshot has no
// lease. The snapshot shares the blob's content.
func (s *Store) SnapshotBlob(acct, cname, name string, meta map[string]string, o WriteOptions) (*Blob, error) {
	a, c, err := s.lockCont(acct, cname)
	if err != nil {
		return nil, err
	}
	defer a.mu.Unlock()
	cur := c.blob(name)
	if cur == nil {
		return nil, ErrBlobNotFound
	}
	if err := o.Conditions.checkWrite(true, cur.ETag, cur.LastModified); err != nil {
		return nil, err
	}
	if err := cur.Lease.At(s.now()).checkRead(o.LeaseID); err != nil {
		return nil, err
	}
	if err := o.IfTags.check(cur); err != nil {
		return nil, err
	}
	now := s.now()
	if c.historyCount(name, now) >= MaxHistoryPerBlob {
		return nil, ErrSnapshotCountExceeded
	}
	snap := cur.clone()
	snap.Lease, snap.VersionID, snap.NonCurrent = Lease{}, "", false
	if meta != nil {
		snap.Metadata = meta
	}
	if err := s.commit(a, func(t time.Time, _ string) Change {
		snap.Snapshot = c.newHistoryID(name, t)
		ch := Change{Kind: UpdateHistory, Account: acct, Container: cname, BlobName: name, History: []*Blob{snap}, DropHistory: c.sweepExpired(name, now)}
		c.applyHistory(&ch)
		return ch
	}); err != nil {
		return nil, err
	}
	return snap, nil
}

// DeleteSnapshots is the x-ms-delete-snapshots option of Delete Blob.
type DeleteSnapshots string

// Delete Blob's snapshot options.
const (
	DeleteSnapshotsNone    DeleteSnapshots = ""
	DeleteSnapshotsInclude DeleteSnapshots = "include"
	DeleteSnapshotsOnly    DeleteSnapshots = "only"
)

// DeleteOptions qualify Delete Blob.
type DeleteOptions struct {
	// Snapshot or VersionID names the one snapshot or version to delete
	// instead of the blob.
	Snapshot, VersionID string
	// Snapshots says what becomes of the blob's snapshots when the blob
	// itself is deleted: without it a blob that has snapshots is not
	// deleted (ErrSnapshotsPresent).
	Snapshots DeleteSnapshots
	// Retain, when positive, soft-deletes for that long on the store's
	// clock instead of deleting (the DeleteRetentionPolicy of the
	// account's service properties).
	Retain time.Duration
}

// DeleteBlobWith deletes a blob, one of its snapshots or versions, or only
// its snapshots. Deleting a blob that has a version id keeps that version
// in the history as a previous version. With d.Retain (blob soft delete),
// what is deleted is kept, soft-deleted, until Undelete or the end of the
// retention (softdelete.go).
func (s *Store) DeleteBlobWith(acct, cname, name string, d DeleteOptions, o WriteOptions) error {
	a, c, err := s.lockCont(acct, cname)
	if err != nil {
		return err
	}
	defer a.mu.Unlock()
	now := s.now()
	// gone removes (or, with retention, soft-deletes) history entries.
	gone := func(ch *Change, hs []*Blob) {
		for _, h := range hs {
			if d.Retain > 0 {
				ch.History = append(ch.History, softDeleted(h, now, d.Retain))
			} else {
				ch.DropHistory = append(ch.DropHistory, h.HistoryKey())
			}
		}
	}
	if d.Snapshot != "" || d.VersionID != "" {
		h, current := c.find(name, d.Snapshot, d.VersionID)
		switch {
		case h == nil:
			return ErrBlobNotFound
		case current:
			return ErrDeleteCurrentVersion
		}
		if err := o.Conditions.checkWrite(true, h.ETag, h.LastModified); err != nil {
			return err
		}
		if o.LeaseID != "" {
			return ErrLeaseNotPresent // snapshots and previous versions have no lease
		}
		if err := o.IfTags.check(h); err != nil {
			return err
		}
		return s.commit(a, func(time.Time, string) Change {
			ch := Change{Kind: UpdateHistory, Account: acct, Container: cname, BlobName: name, DropHistory: c.sweepExpired(name, now)}
			gone(&ch, []*Blob{h})
			c.applyHistory(&ch)
			return ch
		})
	}
	cur := c.blob(name)
	if cur == nil {
		return ErrBlobNotFound
	}
	if err := o.Conditions.checkWrite(true, cur.ETag, cur.LastModified); err != nil {
		return err
	}
	if err := cur.Lease.At(now).checkWrite(o.LeaseID); err != nil {
		return err
	}
	if err := o.IfTags.check(cur); err != nil {
		return err
	}
	// A blob soft-deleted before and written anew: its deleted state
	// stays, for its own retention, as a soft-deleted snapshot.
	var prevDeleted *Blob
	if d.Retain > 0 && cur.VersionID == "" && !s.Versioning() && d.Snapshots != DeleteSnapshotsOnly {
		if h, _ := c.history.Get(&Blob{Name: name}); h != nil && !h.DeletedTime.IsZero() && !h.expired(now) {
			if c.historyCount(name, now) >= MaxHistoryPerBlob {
				return ErrSnapshotCountExceeded
			}
			prevDeleted = h
		}
	}
	snaps := c.liveSnapshots(name, now)
	switch d.Snapshots {
	case DeleteSnapshotsNone:
		if len(snaps) > 0 {
			return ErrSnapshotsPresent
		}
	case DeleteSnapshotsOnly:
		return s.commit(a, func(time.Time, string) Change {
			ch := Change{Kind: UpdateHistory, Account: acct, Container: cname, BlobName: name, DropHistory: c.sweepExpired(name, now)}
			gone(&ch, snaps)
			c.applyHistory(&ch)
			return ch
		})
	}
	return s.commit(a, func(time.Time, string) Change {
		ch := Change{Kind: DeleteBlob, Account: acct, Container: cname, BlobName: name, DropHistory: c.sweepExpired(name, now)}
		gone(&ch, snaps)
		switch {
		case cur.VersionID != "":
			ch.History = append(ch.History, previousVersion(cur))
		case s.Versioning():
			ch.History = append(ch.History, c.unversionedAsVersion(cur))
		case d.Retain > 0:
			if prevDeleted != nil {
				old := prevDeleted.clone()
				old.Snapshot = c.newHistoryID(name, prevDeleted.DeletedTime)
				ch.History = append(ch.History, old)
			}
			ch.History = append(ch.History, softDeleted(cur, now, d.Retain))
		}
		c.blobs.Delete(cur)
		a.dropStaged(c, name)
		c.applyHistory(&ch)
		return ch
	})
}

// previousVersion is cur as the history keeps it once it is no longer the
// current version.
func previousVersion(cur *Blob) *Blob {
	old := cur.clone()
	old.NonCurrent, old.Lease = true, Lease{}
	return old
}

// versionWrite runs inside the commit of a write that makes a new version
// of a blob: the version it replaces (cur, when it has a version id) moves
// to the history, and b gets a new version id while versioning is on. It
// returns the history entries the change adds. Callers hold the account's
// write lock.
func (s *Store) versionWrite(c *container, name string, cur, b *Blob, t time.Time) []*Blob {
	var hist []*Blob
	if cur != nil && cur.VersionID != "" {
		old := previousVersion(cur)
		c.history.ReplaceOrInsert(old)
		hist = append(hist, old)
	}
	b.VersionID = ""
	if s.Versioning() {
		b.VersionID = c.newHistoryID(name, t)
	}
	return hist
}

// unversionedAsVersion keeps cur, a blob written while versioning was off
// (no version id), as a previous version when a write or delete replaces
// it with versioning on, as Azure does: its version id is its last
// modification time. Callers hold the account's write lock.
func (c *container) unversionedAsVersion(cur *Blob) *Blob {
	old := previousVersion(cur)
	old.VersionID = c.newHistoryID(cur.Name, cur.LastModified)
	c.history.ReplaceOrInsert(old)
	return old
}

// checkVersionRoom refuses a write of name that would add a history entry
// (keeps says soft delete or versioning is on: the replaced state is kept
// even without a version id) to a blob whose history is full. A blob
// written anew is refused too: its delete would add one more entry, so
// write-and-delete cycles would grow the history without bound.
func (c *container) checkVersionRoom(name string, cur *Blob, keeps bool, now time.Time) error {
	if (keeps || cur != nil && cur.VersionID != "") && c.historyCount(name, now) >= MaxHistoryPerBlob {
		return ErrSnapshotCountExceeded
	}
	return nil
}

// listBlobsWithHistory is ListBlobs when snapshots, versions or deleted
// blobs are listed: for each name, its snapshots, previous versions and
// soft-deleted blob, then the current blob (or, with o.IncludeUncommitted, the uncommitted blob
// as listBlobsWithUncommitted shows it). A page ends between names, so it
// may hold fewer entries than o.MaxResults, and more only when one name
// alone has more entries (at most MaxHistoryPerBlob+1). Callers hold the
// account's read lock.
func (s *Store) listBlobsWithHistory(c *container, o ListOptions) BlobPage {
	var page BlobPage
	limit, count := o.max(), 0
	from := o.start()
	now := s.now()
	var pending []string // names with only uncommitted blocks, sorted
	if o.IncludeUncommitted {
		for name := range c.staged {
			if name >= from && strings.HasPrefix(name, o.Prefix) && c.blob(name) == nil && c.liveStaged(name, now) != nil {
				pending = append(pending, name)
			}
		}
		slices.Sort(pending)
	}
	var entries []*Blob
	for scanned := 0; ; scanned++ {
		name, ok := c.nextName(from)
		for len(pending) > 0 && pending[0] < from {
			pending = pending[1:]
		}
		if len(pending) > 0 && (!ok || pending[0] < name) {
			name, ok = pending[0], true
		}
		if !ok || !strings.HasPrefix(name, o.Prefix) {
			break
		}
		if scanned == s.historyScan() {
			// Names whose entries this listing does not show (expired or
			// filtered out) do not make one page walk the container.
			page.NextMarker = name
			break
		}
		if o.Delimiter != "" {
			if i := strings.Index(name[len(o.Prefix):], o.Delimiter); i >= 0 {
				if count == limit {
					page.NextMarker = name
					break
				}
				count++
				p := name[:len(o.Prefix)+i+len(o.Delimiter)]
				page.Prefixes = append(page.Prefixes, p)
				next, ok := successor(p)
				if !ok {
					break
				}
				from = next
				continue
			}
		}
		// Snapshots first, then previous versions, then a soft-deleted
		// blob, then the current one.
		entries = entries[:0]
		for pass := range 3 {
			c.eachHistory(name, func(h *Blob) bool {
				kind := 2
				switch {
				case h.Snapshot != "":
					kind = 0
				case h.NonCurrent:
					kind = 1
				}
				if kind == pass && o.lists(h, now) {
					entries = append(entries, h)
				}
				return true
			})
		}
		if cur := c.blob(name); cur != nil {
			entries = append(entries, cur)
		} else if len(pending) > 0 && pending[0] == name {
			entries = append(entries, uncommittedBlob(name, c.staged[name]))
		}
		if len(entries) > 0 {
			if count > 0 && count+len(entries) > limit {
				page.NextMarker = name
				break
			}
			page.Blobs = append(page.Blobs, entries...)
			count += len(entries)
		}
		from = name + "\x00"
	}
	return page
}

// maxHistoryScan bounds the names one page of listBlobsWithHistory looks
// at; a page that reaches it ends early with a NextMarker.
const maxHistoryScan = 4 * MaxListResults

func (s *Store) historyScan() int {
	if s.testHistoryScan > 0 {
		return s.testHistoryScan
	}
	return maxHistoryScan
}

// nextName is the least blob name at or after from among the current
// blobs and the history.
func (c *container) nextName(from string) (string, bool) {
	name, ok := "", false
	c.blobs.AscendGreaterOrEqual(&Blob{Name: from}, func(b *Blob) bool {
		name, ok = b.Name, true
		return false
	})
	c.history.AscendGreaterOrEqual(&Blob{Name: from}, func(h *Blob) bool {
		if !ok || h.Name < name {
			name, ok = h.Name, true
		}
		return false
	})
	return name, ok
}

// RestoreHistory installs a history entry in an existing container.
func (s *Store) RestoreHistory(acct, cname string, b *Blob) error {
	a, c, err := s.lockCont(acct, cname)
	if err != nil {
		return fmt.Errorf("store: restoring snapshot or version of %q: container %q: %w", b.Name, cname, err)
	}
	defer a.mu.Unlock()
	c.history.ReplaceOrInsert(b)
	return nil
}
