package store

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/geoblob/geoblob/internal/slab"
)

// TestReadContentHoldsWhatArrived: a body that declares a large length and
// sends a few bytes holds one slab buffer and little heap, not a buffer of
// the declared length, while it waits for the rest.
func TestReadContentHoldsWhatArrived(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	slabs := slab.Default().Stats().Handed
	c, err := ReadContent(strings.NewReader("only a little"), 4000<<20, -1)
	runtime.ReadMemStats(&after)
	if err != nil || c.Size() != int64(len("only a little")) {
		t.Fatalf("ReadContent: size %d, %v", c.Size(), err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Fatalf("reading 13 bytes of a body declared as 4000 MiB allocated %d bytes", got)
	}
	if got := slab.Default().Stats().Handed - slabs; got > 1 {
		t.Fatalf("reading 13 bytes of a body declared as 4000 MiB took %d slab buffers", got)
	}
	runtime.KeepAlive(c)
	// A body that does arrive whole is still read exactly.
	want := bytes.Repeat([]byte("0123456789abcdef"), (ChunkSize+12345)/16)
	c, err = ReadContent(bytes.NewReader(want), int64(len(want)), -1)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := c.WriteTo(&got); err != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("round trip of %d bytes: equal %v, %v", len(want), bytes.Equal(got.Bytes(), want), err)
	}
}

func TestContentSlice(t *testing.T) {
	c := Concat(Bytes([]byte("hello ")), Bytes([]byte("wide ")), Bytes([]byte("world")))
	cases := []struct {
		off, n int64
		want   string
	}{
		{0, 16, "hello wide world"},
		{0, 0, ""},
		{3, 5, "lo wi"},
		{6, 5, "wide "},
		{11, 5, "world"},
		{15, 1, "d"},
	}
	for _, tc := range cases {
		got := c.Slice(tc.off, tc.n)
		var b strings.Builder
		if _, err := got.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want || got.Size() != tc.n {
			t.Errorf("Slice(%d, %d) = %q (size %d), want %q", tc.off, tc.n, b.String(), got.Size(), tc.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Slice beyond the end did not panic")
		}
	}()
	c.Slice(10, 7)
}

// TestSlabChunksKeepTheirBuffers drops every reference to a body read into
// slab buffers but one (a slice of it, or a reader over it), runs a
// collection, and reads new bodies that would take any freed slot: what
// was kept must still read the first body's bytes.
func TestSlabChunksKeepTheirBuffers(t *testing.T) {
	size := 2 * slab.Size
	tests := []struct {
		name string
		keep func(Content) io.Reader
		want string
	}{
		{"slice", func(c Content) io.Reader {
			part := c.Slice(int64(slab.Size)-5, 10) // across both buffers
			var (
				buf     bytes.Buffer
				written bool
			)
			return readerFunc(func(p []byte) (int, error) {
				if !written {
					written = true
					if _, err := part.WriteTo(&buf); err != nil {
						return 0, err
					}
				}
				return buf.Read(p)
			})
		}, strings.Repeat("a", 10)},
		{"reader", func(c Content) io.Reader { return c.Reader(int64(size)-20, 20) }, strings.Repeat("a", 20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, err := ReadContent(bytes.NewReader(bytes.Repeat([]byte{'a'}, size)), int64(size), -1)
			if err != nil {
				t.Fatal(err)
			}
			if first.chunks[0].buf == nil {
				t.Fatal("a declared 4 MiB body was not read into slab buffers")
			}
			kept := tt.keep(first)
			first = Content{}
			runtime.GC()
			var later []Content
			for range 4 {
				c, err := ReadContent(bytes.NewReader(bytes.Repeat([]byte{'b'}, size)), int64(size), -1)
				if err != nil {
					t.Fatal(err)
				}
				later = append(later, c)
			}
			got, err := io.ReadAll(kept)
			if err != nil || string(got) != tt.want {
				t.Fatalf("after the body was dropped: %q %v", got, err)
			}
			runtime.KeepAlive(later)
		})
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
