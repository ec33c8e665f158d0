package geoblob_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	azruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/testenv"
)

// benchEnv starts an emulator with a 4 KiB blob and returns a plain azblob
// client and a geoblob client of it.
func benchEnv(b *testing.B) (*emulator.Emulator, *azblob.Client, *azblob.Client, *geoblob.Router, func() *azblob.ClientOptions) {
	b.Helper()
	ctx := context.Background()
	emu := testenv.Emulator(b, emulator.Options{})
	opts := func() *azblob.ClientOptions {
		o := testenv.ClientOptions(b)
		o.Transport.(*http.Client).Transport.(*http.Transport).MaxIdleConnsPerHost = 64
		return o
	}
	plain, err := azblob.NewClientFromConnectionString(emu.ConnectionString(), opts())
	if err != nil {
		b.Fatal(err)
	}
	cfg := geoblob.DefaultConfig()
	cfg.Logger = quietLogger()
	geo, router, err := geoblob.NewClientFromConnectionString(emu.ConnectionString(), cfg, opts())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := plain.CreateContainer(ctx, testContainer, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := plain.UploadBuffer(ctx, testContainer, "4k", bytes.Repeat([]byte("x"), 4096), nil); err != nil {
		b.Fatal(err)
	}
	if err := emu.Replication().Wait(ctx); err != nil {
		b.Fatal(err)
	}
	return emu, plain, geo, router, opts
}

func download(b *testing.B, c *azblob.Client) {
	resp, err := c.DownloadStream(context.Background(), testContainer, "4k", nil)
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

// BenchmarkSteadyState compares 4 KiB GETs through a plain azblob client
// and a geoblob client on a healthy emulator, 16 readers in parallel.
func BenchmarkSteadyState(b *testing.B) {
	_, plain, geo, _, _ := benchEnv(b)
	for _, c := range []struct {
		name   string
		client *azblob.Client
	}{{"plain", plain}, {"geoblob", geo}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetParallelism(16)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					download(b, c.client)
				}
			})
		})
	}
}

// BenchmarkOutage measures reads once the breaker has tripped on a primary
// that answers every read with 503: each read goes straight to the
// secondary. It reports primary attempts per read and failed reads.
func BenchmarkOutage(b *testing.B) {
	emu, _, geo, router, opts := benchEnv(b)
	b.Run("healthy-secondary-baseline", func(b *testing.B) {
		// A plain client reading the secondary directly, for comparison.
		sec, err := azblob.NewClientWithSharedKeyCredential(emu.SecondaryURL(), mustCred(b, emu), opts())
		if err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				download(b, sec)
			}
		})
	})
	b.Run("geoblob-tripped", func(b *testing.B) {
		id, err := emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read}, Action: fault.Action{Status: 503}})
		if err != nil {
			b.Fatal(err)
		}
		defer emu.Faults().Clear()
		for router.State() == geoblob.Closed {
			download(b, geo)
		}
		st0, _ := emu.Faults().Get(id)
		before := router.Counters()
		b.ResetTimer()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				download(b, geo)
			}
		})
		b.StopTimer()
		st1, _ := emu.Faults().Get(id)
		after := router.Counters()
		b.ReportMetric(float64(st1.Fired-st0.Fired)/float64(b.N), "primary-attempts/op")
		b.ReportMetric(float64(after.Errors-before.Errors), "failed-reads")
	})
}

func mustCred(b *testing.B, emu *emulator.Emulator) *azblob.SharedKeyCredential {
	cred, err := azblob.NewSharedKeyCredential(emu.AccountName(), emu.AccountKey())
	if err != nil {
		b.Fatal(err)
	}
	return cred
}

// nopTransport answers every request at once, isolating pipeline cost.
type nopTransport struct{}

func (nopTransport) Do(req *http.Request) (*http.Response, error) {
	h := http.Header{"Content-Length": {"4"}, "Etag": {`"0x1"`}}
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader("data")), Request: req, ContentLength: 4}, nil
}

// BenchmarkPolicyOverhead measures the geoblob policy alone: the same
// azblob GET through an in-memory transport, with and without the router.
func BenchmarkPolicyOverhead(b *testing.B) {
	const u = "https://acct.blob.core.windows.net/?sv=1&sig=x"
	o := &azblob.ClientOptions{}
	o.Transport = nopTransport{}
	plain, err := azblob.NewClientWithNoCredential(u, o)
	if err != nil {
		b.Fatal(err)
	}
	cfg := geoblob.DefaultConfig()
	cfg.Logger = quietLogger()
	geo, _, err := geoblob.NewClientWithNoCredential(u, cfg, o)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		client *azblob.Client
	}{{"plain", plain}, {"geoblob", geo}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					download(b, c.client)
				}
			})
		})
	}
}

