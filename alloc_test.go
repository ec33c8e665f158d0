package geoblob_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	azruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/geoblob/geoblob"
)

// TestHotPathAllocations guards the healthy read's cost: through a bare
// azcore pipeline, the router may add azcore's copy of the request for one
// more policy and the body watcher, which is also the attempt's context;
// the alarm timer comes from a pool. (Through net/http the count varies by
// a few from run to run with the connection pool; BenchmarkRouterHotPathHTTP
// measures that path.)
func TestHotPathAllocations(t *testing.T) {
	const u = "https://acct.blob.core.windows.net/c/b"
	allocs := func(router bool) float64 {
		o := &policy.ClientOptions{Transport: nopTransport{}}
		if router {
			cfg := geoblob.DefaultConfig()
			cfg.Logger = quietLogger()
			r, err := geoblob.NewRouter("https://acct.blob.core.windows.net", cfg)
			if err != nil {
				t.Fatal(err)
			}
			o.PerRetryPolicies = []policy.Policy{r}
		}
		pl := azruntime.NewPipeline("test", "v1", azruntime.PipelineOptions{}, o)
		get := func() {
			req, err := azruntime.NewRequest(context.Background(), http.MethodGet, u)
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
		get() // warm the timer pool
		return testing.AllocsPerRun(200, get)
	}
	limit := 2.0
	if raceEnabled {
		limit = 4 // sync.Pool drops pooled timers at random under -race
	}
	plain, geo := allocs(false), allocs(true)
	if extra := geo - plain; extra > limit {
		t.Fatalf("the router adds %.0f allocations per read (plain %.0f), want at most %.0f", extra, plain, limit)
	}
}
