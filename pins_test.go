package geoblob_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
)

// TestClosedBreakerKeepsChunksOnPrimary: versions the secondary served
// during an outage do not pull later downloads there once the breaker is
// closed and the primary is healthy: every chunk goes to the primary.
func TestClosedBreakerKeepsChunksOnPrimary(t *testing.T) {
	var secondary atomic.Int64
	cfg := geoblob.DefaultConfig()
	cfg.OnResponse = func(ev geoblob.ResponseEvent) {
		if ev.Location == geoblob.Secondary {
			secondary.Add(1)
		}
	}
	e := newEnv(t, emulator.Options{}, cfg)
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	e.put(t, "big", data)
	ctx := context.Background()
	opts := &azblob.DownloadBufferOptions{BlockSize: 4096, Concurrency: 4}
	buf := make([]byte, len(data))

	e.router.Force(geoblob.SecondaryOnly)
	if _, err := geoblob.DownloadBuffer(ctx, e.client, testContainer, "big", buf, opts); err != nil {
		t.Fatal(err)
	}
	if secondary.Load() == 0 {
		t.Fatal("the outage download never used the secondary")
	}
	e.router.Force(geoblob.Auto)
	secondary.Store(0)
	for range 2 {
		clear(buf)
		n, err := geoblob.DownloadBuffer(ctx, e.client, testContainer, "big", buf, opts)
		if err != nil || !bytes.Equal(buf[:n], data) {
			t.Fatalf("%d bytes, %v", n, err)
		}
		// azblob's own download follows the same path.
		if _, err := e.client.DownloadBuffer(ctx, testContainer, "big", buf, opts); err != nil {
			t.Fatal(err)
		}
	}
	if n := secondary.Load(); n != 0 {
		t.Fatalf("%d chunk reads went to the secondary with the breaker closed", n)
	}
	if c := e.router.Counters(); c.PinnedReads != 0 {
		t.Fatalf("counters %+v", c)
	}
}

// TestPinnedReadFinishesDownload: a download that started on the secondary
// (v1) is finished there when the breaker closes mid-way and the primary
// answers 412 because it holds v2; such reads are counted.
func TestPinnedReadFinishesDownload(t *testing.T) {
	tv := newTwoVersions(t, false, geoblob.SecondaryOnly, geoblob.Auto)
	buf := make([]byte, len(tv.v1))
	if _, err := tv.client.DownloadBuffer(context.Background(), testContainer, "v.bin", buf, &azblob.DownloadBufferOptions{BlockSize: 4096, Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	oneVersion(t, buf, tv.v1)
	if c := tv.router.Counters(); c.PinnedReads == 0 {
		t.Fatalf("no pinned reads: %+v", c)
	}
}
