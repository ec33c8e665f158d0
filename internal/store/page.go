package store

import (
	"fmt"
	"io"
	"sort"
)

// Page blobs: a fixed-length blob written in 512-byte pages. A page blob
// is sparse: Blob.Pages lists the written extents in order, each holding
// its bytes as a Content, and every byte outside them reads as zero. A
// write builds a new extent list that shares the untouched bytes of the
// old one (Content.Slice and Concat), so earlier versions stay valid.

// PageBlob is the type of a page blob.
const PageBlob BlobType = "PageBlob"

// Page blob limits, as in Azure.
const (
	PageSize        = 512
	MaxPageBlobSize = 8 << 40 // 8 TiB
)

// PageExtent is one written extent of a page blob: Content.Size() bytes at
// Offset. Offsets and sizes are multiples of PageSize, extents are sorted,
// never overlap and never touch (touching extents are joined).
type PageExtent struct {
	Offset  int64
	Content Content
}

// End is the offset just past the extent.
func (e PageExtent) End() int64 { return e.Offset + e.Content.Size() }

// Page blob errors, named after their Azure error codes.
var (
	ErrSequenceNumberConditionNotMet = newErr("SequenceNumberConditionNotMet", "The sequence number condition specified was not met.")
	ErrInvalidPageRange              = newErr("InvalidPageRange", "The page range specified is invalid.")
)

// PageOptions qualify Put Page and Clear Page: the write conditions and
// lease, and the sequence number conditions x-ms-if-sequence-number-le,
// -lt and -eq (negative when absent).
type PageOptions struct {
	WriteOptions
	IfSequenceNumberLE int64
	IfSequenceNumberLT int64
	IfSequenceNumberEQ int64
}

func (o PageOptions) checkSequence(seq int64) error {
	switch {
	case o.IfSequenceNumberLE >= 0 && seq > o.IfSequenceNumberLE,
		o.IfSequenceNumberLT >= 0 && seq >= o.IfSequenceNumberLT,
		o.IfSequenceNumberEQ >= 0 && seq != o.IfSequenceNumberEQ:
		return ErrSequenceNumberConditionNotMet
	}
	return nil
}

// CreatePageBlob creates a page blob of size bytes, all zero, with the
// sequence number seq (Put Blob with x-ms-blob-type: PageBlob), replacing
// any blob of that name. size must be a multiple of PageSize.
func (s *Store) CreatePageBlob(acct, cname, name string, size, seq int64, h HTTPHeaders, meta map[string]string, o WriteOptions) (*Blob, error) {
	if size < 0 || size%PageSize != 0 || size > MaxPageBlobSize || seq < 0 {
		return nil, ErrInvalidPageRange
	}
	return s.writeBlob(acct, cname, name, o, true, func(_ *Blob, a *account, c *container) (*Blob, error) {
		a.dropStaged(c, name)
		return &Blob{Headers: h, Metadata: meta, BlobType: PageBlob, PageBlobLength: size, SequenceNumber: seq}, nil
	})
}

// PutPages writes content at off of a page blob (Put Page with
// x-ms-page-write: update). off and the content's size must be multiples
// of PageSize and the pages must lie inside the blob.
func (s *Store) PutPages(acct, cname, name string, off int64, content Content, o PageOptions) (*Blob, error) {
	return s.writePages(acct, cname, name, off, content.Size(), &content, o)
}

// ClearPages clears n bytes at off of a page blob (x-ms-page-write:
// clear): they read as zeros again and hold no storage.
func (s *Store) ClearPages(acct, cname, name string, off, n int64, o PageOptions) (*Blob, error) {
	return s.writePages(acct, cname, name, off, n, nil, o)
}

