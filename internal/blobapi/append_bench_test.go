package blobapi_test

import (
	"bytes"
	"testing"
)

// BenchmarkAppendBlock appends 4 KiB blocks to one append blob from one
// client, the way a log writer does; the blob grows by b.N blocks (at most
// the 50,000 Azure allows, so keep -benchtime below that).
func BenchmarkAppendBlock(b *testing.B) {
	e := newEnv(b)
	e.mustCreate("bench")
	c := benchClient(b, e)
	ab := c.ServiceClient().NewContainerClient("bench").NewAppendBlobClient("log")
	if _, err := ab.Create(ctx(), nil); err != nil {
		b.Fatal(err)
	}
	block := bytes.Repeat([]byte("x"), 4<<10)
	b.SetBytes(int64(len(block)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := ab.AppendBlock(ctx(), streamOf(block), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

// BenchmarkPutBlockFromURL stages 1 MiB blocks read from a blob of the
// emulator through a read SAS.
func BenchmarkPutBlockFromURL(b *testing.B) {
	e := newEnv(b)
	e.mustCreate("bench")
	e.mustUpload("bench", "src", bytes.Repeat([]byte("y"), 1<<20))
	src := e.readSASURL("bench", "src")
	c := benchClient(b, e)
	bb := c.ServiceClient().NewContainerClient("bench").NewBlockBlobClient("dst")
	id := base64Std("block-0")
	b.SetBytes(1 << 20)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := bb.StageBlockFromURL(ctx(), id, src, nil); err != nil {
			b.Fatal(err)
		}
	}
}
