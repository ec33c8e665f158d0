package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// readAll reads the whole blob through WriteRange.
func readAll(t *testing.T, b *Blob) []byte {
	t.Helper()
	var buf bytes.Buffer
	if n, err := b.WriteRange(&buf, 0, b.Size()); err != nil || n != b.Size() {
		t.Fatalf("WriteRange: %d of %d, %v", n, b.Size(), err)
	}
	return buf.Bytes()
}

// TestPageWrites applies a sequence of page writes and clears to a page
// blob and to a plain byte slice, and checks after each that the content,
// the ranges, ContentRange and the untouched earlier version agree.
func TestPageWrites(t *testing.T) {
	s, _, _ := newTestStore(t)
	const size = 16 * PageSize
	if _, err := s.CreatePageBlob("acct", "c", "p", size, 0, HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	model := make([]byte, size)
	written := make([]bool, size/PageSize)
	none := PageOptions{IfSequenceNumberLE: -1, IfSequenceNumberLT: -1, IfSequenceNumberEQ: -1}
	tests := []struct {
		name       string
		off, pages int64
		clear      bool
	}{
		{"first", 2 * PageSize, 2, false},
		{"disjoint after", 8 * PageSize, 1, false},
		{"touching before joins", 1 * PageSize, 1, false},
		{"overlap both", 3 * PageSize, 6, false},
		{"clear middle splits", 4 * PageSize, 2, true},
		{"clear nothing written", 12 * PageSize, 2, true},
		{"overwrite inside", 6 * PageSize, 1, false},
		{"last page", 15 * PageSize, 1, false},
		{"clear all", 0, 16, true},
		{"whole blob", 0, 16, false},
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev, err := s.Blob("acct", "c", "p", ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			prevBytes := readAll(t, prev)
			n := tt.pages * PageSize
			if tt.clear {
				_, err = s.ClearPages("acct", "c", "p", tt.off, n, none)
				clear(model[tt.off : tt.off+n])
			} else {
				data := make([]byte, n)
				for i := range data {
					data[i] = byte(rnd.IntN(255) + 1)
				}
				_, err = s.PutPages("acct", "c", "p", tt.off, Bytes(data), none)
				copy(model[tt.off:], data)
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := tt.off / PageSize; i < (tt.off+n)/PageSize; i++ {
				written[i] = !tt.clear
			}
			b, err := s.Blob("acct", "c", "p", ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, b); !bytes.Equal(got, model) {
				t.Fatalf("content differs from the model")
			}
			if got := readAll(t, prev); !bytes.Equal(got, prevBytes) {
				t.Fatalf("the previous version changed")
			}
			var want []PageRange
			for i, w := range written {
				start := int64(i) * PageSize
				switch {
				case !w:
				case len(want) > 0 && want[len(want)-1].End+1 == start:
					want[len(want)-1].End += PageSize
				default:
					want = append(want, PageRange{Start: start, End: start + PageSize - 1})
				}
			}
			got := b.PageRanges(0, size)
			if len(got) != len(want) {
				t.Fatalf("ranges %v, want %v", got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("ranges %v, want %v", got, want)
				}
			}
			// Any window through ContentRange and WriteRange.
			for _, w := range [][2]int64{{0, size}, {100, 700}, {size - 1, 1}, {3*PageSize + 7, 5 * PageSize}} {
				var buf bytes.Buffer
				if _, err := b.ContentRange(w[0], w[1]).WriteTo(&buf); err != nil || !bytes.Equal(buf.Bytes(), model[w[0]:w[0]+w[1]]) {
					t.Errorf("ContentRange(%d, %d) differs (%v)", w[0], w[1], err)
				}
				buf.Reset()
				if _, err := b.WriteRange(&buf, w[0], w[1]); err != nil || !bytes.Equal(buf.Bytes(), model[w[0]:w[0]+w[1]]) {
					t.Errorf("WriteRange(%d, %d) differs (%v)", w[0], w[1], err)
				}
			}
		})
	}
}

// TestPageRules: alignment, bounds, sequence number conditions and blob
// types.
func TestPageRules(t *testing.T) {
	s, _, _ := newTestStore(t)
	if _, err := s.CreatePageBlob("acct", "c", "p", 4*PageSize, 10, HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlob("acct", "c", "blk", Bytes([]byte("x")), HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	page := Bytes(make([]byte, PageSize))
	seq := func(le, lt, eq int64) PageOptions {
		return PageOptions{IfSequenceNumberLE: le, IfSequenceNumberLT: lt, IfSequenceNumberEQ: eq}
	}
	tests := []struct {
		name    string
		blob    string
		off     int64
		data    Content
		o       PageOptions
		wantErr error
	}{
		{"ok", "p", 0, page, seq(-1, -1, -1), nil},
		{"le met", "p", 0, page, seq(10, -1, -1), nil},
		{"le not met", "p", 0, page, seq(9, -1, -1), ErrSequenceNumberConditionNotMet},
		{"lt met", "p", 0, page, seq(-1, 11, -1), nil},
		{"lt not met", "p", 0, page, seq(-1, 10, -1), ErrSequenceNumberConditionNotMet},
		{"eq met", "p", 0, page, seq(-1, -1, 10), nil},
		{"eq not met", "p", 0, page, seq(-1, -1, 11), ErrSequenceNumberConditionNotMet},
		{"unaligned offset", "p", 1, page, seq(-1, -1, -1), ErrInvalidPageRange},
		{"unaligned length", "p", 0, Bytes(make([]byte, 100)), seq(-1, -1, -1), ErrInvalidPageRange},
		{"past the end", "p", 4 * PageSize, page, seq(-1, -1, -1), ErrInvalidPageRange},
		{"block blob", "blk", 0, page, seq(-1, -1, -1), ErrInvalidBlobType},
		{"missing", "nope", 0, page, seq(-1, -1, -1), ErrBlobNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.PutPages("acct", "c", tt.blob, tt.off, tt.data, tt.o)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
		})
	}
	for _, size := range []int64{-PageSize, 100, MaxPageBlobSize + PageSize} {
		if _, err := s.CreatePageBlob("acct", "c", "bad", size, 0, HTTPHeaders{}, nil, WriteOptions{}); !errors.Is(err, ErrInvalidPageRange) {
			t.Errorf("create of %d bytes: %v", size, err)
		}
	}
	// Resize and sequence numbers.
	b, err := s.SetPageBlobProperties("acct", "c", "p", nil, ResizeOptions{Length: 2 * PageSize, SequenceAction: "max", SequenceNumber: 3})
	if err != nil || b.Size() != 2*PageSize || b.SequenceNumber != 10 || len(b.Pages) != 1 || b.Pages[0].End() != PageSize {
		t.Fatalf("resize: %v %+v", err, b)
	}
	if _, err := s.SetPageBlobProperties("acct", "c", "blk", nil, ResizeOptions{Length: PageSize}); !errors.Is(err, ErrInvalidBlobType) {
		t.Errorf("resize of a block blob: %v", err)
	}
}

// TestPageBlobHugeIsSparse: an 8 TiB page blob with one written page holds
// one extent, and reading a window far from it allocates no page data.
func TestPageBlobHugeIsSparse(t *testing.T) {
	s, _, _ := newTestStore(t)
	none := PageOptions{IfSequenceNumberLE: -1, IfSequenceNumberLT: -1, IfSequenceNumberEQ: -1}
	if _, err := s.CreatePageBlob("acct", "c", "huge", MaxPageBlobSize, 0, HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := s.PutPages("acct", "c", "huge", MaxPageBlobSize/2, Bytes(bytes.Repeat([]byte{7}, PageSize)), none)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Pages) != 1 || b.Size() != MaxPageBlobSize {
		t.Fatalf("extents %d size %d", len(b.Pages), b.Size())
	}
	allocs := testing.AllocsPerRun(10, func() {
		_, _ = b.WriteRange(discard{}, MaxPageBlobSize-8<<20, 8<<20)
	})
	if allocs > 4 {
		t.Errorf("reading 8 MiB of unwritten pages allocated %v times", allocs)
	}
	if r := b.PageRanges(0, MaxPageBlobSize); len(r) != 1 || r[0].Start != MaxPageBlobSize/2 {
		t.Errorf("ranges %v", r)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestSmallPageWritesAreCompacted: a blob written by many small page
// writes holds a chunk count that follows its bytes, not its writes
// (regression: every 512-byte write used to add a chunk to the version's
// extent, and every retained version copied that list).
func TestSmallPageWritesAreCompacted(t *testing.T) {
	s, _, _ := newTestStore(t)
	const writes = 1000
	if _, err := s.CreatePageBlob("acct", "c", "p", 2*writes*PageSize, 0, HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	none := PageOptions{IfSequenceNumberLE: -1, IfSequenceNumberLT: -1, IfSequenceNumberEQ: -1}
	model := make([]byte, 2*writes*PageSize)
	var b *Blob
	for i := 0; i < writes; i++ {
		data := bytes.Repeat([]byte{byte(i%250 + 1)}, PageSize)
		off := int64(i) * PageSize
		if i >= writes/2 {
			off = int64(2*writes-1-(i-writes/2)) * PageSize // a second run, written backwards from the end
		}
		var err error
		if b, err = s.PutPages("acct", "c", "p", off, Bytes(data), none); err != nil {
			t.Fatal(err)
		}
		copy(model[off:], data)
	}
	chunks := 0
	for _, e := range b.Pages {
		chunks += len(e.Content.chunks)
	}
	if len(b.Pages) != 2 {
		t.Fatalf("%d extents, want 2", len(b.Pages))
	}
	if limit := writes*PageSize/pageSegment + 6; chunks > limit {
		t.Errorf("%d writes left %d chunks in %d extents, want at most %d", writes, chunks, len(b.Pages), limit)
	}
	if got := readAll(t, b); !bytes.Equal(got, model) {
		t.Errorf("content differs from the model")
	}
}
