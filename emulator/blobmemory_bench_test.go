package emulator_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
)

// BenchmarkBytesPerBlob measures the heap one small blob record costs an
// emulator in memory (primary and secondary together), written the way the
// listing phases of geoblob bench emulator write them: empty blobs, Put
// Blob through azblob, names of a dozen bytes. It reports B/blob, the live
// heap after the fill and replication over the blob count, each iteration
// on a fresh emulator. A regression in the size of a blob's record shows
// here; `go test -run '^$' -bench BytesPerBlob ./emulator` runs it.
func BenchmarkBytesPerBlob(b *testing.B) {
	const blobs, workers = 20_000, 16
	var total float64
	for range b.N {
		total += bytesPerBlob(b, blobs, workers)
	}
	b.ReportMetric(total/float64(b.N), "B/blob")
}

func bytesPerBlob(b *testing.B, blobs, workers int) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	emu, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	cred, err := azblob.NewSharedKeyCredential(emu.AccountName(), emu.AccountKey())
	if err != nil {
		b.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(emu.PrimaryURL(), cred, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, "list", nil); err != nil {
		b.Fatal(err)
	}
	// One blob first, so that what every blob shares is already there.
	if _, err := client.UploadBuffer(ctx, "list", "warm-up", nil, nil); err != nil {
		b.Fatal(err)
	}
	if err := emu.Replication().Wait(ctx); err != nil {
		b.Fatal(err)
	}
	before := liveHeap()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= blobs {
					return
				}
				if _, err := client.UploadBuffer(ctx, "list", fmt.Sprintf("d%04d/b%08d", i%100, i), nil, nil); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	if err := emu.Replication().Wait(ctx); err != nil {
		b.Fatal(err)
	}
	after := liveHeap()
	runtime.KeepAlive(emu)
	return float64(int64(after)-int64(before)) / float64(blobs)
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
