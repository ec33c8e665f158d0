package store

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/btree"
	"github.com/google/uuid"
)

// ChangeKind says what a Change does.
type ChangeKind int

// Change kinds.
const (
	PutBlob ChangeKind = iota + 1
	DeleteBlob
	PutContainer
	DeleteContainer
	SetServiceProperties
	// UpdateHistory changes only a container's history of snapshots and
	// previous versions (history.go).
	UpdateHistory
)

// Change is one committed write, as the replication feed carries it. The
// values it points to are immutable.
type Change struct {
	Seq uint64
	// Time is when the write committed, unique and strictly increasing
	// across the store's changes: the Last-Modified time of the data it
	// wrote. Several writes within one tick of the clock (or while a
	// manual clock stands still) are told apart by a nanosecond each, so
	// Time may run a little ahead of Clock.
	Time time.Time
	// Clock is the store clock's reading when the write committed, before
	// that tie-breaking: replication lag is counted from it.
	Clock     time.Time
	Kind      ChangeKind
	Account   string
	Container string
	BlobName  string
	Blob      *Blob      // PutBlob
	Props     *Container // PutContainer
	Service   []byte     // SetServiceProperties

	// ContainerVersion names a deleted container (deletedcontainers.go).
	ContainerVersion string `json:",omitempty"`
	// History and DropHistory update the container's history of
	// snapshots and previous versions (history.go), with any kind of
	// blob change: DropHistory names entries removed, History the entries
	// added. Both are bounded by MaxHistoryPerBlob.
	History     []*Blob
	DropHistory []HistoryKey
}

// Limits the store enforces, as Azure documents them for block blobs.
const (
	// MaxUncommittedBlocks is the most uncommitted blocks a blob may have.
	MaxUncommittedBlocks = 100000
	// MaxCommittedBlocks is the most blocks a committed block list may name.
	MaxCommittedBlocks = 50000
	// StagedBlockTTL is how long uncommitted blocks are kept after the last
	// Put Block on their blob: Azure discards them after a week without a
	// successful Put Block or Put Block List. It runs on the store's clock.
	StagedBlockTTL = 7 * 24 * time.Hour
	// DefaultMaxStagedBytes caps the uncommitted block bytes one account may
	// hold when Options.MaxStagedBytes is zero.
	DefaultMaxStagedBytes = 8 << 30
)

// Options configure a Store.
type Options struct {
	// Now is the time source; time.Now when nil.
	Now func() time.Time
	// OnCommit, when set, is called for every committed write, in commit
	// order. It runs while the store orders commits, so it must not block
	// or call back into the store.
	OnCommit func(Change)
	// MaxStagedBytes caps the bytes of uncommitted blocks one account may
	// hold; DefaultMaxStagedBytes when zero, no cap when negative. A Put
	// Block beyond it fails with ErrStagedBytesExceeded.
	MaxStagedBytes int64
	// RehydrateDelay is how long a rehydration from the Archive tier
	// takes on the store's clock: DefaultRehydrateDelay when zero, none
	// when negative.
	RehydrateDelay time.Duration
	// Journal, when set, makes every write durable before it returns; the
	// store then hands each change to OnCommit only once it is durable,
	// from the journal's goroutine, still in commit order.
	Journal Journal
	// Files, when set, keeps bodies read by Store.ReadContent in content
	// files instead of memory.
	Files *Files
	// Logger receives durable-write failures; discarded when nil.
	Logger *slog.Logger
	// Versioning is the blob versioning switch (history.go), shared with
	// the stores given the same one; the store has its own, off, when nil.
	Versioning *VersioningSwitch
}

// Store is an in-memory set of storage accounts. It is safe for concurrent
// use.
//
// Locking: s.mu guards only the map of accounts, which never shrinks. Each
// account has its own lock, so work on one account never waits for another.
// s.commitMu orders commits across accounts: it is held only while a write
// takes its commit time, publishes its new state and hands its Change to
// OnCommit, which keeps the feed in commit order. The lock order is s.mu,
// then an account's lock, then s.commitMu. Listings copy at most one page
// of immutable values under the account's read lock and format it after
// releasing it.
type Store struct {
	mu        sync.RWMutex
	accounts  map[string]*account
	now       func() time.Time
	onCommit  func(Change)
	maxStaged int64
	journal   Journal
	files     *Files
	log       *slog.Logger
	failed    failState

	rehydrateDelay  time.Duration     // tier.go
	versioning      *VersioningSwitch // history.go
	testHistoryScan int               // history.go: replaces maxHistoryScan when set
	testFindScan    int               // tags.go: replaces MaxFindScan when set

	commitMu  sync.Mutex
	seq       uint64
	last      time.Time // the last commit time handed out
	lastClock time.Time // the latest clock reading behind a commit time

	// With a journal: the highest seq handed to OnCommit (or failed), for
	// FenceNow.
	pubMu     sync.Mutex
	pubCond   *sync.Cond
	published uint64

	// testHookListed, when set, runs while a listing holds its account's
	// read lock, after it has copied its page.
	testHookListed func()
}

type account struct {
	name        string
	mu          sync.RWMutex
	containers  *btree.BTreeG[*container]
	service     []byte
	stagedBytes int64 // bytes held by uncommitted blocks of every container
	// ops are uncommitted-block updates not yet handed to the journal
	// (only with one); guarded by mu.
	ops     []StagedOp
	journal bool
	deleted deletedSet // soft-deleted containers (deletedcontainers.go)
}

