package store

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// TestReadContentHoldsWhatArrived: a body that declares a large length and
// sends a few bytes holds a few kilobytes, not a 4 MiB chunk, while it
// waits for the rest.
func TestReadContentHoldsWhatArrived(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c, err := ReadContent(strings.NewReader("only a little"), 4000<<20, -1)
	runtime.ReadMemStats(&after)
	if err != nil || c.Size() != int64(len("only a little")) {
		t.Fatalf("ReadContent: size %d, %v", c.Size(), err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Fatalf("reading 13 bytes of a body declared as 4000 MiB allocated %d bytes", got)
	}
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
