package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/btree"
)

// Container soft delete. While the account's container retention (read from
// its service properties document by the caller's retention function) is on,
// Delete Container keeps the container, with every blob in it, as a deleted
// container for the retention period on the store's clock. A deleted
// container has a version; Restore Container (UndeleteContainer) brings a
// version back under its name as long as no live container has that name.
// A new container of the same name may be created meanwhile.
//
// The kept containers are account state: their own ordered set, apart from
// the live containers, so no live operation ever sees them. Expiry is
// evaluated when they are read (an expired container is invisible at once)
// and they are purged, a bounded number at a time, by later container
// deletes and restores of the account. Every step is a committed change, so
// it replicates to the secondary in commit order and is durable with a data
// directory.

// Change kinds of container soft delete. Their values stand apart from the
// kinds of store.go so that kinds added there never collide with them in a
// replication log or a data directory.
const (
	// SoftDeleteContainer moves a live container, with its blobs, into
	// the deleted set; Props is the deleted container (Props.Deleted set).
	SoftDeleteContainer ChangeKind = 64 + iota
	// UndeleteContainer moves deleted container version ContainerVersion
	// back under its name; Props is the live container it becomes.
	UndeleteContainer
	// PurgeDeletedContainer drops deleted container version
	// ContainerVersion for good.
	PurgeDeletedContainer
)

// MaxPurgePerWrite bounds the expired deleted containers one container
// delete or restore purges after its own change.
const MaxPurgePerWrite = 8

// ContainerDeletion describes a soft-deleted container.
type ContainerDeletion struct {
	// Version tells this deleted container from others of the same name:
	// 16 hex digits, as Azure's.
	Version string
	// Time is when it was deleted; Expiry when it is purged.
	Time   time.Time
	Expiry time.Time
}

// RemainingDays is Azure's RemainingRetentionDays at now: the days left
// before the container is purged, rounded up.
func (d *ContainerDeletion) RemainingDays(now time.Time) int {
	left := d.Expiry.Sub(now)
	if left <= 0 {
		return 0
	}
	const day = 24 * time.Hour
	return int((left + day - 1) / day)
}

// deletedSet is an account's soft-deleted containers. Its trees are
// created on first use.
type deletedSet struct {
	byName   *btree.BTreeG[*container] // by name, then version
	byExpiry *btree.BTreeG[*container] // by expiry, then name and version
	// last is the highest version number handed out or seen, so that
	// versions stay unique when commit times share a 100 ns tick.
	last uint64
}

func deletedLess(a, b *container) bool {
	if a.name != b.name {
		return a.name < b.name
	}
	return a.props.Deleted.Version < b.props.Deleted.Version
}

func expiryLess(a, b *container) bool {
	if ea, eb := a.props.Deleted.Expiry, b.props.Deleted.Expiry; !ea.Equal(eb) {
		return ea.Before(eb)
	}
	return deletedLess(a, b)
}

func (d *deletedSet) init() {
	if d.byName == nil {
		d.byName = btree.NewG(btreeDegree, deletedLess)
		d.byExpiry = btree.NewG(btreeDegree, expiryLess)
	}
}

func (d *deletedSet) add(c *container) {
	d.init()
	d.byName.ReplaceOrInsert(c)
	d.byExpiry.ReplaceOrInsert(c)
	if n, err := strconv.ParseUint(c.props.Deleted.Version, 16, 64); err == nil && n > d.last {
		d.last = n
	}
}

func (d *deletedSet) get(name, version string) *container {
	if d.byName == nil {
		return nil
	}
	c, _ := d.byName.Get(deletedKey(name, version))
	return c
}

func (d *deletedSet) remove(c *container) {
	if d.byName == nil {
		return
	}
	d.byName.Delete(c)
	d.byExpiry.Delete(c)
}

// deletedKey is a search key for deleted container version of name.
func deletedKey(name, version string) *container {
	return &container{name: name, props: &Container{Name: name, Deleted: &ContainerDeletion{Version: version}}}
}

