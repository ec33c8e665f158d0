package store

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// pageOp is a page write (or clear) of pages pages at page off.
type pageOp struct {
	off, pages int64
	clear      bool
}

// TestPageRangeDiff writes pages, takes a snapshot, writes more and checks
// the diff against the snapshot: every page whose bytes or written state
// differ is reported (changed when written now, cleared when written only
// in the snapshot), nothing is reported that is not written on its side,
// and where want is given the diff is exactly it.
func TestPageRangeDiff(t *testing.T) {
	const size = 512 * PageSize // 256 KiB: several compaction segments
	tests := []struct {
		name          string
		before, after []pageOp
		want          []DiffRange // nil: only the property is checked
	}{
		{"nothing changed", []pageOp{{0, 4, false}}, nil, []DiffRange{}},
		{"small write inside a large extent", []pageOp{{0, 256, false}}, []pageOp{{10, 1, false}},
			[]DiffRange{{PageRange: PageRange{Start: 10 * PageSize, End: 11*PageSize - 1}}}},
		{"clear", []pageOp{{0, 8, false}}, []pageOp{{2, 2, true}},
			[]DiffRange{{PageRange: PageRange{Start: 2 * PageSize, End: 4*PageSize - 1}, Cleared: true}}},
		{"new pages after", []pageOp{{0, 2, false}}, []pageOp{{300, 3, false}},
			[]DiffRange{{PageRange: PageRange{Start: 300 * PageSize, End: 303*PageSize - 1}}}},
		{"large rewrite elsewhere keeps the rest", []pageOp{{0, 200, false}, {300, 200, false}}, []pageOp{{300, 200, false}},
			[]DiffRange{{PageRange: PageRange{Start: 300 * PageSize, End: 500*PageSize - 1}}}},
		{"mixed", []pageOp{{0, 64, false}, {100, 10, false}}, []pageOp{{5, 1, false}, {100, 4, true}, {400, 1, false}, {62, 4, false}}, nil},
	}
	none := PageOptions{IfSequenceNumberLE: -1, IfSequenceNumberLT: -1, IfSequenceNumberEQ: -1}
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := newTestStore(t)
			if _, err := s.CreatePageBlob("acct", "c", "p", size, 0, HTTPHeaders{}, nil, WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			apply := func(ops []pageOp) {
				for _, op := range ops {
					var err error
					if op.clear {
						_, err = s.ClearPages("acct", "c", "p", op.off*PageSize, op.pages*PageSize, none)
					} else {
						data := make([]byte, op.pages*PageSize)
						for i := range data {
							data[i] = byte(rnd.IntN(256))
						}
						_, err = s.PutPages("acct", "c", "p", op.off*PageSize, Bytes(data), none)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			apply(tt.before)
			snap, err := s.SnapshotBlob("acct", "c", "p", nil, WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			apply(tt.after)
			cur, prev, err := s.PageBlobs("acct", "c", "p", snap.Snapshot, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			diff := cur.PageRangeDiff(prev, 0, size)
			if tt.want != nil && !equalDiff(diff, tt.want) {
				t.Fatalf("diff %+v, want %+v", diff, tt.want)
			}
			checkDiffProperty(t, cur, prev, diff, size)
		})
	}
	s, _, _ := newTestStore(t)
	if _, err := s.CreatePageBlob("acct", "c", "p", size, 0, HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PageBlobs("acct", "c", "p", HistoryID(s.now()), ReadOptions{}); err != ErrPreviousSnapshotNotFound {
		t.Fatalf("diff against a missing snapshot: %v", err)
	}
}

func equalDiff(a, b []DiffRange) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkDiffProperty checks diff page by page against the two versions.
func checkDiffProperty(t *testing.T, cur, prev *Blob, diff []DiffRange, size int64) {
	t.Helper()
	written := func(b *Blob) []bool {
		w := make([]bool, size/PageSize)
		for _, r := range b.PageRanges(0, size) {
			for p := r.Start / PageSize; p <= r.End/PageSize; p++ {
				w[p] = true
			}
		}
		return w
	}
	wc, wp := written(cur), written(prev)
	bc, bp := readAll(t, cur), readAll(t, prev)
	reported := make([]int, size/PageSize) // 0 none, 1 changed, 2 cleared
	for i, r := range diff {
		if r.Start%PageSize != 0 || (r.End+1)%PageSize != 0 || (i > 0 && diff[i-1].End >= r.Start) {
			t.Fatalf("range %d %+v is not page aligned or out of order", i, r)
		}
		for p := r.Start / PageSize; p <= r.End/PageSize; p++ {
			reported[p] = 1
			if r.Cleared {
				reported[p] = 2
			}
		}
	}
	for p := range reported {
		o := int64(p) * PageSize
		differs := wc[p] != wp[p] || !bytes.Equal(bc[o:o+PageSize], bp[o:o+PageSize])
		switch {
		case reported[p] == 1 && !wc[p]:
			t.Fatalf("page %d reported changed but not written", p)
		case reported[p] == 2 && (wc[p] || !wp[p]):
			t.Fatalf("page %d reported cleared but written %v, was %v", p, wc[p], wp[p])
		case reported[p] == 0 && differs:
			t.Fatalf("page %d differs but is not reported", p)
		}
	}
}
