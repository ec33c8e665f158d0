package emulator_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/geoblob/geoblob/emulator"
)

// BenchmarkDataDirRangedDownload measures a 64 MiB blob (one content file)
// downloaded from an emulator with a data directory as 16 parallel ranges
// of 4 MiB. "first" reads each blob once, just after its upload (a ranged
// read verifies the whole content file's checksum the first time); "again"
// reads one blob repeatedly.
func BenchmarkDataDirRangedDownload(b *testing.B) {
	const size = 64 << 20
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{DataDir: b.TempDir(), Clock: emulator.NewManualClock(time.Now()), NoSecondaryListener: true})
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	cred, err := azblob.NewSharedKeyCredential(emu.AccountName(), emu.AccountKey())
	if err != nil {
		b.Fatal(err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential(emu.PrimaryURL(), cred, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateContainer(ctx, "bench", nil); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	got := make([]byte, size)
	download := func(b *testing.B, name string) {
		n, err := c.DownloadBuffer(ctx, "bench", name, got, &blob.DownloadBufferOptions{BlockSize: 4 << 20, Concurrency: 16})
		if err != nil || n != size || !bytes.Equal(got, data) {
			b.Fatalf("download %s: %d bytes, %v", name, n, err)
		}
	}
	upload := func(b *testing.B, name string) {
		// One Put Blob: one content file of 64 MiB.
		if _, err := c.UploadBuffer(ctx, "bench", name, data, &azblob.UploadBufferOptions{BlockSize: size}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("first", func(b *testing.B) {
		b.SetBytes(size)
		for i := range b.N {
			b.StopTimer()
			name := fmt.Sprint("first-", i)
			upload(b, name)
			b.StartTimer()
			download(b, name)
		}
	})
	b.Run("again", func(b *testing.B) {
		upload(b, "again")
		download(b, "again")
		b.SetBytes(size)
		b.ResetTimer()
		for range b.N {
			download(b, "again")
		}
	})
}
