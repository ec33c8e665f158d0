package durable

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
)

// BenchmarkDeleteLargeContainer fills a container with 100k empty blobs
// (64 uploads at a time, names interleaved over 10 prefixes, as the
// emulator benchmark's listing phase does), deletes it, waits until the
// secondary has applied the deletion, and reports what the data directory
// leaves behind: the size of meta.db, the free pages in bbolt's freelist
// (held in memory), the Go heap after a collection, and the time of the
// deletion. Run it on its own:
//
//	go test -run '^$' -bench DeleteLargeContainer -benchtime 1x ./internal/durable/
func BenchmarkDeleteLargeContainer(b *testing.B) {
	const blobs, uploaders = 100_000, 64
	for range b.N {
		p := openPair(b, b.TempDir(), clock.NewManual(time.Now()), 0)
		if _, err := p.primary.CreateContainer("acct", "c", nil, ""); err != nil {
			b.Fatal(err)
		}
		var next atomic.Int64
		var wg sync.WaitGroup
		for range uploaders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1); i <= blobs; i = next.Add(1) {
					c, err := p.primary.NewContent(nil)
					if err == nil {
						_, err = p.primary.PutBlob("acct", "c", fmt.Sprintf("dir%02d/blob-%07d", i%10, i), c, store.HTTPHeaders{}, nil, store.WriteOptions{})
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		p.waitIdle(b)
		t0 := time.Now()
		if err := p.primary.DeleteContainer("acct", "c", store.Conditions{}); err != nil {
			b.Fatal(err)
		}
		p.waitIdle(b)
		if err := p.db.Sync(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(t0).Seconds(), "delete-s")
		fi, err := os.Stat(p.db.bolt.Path())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size())/1e6, "meta.db-MB")
		b.ReportMetric(float64(p.db.bolt.Stats().FreePageN), "free-pages")
		runtime.GC()
		debug.FreeOSMemory()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		b.ReportMetric(float64(s[0].Value.Uint64())/1e6, "heap-MB")
		p.close()
	}
}