// BenchmarkRouterHotPath isolates the router's own cost per read: a bare
// azcore pipeline (retry policy, nothing else) around an in-memory
// transport, with and without the router, for a healthy primary (closed)
// and once tripped (open: straight to the secondary).
func BenchmarkRouterHotPath(b *testing.B) {
	const u = "https://acct.blob.core.windows.net/c/b?sv=2024-01-01&ss=b&srt=sco&sp=r&se=2030-01-01T00%3A00%3A00Z&sig=abc%3D"
	for _, c := range []struct {
		name   string
		router bool
		trip   bool
		par    bool
	}{
		{"plain", false, false, false}, {"closed", true, false, false}, {"open", true, true, false},
		{"plain-parallel", false, false, true}, {"closed-parallel", true, false, true}, {"open-parallel", true, true, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			o := &policy.ClientOptions{Transport: nopTransport{}}
			var r *geoblob.Router
			if c.router {
				cfg := geoblob.DefaultConfig()
				cfg.Logger = quietLogger()
				var err error
				if r, err = geoblob.NewRouter("https://acct.blob.core.windows.net", cfg); err != nil {
					b.Fatal(err)
				}
				o.PerRetryPolicies = []policy.Policy{r}
				if c.trip {
					r.Force(geoblob.SecondaryOnly)
				}
			}
			pl := azruntime.NewPipeline("bench", "v1", azruntime.PipelineOptions{}, o)
			ctx := context.Background()
			get := func() {
				req, err := azruntime.NewRequest(ctx, http.MethodGet, u)
				if err != nil {
					b.Error(err)
					return
				}
				req.Raw().Header["x-ms-range"] = []string{"bytes=0-4095"}
				resp, err := pl.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_ = resp.Body.Close()
			}
			b.ReportAllocs()
			b.ResetTimer()
			if !c.par {
				for range b.N {
					get()
				}
				return
			}
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					get()
				}
			})
		})
	}
}

// BenchmarkSteadyStateInterleaved measures the steady-state target
// robustly on a shared machine: every goroutine alternates a plain azblob
// read and a geoblob read of the same 4 KiB blob and times each, so load
// drift affects both alike. overhead-% is geoblob's extra time per read
// relative to the plain client's.
func BenchmarkSteadyStateInterleaved(b *testing.B) {
	_, plain, geo, router, _ := benchEnv(b)
	var plainNs, geoNs atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var p, g time.Duration
		for i := 0; pb.Next(); i++ {
			// Alternate which goes first, so neither always gets a warm
			// connection or cache.
			first, second, fd, sd := plain, geo, &p, &g
			if i%2 == 1 {
				first, second, fd, sd = geo, plain, &g, &p
			}
			t0 := time.Now()
			download(b, first)
			t1 := time.Now()
			download(b, second)
			*fd += t1.Sub(t0)
			*sd += time.Since(t1)
		}
		plainNs.Add(int64(p))
		geoNs.Add(int64(g))
	})
	b.StopTimer()
	if p := plainNs.Load(); p > 0 {
		b.ReportMetric(100*float64(geoNs.Load()-p)/float64(p), "overhead-%")
	}
	if router.State() != geoblob.Closed || router.Counters().Errors != 0 {
		b.Fatalf("state %v, counters %+v", router.State(), router.Counters())
	}
}

// BenchmarkRouterHotPathHTTP is BenchmarkRouterHotPath through a real
// net/http transport to a loopback server: net/http asks the request's
// context for its Done channel and derives its own context from it, which
// costs allocations the in-memory transport never shows.
func BenchmarkRouterHotPathHTTP(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("data"))
	}))
	b.Cleanup(srv.Close)
	base := srv.URL + "/devstoreaccount1"
	for _, router := range []bool{false, true} {
		name := "plain"
		if router {
			name = "closed"
		}
		b.Run(name, func(b *testing.B) {
			o := &policy.ClientOptions{Transport: srv.Client()}
			if router {
				cfg := geoblob.DefaultConfig()
				cfg.Logger = quietLogger()
				r, err := geoblob.NewRouter(base, cfg)
				if err != nil {
					b.Fatal(err)
				}
				o.PerRetryPolicies = []policy.Policy{r}
			}
			pl := azruntime.NewPipeline("bench", "v1", azruntime.PipelineOptions{}, o)
			b.ReportAllocs()
			for range b.N {
				req, err := azruntime.NewRequest(context.Background(), http.MethodGet, base+"/c/b")
				if err != nil {
					b.Fatal(err)
				}
				resp, err := pl.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
	}
}
