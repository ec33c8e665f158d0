package store

// Get Page Ranges with prevsnapshot: the ranges of a page blob (or of one
// of its snapshots) that changed since an older snapshot. Content is
// immutable and shared between a blob and its snapshots, so a page whose
// bytes are the very same bytes (the same memory or the same extent of the
// same content file) in both is unchanged; any other written page is
// changed, and a page written in the snapshot but not now is cleared.
// Where the bytes are not shared (a small page write copies the pages
// around it into a new chunk, page.go) they are compared page by page, up
// to maxDiffCompare bytes per request; beyond that budget a page is
// reported changed. So a diff can report an unchanged page as changed,
// never a changed page as unchanged.

import (
	"bytes"
	"io"
)

// maxDiffCompare bounds the bytes one diff reads from each side to compare
// pages whose bytes are not shared.
const maxDiffCompare = 64 << 20

// DiffRange is one range of a page range diff: changed (written since)
// or cleared.
type DiffRange struct {
	PageRange
	Cleared bool
}

// PageBlobs returns the page blob (or the snapshot o names) and its
// snapshot prevSnapshot, read together under one lock, after checking
// o's conditions on the first.
func (s *Store) PageBlobs(acct, cname, name, prevSnapshot string, o ReadOptions) (cur, prev *Blob, err error) {
	a, c, err := s.rlockCont(acct, cname)
	if err != nil {
		return nil, nil, err
	}
	defer a.mu.RUnlock()
	b, current := c.find(name, o.Snapshot, o.VersionID)
	if b == nil {
		return nil, nil, ErrBlobNotFound
	}
	if err := o.Conditions.checkRead(b.ETag, b.LastModified); err != nil {
		return nil, nil, err
	}
	if err := o.IfTags.check(b); err != nil {
		return nil, nil, err
	}
	if current {
		if err := b.Lease.At(s.now()).checkRead(o.LeaseID); err != nil {
			return nil, nil, err
		}
	}
	p, _ := c.history.Get(&Blob{Name: name, Snapshot: prevSnapshot})
	if p = visible(p); p == nil || (b.Snapshot != "" && p.Snapshot >= b.Snapshot) {
		return nil, nil, ErrPreviousSnapshotNotFound
	}
	return b, p, nil
}

// diffSeg is a run of one chunk placed at blob offset start.
type diffSeg struct {
	start, n int64
	ch       chunk
}

func (g diffSeg) end() int64 { return g.start + g.n }

// sameAt reports whether g and h hold the very same byte at blob offset
// pos (both cover it).
func (g diffSeg) sameAt(h diffSeg, pos int64) bool {
	if g.ch.f != nil || h.ch.f != nil {
		return g.ch.f == h.ch.f && g.ch.off+pos-g.start == h.ch.off+pos-h.start
	}
	return &g.ch.b[pos-g.start] == &h.ch.b[pos-h.start]
}

// segments flattens the page extents of b that meet [off, end).
func (b *Blob) segments(off, end int64) []diffSeg {
	var out []diffSeg
	for _, e := range b.Pages[b.firstExtent(off):] {
		if e.Offset >= end {
			break
		}
		pos := e.Offset
		for _, ch := range e.Content.chunks {
			if pos+ch.n > off && pos < end {
				out = append(out, diffSeg{start: pos, n: ch.n, ch: ch})
			}
			pos += ch.n
		}
	}
	return out
}

// PageRangeDiff returns the ranges of [off, off+n) that changed in b since
// prev (written pages whose bytes are not prev's), and those cleared
// (written in prev, not in b), in offset order, page aligned.
func (b *Blob) PageRangeDiff(prev *Blob, off, n int64) []DiffRange {
	end := off + n
	cur, old := b.segments(off, end), prev.segments(off, end)
	var out []DiffRange
	add := func(from, to int64, cleared bool) {
		from = max(from/PageSize*PageSize, off)
		to = min((to+PageSize-1)/PageSize*PageSize, end)
		if from >= to {
			return
		}
		if k := len(out); k > 0 && from <= out[k-1].End {
			// Rounding to pages made two ranges meet: a changed page
			// wins over a cleared one.
			last := &out[k-1]
			switch {
			case last.Cleared && !cleared:
				if last.End = from - 1; last.End < last.Start {
					out = out[:k-1]
				}
			case !last.Cleared && cleared:
				if from = last.End + 1; from >= to {
					return
				}
			}
		}
		if k := len(out); k > 0 && out[k-1].Cleared == cleared && out[k-1].End+1 >= from {
			out[k-1].End = max(out[k-1].End, to-1)
			return
		}
		out = append(out, DiffRange{PageRange: PageRange{Start: from, End: to - 1}, Cleared: cleared})
	}
	budget := int64(maxDiffCompare)
	var bufs [2][]byte
	i, j := 0, 0
	pos := off
	for pos < end && (i < len(cur) || j < len(old)) {
		for i < len(cur) && cur[i].end() <= pos {
			i++
		}
		for j < len(old) && old[j].end() <= pos {
			j++
		}
		next := end
		inCur := i < len(cur) && cur[i].start <= pos
		inOld := j < len(old) && old[j].start <= pos
		if i < len(cur) {
			if inCur {
				next = min(next, cur[i].end())
			} else {
				next = min(next, cur[i].start)
			}
		}
		if j < len(old) {
			if inOld {
				next = min(next, old[j].end())
			} else {
				next = min(next, old[j].start)
			}
		}
		switch {
		case inCur && inOld && !cur[i].sameAt(old[j], pos):
			if next-pos > budget {
				add(pos, next, false)
				break
			}
			budget -= next - pos
			comparePages(cur[i], old[j], pos, next, add, &bufs)
		case inCur && !inOld:
			add(pos, next, false)
		case !inCur && inOld:
			add(pos, next, true)
		}
		pos = next
	}
	return out
}

// comparePages compares [pos, next) of two segments page by page, adding
// the pages that differ (or cannot be read) as changed.
func comparePages(g, h diffSeg, pos, next int64, add func(from, to int64, cleared bool), bufs *[2][]byte) {
	const piece = 64 << 10
	for pos < next {
		n := min(next-pos, piece)
		if bufs[0] == nil {
			bufs[0], bufs[1] = make([]byte, piece), make([]byte, piece)
		}
		a, b := bufs[0][:n], bufs[1][:n]
		_, errA := io.ReadFull(Content{chunks: []chunk{g.ch}, size: g.n}.Reader(pos-g.start, n), a)
		_, errB := io.ReadFull(Content{chunks: []chunk{h.ch}, size: h.n}.Reader(pos-h.start, n), b)
		if errA != nil || errB != nil {
			add(pos, pos+n, false)
			pos += n
			continue
		}
		for p := pos; p < pos+n; {
			q := min((p/PageSize+1)*PageSize, pos+n)
			if !bytes.Equal(a[p-pos:q-pos], b[p-pos:q-pos]) {
				add(p, q, false)
			}
			p = q
		}
		pos += n
	}
}
