package durable

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
)

// BenchmarkSmallPut measures 4 KiB Put Blob calls on a store with a data
// directory, from 16 goroutines (group commit shares fsyncs between them).
func BenchmarkSmallPut(b *testing.B) {
	p := openPair(b, b.TempDir(), clock.NewManual(time.Now()), time.Hour)
	if _, err := p.primary.CreateContainer("acct", "c", nil, ""); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 4096)
	var n atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; n.Add(1) <= int64(b.N); i++ {
				c, err := p.primary.NewContent(data)
				if err == nil {
					_, err = p.primary.PutBlob("acct", "c", fmt.Sprint(w, "-", i), c, store.HTTPHeaders{}, nil, store.WriteOptions{})
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	st := p.db.Stats()
	b.ReportMetric(float64(st.Records)/float64(st.Commits), "records/commit")
}
