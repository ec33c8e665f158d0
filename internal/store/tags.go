package store

import (
	"maps"
	"strings"
	"time"
)

// Blob index tag limits, as Azure documents them.
const (
	MaxTags           = 10
	MaxTagKeyLength   = 128
	MaxTagValueLength = 256
)

// Errors of blob index tags. Azure documents no code of its own for them;
// these are the codes Azurite answers with.
var (
	ErrInvalidTag   = newErr("InvalidTag", "The tags specified are invalid. It contains characters that are not permitted.")
	ErrTagsTooLarge = newErr("TagsTooLarge", "The tags specified exceed the maximum permissible limit.")
)

// TagCondition is an x-ms-if-tags (or x-ms-source-if-tags) condition: it
// reports whether a blob's tags (nil when it has none) satisfy the
// expression. A nil TagCondition always holds.
type TagCondition func(tags map[string]string) bool

// check returns ErrConditionNotMet unless the condition holds for b; a
// missing blob (nil) has no tags.
func (tc TagCondition) check(b *Blob) error {
	if tc == nil {
		return nil
	}
	var tags map[string]string
	if b != nil {
		tags = b.Tags
	}
	if !tc(tags) {
		return ErrConditionNotMet
	}
	return nil
}

// ValidTagChar reports whether r may appear in a tag key or value: ASCII
// letters and digits, space, and + - . / : = _.
func ValidTagChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune(" +-./:=_", r)
}

func validTagText(s string) bool {
	for _, r := range s {
		if !ValidTagChar(r) {
			return false
		}
	}
	return true
}

// CheckTags applies Azure's limits to a set of tags: at most MaxTags, keys
// of 1 to MaxTagKeyLength characters, values of at most MaxTagValueLength,
// both made of the characters ValidTagChar allows.
func CheckTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return ErrTagsTooLarge
	}
	for k, v := range tags {
		if k == "" || len(k) > MaxTagKeyLength || len(v) > MaxTagValueLength || !validTagText(k) || !validTagText(v) {
			return ErrInvalidTag
		}
	}
	return nil
}

// SetBlobTags replaces a blob's index tags (Set Blob Tags); nil or empty
// removes them. As in Azure it changes neither the blob's ETag nor its
// Last-Modified time, and an archived blob's tags may be set. The change
// is replicated like any write. o.LeaseID, when given, must name the
// blob's active lease.
func (s *Store) SetBlobTags(acct, cname, name string, tags map[string]string, o WriteOptions) error {
	if err := CheckTags(tags); err != nil {
		return err
	}
	_, err := s.updateInPlace(acct, cname, name, o, func(cur *Blob) (*Blob, error) {
		b := cur.clone()
		b.Tags = nil
		if len(tags) > 0 {
			b.Tags = maps.Clone(tags)
		}
		return b, nil
	})
	return err
}

// updateInPlace changes a blob's system properties without a new ETag or
// Last-Modified (Set Blob Tags, Set Blob Tier): it checks o's conditions,
// the lease (a given id must match the active lease, as on a read) and
// x-ms-if-tags, lets fn build the new record and commits it, so it
// replicates in commit order.
func (s *Store) updateInPlace(acct, cname, name string, o WriteOptions, fn func(cur *Blob) (*Blob, error)) (*Blob, error) {
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
	b, err := fn(cur)
	if err != nil {
		return nil, err
	}
	if err := s.commit(a, func(time.Time, string) Change {
		c.blobs.ReplaceOrInsert(b)
		return Change{Kind: PutBlob, Account: acct, Container: cname, BlobName: name, Blob: b}
	}); err != nil {
		return nil, err
	}
	return b, nil
}

// TaggedBlob is one result of FindBlobsByTags.
type TaggedBlob struct {
	Container string
	Blob      *Blob
}

// FindOptions qualify FindBlobsByTags.
type FindOptions struct {
	// Container limits the search to one container; "" searches every
	// container of the account.
	Container string
	// Match selects the blobs to return.
	Match func(container string, b *Blob) bool
	// MarkerContainer and MarkerBlob resume a search where NextContainer
	// and NextBlob of the previous page pointed (inclusive).
	MarkerContainer, MarkerBlob string
	MaxResults                  int // <= 0 or > MaxListResults means MaxListResults
}

// FindPage is one page of FindBlobsByTags. When NextContainer is not
// empty the search is not finished: it resumes at that container and blob.
// A page may hold fewer than MaxResults blobs, even none, and still have a
// next page: a search examines at most MaxFindScan blobs per call.
type FindPage struct {
	Blobs                   []TaggedBlob
	NextContainer, NextBlob string
}

// MaxFindScan bounds the blobs one FindBlobsByTags call examines, so that
// a search over a large account holds the account's read lock for a
// bounded time; the rest comes in the next pages.
const MaxFindScan = 100000

// FindBlobsByTags returns the blobs, in container then name order, that
// o.Match selects (Find Blobs by Tags). With o.Container set and the
// container missing it fails with ErrContainerNotFound.
func (s *Store) FindBlobsByTags(acct string, o FindOptions) (FindPage, error) {
	var page FindPage
	a := s.acct(acct, false)
	if a == nil {
		if o.Container != "" {
			return page, ErrContainerNotFound
		}
		return page, nil
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if o.Container != "" {
		if _, err := a.cont(o.Container); err != nil {
			return page, err
		}
	}
	limit := ListOptions{MaxResults: o.MaxResults}.max()
	scanned, scanLimit := 0, MaxFindScan
	if s.testFindScan > 0 {
		scanLimit = s.testFindScan
	}
	from := max(o.MarkerContainer, o.Container)
	a.containers.AscendGreaterOrEqual(&container{name: from}, func(c *container) bool {
		if o.Container != "" && c.name != o.Container {
			return false
		}
		start := ""
		if c.name == o.MarkerContainer {
			start = o.MarkerBlob
		}
		more := true
		c.blobs.AscendGreaterOrEqual(&Blob{Name: start}, func(b *Blob) bool {
			if len(page.Blobs) == limit || scanned == scanLimit {
				page.NextContainer, page.NextBlob = c.name, b.Name
				more = false
				return false
			}
			scanned++
			if o.Match(c.name, b) {
				page.Blobs = append(page.Blobs, TaggedBlob{Container: c.name, Blob: b})
			}
			return true
		})
		return more
	})
	if s.testHookListed != nil {
		s.testHookListed()
	}
	return page, nil
}
