package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

type failingReader struct{ after int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.after <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := min(len(p), r.after)
	r.after -= n
	return n, nil
}

// TestFilesReadContent: a body streams into one content file; a body over
// its limit or cut short leaves no file behind and reports the same errors
// as the in-memory ReadContent.
func TestFilesReadContent(t *testing.T) {
	big := strings.Repeat("x", 3*copyBufSize+5)
	tests := []struct {
		name  string
		r     io.Reader
		limit int64
		want  error
		files int
	}{
		{"small", strings.NewReader("hello"), -1, nil, 1},
		{"several buffers", strings.NewReader(big), -1, nil, 1},
		{"empty", strings.NewReader(""), -1, nil, 0},
		{"over the limit", strings.NewReader(big), int64(len(big) - 1), ErrTooLarge, 0},
		{"cut short", &failingReader{after: copyBufSize + 3}, -1, io.ErrUnexpectedEOF, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := OpenFiles(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			c, err := f.ReadContent(tc.r, -1, tc.limit)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			entries, _ := os.ReadDir(f.Dir())
			if len(entries) != tc.files {
				t.Fatalf("%d files left, want %d", len(entries), tc.files)
			}
			if err != nil {
				return
			}
			if err := c.Check(); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if _, err := c.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			if tc.name == "several buffers" && buf.String() != big || tc.name == "small" && buf.String() != "hello" {
				t.Fatalf("read back %d bytes", buf.Len())
			}
			if c.Size() < 2 {
				return
			}
			var part bytes.Buffer
			if n, err := c.Slice(1, c.Size()-2).WriteTo(&part); err != nil || n != c.Size()-2 || part.String() != buf.String()[1:buf.Len()-1] {
				t.Fatalf("slice: %d %v", n, err)
			}
		})
	}
}

// TestFilesRangedReadOfDamagedFile: a ranged read of a content file whose
// bytes were changed after it was written fails with ErrCorruptContent and
// writes nothing, whether or not the range covers the changed byte; an
// undamaged file serves every range.
func TestFilesRangedReadOfDamagedFile(t *testing.T) {
	data := []byte(strings.Repeat("0123456789abcdef", 3*copyBufSize/16+7))
	size := int64(len(data))
	tests := []struct {
		name   string
		damage func(b []byte) []byte // nil: leave the file alone
	}{
		{"undamaged", nil},
		{"a byte flipped", func(b []byte) []byte { b[len(b)/2] ^= 0x20; return b }},
		{"garbage of the same length", func(b []byte) []byte {
			for i := range b {
				b[i] = byte(i*131 + 7)
			}
			return b
		}},
	}
	ranges := []struct{ off, n int64 }{
		{0, 10},                        // before the flipped byte
		{size/2 - 5, 10},               // across it
		{size - 10, 10},                // after it
		{copyBufSize, 2 * copyBufSize}, // several buffers
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := OpenFiles(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			c, err := f.Bytes(data)
			if err != nil {
				t.Fatal(err)
			}
			if tc.damage != nil {
				path := f.path(c.chunks[0].f.id)
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, tc.damage(b), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, rg := range ranges {
				if err := c.CheckRange(rg.off, rg.n); (tc.damage == nil) != (err == nil) || err != nil && !errors.Is(err, ErrCorruptContent) {
					t.Fatalf("CheckRange %d+%d: %v", rg.off, rg.n, err)
				}
				var buf bytes.Buffer
				n, err := c.WriteRange(&buf, rg.off, rg.n)
				want := data[rg.off : rg.off+rg.n]
				if tc.damage == nil {
					if err != nil || n != rg.n || !bytes.Equal(buf.Bytes(), want) {
						t.Fatalf("range %d+%d: %d bytes, %v", rg.off, rg.n, n, err)
					}
				} else if !errors.Is(err, ErrCorruptContent) || n != 0 || buf.Len() != 0 {
					t.Fatalf("range %d+%d of a damaged file: wrote %d bytes, err %v; want nothing and ErrCorruptContent", rg.off, rg.n, n, err)
				}
				got, err := io.ReadAll(c.Reader(rg.off, rg.n))
				if tc.damage == nil {
					if err != nil || !bytes.Equal(got, want) {
						t.Fatalf("reader %d+%d: %d bytes, %v", rg.off, rg.n, len(got), err)
					}
				} else if !errors.Is(err, ErrCorruptContent) || len(got) != 0 {
					t.Fatalf("reader %d+%d of a damaged file: %d bytes, err %v; want none and ErrCorruptContent", rg.off, rg.n, len(got), err)
				}
			}
		})
	}
}

// TestFilesVerifiedIsBounded: the memory of verified files keeps at most
// verifiedMax ids, dropping the least recently used.
func TestFilesVerifiedIsBounded(t *testing.T) {
	f, err := OpenFiles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := func(i int) string { return fmt.Sprintf("%032x", i) }
	for i := range verifiedMax + 10 {
		f.markVerified(id(i))
		if i == verifiedMax/2 {
			f.markVerified(id(0)) // used again: kept
		}
	}
	if len(f.verified) != verifiedMax || f.vlru.Len() != verifiedMax {
		t.Fatalf("%d ids remembered (list %d), want %d", len(f.verified), f.vlru.Len(), verifiedMax)
	}
	for i, want := range map[int]bool{0: true, 1: false, 9: false, 11: true, verifiedMax + 9: true} {
		if _, ok := f.verified[id(i)]; ok != want {
			t.Errorf("id %d remembered: %v, want %v", i, ok, want)
		}
	}
}
