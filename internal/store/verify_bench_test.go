package store

import (
	"crypto/rand"
	"testing"
)

// BenchmarkVerify64MiB measures the first-read verification of a 64 MiB
// content file (page cache warm): reading it through the pooled buffer and
// computing its CRC-32C.
func BenchmarkVerify64MiB(b *testing.B) {
	f, err := OpenFiles(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 64<<20)
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	c, err := f.Bytes(data)
	if err != nil {
		b.Fatal(err)
	}
	r := c.chunks[0].f
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if err := r.checksum(); err != nil {
			b.Fatal(err)
		}
	}
}