// fileTimeEpoch is 1601-01-01, the epoch of Windows file times, which
// Azure's container versions appear to count in 100 ns ticks.
var fileTimeEpoch = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// nextVersion returns a new version for a container deleted at t: its
// file time in hex, or one more than the last version when that is not
// greater.
func (d *deletedSet) nextVersion(t time.Time) string {
	// Whole seconds first: the nanosecond span since 1601 overflows a
	// time.Duration.
	secs := t.Unix() - fileTimeEpoch.Unix()
	n := uint64(secs)*10_000_000 + uint64(t.Nanosecond()/100)
	if n <= d.last {
		n = d.last + 1
	}
	d.last = n
	return fmt.Sprintf("%016X", n)
}

// RetentionFunc reads the container retention from an account's service
// properties document (nil when none was stored): 0 when soft delete is
// off.
type RetentionFunc func(serviceDoc []byte) time.Duration

// DeleteContainerRetained is Delete Container (with the request's lease id,
// as DeleteContainerLeased) that keeps the container as a deleted container
// when retention, evaluated on the account's service properties under the
// same lock as the delete, gives a positive period. Otherwise (retention
// nil or not positive) it deletes for good: DeleteContainer and
// DeleteContainerLeased are this with no retention.
func (s *Store) DeleteContainerRetained(acct, name, leaseID string, cond Conditions, retention RetentionFunc) error {
	a, c, err := s.lockCont(acct, name)
	if err != nil {
		return err
	}
	defer a.mu.Unlock()
	if err := cond.checkWrite(true, c.props.ETag, c.props.LastModified); err != nil {
		return err
	}
	if err := c.props.Lease.At(s.now()).checkContainer(leaseID, true); err != nil {
		return err
	}
	keep := time.Duration(0)
	if retention != nil {
		keep = retention(a.service)
	}
	// The retention runs from the clock's reading: the commit time may
	// stand a few nanoseconds ahead of it (see Change.Time).
	expiry := s.now().UTC().Add(keep)
	err = s.commit(a, func(t time.Time, _ string) Change {
		a.containers.Delete(c)
		for _, st := range c.staged {
			a.stagedBytes -= st.bytes
		}
		if keep <= 0 {
			return Change{Kind: DeleteContainer, Account: acct, Container: name}
		}
		// Uncommitted blocks are discarded with the container, as a
		// delete without retention does; the committed blobs are kept.
		c.staged = map[string]*stagedBlocks{}
		p := *c.props
		p.Lease = Lease{}
		p.Deleted = &ContainerDeletion{Version: a.deleted.nextVersion(t), Time: t, Expiry: expiry}
		c.props = &p
		a.deleted.add(c)
		return Change{Kind: SoftDeleteContainer, Account: acct, Container: name, ContainerVersion: p.Deleted.Version, Props: &p}
	})
	if err != nil {
		return err
	}
	s.purgeExpired(a, acct)
	return nil
}

