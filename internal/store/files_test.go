package store

import (
	"bytes"
	"errors"
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