func (s *Store) writePages(acct, cname, name string, off, n int64, data *Content, o PageOptions) (*Blob, error) {
	if off < 0 || n <= 0 || off%PageSize != 0 || n%PageSize != 0 {
		return nil, ErrInvalidPageRange
	}
	return s.writeBlob(acct, cname, name, o.WriteOptions, false, func(cur *Blob, _ *account, _ *container) (*Blob, error) {
		if cur.Type() != PageBlob {
			return nil, ErrInvalidBlobType
		}
		if err := o.checkSequence(cur.SequenceNumber); err != nil {
			return nil, err
		}
		if off+n > cur.PageBlobLength {
			return nil, ErrInvalidPageRange
		}
		b := cur.clone()
		b.Pages = spliceExtents(cur.Pages, off, off+n, data)
		if data != nil && n < pageSegment {
			var err error
			if b.Pages, err = s.compactPages(b.Pages, off, off+n); err != nil {
				return nil, err
			}
		}
		return b, nil
	})
}

// pageSegment is the granularity at which small page writes are merged.
const pageSegment = 64 << 10

// compactPages keeps the chunk count of a page blob near its written
// bytes / pageSegment rather than its number of writes: every version
// has its own extent list and a pending replication keeps each version
// alive, so a blob written by many small writes must not hold one chunk
// per write. After a small write to [off, end), the written bytes of the
// pageSegment-aligned window around it (at most two segments) are copied
// into one new chunk per extent. pages is the new version's own list.
func (s *Store) compactPages(pages []PageExtent, off, end int64) ([]PageExtent, error) {
	ws := off / pageSegment * pageSegment
	we := (end + pageSegment - 1) / pageSegment * pageSegment
	for i := range pages {
		e := pages[i]
		if e.End() <= ws || e.Offset >= we {
			continue
		}
		lo, hi := max(e.Offset, ws), min(e.End(), we)
		buf := make([]byte, hi-lo)
		if _, err := io.ReadFull(e.Content.Reader(lo-e.Offset, hi-lo), buf); err != nil {
			return nil, fmt.Errorf("store: reading page blob pages: %w", err)
		}
		mid, err := s.NewContent(buf) // a content file with a data directory
		if err != nil {
			return nil, err
		}
		pages[i].Content = Concat(e.Content.Slice(0, lo-e.Offset), mid, e.Content.Slice(hi-e.Offset, e.End()-hi))
	}
	return pages, nil
}

// spliceExtents returns old with [off, end) replaced by data, or cleared
// when data is nil. old is not modified.
func spliceExtents(old []PageExtent, off, end int64, data *Content) []PageExtent {
	out := make([]PageExtent, 0, len(old)+2)
	inserted := false
	insert := func() {
		if !inserted && data != nil {
			out = append(out, PageExtent{Offset: off, Content: *data})
		}
		inserted = true
	}
	for _, e := range old {
		eEnd := e.End()
		if eEnd <= off || e.Offset >= end {
			if e.Offset >= end {
				insert()
			}
			out = append(out, e)
			continue
		}
		if e.Offset < off {
			out = append(out, PageExtent{Offset: e.Offset, Content: e.Content.Slice(0, off-e.Offset)})
		}
		insert()
		if eEnd > end {
			out = append(out, PageExtent{Offset: end, Content: e.Content.Slice(end-e.Offset, eEnd-end)})
		}
	}
	insert()
	// Join touching extents.
	joined := out[:0]
	for _, e := range out {
		if k := len(joined); k > 0 && joined[k-1].End() == e.Offset {
			joined[k-1].Content = Concat(joined[k-1].Content, e.Content)
			continue
		}
		joined = append(joined, e)
	}
	if len(joined) == 0 {
		return nil
	}
	return joined
}

// ResizeOptions qualify Set Blob Properties on a page blob: the new length
// (negative to keep it) and the sequence number action ("" for none,
// "max", "update" or "increment") with its value.
type ResizeOptions struct {
	WriteOptions
	Length         int64
	SequenceAction string
	SequenceNumber int64
}