// UndeleteContainer restores deleted container version of name (Restore
// Container) with its blobs and properties. It fails with
// ErrContainerAlreadyExists while a live container has the name, and with
// ErrContainerNotFound when no such deleted version is kept.
func (s *Store) UndeleteContainer(acct, name, version string) (*Container, error) {
	if err := s.failed.get(); err != nil {
		return nil, err // see lockCont
	}
	a := s.acct(acct, false)
	if a == nil {
		return nil, ErrContainerNotFound
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.cont(name); err == nil {
		return nil, ErrContainerAlreadyExists
	}
	d := a.deleted.get(name, version)
	if d == nil || !s.now().Before(d.props.Deleted.Expiry) {
		return nil, ErrContainerNotFound
	}
	p := *d.props
	p.Deleted = nil
	if err := s.commit(a, func(time.Time, string) Change {
		a.deleted.remove(d)
		d.props = &p
		a.containers.ReplaceOrInsert(d)
		return Change{Kind: UndeleteContainer, Account: acct, Container: name, ContainerVersion: version, Props: &p}
	}); err != nil {
		return nil, err
	}
	s.purgeExpired(a, acct)
	return &p, nil
}

// purgeExpired drops up to MaxPurgePerWrite expired deleted containers of
// a, each as its own change. Callers hold a's write lock (released and
// taken again while each change becomes durable). A failure has failed the
// store and been logged; the caller's own write stands.
func (s *Store) purgeExpired(a *account, acct string) {
	now := s.now()
	for range MaxPurgePerWrite {
		if a.deleted.byExpiry == nil {
			return
		}
		d, ok := a.deleted.byExpiry.Min()
		if !ok || now.Before(d.props.Deleted.Expiry) {
			return
		}
		if err := s.commit(a, func(time.Time, string) Change {
			a.deleted.remove(d)
			return Change{Kind: PurgeDeletedContainer, Account: acct, Container: d.name, ContainerVersion: d.props.Deleted.Version}
		}); err != nil {
			return
		}
	}
}

// DeletedContainersPending counts an account's deleted containers still in
// memory, expired or not (for tests of the purge).
func (s *Store) DeletedContainersPending(acct string) int {
	a := s.acct(acct, false)
	if a == nil {
		return 0
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.deleted.byName == nil {
		return 0
	}
	return a.deleted.byName.Len()
}

// deletedMarkerSep separates a name from a version in the marker of a
// listing that includes deleted containers. Container names never hold it.
const deletedMarkerSep = "\x00"

// ListContainersWithDeleted is ListContainers with the deleted containers
// that have not expired (List Containers include=deleted): each name's live
// container first, then its deleted versions in the order they were
// deleted. A deleted entry's Deleted field is set. NextMarker may name a
// deleted version; it is opaque to callers.
func (s *Store) ListContainersWithDeleted(acct string, o ListOptions) ContainerPage {
	var page ContainerPage
	a := s.acct(acct, false)
	if a == nil {
		return page
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.deleted.byName == nil || a.deleted.byName.Len() == 0 {
		if strings.Contains(o.Marker, deletedMarkerSep) {
			o.Marker, _, _ = strings.Cut(o.Marker, deletedMarkerSep)
			o.Marker += deletedMarkerSep // after the live container
		}
		return s.listLive(a, o)
	}
	now := s.now()
	start := o.start()
	startName, startVersion, _ := strings.Cut(start, deletedMarkerSep)
	limit := o.max()
	var live, dead []*container
	// Each source contributes at most limit+1 entries; merging them gives
	// the page and the next entry, whose key is the marker.
	a.containers.AscendGreaterOrEqual(&container{name: startName}, func(c *container) bool {
		if !strings.HasPrefix(c.name, o.Prefix) || len(live) > limit {
			return false
		}
		if c.name == startName && start != startName {
			return true // the marker names a deleted version after it
		}
		live = append(live, c)
		return true
	})
	a.deleted.byName.AscendGreaterOrEqual(deletedKey(startName, startVersion), func(c *container) bool {
		if !strings.HasPrefix(c.name, o.Prefix) || len(dead) > limit {
			return false
		}
		if now.Before(c.props.Deleted.Expiry) {
			dead = append(dead, c)
		}
		return true
	})
	li, di := 0, 0
	for li < len(live) || di < len(dead) {
		var next *container
		if di == len(dead) || (li < len(live) && live[li].name <= dead[di].name) {
			next = live[li]
			li++
		} else {
			next = dead[di]
			di++
		}
		if len(page.Containers) == limit {
			page.NextMarker = next.name
			if next.props.Deleted != nil {
				page.NextMarker += deletedMarkerSep + next.props.Deleted.Version
			}
			break
		}
		page.Containers = append(page.Containers, next.props)
	}
	if s.testHookListed != nil {
		s.testHookListed()
	}
	return page
}

// listLive lists the live containers only; callers hold a's read lock.
func (s *Store) listLive(a *account, o ListOptions) ContainerPage {
	var page ContainerPage
	limit := o.max()
	a.containers.AscendGreaterOrEqual(&container{name: o.start()}, func(c *container) bool {
		if !strings.HasPrefix(c.name, o.Prefix) {
			return false
		}
		if len(page.Containers) == limit {
			page.NextMarker = c.name
			return false
		}
		page.Containers = append(page.Containers, c.props)
		return true
	})
	return page
}

// DeletedContainerBlobs returns one page of the blobs, snapshots and
// previous versions (IsHistory) of deleted container version of name, whether or not it has expired, for copying it to a new
// secondary; ErrContainerNotFound when it is not kept.
func (s *Store) DeletedContainerBlobs(acct, name, version string, o ListOptions) (BlobPage, error) {
	var page BlobPage
	a := s.acct(acct, false)
	if a == nil {
		return page, ErrContainerNotFound
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	d := a.deleted.get(name, version)
	if d == nil {
		return page, ErrContainerNotFound
	}
	// With their snapshots and previous versions, as a live container's
	// are copied.
	o.IncludeSnapshots, o.IncludeVersions = true, true
	return s.listBlobsWithHistory(d, o), nil
}

// DeletedContainers returns every deleted container of an account still
// kept, expired or not, in name and version order (for copying the
// account to a new secondary).
func (s *Store) DeletedContainers(acct string) []*Container {
	a := s.acct(acct, false)
	if a == nil {
		return nil
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.deleted.byName == nil {
		return nil
	}
	out := make([]*Container, 0, a.deleted.byName.Len())
	a.deleted.byName.Ascend(func(c *container) bool {
		out = append(out, c.props)
		return true
	})
	return out
}

// applyDeleted replays a container soft delete change of the primary.
// Callers hold a's write lock.
func (a *account) applyDeleted(ch Change) {
	switch ch.Kind {
	case SoftDeleteContainer:
		c, err := a.cont(ch.Container)
		if err != nil {
			c = newContainer(ch.Props)
		} else {
			a.containers.Delete(c)
			for _, st := range c.staged {
				a.stagedBytes -= st.bytes
			}
			c.staged = map[string]*stagedBlocks{}
		}
		c.props = ch.Props
		a.deleted.add(c)
	case UndeleteContainer:
		c := a.deleted.get(ch.Container, ch.ContainerVersion)
		if c == nil {
			c = newContainer(ch.Props)
		} else {
			a.deleted.remove(c)
		}
		c.props = ch.Props
		a.containers.ReplaceOrInsert(c)
	case PurgeDeletedContainer:
		if c := a.deleted.get(ch.Container, ch.ContainerVersion); c != nil {
			a.deleted.remove(c)
		}
	}
}

// RestoreDeletedContainer installs a deleted container (p.Deleted set)
// when a store is rebuilt from durable records.
func (s *Store) RestoreDeletedContainer(acct string, p *Container) error {
	if p.Deleted == nil {
		return fmt.Errorf("store: restoring deleted container %q: not marked deleted", p.Name)
	}
	a := s.acct(acct, true)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deleted.add(newContainer(p))
	return nil
}

// RestoreDeletedBlob installs a blob, or a snapshot or previous version of
// one (b.IsHistory()), of a deleted container installed by
// RestoreDeletedContainer.
func (s *Store) RestoreDeletedBlob(acct, cname, version string, b *Blob) error {
	a := s.acct(acct, false)
	if a == nil {
		return fmt.Errorf("store: restoring blob %q of deleted container %q: %w", b.Name, cname, ErrContainerNotFound)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	d := a.deleted.get(cname, version)
	if d == nil {
		return fmt.Errorf("store: restoring blob %q of deleted container %q version %s: %w", b.Name, cname, version, ErrContainerNotFound)
	}
	if b.IsHistory() {
		d.history.ReplaceOrInsert(b)
		return nil
	}
	d.blobs.ReplaceOrInsert(b)
	return nil
}
