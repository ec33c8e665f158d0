package emulator_test

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/geoblob/geoblob/emulator"
)

// patterned returns n bytes no other seed produces at any offset.
func patterned(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i%251) ^ seed
	}
	return b
}

// TestLargeBodiesSurviveBufferReuse keeps large bodies (read into reused
// slab buffers, internal/slab) in every form that shares them: a current
// blob, a snapshot, a committed block list, a server-side copy and the
// secondary's replica. It then drops other large blobs, runs collections
// and uploads more, so that every freed buffer is handed out again, and
// reads everything back. A form that kept bytes without its buffer would
// read another blob's bytes; in a race build (go test -race), freed
// buffers are also filled with slab.Poison at once.
func TestLargeBodiesSurviveBufferReuse(t *testing.T) {
	emu := start(t, emulator.Options{})
	primary, secondary := clients(t, emu, emu.SecondaryURL())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const size = 5<<20 + 12345 // two whole buffers and a heap tail
	if _, err := primary.CreateContainer(ctx, "reuse", nil); err != nil {
		t.Fatal(err)
	}
	put := func(name string, body []byte, blocks bool) {
		t.Helper()
		opts := &azblob.UploadBufferOptions{}
		if blocks {
			opts.BlockSize = 4 << 20 // Put Block and Put Block List
		}
		if _, err := primary.UploadBuffer(ctx, "reuse", name, body, opts); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]byte{}
	put("snapped", patterned(1, size), false)
	snap, err := primary.ServiceClient().NewContainerClient("reuse").NewBlobClient("snapped").CreateSnapshot(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	put("snapped", patterned(2, size), true) // overwritten: the snapshot keeps the first body
	want["snapped"] = patterned(2, size)
	put("blocks", patterned(3, size), true)
	want["blocks"] = patterned(3, size)
	put("source", patterned(4, size), false)
	src := primary.ServiceClient().NewContainerClient("reuse").NewBlobClient("source")
	dst := primary.ServiceClient().NewContainerClient("reuse").NewBlobClient("copy")
	if _, err := dst.StartCopyFromURL(ctx, src.URL(), nil); err != nil {
		t.Fatal(err)
	}
	want["copy"] = patterned(4, size)
	if _, err := primary.DeleteBlob(ctx, "reuse", "source", nil); err != nil {
		t.Fatal(err)
	}
	if err := emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// Churn: large blobs written and deleted, with collections between, so
	// that freed buffers are reused.
	for i := range 6 {
		name := "churn"
		put(name, patterned(byte(10+i), size), i%2 == 0)
		if _, err := primary.DeleteBlob(ctx, "reuse", name, nil); err != nil {
			t.Fatal(err)
		}
		if err := emu.Replication().Wait(ctx); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
	}
	check := func(what string, b *blob.Client, body []byte) {
		t.Helper()
		resp, err := b.DownloadStream(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got bytes.Buffer
		if _, err := got.ReadFrom(resp.Body); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), body) {
			t.Fatalf("%s: %d bytes read back differ from the %d written", what, got.Len(), len(body))
		}
	}
	for name, body := range want {
		check(name, primary.ServiceClient().NewContainerClient("reuse").NewBlobClient(name), body)
		check(name+" on the secondary", secondary.ServiceClient().NewContainerClient("reuse").NewBlobClient(name), body)
	}
	snapClient, err := primary.ServiceClient().NewContainerClient("reuse").NewBlobClient("snapped").WithSnapshot(*snap.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	check("the snapshot", snapClient, patterned(1, size))
}
