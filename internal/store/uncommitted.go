package store

import (
	"fmt"
	"slices"
	"strings"
)

// uncommittedBlob is how List Blobs with include=uncommittedblobs shows a
// blob that has uncommitted blocks and no committed version: no content,
// its Last-Modified (and Creation-Time) the time of its last Put Block and
// an ETag derived from it, as Azurite lists such blobs.
func uncommittedBlob(name string, st *stagedBlocks) *Blob {
	t := st.touched.UTC()
	return &Blob{Name: name, Created: t, LastModified: t, ETag: fmt.Sprintf("\"0x%X\"", uint64(t.UnixNano()))}
}

// listBlobsWithUncommitted is ListBlobs for o.IncludeUncommitted: the
// committed blobs and, merged in name order, the blobs that have only
// uncommitted blocks. Callers hold the account's read lock. Gathering the
// uncommitted names costs one pass over the container's staged sets, which
// are bounded by the staged-bytes cap and StagedBlockTTL.
func (s *Store) listBlobsWithUncommitted(c *container, o ListOptions) BlobPage {
	var page BlobPage
	now := s.now()
	var pending []string
	start := o.start()
	for name := range c.staged {
		if name >= start && strings.HasPrefix(name, o.Prefix) && c.blob(name) == nil && c.liveStaged(name, now) != nil {
			pending = append(pending, name)
		}
	}
	slices.Sort(pending)
	limit, count := o.max(), 0
	from, pi := start, 0
	stopped, restart := false, false
	// handle adds one name to the page; it reports whether the walk from
	// the current position must stop (the page is full, or a virtual
	// directory was added and the walk resumes after it).
	handle := func(n string, b *Blob) bool {
		if count == limit {
			page.NextMarker = n
			stopped = true
			return true
		}
		count++
		if o.Delimiter != "" {
			if i := strings.Index(n[len(o.Prefix):], o.Delimiter); i >= 0 {
				p := n[:len(o.Prefix)+i+len(o.Delimiter)]
				page.Prefixes = append(page.Prefixes, p)
				if next, ok := successor(p); ok {
					from, restart = next, true
				} else {
					stopped = true
				}
				return true
			}
		}
		page.Blobs = append(page.Blobs, b)
		return false
	}
	// drain handles the uncommitted names before limit ("" for all).
	drain := func(before string) bool {
		for pi < len(pending) && (before == "" || pending[pi] < before) {
			n := pending[pi]
			pi++
			if n < from || !strings.HasPrefix(n, o.Prefix) {
				continue
			}
			if handle(n, uncommittedBlob(n, c.staged[n])) {
				return true
			}
		}
		return false
	}
	for !stopped {
		restart = false
		c.blobs.AscendGreaterOrEqual(&Blob{Name: from}, func(b *Blob) bool {
			if !strings.HasPrefix(b.Name, o.Prefix) {
				return false
			}
			if drain(b.Name) {
				return false
			}
			return !handle(b.Name, b)
		})
		if stopped || restart {
			continue
		}
		if !drain("") && !restart {
			break
		}
	}
	return page
}