type container struct {
	name  string
	props *Container
	blobs *btree.BTreeG[*Blob] // ordered by Name
	// history holds snapshots, previous versions and soft-deleted blobs
	// (history.go, softdelete.go); sweepFrom is where the next sweep for
	// expired entries starts (nil: the beginning).
	history   *btree.BTreeG[*Blob]
	sweepFrom *Blob
	staged    map[string]*stagedBlocks
}

type stagedBlocks struct {
	order   []string
	blocks  map[string]Content
	bytes   int64
	touched time.Time // the last Put Block; the blocks expire StagedBlockTTL later
}

const btreeDegree = 32

func newAccount(name string, journal bool) *account {
	return &account{name: name, journal: journal, containers: btree.NewG(btreeDegree, func(a, b *container) bool { return a.name < b.name })}
}

func newContainer(props *Container) *container {
	return &container{
		name:    props.Name,
		props:   props,
		blobs:   btree.NewG(btreeDegree, func(a, b *Blob) bool { return a.Name < b.Name }),
		history: btree.NewG(btreeDegree, historyLess),
		staged:  map[string]*stagedBlocks{},
	}
}

// New returns an empty store.
func New(opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxStagedBytes == 0 {
		opts.MaxStagedBytes = DefaultMaxStagedBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{now: opts.Now, onCommit: opts.OnCommit, maxStaged: opts.MaxStagedBytes, accounts: map[string]*account{},
		journal: opts.Journal, files: opts.Files, log: opts.Logger}
	s.pubCond = sync.NewCond(&s.pubMu)
	if opts.RehydrateDelay == 0 {
		opts.RehydrateDelay = DefaultRehydrateDelay
	}
	s.rehydrateDelay = opts.RehydrateDelay
	s.versioning = opts.Versioning
	if s.versioning == nil {
		s.versioning = &VersioningSwitch{}
	}
	return s
}

// commit stamps a write and publishes it: it takes the next commit time,
// lets apply install the new state (apply returns the Change to publish,
// leaving Time zero to use the stamp) and hands the Change to OnCommit with
// the next sequence number. Callers hold the write lock of a, the account
// written.
//
// With a journal, the change (and a's pending uncommitted-block updates)
// is submitted in commit order and commit returns only once it is durable,
// having released a's lock while it waited (it holds it again on return);
// OnCommit sees it only then, so replication never carries a change the
// primary could lose. An error means the write is not durable; the store
// then refuses every later write (ErrStoreFailed).
func (s *Store) commit(a *account, apply func(t time.Time, etag string) Change) error {
	s.commitMu.Lock()
	if s.journal == nil {
		t, etag := s.stamp()
		c := apply(t, etag)
		s.seq++
		if c.Time.IsZero() {
			c.Time = t
		}
		c.Seq, c.Clock = s.seq, s.lastClock
		if s.onCommit != nil {
			s.onCommit(c)
		}
		s.commitMu.Unlock()
		return nil
	}
	if err := s.failed.get(); err != nil {
		s.commitMu.Unlock()
		return err
	}
	t, etag := s.stamp()
	c := apply(t, etag)
	s.seq++
	if c.Time.IsZero() {
		c.Time = t
	}
	c.Seq, c.Clock = s.seq, s.lastClock
	wait := s.journal.Submit(Record{Change: &c, Staged: a.takeOps()}, func(err error) {
		if err == nil && s.onCommit != nil {
			s.onCommit(c)
		}
		s.pubMu.Lock()
		s.published = max(s.published, c.Seq)
		s.pubCond.Broadcast()
		s.pubMu.Unlock()
	})
	s.commitMu.Unlock()
	// Wait for the disk without the account's lock, so that other writers
	// of the account commit meanwhile and share the next fsync (group
	// commit). The change is already in commit order, so it is durable
	// before any later change of this account, whatever that read.
	// Callers must not rely on the lock being held across commit: they
	// only return once it has.
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

// stamp returns a new, strictly increasing commit time and the ETag that
// goes with it. Callers hold s.commitMu.
func (s *Store) stamp() (time.Time, string) {
	t := s.now().UTC()
	if t.After(s.lastClock) {
		s.lastClock = t
	}
	if !t.After(s.last) {
		t = s.last.Add(time.Nanosecond)
	}
	s.last = t
	return t, formatETag(t)
}

// formatETag is the ETag of a write committed at t: "0x" and the
// nanoseconds since the epoch in upper-case hexadecimal, quoted.
func formatETag(t time.Time) string {
	const digits = "0123456789ABCDEF"
	var buf [20]byte // a quote, "0x", at most 16 digits, a quote
	i := len(buf) - 1
	buf[i] = '"'
	n := uint64(t.UnixNano())
	for {
		i--
		buf[i] = digits[n&0xF]
		n >>= 4
		if n == 0 {
			break
		}
	}
	i -= 3
	buf[i], buf[i+1], buf[i+2] = '"', '0', 'x'
	return string(buf[i:])
}

// acct returns the named account, creating it when create is set; nil when
// it does not exist.
func (s *Store) acct(name string, create bool) *account {
	s.mu.RLock()
	a := s.accounts[name]
	s.mu.RUnlock()
	if a != nil || !create {
		return a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a = s.accounts[name]; a == nil {
		a = newAccount(name, s.journal != nil)
		s.accounts[name] = a
	}
	return a
}

func (a *account) cont(name string) (*container, error) {
	p := containerProbes.Get().(*container)
	p.name = name
	c, ok := a.containers.Get(p)
	p.name = ""
	containerProbes.Put(p)
	if !ok {
		return nil, ErrContainerNotFound
	}
	return c, nil
}

func (c *container) blob(name string) *Blob {
	p := blobProbes.Get().(*Blob)
	p.Name = name
	b, _ := c.blobs.Get(p)
	p.Name = ""
	blobProbes.Put(p)
	return b
}

// Lookups in the name-ordered trees need an item holding only the name; a
// fresh one per lookup was the largest allocation of a small Get or Put
// Blob, so probes are reused.
var (
	containerProbes = sync.Pool{New: func() any { return new(container) }}
	blobProbes      = sync.Pool{New: func() any { return new(Blob) }}
)

// lockCont write-locks the account and finds the container. On success the
// caller must unlock a. It is for writes: a failed store (Failed) refuses
// them before any conflict is computed from its memory, which may hold the
// change whose durable write failed.
func (s *Store) lockCont(acct, cname string) (*account, *container, error) {
	if err := s.failed.get(); err != nil {
		return nil, nil, err
	}
	a := s.acct(acct, false)
	if a == nil {
		return nil, nil, ErrContainerNotFound
	}
	a.mu.Lock()
	c, err := a.cont(cname)
	if err != nil {
		a.mu.Unlock()
		return nil, nil, err
	}
	return a, c, nil
}

// rlockCont is lockCont with the read lock; the caller must RUnlock a.
func (s *Store) rlockCont(acct, cname string) (*account, *container, error) {
	a := s.acct(acct, false)
	if a == nil {
		return nil, nil, ErrContainerNotFound
	}
	a.mu.RLock()
	c, err := a.cont(cname)
	if err != nil {
		a.mu.RUnlock()
		return nil, nil, err
	}
	return a, c, nil
}

// ---- Service ----

// ServiceProperties returns the stored Set Service Properties document, or
// nil when none was stored.
func (s *Store) ServiceProperties(acct string) []byte {
	a := s.acct(acct, false)
	if a == nil {
		return nil
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.service
}

// SetServiceProperties stores the service properties document doc.
func (s *Store) SetServiceProperties(acct string, doc []byte) {
	_ = s.UpdateServiceProperties(acct, func([]byte) ([]byte, error) { return doc, nil })
}

// UpdateServiceProperties replaces the account's service properties
// document with update(current) atomically: concurrent updates are applied
// one after the other, so none is lost. current is nil when none was
// stored. An error from update is returned and nothing changes.
func (s *Store) UpdateServiceProperties(acct string, update func(current []byte) ([]byte, error)) error {
	a := s.acct(acct, true)
	a.mu.Lock()
	defer a.mu.Unlock()
	doc, err := update(a.service)
	if err != nil {
		return err
	}
	return s.commit(a, func(time.Time, string) Change {
		a.service = doc
		return Change{Kind: SetServiceProperties, Account: acct, Service: doc}
	})
}

// ListOptions page through a listing. Marker is the name to resume from
// (inclusive), as returned in NextMarker.
type ListOptions struct {
	Prefix     string
	Delimiter  string
	Marker     string
	MaxResults int // <= 0 or > MaxListResults means MaxListResults
	// IncludeUncommitted (List Blobs include=uncommittedblobs) also lists
	// the blobs that have only uncommitted blocks (uncommitted.go).
	IncludeUncommitted bool
	// IncludeSnapshots and IncludeVersions (include=snapshots,versions)
	// also list snapshots and previous versions (history.go), and
	// IncludeDeleted (include=deleted) soft-deleted blobs and, with the
	// others, soft-deleted snapshots and versions (softdelete.go).
	IncludeSnapshots, IncludeVersions, IncludeDeleted bool
}

// MaxListResults is the most entries a listing page holds, as in Azure.
const MaxListResults = 5000

func (o ListOptions) max() int {
	if o.MaxResults <= 0 || o.MaxResults > MaxListResults {
		return MaxListResults
	}
	return o.MaxResults
}

// start is the first name a listing may return.
func (o ListOptions) start() string { return max(o.Marker, o.Prefix) }

// ContainerPage is one page of List Containers.
type ContainerPage struct {
	Containers []*Container
	NextMarker string
}

// ListContainers lists an account's containers in name order. It copies
// one page of immutable values and holds the account's lock only for that.
func (s *Store) ListContainers(acct string, o ListOptions) ContainerPage {
	var page ContainerPage
	a := s.acct(acct, false)
	if a == nil {
		return page
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	page = s.listLive(a, o)
	if s.testHookListed != nil {
		s.testHookListed()
	}
	return page
}

// ---- Containers ----

// CreateContainer creates a container.
func (s *Store) CreateContainer(acct, name string, meta map[string]string, publicAccess string) (*Container, error) {
	if err := s.failed.get(); err != nil {
		return nil, err // see lockCont
	}
	a := s.acct(acct, true)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.cont(name); err == nil {
		return nil, ErrContainerAlreadyExists
	}
	var p *Container
	if err := s.commit(a, func(t time.Time, etag string) Change {
		p = &Container{Name: name, Metadata: meta, PublicAccess: publicAccess, ETag: etag, LastModified: t}
		a.containers.ReplaceOrInsert(newContainer(p))
		return Change{Kind: PutContainer, Account: acct, Container: name, Props: p}
	}); err != nil {
		return nil, err
	}
	return p, nil
}

// Container returns a container's properties.
func (s *Store) Container(acct, name string) (*Container, error) {
	a, c, err := s.rlockCont(acct, name)
	if err != nil {
		return nil, err
	}
	defer a.mu.RUnlock()
	return c.props, nil
}

// DeleteContainer deletes a container and every blob in it. A container
// with an active lease is deleted only by DeleteContainerLeased with its
// lease id.
func (s *Store) DeleteContainer(acct, name string, cond Conditions) error {
	return s.deleteContainer(acct, name, "", cond)
}

func (s *Store) deleteContainer(acct, name, leaseID string, cond Conditions) error {
	return s.DeleteContainerRetained(acct, name, leaseID, cond, nil) // no retention: for good
}

// updateContainer applies fn to a copy of the container's properties and
// publishes the result with a new ETag.
func (s *Store) updateContainer(acct, name, leaseID string, cond Conditions, fn func(p *Container)) (*Container, error) {
	a, c, err := s.lockCont(acct, name)
	if err != nil {
		return nil, err
	}
	defer a.mu.Unlock()
	if err := cond.checkWrite(true, c.props.ETag, c.props.LastModified); err != nil {
		return nil, err
	}
	if err := c.props.Lease.At(s.now()).checkContainer(leaseID, false); err != nil {
		return nil, err
	}
	p := *c.props
	fn(&p)
	if err := s.commit(a, func(t time.Time, etag string) Change {
		p.LastModified, p.ETag = t, etag
		c.props = &p
		return Change{Kind: PutContainer, Account: acct, Container: name, Props: &p}
	}); err != nil {
		return nil, err
	}
	return &p, nil
}

// SetContainerMetadata replaces a container's metadata.
func (s *Store) SetContainerMetadata(acct, name string, meta map[string]string, cond Conditions) (*Container, error) {
	return s.SetContainerMetadataLeased(acct, name, meta, "", cond)
}

// SetContainerACL replaces a container's public access level and stored
// access policies.
func (s *Store) SetContainerACL(acct, name, publicAccess string, acl []SignedIdentifier, cond Conditions) (*Container, error) {
	return s.SetContainerACLLeased(acct, name, publicAccess, acl, "", cond)
}

// ---- Blobs ----

// BlobPage is one page of List Blobs. With a delimiter, Prefixes holds the
// virtual directories; blobs and prefixes interleave in name order. The
// values are immutable snapshots: the page stays consistent while it is
// written out, whatever writes happen meanwhile.
type BlobPage struct {
	Blobs      []*Blob
	Prefixes   []string
	NextMarker string
}

// ListBlobs lists a container's blobs in name order. It holds the
// account's read lock only while it copies one page (at most
// MaxListResults entries), seeking past each virtual directory instead of
// walking the blobs inside it.
func (s *Store) ListBlobs(acct, cname string, o ListOptions) (BlobPage, error) {
	var page BlobPage
	a, c, err := s.rlockCont(acct, cname)
	if err != nil {
		return page, err
	}
	defer a.mu.RUnlock()
	if o.IncludeSnapshots || o.IncludeVersions || o.IncludeDeleted {
		page = s.listBlobsWithHistory(c, o)
		if s.testHookListed != nil {
			s.testHookListed()
		}
		return page, nil
	}
	if o.IncludeUncommitted {
		page = s.listBlobsWithUncommitted(c, o)
		if s.testHookListed != nil {
			s.testHookListed()
		}
		return page, nil
	}
	limit, count := o.max(), 0
	from, done := o.start(), false
	for !done {
		done = true
		c.blobs.AscendGreaterOrEqual(&Blob{Name: from}, func(b *Blob) bool {
			n := b.Name
			if !strings.HasPrefix(n, o.Prefix) {
				return false
			}
			if count == limit {
				page.NextMarker = n
				return false
			}
			count++
			if o.Delimiter != "" {
				if i := strings.Index(n[len(o.Prefix):], o.Delimiter); i >= 0 {
					p := n[:len(o.Prefix)+i+len(o.Delimiter)]
					page.Prefixes = append(page.Prefixes, p)
					// Resume after every name that starts with p.
					if next, ok := successor(p); ok {
						from, done = next, false
					}
					return false
				}
			}
			page.Blobs = append(page.Blobs, b)
			return true
		})
	}
	if s.testHookListed != nil {
		s.testHookListed()
	}
	return page, nil
}

// successor returns the least string greater than every string that starts
// with p, or false when there is none (p is empty or all 0xff bytes).
func successor(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// ReadOptions qualify a read of a blob.
type ReadOptions struct {
	Conditions Conditions
	LeaseID    string
	// IfTags is the x-ms-if-tags condition (tags.go); nil when absent.
	IfTags TagCondition
	// Snapshot or VersionID names the snapshot or version to read
	// instead of the current blob (history.go).
	Snapshot, VersionID string
}

// Blob returns the current version of a blob, or the snapshot or version
// o names, after checking read conditions. The returned value is an
// immutable snapshot; a lease that time has moved on (expired, broken) is
// evaluated at the current time, and a blob never leased keeps the zero
// Lease, which Lease.At reads as available.
func (s *Store) Blob(acct, cname, name string, o ReadOptions) (*Blob, error) {
	a, c, err := s.rlockCont(acct, cname)
	if err != nil {
		return nil, err
	}
	defer a.mu.RUnlock()
	b, current := c.find(name, o.Snapshot, o.VersionID)
	if b == nil {
		return nil, ErrBlobNotFound
	}
	if err := o.Conditions.checkRead(b.ETag, b.LastModified); err != nil {
		return nil, err
	}
	if err := o.IfTags.check(b); err != nil {
		return nil, err
	}
	if !current {
		return b, nil // snapshots and previous versions have no lease
	}
	lease := b.Lease.At(s.now())
	if err := lease.checkRead(o.LeaseID); err != nil {
		return nil, err
	}
	// A blob never leased keeps the zero Lease, which At reads as
	// available: only a lease that time has moved on needs a copy (every
	// reader goes through Lease.At).
	if lease != b.Lease && b.Lease.State != "" {
		b = b.clone()
		b.Lease = lease
	}
	return b, nil
}

// WriteOptions qualify a write of a blob.
type WriteOptions struct {
	Conditions Conditions
	LeaseID    string
	// IfTags is the x-ms-if-tags condition (tags.go); nil when absent.
	IfTags TagCondition
	// Tags and Tier are the index tags and access tier ("" for inferred)
	// of the blob a creating write (Put Blob, Put Block List, Copy Blob)
	// makes; other writes keep the blob's own.
	Tags map[string]string
	Tier string

	// Retain is the account's soft delete retention (softdelete.go): when
	// positive, a write that replaces a blob that keeps no version keeps
	// its old state as a soft-deleted snapshot for that long.
	Retain time.Duration

	// newVersion: the write makes a new version of the blob although it
	// does not create it (Set Blob Metadata).
	newVersion bool
}

// writeBlob runs the common part of every blob write under the account
// lock: find the container and the current version, check conditions and
// lease, let build produce the new version, stamp and publish it.
func (s *Store) writeBlob(acct, cname, name string, o WriteOptions, create bool, build func(cur *Blob, a *account, c *container) (*Blob, error)) (*Blob, error) {
	a, c, err := s.lockCont(acct, cname)
	if err != nil {
		return nil, err
	}
	defer a.mu.Unlock()
	cur := c.blob(name)
	if cur == nil && !create {
		return nil, ErrBlobNotFound
	}
	now := s.now()
	if cur != nil {
		if create && o.Conditions.IfNoneMatch == "*" {
			return nil, ErrBlobAlreadyExists
		}
		if err := o.Conditions.checkWrite(true, cur.ETag, cur.LastModified); err != nil {
			return nil, err
		}
		if err := cur.Lease.At(now).checkWrite(o.LeaseID); err != nil {
			return nil, err
		}
		if !create && cur.archived(now) {
			return nil, ErrBlobArchived
		}
	} else {
		if err := o.Conditions.checkWrite(false, "", time.Time{}); err != nil {
			return nil, err
		}
		if o.LeaseID != "" {
			return nil, ErrLeaseNotPresent
		}
	}
	if err := o.IfTags.check(cur); err != nil {
		return nil, err
	}
	newVersion := create || o.newVersion
	if newVersion {
		if err := c.checkVersionRoom(name, cur, o.Retain > 0 || s.Versioning(), now); err != nil {
			return nil, err
		}
	}
	b, err := build(cur, a, c)
	if err != nil {
		return nil, err
	}
	if cur != nil {
		b.Name = cur.Name // the name the tree already holds
	} else {
		// name is often a slice of the request's path: keep only its bytes.
		b.Name = strings.Clone(name)
	}
	b.Headers = internHeaders(b.Headers, cur)
	if err := s.commit(a, func(t time.Time, etag string) Change {
		var hist []*Blob
		if newVersion {
			switch {
			case cur != nil && cur.VersionID == "" && s.Versioning():
				hist = append(hist, c.unversionedAsVersion(cur))
			case cur != nil && cur.VersionID == "" && o.Retain > 0:
				hist = append(hist, c.overwrittenSnapshot(cur, t, now, o.Retain))
			}
			hist = append(hist, s.versionWrite(c, name, cur, b, t)...)
		}
		b.LastModified, b.ETag = t, etag
		if create {
			o.newBlobAttributes(b, t)
		}
		if cur != nil {
			b.Created = cur.Created
			b.Lease = cur.Lease.At(now)
		} else {
			b.Created = b.LastModified
		}
		c.blobs.ReplaceOrInsert(b)
		return Change{Kind: PutBlob, Account: acct, Container: cname, BlobName: name, Blob: b, History: hist}
	}); err != nil {
		return nil, err
	}
	return b, nil
}

// dropStaged discards the uncommitted blocks of a blob. Callers hold the
// account's write lock.
func (a *account) dropStaged(c *container, name string) {
	if st := c.staged[name]; st != nil {
		a.stagedBytes -= st.bytes
		delete(c.staged, name)
		if a.journal {
			a.ops = append(a.ops, StagedOp{Account: a.name, Container: c.name, Blob: name, Drop: true})
		}
	}
}

// liveStaged returns the uncommitted blocks of a blob, or nil when there
// are none or they have expired at now.
func (c *container) liveStaged(name string, now time.Time) *stagedBlocks {
	st := c.staged[name]
	if st == nil || now.Sub(st.touched) >= StagedBlockTTL {
		return nil
	}
	return st
}

// sweepStaged discards every expired set of uncommitted blocks of the
// account. Callers hold the account's write lock.
func (a *account) sweepStaged(now time.Time) {
	a.containers.Ascend(func(c *container) bool {
		for name, st := range c.staged {
			if now.Sub(st.touched) >= StagedBlockTTL {
				a.dropStaged(c, name)
			}
		}
		return true
	})
}

// PutBlob writes a whole block blob (Put Blob).
func (s *Store) PutBlob(acct, cname, name string, content Content, h HTTPHeaders, meta map[string]string, o WriteOptions) (*Blob, error) {
	return s.writeBlob(acct, cname, name, o, true, func(_ *Blob, a *account, c *container) (*Blob, error) {
		a.dropStaged(c, name)
		return &Blob{Content: content, Headers: h, Metadata: meta}, nil
	})
}

// StageBlock stores an uncommitted block (Put Block). As in Azure, every
// uncommitted block of a blob must have an id of the same length, else
// ErrInvalidBlobOrBlock; a blob holds at most MaxUncommittedBlocks of them;
// and they are discarded StagedBlockTTL after the blob's last Put Block.
// The account's uncommitted bytes are capped by Options.MaxStagedBytes.
// Staging does not change the committed blob, so it is not replicated.
func (s *Store) StageBlock(acct, cname, name, blockID string, content Content, leaseID string) error {
	if !validBlockID(blockID) {
		return ErrInvalidBlockID
	}
	a, c, err := s.lockCont(acct, cname)
	if err != nil {
		return err
	}
	defer a.mu.Unlock()
	now := s.now()
	if cur := c.blob(name); cur != nil {
		if err := cur.Lease.At(now).checkWrite(leaseID); err != nil {
			return err
		}
		if err := checkBlockBlob(cur); err != nil {
			return err
		}
	} else if leaseID != "" {
		return ErrLeaseNotPresent
	}
	if c.liveStaged(name, now) == nil {
		a.dropStaged(c, name) // expired
	}
	st := c.staged[name]
	old, replacing := Content{}, false
	if st != nil {
		old, replacing = st.blocks[blockID]
		if !replacing {
			// Azure: every uncommitted block of a blob has an id of
			// the same length.
			if len(st.order) > 0 && !sameIDLength(st.order[0], blockID) {
				return ErrInvalidBlobOrBlock
			}
			if len(st.order) >= MaxUncommittedBlocks {
				return ErrBlockCountExceeded
			}
		}
	}
	grow := content.Size() - old.Size()
	if s.maxStaged >= 0 && a.stagedBytes+grow > s.maxStaged {
		a.sweepStaged(now)
		if a.stagedBytes+grow > s.maxStaged {
			return ErrStagedBytesExceeded
		}
		st = c.staged[name] // the sweep never drops this blob's live blocks
	}
	if s.journal != nil {
		if err := s.failed.get(); err != nil {
			return err
		}
	}
	if st == nil {
		st = &stagedBlocks{blocks: map[string]Content{}}
		c.staged[name] = st
	}
	index := len(st.order)
	if !replacing {
		st.order = append(st.order, blockID)
	} else if a.journal {
		index = slices.Index(st.order, blockID)
	}
	st.blocks[blockID] = content
	st.bytes += grow
	st.touched = now
	a.stagedBytes += grow
	if !a.journal {
		return nil
	}
	a.ops = append(a.ops, StagedOp{Account: acct, Container: cname, Blob: name, BlockID: blockID, Index: index, Content: content, Touched: now})
	return s.journalWait(a, Record{Staged: a.takeOps()}, nil)
}

// BlockListMode says where Put Block List looks up a block id.
type BlockListMode int

// Block list modes.
const (
	BlockCommitted BlockListMode = iota + 1
	BlockUncommitted
	BlockLatest
)

// BlockRef is one entry of a Put Block List request.
type BlockRef struct {
	ID   string
	Mode BlockListMode
}

// CommitBlockList commits a block list (Put Block List). Uncommitted blocks
// not named in the list are discarded, as Azure does. A list of more than
// MaxCommittedBlocks entries is ErrBlockListTooLong.
func (s *Store) CommitBlockList(acct, cname, name string, refs []BlockRef, h HTTPHeaders, meta map[string]string, o WriteOptions) (*Blob, error) {
	if len(refs) > MaxCommittedBlocks {
		return nil, ErrBlockListTooLong
	}
	return s.writeBlob(acct, cname, name, o, true, func(cur *Blob, a *account, c *container) (*Blob, error) {
		if err := checkBlockBlob(cur); err != nil {
			return nil, err
		}
		committed := map[string]Content{}
		if cur != nil {
			for _, b := range cur.Blocks {
				committed[b.ID] = b.Content
			}
		}
		var staged map[string]Content
		if st := c.liveStaged(name, s.now()); st != nil {
			staged = st.blocks
		}
		blocks := make([]Block, 0, len(refs))
		parts := make([]Content, 0, len(refs))
		for _, r := range refs {
			var (
				data Content
				ok   bool
			)
			switch r.Mode {
			case BlockCommitted:
				data, ok = committed[r.ID]
			case BlockUncommitted:
				data, ok = staged[r.ID]
			default:
				if data, ok = staged[r.ID]; !ok {
					data, ok = committed[r.ID]
				}
			}
			if !ok {
				return nil, ErrInvalidBlockList
			}
			blocks = append(blocks, Block{ID: r.ID, Content: data})
			parts = append(parts, data)
		}
		a.dropStaged(c, name)
		return &Blob{Content: Concat(parts...), Headers: h, Metadata: meta, Blocks: blocks}, nil
	})
}

// BlockList is the answer of Get Block List.
type BlockList struct {
	Blob        *Blob // nil when only uncommitted blocks exist
	Committed   []Block
	Uncommitted []Block
}

// BlockList returns the committed and uncommitted blocks of a blob.
func (s *Store) BlockList(acct, cname, name string, o ReadOptions) (BlockList, error) {
	var bl BlockList
	a, c, err := s.rlockCont(acct, cname)
	if err != nil {
		return bl, err
	}
	defer a.mu.RUnlock()
	now := s.now()
	b, current := c.find(name, o.Snapshot, o.VersionID)
	var st *stagedBlocks
	if current && o.Snapshot == "" && o.VersionID == "" {
		st = c.liveStaged(name, now)
	}
	if b == nil && st == nil {
		return bl, ErrBlobNotFound
	}
	if b != nil {
		if err := o.Conditions.checkRead(b.ETag, b.LastModified); err != nil {
			return bl, err
		}
		if current {
			if err := b.Lease.At(now).checkRead(o.LeaseID); err != nil {
				return bl, err
			}
		}
		if err := o.IfTags.check(b); err != nil {
			return bl, err
		}
		bl.Blob = b
		bl.Committed = b.Blocks
	}
	if st != nil {
		bl.Uncommitted = make([]Block, 0, len(st.order))
		for _, id := range st.order {
			bl.Uncommitted = append(bl.Uncommitted, Block{ID: id, Content: st.blocks[id]})
		}
	}
	return bl, nil
}

// SetBlobHTTPHeaders replaces a blob's standard properties.
func (s *Store) SetBlobHTTPHeaders(acct, cname, name string, h HTTPHeaders, o WriteOptions) (*Blob, error) {
	return s.writeBlob(acct, cname, name, o, false, func(cur *Blob, _ *account, _ *container) (*Blob, error) {
		b := cur.clone()
		b.Headers = h
		return b, nil
	})
}

// SetBlobMetadata replaces a blob's metadata, making a new version.
func (s *Store) SetBlobMetadata(acct, cname, name string, meta map[string]string, o WriteOptions) (*Blob, error) {
	o.newVersion = true
	return s.writeBlob(acct, cname, name, o, false, func(cur *Blob, _ *account, _ *container) (*Blob, error) {
		b := cur.clone()
		b.Metadata = meta
		return b, nil
	})
}

// DeleteBlob deletes a blob that has no snapshots (DeleteBlobWith).
func (s *Store) DeleteBlob(acct, cname, name string, o WriteOptions) error {
	return s.DeleteBlobWith(acct, cname, name, DeleteOptions{}, o)
}

// LeaseBlob runs a Lease Blob action. Lease changes do not change the
// blob's ETag or Last-Modified, but they are replicated so the secondary
// reports the same lease state.
func (s *Store) LeaseBlob(acct, cname, name string, req LeaseRequest, cond Conditions) (LeaseResult, error) {
	var res LeaseResult
	a, c, err := s.lockCont(acct, cname)
	if err != nil {
		return res, err
	}
	defer a.mu.Unlock()
	cur := c.blob(name)
	if cur == nil {
		return res, ErrBlobNotFound
	}
	if err := cond.checkWrite(true, cur.ETag, cur.LastModified); err != nil {
		return res, err
	}
	if err := req.IfTags.check(cur); err != nil {
		return res, err
	}
	now := s.now()
	lease, res, err := cur.Lease.At(now).apply(req, now, uuid.NewString)
	if err != nil {
		return res, err
	}
	b := cur.clone()
	b.Lease = lease
	res.ETag, res.LastModified = b.ETag, b.LastModified
	if err := s.commit(a, func(time.Time, string) Change {
		c.blobs.ReplaceOrInsert(b)
		return Change{Kind: PutBlob, Account: acct, Container: cname, BlobName: name, Blob: b}
	}); err != nil {
		return LeaseResult{}, err
	}
	return res, nil
}

// CopySource names the source of Copy Blob.
type CopySource struct {
	Account, Container, Blob string
	URL                      string // as the client gave it, for x-ms-copy-source
	Conditions               Conditions
	// IfTags is the x-ms-source-if-tags condition; nil when absent.
	IfTags TagCondition
	// CopyTags gives the copy the source's tags instead of
	// WriteOptions.Tags (x-ms-copy-source-tag-option: COPY).
	CopyTags bool
	// Snapshot or VersionID names the snapshot or version of the source
	// to copy (the snapshot and versionid of its URL).
	Snapshot, VersionID string
}

// CopyBlob copies a blob within the store. The copy completes before it
// returns. meta, when nil, copies the source's metadata. The source is read
// under its own account's lock before the destination is locked, so a copy
// between two accounts never holds both locks.
func (s *Store) CopyBlob(acct, cname, name string, src CopySource, meta map[string]string, o WriteOptions) (*Blob, error) {
	sb, srcErr := s.copySourceBlob(src)
	if srcErr == nil && src.CopyTags {
		o.Tags = sb.Tags
	}
	return s.writeBlob(acct, cname, name, o, true, func(_ *Blob, _ *account, _ *container) (*Blob, error) {
		if srcErr != nil {
			return nil, srcErr
		}
		if meta == nil {
			meta = maps.Clone(sb.Metadata)
		}
		n := sb.Size()
		return &Blob{
			Content:  sb.Content,
			Headers:  sb.Headers,
			Metadata: meta,
			Blocks:   slices.Clone(sb.Blocks),
			// An append blob is copied as an append blob, unsealed.
			BlobType:            sb.BlobType,
			CommittedBlockCount: sb.CommittedBlockCount,
			// A page blob is copied as a page blob, sharing its extents.
			PageBlobLength: sb.PageBlobLength,
			Pages:          slices.Clone(sb.Pages),
			SequenceNumber: sb.SequenceNumber,
			Copy: &CopyInfo{
				ID: uuid.NewString(), Source: src.URL, Status: "success",
				Progress: fmt.Sprintf("%d/%d", n, n), CompletionTime: s.now().UTC(),
			},
		}, nil
	})
}

func (s *Store) copySourceBlob(src CopySource) (*Blob, error) {
	a, sc, err := s.rlockCont(src.Account, src.Container)
	if err != nil {
		return nil, ErrCannotVerifyCopySource
	}
	defer a.mu.RUnlock()
	sb, _ := sc.find(src.Blob, src.Snapshot, src.VersionID)
	if sb == nil {
		return nil, ErrCannotVerifyCopySource
	}
	if err := src.Conditions.checkWrite(true, sb.ETag, sb.LastModified); err != nil {
		return nil, newErr("SourceConditionNotMet", "The source condition specified using HTTP conditional header(s) is not met.")
	}
	if src.IfTags != nil && !src.IfTags(sb.Tags) {
		return nil, newErr("SourceConditionNotMet", "The source condition specified using HTTP conditional header(s) is not met.")
	}
	if sb.archived(s.now()) {
		return nil, ErrBlobArchived
	}
	return sb, nil
}

// ---- Replication ----

// Apply replays a change committed on another store (the primary) onto this
// one. The secondary applies changes in the order they were committed.
// With a journal, Apply returns once the change (and the replication
// position it implies) is durable; if that fails the store is failed
// (Failed reports why) and refuses writes.
func (s *Store) Apply(ch Change) { _ = s.ApplyAsync(ch)() }

// ApplyAsync is Apply without waiting for the disk: the change is visible
// at once, and wait returns once it is durable (at once without a journal);
// a failure fails the store, as in Apply.
// Changes applied one after another become durable in that order, so a
// replicator may apply several and wait for the last.
func (s *Store) ApplyAsync(ch Change) (wait func() error) {
	a := s.acct(ch.Account, true)
	a.mu.Lock()
	switch ch.Kind {
	case SetServiceProperties:
		a.service = ch.Service
	case PutContainer:
		if c, err := a.cont(ch.Container); err == nil {
			c.props = ch.Props
		} else {
			a.containers.ReplaceOrInsert(newContainer(ch.Props))
		}
	case DeleteContainer:
		a.containers.Delete(&container{name: ch.Container})
	case PutBlob:
		if c, err := a.cont(ch.Container); err == nil {
			c.blobs.ReplaceOrInsert(ch.Blob)
		}
	case DeleteBlob:
		if c, err := a.cont(ch.Container); err == nil {
			c.blobs.Delete(&Blob{Name: ch.BlobName})
		}
	case SoftDeleteContainer, UndeleteContainer, PurgeDeletedContainer:
		a.applyDeleted(ch)
	}
	if len(ch.History) > 0 || len(ch.DropHistory) > 0 {
		if c, err := a.cont(ch.Container); err == nil {
			c.applyHistory(&ch)
		}
	}
	a.mu.Unlock()
	s.commitMu.Lock()
	if ch.Seq > s.seq {
		s.seq = ch.Seq
	}
	if ch.Time.After(s.last) {
		// A promoted secondary must stamp later than what it applied.
		s.last = ch.Time
	}
	seq := s.seq
	s.commitMu.Unlock()
	s.pubMu.Lock()
	s.published = max(s.published, seq)
	s.pubCond.Broadcast()
	s.pubMu.Unlock()
	if s.journal == nil {
		return noWait
	}
	if err := s.failed.get(); err != nil {
		return func() error { return err }
	}
	// A copy for the journal: taking ch's address would move every
	// apply's Change to the heap, in memory too.
	rec := ch
	w := s.journal.Submit(Record{Change: &rec, Applied: true}, nil)
	return func() error {
		err := w()
		if err != nil {
			s.failed.set(err)
			s.log.Error("store: durable apply failed; refusing further writes", "err", err)
		}
		return err
	}
}

func noWait() error { return nil }

// Durable reports whether the store has a journal (Options.Journal).
func (s *Store) Durable() bool { return s.journal != nil }

// sameIDLength reports whether two valid block ids decode to the same
// number of bytes.
func sameIDLength(a, b string) bool {
	na, errA := decodeBase64Len(a)
	nb, errB := decodeBase64Len(b)
	return errA == nil && errB == nil && na == nb
}

func validBlockID(id string) bool {
	if id == "" || len(id) > 1024 {
		return false
	}
	n, err := decodeBase64Len(id)
	return err == nil && n <= 64
}

// FenceNow reads the store's clock after every commit in progress has
// finished. Every change committed after FenceNow returns t carries a time
// at or after t, so a replicator may treat t-1ns as a safe watermark once it
// has applied everything it was given.
//
// With a journal, FenceNow also waits until every change committed before
// it has been handed to OnCommit (they are, once durable).
func (s *Store) FenceNow() time.Time {
	s.commitMu.Lock()
	t := s.now().UTC()
	if t.Before(s.last) {
		t = s.last
	}
	seq := s.seq
	s.commitMu.Unlock()
	if s.journal != nil {
		s.pubMu.Lock()
		for s.published < seq {
			s.pubCond.Wait()
		}
		s.pubMu.Unlock()
	}
	return t
}
