package replica

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
)

// BenchmarkReplicatedPut is the cost of a small Put Blob on a primary
// whose changes a replicator applies to a secondary, the way the emulator
// runs them: 64 blobs overwritten in turn, 2 KiB each, replicated with a
// 1 s lag while the manual clock moves 16 ms every 64 writes, so the queue
// holds a backlog of about 4000 changes, as it does under load.
func BenchmarkReplicatedPut(b *testing.B) {
	clk := clock.NewManual(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	var r *Replicator
	prim := store.New(store.Options{Now: clk.Now, OnCommit: func(c store.Change) { r.Enqueue(c) }})
	r = New(store.New(store.Options{Now: clk.Now}), Options{Lag: time.Second, Clock: clk, Fence: prim.FenceNow})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if _, err := prim.CreateContainer("a", "c", nil, ""); err != nil {
		b.Fatal(err)
	}
	const blobs = 64
	names := make([]string, blobs)
	for i := range names {
		names[i] = fmt.Sprintf("blob-%02d", i)
	}
	body := make([]byte, 2<<10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := prim.PutBlob("a", "c", names[i%blobs], store.Bytes(body), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
		if i%blobs == blobs-1 {
			clk.Advance(16 * time.Millisecond)
		}
	}
	clk.Advance(time.Minute)
	if err := r.WaitIdle(ctx); err != nil {
		b.Fatal(err)
	}
}
