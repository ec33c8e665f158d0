package geoblob_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	azruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/geoblob/geoblob"
)

// TestHotPathAllocations guards the healthy read's cost against a bare
// azcore pipeline. In memory the router may add azcore's copy of the
// request for one more policy and the body watcher, which is also the
// attempt's context (the alarm timer comes from a pool). Through net/http
// it may add, besides, the Done channel net/http asks that context for and
// the registration of net/http's own context in it.
func TestHotPathAllocations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("data"))
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name      string
		base      string
		transport policy.Transporter
		limit     float64
	}{
		{"in memory", "https://acct.blob.core.windows.net", nopTransport{}, 2},
		{"net/http", srv.URL + "/devstoreaccount1", srv.Client(), 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			allocs := func(router bool, ctx context.Context) float64 {
				o := &policy.ClientOptions{Transport: tc.transport}
				if router {
					cfg := geoblob.DefaultConfig()
					cfg.Logger = quietLogger()
					r, err := geoblob.NewRouter(tc.base, cfg)
					if err != nil {
						t.Fatal(err)
					}
					o.PerRetryPolicies = []policy.Policy{r}
				}
				pl := azruntime.NewPipeline("test", "v1", azruntime.PipelineOptions{}, o)
				get := func() {
					req, err := azruntime.NewRequest(ctx, http.MethodGet, tc.base+"/c/b")
					if err != nil {
						t.Fatal(err)
					}
					resp, err := pl.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
				get() // warm the timer pool and the connection
				return testing.AllocsPerRun(200, get)
			}
			limit := tc.limit
			if raceEnabled {
				limit += 2 // sync.Pool drops pooled timers at random under -race
			}
			ctx := context.Background()
			plain, geo := allocs(false, ctx), allocs(true, ctx)
			if extra := geo - plain; extra > limit {
				t.Fatalf("the router adds %.1f allocations per read (plain %.1f), want at most %.0f", extra, plain, limit)
			}
		})
	}
}