// SetPageBlobProperties sets the standard properties of a page blob and
// applies o's resize and sequence number action (Set Blob Properties).
// Shrinking drops the pages past the new length. hh is nil to keep them.
func (s *Store) SetPageBlobProperties(acct, cname, name string, hh *HTTPHeaders, o ResizeOptions) (*Blob, error) {
	if o.Length >= 0 && (o.Length%PageSize != 0 || o.Length > MaxPageBlobSize) {
		return nil, ErrInvalidPageRange
	}
	return s.writeBlob(acct, cname, name, o.WriteOptions, false, func(cur *Blob, _ *account, _ *container) (*Blob, error) {
		if cur.Type() != PageBlob {
			return nil, ErrInvalidBlobType
		}
		b := cur.clone()
		if hh != nil {
			b.Headers = *hh
		}
		if o.Length >= 0 && o.Length != cur.PageBlobLength {
			b.PageBlobLength = o.Length
			if o.Length < cur.PageBlobLength {
				b.Pages = spliceExtents(cur.Pages, o.Length, cur.PageBlobLength, nil)
			}
		}
		switch o.SequenceAction {
		case "max":
			b.SequenceNumber = max(cur.SequenceNumber, o.SequenceNumber)
		case "update":
			b.SequenceNumber = o.SequenceNumber
		case "increment":
			b.SequenceNumber = cur.SequenceNumber + 1
		}
		return b, nil
	})
}

// PageRange is a range of bytes, [Start, End], End included as Azure's
// page lists write it.
type PageRange struct {
	Start, End int64
}

// PageRanges returns the written ranges of a page blob that meet
// [off, off+n), clipped to it.
func (b *Blob) PageRanges(off, n int64) []PageRange {
	end := off + n
	var out []PageRange
	for _, e := range b.Pages[b.firstExtent(off):] {
		if e.Offset >= end {
			break
		}
		out = append(out, PageRange{Start: max(e.Offset, off), End: min(e.End(), end) - 1})
	}
	return out
}

// firstExtent is the index of the first extent that ends after off.
func (b *Blob) firstExtent(off int64) int {
	return sort.Search(len(b.Pages), func(i int) bool { return b.Pages[i].End() > off })
}

// zeros backs the unwritten pages of page blobs; it is never modified.
var zeros = make([]byte, 1<<20)

// WriteRange writes n bytes of the blob from off to w. A page blob's
// unwritten pages are written as zeros without allocating them.
func (b *Blob) WriteRange(w io.Writer, off, n int64) (int64, error) {
	if b.Type() != PageBlob {
		return b.Content.WriteRange(w, off, n)
	}
	var written int64
	pos, end := off, off+n
	zero := func(to int64) error {
		for pos < to {
			k, err := w.Write(zeros[:min(int64(len(zeros)), to-pos)])
			pos += int64(k)
			written += int64(k)
			if err != nil {
				return err
			}
		}
		return nil
	}
	for _, e := range b.Pages[b.firstExtent(off):] {
		if e.Offset >= end {
			break
		}
		if err := zero(e.Offset); err != nil {
			return written, err
		}
		take := min(e.End(), end) - pos
		m, err := e.Content.WriteRange(w, pos-e.Offset, take)
		pos += m
		written += m
		if err != nil {
			return written, err
		}
	}
	return written, zero(end)
}

// ContentRange returns n bytes of the blob from off as a Content. For a
// page blob the unwritten pages are chunks of one shared zero buffer:
// callers bound n, since the chunk list grows with it.
func (b *Blob) ContentRange(off, n int64) Content {
	if b.Type() != PageBlob {
		return b.Content.Slice(off, n)
	}
	var parts []Content
	pos, end := off, off+n
	zero := func(to int64) {
		for pos < to {
			k := min(int64(len(zeros)), to-pos)
			parts = append(parts, Bytes(zeros[:k:k]))
			pos += k
		}
	}
	for _, e := range b.Pages[b.firstExtent(off):] {
		if e.Offset >= end {
			break
		}
		zero(e.Offset)
		take := min(e.End(), end) - pos
		parts = append(parts, e.Content.Slice(pos-e.Offset, take))
		pos += take
	}
	zero(end)
	return Concat(parts...)
}

// CheckContent reports ErrCorruptContent when a content file the blob
// needs is missing or has the wrong length (see Content.Check).
func (b *Blob) CheckContent() error {
	if err := b.Content.Check(); err != nil {
		return err
	}
	for _, e := range b.Pages {
		if err := e.Content.Check(); err != nil {
			return err
		}
	}
	return nil
}
