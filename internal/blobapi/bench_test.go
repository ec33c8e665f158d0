package blobapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// benchClient is an azblob client whose transport keeps enough idle
// connections for parallel benchmarks.
func benchClient(b *testing.B, e *env) *azblob.Client {
	b.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	tr.WriteBufferSize, tr.ReadBufferSize = 256<<10, 256<<10
	c, err := azblob.NewClientWithSharedKeyCredential(e.primaryURL(), e.cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Transport: &http.Client{Transport: tr},
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(tr.CloseIdleConnections)
	return c
}

// BenchmarkSmallGet downloads a 4 KiB blob from 16 goroutines per
// GOMAXPROCS, all sharing one client.
func BenchmarkSmallGet(b *testing.B) {
	e := newEnv(b)
	e.mustCreate("bench")
	e.mustUpload("bench", "small", bytes.Repeat([]byte("x"), 4<<10))
	c := benchClient(b, e)
	b.SetBytes(4 << 10)
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.DownloadStream(ctx(), "bench", "small", nil)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "GETs/s")
}

// BenchmarkSmallPut uploads 4 KiB blobs from concurrent clients.
func BenchmarkSmallPut(b *testing.B) {
	e := newEnv(b)
	e.mustCreate("bench")
	c := benchClient(b, e)
	data := bytes.Repeat([]byte("x"), 4<<10)
	var n atomic.Int64
	b.SetBytes(int64(len(data)))
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			name := fmt.Sprintf("b%d", n.Add(1)%1024)
			if _, err := c.UploadBuffer(ctx(), "bench", name, data, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "PUTs/s")
}

const largeSize = 64 << 20

// BenchmarkLargePut uploads a 64 MiB blob with one Put Blob.
func BenchmarkLargePut(b *testing.B) {
	e := newEnv(b)
	e.mustCreate("bench")
	c := benchClient(b, e)
	data := bytes.Repeat([]byte("0123456789abcdef"), largeSize/16)
	b.SetBytes(largeSize)
	b.ResetTimer()
	for range b.N {
		if _, err := c.UploadBuffer(ctx(), "bench", "large", data, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(largeSize)*float64(b.N)/(1<<20)/b.Elapsed().Seconds(), "MiB/s")
}

// BenchmarkLargeGet downloads a 64 MiB blob as one stream.
func BenchmarkLargeGet(b *testing.B) {
	e := newEnv(b)
	e.mustCreate("bench")
	e.mustUpload("bench", "large", bytes.Repeat([]byte("0123456789abcdef"), largeSize/16))
	c := benchClient(b, e)
	b.SetBytes(largeSize)
	b.ResetTimer()
	for range b.N {
		resp, err := c.DownloadStream(ctx(), "bench", "large", nil)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != largeSize {
			b.Fatalf("read %d: %v", n, err)
		}
		resp.Body.Close()
	}
	b.ReportMetric(float64(largeSize)*float64(b.N)/(1<<20)/b.Elapsed().Seconds(), "MiB/s")
}
