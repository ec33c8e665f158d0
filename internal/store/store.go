package store

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

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
}

// Options configure a Store.
type Options struct {
	// Now is the time source; time.Now when nil.
	Now func() time.Time
	// OnCommit, when set, is called for every committed write, in commit
	// order, while the store's lock is held. It must not block or call
	// back into the store.
	OnCommit func(Change)
}

// Store is an in-memory set of storage accounts. It is safe for concurrent
// use.
type Store struct {
	mu        sync.RWMutex
	now       func() time.Time
	onCommit  func(Change)
	seq       uint64
	last      time.Time // the last commit time handed out
	lastClock time.Time // the latest clock reading behind a commit time
	accounts  map[string]*account
}

type account struct {
	containers map[string]*container
	service    []byte
}

type container struct {
	props  *Container
	blobs  map[string]*Blob
	staged map[string]*stagedBlocks
}

type stagedBlocks struct {
	order  []string
	blocks map[string]Content
}

// New returns an empty store.
func New(opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{now: opts.Now, onCommit: opts.OnCommit, accounts: map[string]*account{}}
}

// commit publishes a write to the feed with the next sequence number. A
// write that changed a Last-Modified time passes that time in c.Time, so the
// feed and the data agree on when the write happened; otherwise commit takes
// a fresh stamp. Callers hold s.mu for writing.
func (s *Store) commit(c Change) Change {
	s.seq++
	if c.Time.IsZero() {
		c.Time, _ = s.stamp()
	}
	c.Seq, c.Clock = s.seq, s.lastClock
	if s.onCommit != nil {
		s.onCommit(c)
	}
	return c
}

// stamp returns a new, strictly increasing commit time and the ETag that
// goes with it. Callers hold s.mu for writing.
func (s *Store) stamp() (time.Time, string) {
	t := s.now().UTC()
	if t.After(s.lastClock) {
		s.lastClock = t
	}
	if !t.After(s.last) {
		t = s.last.Add(time.Nanosecond)
	}
	s.last = t
	return t, fmt.Sprintf("\"0x%X\"", uint64(t.UnixNano()))
}

func (s *Store) acct(name string, create bool) *account {
	a := s.accounts[name]
	if a == nil && create {
		a = &account{containers: map[string]*container{}}
		s.accounts[name] = a
	}
	return a
}

func (s *Store) cont(acct, name string) (*container, error) {
	a := s.accounts[acct]
	if a == nil {
		return nil, ErrContainerNotFound
	}
	c := a.containers[name]
	if c == nil {
		return nil, ErrContainerNotFound
	}
	return c, nil
}

// ---- Service ----

// ServiceProperties returns the stored Set Service Properties document, or
// nil when none was stored.
func (s *Store) ServiceProperties(acct string) []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if a := s.accounts[acct]; a != nil {
		return a.service
	}
	return nil
}

// SetServiceProperties stores the service properties document doc.
func (s *Store) SetServiceProperties(acct string, doc []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acct(acct, true).service = doc
	s.commit(Change{Kind: SetServiceProperties, Account: acct, Service: doc})
}

// ListOptions page through a listing. Marker is the name to resume from
// (inclusive), as returned in NextMarker.
type ListOptions struct {
	Prefix     string
	Delimiter  string
	Marker     string
	MaxResults int // <= 0 means 5000
}

func (o ListOptions) max() int {
	if o.MaxResults <= 0 || o.MaxResults > 5000 {
		return 5000
	}
	return o.MaxResults
}

// ContainerPage is one page of List Containers.
type ContainerPage struct {
	Containers []*Container
	NextMarker string
}

// ListContainers lists an account's containers in name order.
func (s *Store) ListContainers(acct string, o ListOptions) ContainerPage {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var page ContainerPage
	a := s.accounts[acct]
	if a == nil {
		return page
	}
	names := make([]string, 0, len(a.containers))
	for n := range a.containers {
		if strings.HasPrefix(n, o.Prefix) && n >= o.Marker {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	limit := o.max()
	for i, n := range names {
		if i == limit {
			page.NextMarker = n
			break
		}
		page.Containers = append(page.Containers, a.containers[n].props)
	}
	return page
}

// ---- Containers ----

// CreateContainer creates a container.
func (s *Store) CreateContainer(acct, name string, meta map[string]string, publicAccess string) (*Container, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.acct(acct, true)
	if a.containers[name] != nil {
		return nil, ErrContainerAlreadyExists
	}
	t, etag := s.stamp()
	p := &Container{Name: name, Metadata: meta, PublicAccess: publicAccess, ETag: etag, LastModified: t}
	a.containers[name] = &container{props: p, blobs: map[string]*Blob{}, staged: map[string]*stagedBlocks{}}
	s.commit(Change{Time: t, Kind: PutContainer, Account: acct, Container: name, Props: p})
	return p, nil
}

// Container returns a container's properties.
func (s *Store) Container(acct, name string) (*Container, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, err := s.cont(acct, name)
	if err != nil {
		return nil, err
	}
	return c.props, nil
}

// DeleteContainer deletes a container and every blob in it.
func (s *Store) DeleteContainer(acct, name string, cond Conditions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.cont(acct, name)
	if err != nil {
		return err
	}
	if err := cond.checkWrite(true, c.props.ETag, c.props.LastModified); err != nil {
		return err
	}
	delete(s.accounts[acct].containers, name)
	s.commit(Change{Kind: DeleteContainer, Account: acct, Container: name})
	return nil
}

// updateContainer applies fn to a copy of the container's properties and
// publishes the result with a new ETag.
func (s *Store) updateContainer(acct, name string, cond Conditions, fn func(p *Container)) (*Container, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.cont(acct, name)
	if err != nil {
		return nil, err
	}
	if err := cond.checkWrite(true, c.props.ETag, c.props.LastModified); err != nil {
		return nil, err
	}
	p := *c.props
	fn(&p)
	p.LastModified, p.ETag = s.stamp()
	c.props = &p
	s.commit(Change{Time: p.LastModified, Kind: PutContainer, Account: acct, Container: name, Props: &p})
	return &p, nil
}

// SetContainerMetadata replaces a container's metadata.
func (s *Store) SetContainerMetadata(acct, name string, meta map[string]string, cond Conditions) (*Container, error) {
	return s.updateContainer(acct, name, cond, func(p *Container) { p.Metadata = meta })
}

// SetContainerACL replaces a container's public access level and stored
// access policies.
func (s *Store) SetContainerACL(acct, name, publicAccess string, acl []SignedIdentifier, cond Conditions) (*Container, error) {
	return s.updateContainer(acct, name, cond, func(p *Container) {
		p.PublicAccess = publicAccess
		p.ACL = acl
	})
}

// ---- Blobs ----

// BlobPage is one page of List Blobs. With a delimiter, Prefixes holds the
// virtual directories; blobs and prefixes interleave in name order.
type BlobPage struct {
	Blobs      []*Blob
	Prefixes   []string
	NextMarker string
}

// ListBlobs lists a container's blobs in name order.
func (s *Store) ListBlobs(acct, cname string, o ListOptions) (BlobPage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var page BlobPage
	c, err := s.cont(acct, cname)
	if err != nil {
		return page, err
	}
	names := make([]string, 0, len(c.blobs))
	for n := range c.blobs {
		if strings.HasPrefix(n, o.Prefix) && n >= o.Marker {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	limit, count := o.max(), 0
	lastPrefix := ""
	for _, n := range names {
		if o.Delimiter != "" {
			if i := strings.Index(n[len(o.Prefix):], o.Delimiter); i >= 0 {
				p := n[:len(o.Prefix)+i+len(o.Delimiter)]
				if p == lastPrefix {
					continue
				}
				if count == limit {
					page.NextMarker = n
					break
				}
				lastPrefix = p
				page.Prefixes = append(page.Prefixes, p)
				count++
				continue
			}
		}
		if count == limit {
			page.NextMarker = n
			break
		}
		page.Blobs = append(page.Blobs, c.blobs[n])
		count++
	}
	return page, nil
}

// ReadOptions qualify a read of a blob.
type ReadOptions struct {
	Conditions Conditions
	LeaseID    string
}

// Blob returns the current version of a blob after checking read
// conditions. The returned value is an immutable snapshot; its Lease is
// evaluated at the current time.
func (s *Store) Blob(acct, cname, name string, o ReadOptions) (*Blob, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, err := s.cont(acct, cname)
	if err != nil {
		return nil, err
	}
	b := c.blobs[name]
	if b == nil {
		return nil, ErrBlobNotFound
	}
	if err := o.Conditions.checkRead(b.ETag, b.LastModified); err != nil {
		return nil, err
	}
	lease := b.Lease.At(s.now())
	if err := lease.checkRead(o.LeaseID); err != nil {
		return nil, err
	}
	if lease != b.Lease {
		b = b.clone()
		b.Lease = lease
	}
	return b, nil
}

// WriteOptions qualify a write of a blob.
type WriteOptions struct {
	Conditions Conditions
	LeaseID    string
}

// writeBlob runs the common part of every blob write under the lock: find
// the container and the current version, check conditions and lease, let
// build produce the new version, stamp and publish it.
func (s *Store) writeBlob(acct, cname, name string, o WriteOptions, create bool, build func(cur *Blob, c *container) (*Blob, error)) (*Blob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.cont(acct, cname)
	if err != nil {
		return nil, err
	}
	cur := c.blobs[name]
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
	} else {
		if err := o.Conditions.checkWrite(false, "", time.Time{}); err != nil {
			return nil, err
		}
		if o.LeaseID != "" {
			return nil, ErrLeaseNotPresent
		}
	}
	b, err := build(cur, c)
	if err != nil {
		return nil, err
	}
	b.Name = name
	b.LastModified, b.ETag = s.stamp()
	if cur != nil {
		b.Created = cur.Created
		b.Lease = cur.Lease.At(now)
	} else {
		b.Created = b.LastModified
	}
	c.blobs[name] = b
	s.commit(Change{Time: b.LastModified, Kind: PutBlob, Account: acct, Container: cname, BlobName: name, Blob: b})
	return b, nil
}

// PutBlob writes a whole block blob (Put Blob).
func (s *Store) PutBlob(acct, cname, name string, content Content, h HTTPHeaders, meta map[string]string, o WriteOptions) (*Blob, error) {
	return s.writeBlob(acct, cname, name, o, true, func(_ *Blob, c *container) (*Blob, error) {
		delete(c.staged, name)
		return &Blob{Content: content, Headers: h, Metadata: meta}, nil
	})
}

// StageBlock stores an uncommitted block (Put Block). As in Azure, every
// uncommitted block of a blob must have an id of the same length, else
// ErrInvalidBlobOrBlock. Staging does not change the committed blob, so it
// is not replicated.
func (s *Store) StageBlock(acct, cname, name, blockID string, content Content, leaseID string) error {
	if !validBlockID(blockID) {
		return ErrInvalidBlockID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.cont(acct, cname)
	if err != nil {
		return err
	}
	if cur := c.blobs[name]; cur != nil {
		if err := cur.Lease.At(s.now()).checkWrite(leaseID); err != nil {
			return err
		}
	} else if leaseID != "" {
		return ErrLeaseNotPresent
	}
	st := c.staged[name]
	if st == nil {
		st = &stagedBlocks{blocks: map[string]Content{}}
		c.staged[name] = st
	}
	if _, ok := st.blocks[blockID]; !ok {
		// Azure: every uncommitted block of a blob has an id of the
		// same length.
		if len(st.order) > 0 && !sameIDLength(st.order[0], blockID) {
			return ErrInvalidBlobOrBlock
		}
		if len(st.order) >= 100000 {
			return ErrBlockCountExceeded
		}
		st.order = append(st.order, blockID)
	}
	st.blocks[blockID] = content
	return nil
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
// not named in the list are discarded, as Azure does.
func (s *Store) CommitBlockList(acct, cname, name string, refs []BlockRef, h HTTPHeaders, meta map[string]string, o WriteOptions) (*Blob, error) {
	return s.writeBlob(acct, cname, name, o, true, func(cur *Blob, c *container) (*Blob, error) {
		committed := map[string]Content{}
		if cur != nil {
			for _, b := range cur.Blocks {
				committed[b.ID] = b.Content
			}
		}
		var staged map[string]Content
		if st := c.staged[name]; st != nil {
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
		delete(c.staged, name)
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
	s.mu.RLock()
	defer s.mu.RUnlock()
	var bl BlockList
	c, err := s.cont(acct, cname)
	if err != nil {
		return bl, err
	}
	b := c.blobs[name]
	st := c.staged[name]
	if b == nil && st == nil {
		return bl, ErrBlobNotFound
	}
	if b != nil {
		if err := o.Conditions.checkRead(b.ETag, b.LastModified); err != nil {
			return bl, err
		}
		if err := b.Lease.At(s.now()).checkRead(o.LeaseID); err != nil {
			return bl, err
		}
		bl.Blob = b
		bl.Committed = b.Blocks
	}
	if st != nil {
		for _, id := range st.order {
			bl.Uncommitted = append(bl.Uncommitted, Block{ID: id, Content: st.blocks[id]})
		}
	}
	return bl, nil
}

// SetBlobHTTPHeaders replaces a blob's standard properties.
func (s *Store) SetBlobHTTPHeaders(acct, cname, name string, h HTTPHeaders, o WriteOptions) (*Blob, error) {
	return s.writeBlob(acct, cname, name, o, false, func(cur *Blob, _ *container) (*Blob, error) {
		b := cur.clone()
		b.Headers = h
		return b, nil
	})
}

// SetBlobMetadata replaces a blob's metadata.
func (s *Store) SetBlobMetadata(acct, cname, name string, meta map[string]string, o WriteOptions) (*Blob, error) {
	return s.writeBlob(acct, cname, name, o, false, func(cur *Blob, _ *container) (*Blob, error) {
		b := cur.clone()
		b.Metadata = meta
		return b, nil
	})
}

// DeleteBlob deletes a blob.
func (s *Store) DeleteBlob(acct, cname, name string, o WriteOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.cont(acct, cname)
	if err != nil {
		return err
	}
	cur := c.blobs[name]
	if cur == nil {
		return ErrBlobNotFound
	}
	if err := o.Conditions.checkWrite(true, cur.ETag, cur.LastModified); err != nil {
		return err
	}
	if err := cur.Lease.At(s.now()).checkWrite(o.LeaseID); err != nil {
		return err
	}
	delete(c.blobs, name)
	delete(c.staged, name)
	s.commit(Change{Kind: DeleteBlob, Account: acct, Container: cname, BlobName: name})
	return nil
}

// LeaseBlob runs a Lease Blob action. Lease changes do not change the
// blob's ETag or Last-Modified, but they are replicated so the secondary
// reports the same lease state.
func (s *Store) LeaseBlob(acct, cname, name string, req LeaseRequest, cond Conditions) (LeaseResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res LeaseResult
	c, err := s.cont(acct, cname)
	if err != nil {
		return res, err
	}
	cur := c.blobs[name]
	if cur == nil {
		return res, ErrBlobNotFound
	}
	if err := cond.checkWrite(true, cur.ETag, cur.LastModified); err != nil {
		return res, err
	}
	now := s.now()
	lease, res, err := cur.Lease.At(now).apply(req, now, uuid.NewString)
	if err != nil {
		return res, err
	}
	b := cur.clone()
	b.Lease = lease
	c.blobs[name] = b
	res.ETag, res.LastModified = b.ETag, b.LastModified
	s.commit(Change{Kind: PutBlob, Account: acct, Container: cname, BlobName: name, Blob: b})
	return res, nil
}

// CopySource names the source of Copy Blob.
type CopySource struct {
	Account, Container, Blob string
	URL                      string // as the client gave it, for x-ms-copy-source
	Conditions               Conditions
}

// CopyBlob copies a blob within the store. The copy completes before it
// returns. meta, when nil, copies the source's metadata.
func (s *Store) CopyBlob(acct, cname, name string, src CopySource, meta map[string]string, o WriteOptions) (*Blob, error) {
	return s.writeBlob(acct, cname, name, o, true, func(_ *Blob, c *container) (*Blob, error) {
		sc, err := s.cont(src.Account, src.Container)
		if err != nil {
			return nil, ErrCannotVerifyCopySource
		}
		sb := sc.blobs[src.Blob]
		if sb == nil {
			return nil, ErrCannotVerifyCopySource
		}
		if err := src.Conditions.checkWrite(true, sb.ETag, sb.LastModified); err != nil {
			return nil, newErr("SourceConditionNotMet", "The source condition specified using HTTP conditional header(s) is not met.")
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
			Copy: &CopyInfo{
				ID: uuid.NewString(), Source: src.URL, Status: "success",
				Progress: fmt.Sprintf("%d/%d", n, n), CompletionTime: s.now().UTC(),
			},
		}, nil
	})
}

// ---- Replication ----

// Apply replays a change committed on another store (the primary) onto this
// one. The secondary applies changes in the order they were committed.
func (s *Store) Apply(ch Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ch.Kind {
	case SetServiceProperties:
		s.acct(ch.Account, true).service = ch.Service
	case PutContainer:
		a := s.acct(ch.Account, true)
		if c := a.containers[ch.Container]; c != nil {
			c.props = ch.Props
		} else {
			a.containers[ch.Container] = &container{props: ch.Props, blobs: map[string]*Blob{}, staged: map[string]*stagedBlocks{}}
		}
	case DeleteContainer:
		if a := s.accounts[ch.Account]; a != nil {
			delete(a.containers, ch.Container)
		}
	case PutBlob:
		if c, err := s.cont(ch.Account, ch.Container); err == nil {
			c.blobs[ch.BlobName] = ch.Blob
		}
	case DeleteBlob:
		if c, err := s.cont(ch.Account, ch.Container); err == nil {
			delete(c.blobs, ch.BlobName)
		}
	}
	if ch.Seq > s.seq {
		s.seq = ch.Seq
	}
}

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
func (s *Store) FenceNow() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.now().UTC()
	if t.Before(s.last) {
		t = s.last
	}
	return t
}
