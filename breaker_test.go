package geoblob_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	azruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/internal/testenv"
)

// eventLog records every callback, safe for concurrent use.
type eventLog struct {
	mu      sync.Mutex
	changes []geoblob.StateChange
	retries []geoblob.RetryEvent
}

func (l *eventLog) attach(cfg *geoblob.Config) {
	cfg.OnStateChange = func(ev geoblob.StateChange) {
		l.mu.Lock()
		l.changes = append(l.changes, ev)
		l.mu.Unlock()
	}
	cfg.OnRetry = func(ev geoblob.RetryEvent) {
		l.mu.Lock()
		l.retries = append(l.retries, ev)
		l.mu.Unlock()
	}
}

func (l *eventLog) transitions() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s []string
	for _, c := range l.changes {
		s = append(s, c.From.String()+">"+c.To.String())
	}
	return strings.Join(s, ",")
}

func (l *eventLog) retryCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.retries)
}

// TestTryTimeoutCountsAsFailure: a primary that hangs past the SDK's
// TryTimeout fails with context.DeadlineExceeded on the try's context. That
// is a timeout, which the issue lists as a retryable failure: it must count
// and eventually trip the breaker.
func TestTryTimeoutCountsAsFailure(t *testing.T) {
	var events eventLog
	cfg := geoblob.DefaultConfig()
	events.attach(cfg)
	f, _, r := newFake(t, cfg)
	f.delay[geoblob.Primary].Store(int64(time.Minute)) // hangs; honours ctx
	// newFake's client has MaxRetries 2; give each try 20 ms.
	o := &azblob.ClientOptions{}
	o.Transport = f
	o.Retry = policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Microsecond, MaxRetryDelay: time.Microsecond, TryTimeout: 20 * time.Millisecond}
	c, err := azblob.NewClientWithNoCredential(fakeURL+"?sv=1&sig=x", r.ClientOptions(o))
	if err != nil {
		t.Fatal(err)
	}
	var ok bool
	for i := 0; i < 4 && !ok; i++ {
		got, err := read(c)
		ok = err == nil && got == "data-secondary"
	}
	if !ok || r.State() != geoblob.Open {
		t.Fatalf("hanging primary: state %v, a read served by the secondary: %v", r.State(), ok)
	}
	if n := events.retryCount(); n != 5 {
		t.Errorf("OnRetry called %d times, want 5", n)
	}
	if got := events.transitions(); got != "closed>open" {
		t.Errorf("transitions %q", got)
	}
}

// TestCancellationIsNeutral: caller cancellation never counts against the
// primary, not even from many goroutines at once, and an abandoned probe
// frees the probe slot.
func TestCancellationIsNeutral(t *testing.T) {
	var events eventLog
	cfg := geoblob.DefaultConfig()
	cfg.FailureThreshold = 2
	cfg.FailbackReads = 1
	cfg.ProbeBackoff = 1
	events.attach(cfg)
	f, c, r := newFake(t, cfg)
	f.delay[geoblob.Primary].Store(int64(time.Minute))
	cancelled := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		go func() { time.Sleep(2 * time.Millisecond); cancel() }()
		_, err := c.DownloadStream(ctx, "c", "b", nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	}
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() { defer wg.Done(); cancelled() }()
	}
	wg.Wait()
	if r.State() != geoblob.Closed || events.retryCount() != 0 || r.Counters().Errors != 0 {
		t.Fatalf("cancellation counted: state %v, %d retries, %+v", r.State(), events.retryCount(), r.Counters())
	}
	// Trip, then cancel the probe: the slot must be released.
	f.delay[geoblob.Primary].Store(0)
	f.status[geoblob.Primary].Store(503)
	for range 2 {
		_, _ = read(c)
	}
	// The tripping read fell back to the secondary: a probe is due.
	if r.State() != geoblob.Open {
		t.Fatalf("state %v", r.State())
	}
	f.status[geoblob.Primary].Store(0)
	f.delay[geoblob.Primary].Store(int64(time.Minute))
	cancelled() // the probe
	if r.State() != geoblob.Open || r.Counters().Probes != 1 {
		t.Fatalf("after a cancelled probe: state %v, %+v", r.State(), r.Counters())
	}
	f.delay[geoblob.Primary].Store(0)
	if _, err := read(c); err != nil || r.State() != geoblob.Closed {
		t.Fatalf("next probe: %v, state %v", err, r.State())
	}
}

// TestSlowCallTripEmitsStateChange: a trip by the slow-call rule is a
// transition like any other and must reach OnStateChange.
func TestSlowCallTripEmitsStateChange(t *testing.T) {
	var events eventLog
	cfg := geoblob.DefaultConfig()
	cfg.SlowCallThreshold = time.Millisecond
	cfg.FailureThreshold = 3
	events.attach(cfg)
	f, c, r := newFake(t, cfg)
	f.delay[geoblob.Primary].Store(int64(5 * time.Millisecond))
	for range 3 {
		if _, err := read(c); err != nil {
			t.Fatal(err)
		}
	}
	if r.State() != geoblob.Open {
		t.Fatal("slow-call rule did not trip")
	}
	if got := events.transitions(); got != "closed>open" {
		t.Fatalf("transitions %q, want closed>open", got)
	}
	if c := r.Counters(); c.Failovers != 1 {
		t.Fatalf("counters %+v", c)
	}
}

// TestConcurrentTransitionsEmittedOnce: many goroutines failing and then
// succeeding at once produce exactly one trip and one fail-back, with
// counters that agree with the events and the reads.
func TestConcurrentTransitionsEmittedOnce(t *testing.T) {
	var events eventLog
	cfg := geoblob.DefaultConfig()
	cfg.FailbackReads = 10
	events.attach(cfg)
	f, c, r := newFake(t, cfg)
	f.status[geoblob.Primary].Store(503)
	const readers, each = 16, 20
	var failed atomic.Int64
	run := func() {
		var wg sync.WaitGroup
		for range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					if _, err := read(c); err != nil {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
	}
	run()
	if got := events.transitions(); got != "closed>open" {
		t.Fatalf("transitions during the outage %q", got)
	}
	f.status[geoblob.Primary].Store(0)
	run()
	if got := events.transitions(); got != "closed>open,open>closed" {
		t.Fatalf("transitions %q", got)
	}
	cs := r.Counters()
	if failed.Load() != 0 || cs.Errors != 0 || cs.Failovers != 1 || cs.Failbacks != 1 {
		t.Fatalf("%d failed, counters %+v", failed.Load(), cs)
	}
	if cs.PrimaryReads+cs.SecondaryReads != 2*readers*each {
		t.Fatalf("reads %d+%d, want %d", cs.PrimaryReads, cs.SecondaryReads, 2*readers*each)
	}
	if f.openBodies.Load() != 0 {
		t.Fatalf("%d response bodies never closed", f.openBodies.Load())
	}
}

// TestCallbacksIssueReads: callbacks run outside every lock, so they may
// read through the same client, even from inside a transition.
func TestCallbacksIssueReads(t *testing.T) {
	var c atomic.Pointer[azblob.Client]
	var depth atomic.Int32
	var nested atomic.Int64
	reenter := func() {
		if cl := c.Load(); cl != nil && depth.Add(1) == 1 {
			if _, err := read(cl); err == nil {
				nested.Add(1)
			}
		}
		depth.Add(-1)
	}
	cfg := geoblob.DefaultConfig()
	cfg.FailureThreshold = 2
	cfg.FailbackReads = 2
	cfg.MaxStaleness = 100 * 365 * 24 * time.Hour
	cfg.OnRetry = func(geoblob.RetryEvent) { reenter() }
	cfg.OnResponse = func(geoblob.ResponseEvent) { reenter() }
	cfg.OnStateChange = func(geoblob.StateChange) { reenter() }
	f, client, r := newFake(t, cfg)
	c.Store(client)
	f.status[geoblob.Primary].Store(503)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					_, _ = read(client)
				}
			}()
		}
		wg.Wait()
		f.status[geoblob.Primary].Store(0)
		for range 10 {
			_, _ = read(client)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("deadlock: a callback reading through the client")
	}
	if nested.Load() == 0 || r.Counters().Failovers == 0 {
		t.Fatalf("nested reads %d, counters %+v", nested.Load(), r.Counters())
	}
}

// TestWritesNeverReachSecondary sends every kind of write in every mode;
// none may reach the secondary.
func TestWritesNeverReachSecondary(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*geoblob.Config)
		prep  func(*fakeStorage, *azblob.Client, *geoblob.Router)
	}{
		{"auto closed", nil, nil},
		{"auto open, writes allowed", func(c *geoblob.Config) { c.AllowWritesWhileDown = true }, func(f *fakeStorage, c *azblob.Client, r *geoblob.Router) {
			f.status[geoblob.Primary].Store(503)
			for r.State() == geoblob.Closed {
				_, _ = read(c)
			}
		}},
		{"secondary-only", nil, func(_ *fakeStorage, _ *azblob.Client, r *geoblob.Router) { r.Force(geoblob.SecondaryOnly) }},
		{"primary-only", nil, func(_ *fakeStorage, _ *azblob.Client, r *geoblob.Router) { r.Force(geoblob.PrimaryOnly) }},
		{"hedging, slow primary", func(c *geoblob.Config) {
			c.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: time.Millisecond, Budget: 1, Burst: 100}
		}, func(f *fakeStorage, _ *azblob.Client, _ *geoblob.Router) {
			f.delay[geoblob.Primary].Store(int64(5 * time.Millisecond))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := geoblob.DefaultConfig()
			if tc.setup != nil {
				tc.setup(cfg)
			}
			f, c, r := newFake(t, cfg)
			if tc.prep != nil {
				tc.prep(f, c, r)
			}
			ctx := context.Background()
			bc := c.ServiceClient().NewContainerClient("c").NewBlockBlobClient("b")
			_, _ = c.UploadBuffer(ctx, "c", "b", []byte("x"), nil)
			_, _ = bc.SetMetadata(ctx, map[string]*string{"k": ptr("v")}, nil)
			_, _ = bc.Delete(ctx, nil)
			_, _ = c.CreateContainer(ctx, "c2", nil)
			_, _ = c.ServiceClient().SetProperties(ctx, nil)
			// Not a real operation, but it must not be mistaken for Get Blob
			// Service Stats and sent to the secondary.
			pl := azruntime.NewPipeline("t", "v", azruntime.PipelineOptions{}, &policy.ClientOptions{
				Transport: f, PerRetryPolicies: []policy.Policy{r}, Retry: policy.RetryOptions{MaxRetries: -1},
			})
			req, err := azruntime.NewRequest(ctx, http.MethodPut, fakeURL+"?restype=service&comp=stats")
			if err != nil {
				t.Fatal(err)
			}
			if resp, err := pl.Do(req); err == nil {
				azruntime.Drain(resp)
			}
			if n := f.secWrites.Load(); n != 0 {
				t.Fatalf("%d writes reached the secondary", n)
			}
		})
	}
}

// TestBothUnavailableWrapsEachCause: ErrBothUnavailable carries the cause of
// each location; errors.As reaches each one's *azcore.ResponseError.
func TestBothUnavailableWrapsEachCause(t *testing.T) {
	for _, tc := range []struct {
		primary, secondary int32 // -1 connection refused
	}{{503, 500}, {500, 503}, {-1, 503}, {503, -1}, {-1, -1}, {429, 504}} {
		t.Run(fmt.Sprint(tc.primary, "/", tc.secondary), func(t *testing.T) {
			f, c, _ := newFake(t, nil)
			f.status[geoblob.Primary].Store(tc.primary)
			f.status[geoblob.Secondary].Store(tc.secondary)
			_, err := read(c)
			var ge *geoblob.Error
			if !errors.Is(err, geoblob.ErrBothUnavailable) || !errors.As(err, &ge) {
				t.Fatalf("err = %v", err)
			}
			for _, side := range []struct {
				name string
				err  error
				want int32
			}{{"primary", ge.Primary, tc.primary}, {"secondary", ge.Secondary, tc.secondary}} {
				var re *azcore.ResponseError
				switch {
				case side.err == nil:
					t.Errorf("%s cause missing", side.name)
				case side.want < 0 && errors.As(side.err, &re):
					t.Errorf("%s: a transport error became %v", side.name, re)
				case side.want > 0 && (!errors.As(side.err, &re) || int32(re.StatusCode) != side.want):
					t.Errorf("%s cause %v, want a ResponseError %d", side.name, side.err, side.want)
				}
			}
			if strings.Contains(err.Error(), "sig=x") || strings.Contains(err.Error(), "SECRETSIG") {
				t.Errorf("error leaks the signature: %v", err)
			}
			if f.openBodies.Load() != 0 {
				t.Errorf("%d response bodies never closed", f.openBodies.Load())
			}
		})
	}
}

// TestStatsFailureNoStorm: a secondary that serves blobs but refuses Get
// Blob Service Stats (a container SAS, say) must not be asked for stats on
// every read.
func TestStatsFailureNoStorm(t *testing.T) {
	for _, maxStale := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprint("MaxStaleness=", maxStale), func(t *testing.T) {
			clk := testenv.Clock()
			cfg := geoblob.DefaultConfig()
			cfg.Now = clk.Now
			cfg.StatsRefresh = time.Minute
			cfg.MaxStaleness = maxStale
			f, c, r := newFake(t, cfg)
			f.statsStatus.Store(403)
			r.Force(geoblob.SecondaryOnly)
			var wg sync.WaitGroup
			var tooStale atomic.Int64
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 20 {
						_, err := read(c)
						if errors.Is(err, geoblob.ErrTooStale) {
							tooStale.Add(1)
						} else if err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			waitFor(t, func() bool { return r.Counters().SecondaryReads+uint64(tooStale.Load()) == 160 })
			time.Sleep(10 * time.Millisecond) // let a background refresh land
			if n := f.stats[geoblob.Secondary].Load(); n > 2 {
				t.Fatalf("%d Get Blob Service Stats calls for 160 reads within one refresh period", n)
			}
			if maxStale > 0 && tooStale.Load() != 160 {
				t.Fatalf("%d of 160 reads refused; unknown staleness must refuse all", tooStale.Load())
			}
			clk.Advance(2 * time.Minute)
			_, _ = read(c)
			waitFor(t, func() bool { return f.stats[geoblob.Secondary].Load() >= 2 })
		})
	}
}

// TestForcedStatsRefreshNoStorm: readers that find the secondary too stale
// re-check the stats, but concurrent readers share one fetch.
func TestForcedStatsRefreshNoStorm(t *testing.T) {
	clk := testenv.Clock() // the fake's LastSyncTime is this instant
	cfg := geoblob.DefaultConfig()
	cfg.Now = clk.Now
	cfg.StatsRefresh = time.Second
	cfg.MaxStaleness = 100 * time.Millisecond
	f, c, r := newFake(t, cfg)
	f.statsDelay.Store(int64(20 * time.Millisecond))
	r.Force(geoblob.SecondaryOnly)
	if _, err := read(c); err != nil {
		t.Fatal(err)
	}
	// The cached stats are still within StatsRefresh, but older than
	// StatsRefresh/10 and too stale: every reader wants a re-check.
	clk.Advance(500 * time.Millisecond)
	before := f.stats[geoblob.Secondary].Load()
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := read(c); !errors.Is(err, geoblob.ErrTooStale) {
				t.Errorf("err = %v, want ErrTooStale", err)
			}
		}()
	}
	wg.Wait()
	if n := f.stats[geoblob.Secondary].Load() - before; n > 1 {
		t.Fatalf("%d stats fetches for 16 concurrent stale reads, want 1", n)
	}
	if s, err := r.Staleness(context.Background()); err != nil || s.Lag != 500*time.Millisecond {
		t.Fatalf("Staleness %+v %v", s, err)
	}
}

// TestMaxStalenessWithoutLastSyncTime: a secondary whose replication is
// unavailable and reports no LastSyncTime is of unknown staleness; reads
// from it are refused with a clear error.
func TestMaxStalenessWithoutLastSyncTime(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.MaxStaleness = time.Hour
	f, _, r := newFake(t, cfg)
	r.SetStats(func(context.Context) (geoblob.GeoStats, error) {
		return geoblob.GeoStats{Status: "unavailable"}, nil
	})
	o := &azblob.ClientOptions{}
	o.Transport = f
	c, err := azblob.NewClientWithNoCredential(fakeURL+"?sv=1&sig=x", r.ClientOptions(o))
	if err != nil {
		t.Fatal(err)
	}
	r.Force(geoblob.SecondaryOnly)
	_, err = read(c)
	if !errors.Is(err, geoblob.ErrTooStale) || !strings.Contains(err.Error(), "no LastSyncTime") || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("err = %v", err)
	}
	s, err := r.Staleness(context.Background())
	if err != nil || s.Status != "unavailable" || !s.LastSyncTime.IsZero() {
		t.Fatalf("Staleness %+v %v", s, err)
	}
}

// TestHedgeSkippedForStalenessIsNotAnError: when the secondary is too
// stale to hedge to, the read simply waits for the primary; nothing failed.
func TestHedgeSkippedForStalenessIsNotAnError(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.MaxStaleness = time.Minute // the fake's LastSyncTime is in 2025
	cfg.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: time.Millisecond}
	f, c, r := newFake(t, cfg)
	f.delay[geoblob.Primary].Store(int64(10 * time.Millisecond))
	for range 3 {
		if got, err := read(c); err != nil || got != "data-primary" {
			t.Fatalf("%q %v", got, err)
		}
	}
	if cs := r.Counters(); cs.Errors != 0 || cs.TooStale != 0 || cs.Hedges != 0 {
		t.Fatalf("counters %+v", cs)
	}
}

// TestHedgeClosesLosers: every response a hedged read does not return is
// closed, on every path, and no goroutine outlives the reads.
func TestHedgeClosesLosers(t *testing.T) {
	for _, tc := range []struct {
		name               string
		primary, secondary int32
		disableFallback    bool
		wantErr            bool
	}{
		{"secondary wins", 0, 0, false, false},
		{"both fail", 503, 500, false, true},
		{"both fail, no fallback", 503, 500, true, true},
		{"secondary fails, primary wins", 0, 503, false, false},
		{"secondary lacks the blob", 0, 404, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := geoblob.DefaultConfig()
			cfg.FailureThreshold = 1000
			cfg.DisableFallback = tc.disableFallback
			cfg.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: time.Millisecond, Budget: 1, Burst: 1000}
			f, c, r := newFake(t, cfg)
			f.delay[geoblob.Primary].Store(int64(15 * time.Millisecond))
			f.status[geoblob.Primary].Store(tc.primary)
			f.status[geoblob.Secondary].Store(tc.secondary)
			g0 := runtime.NumGoroutine()
			for range 10 {
				_, err := read(c)
				if (err != nil) != tc.wantErr {
					t.Fatalf("err = %v", err)
				}
			}
			waitFor(t, func() bool { return f.openBodies.Load() == 0 })
			waitFor(t, func() bool { return runtime.NumGoroutine() <= g0+2 })
			if r.Counters().Hedges == 0 {
				t.Fatal("no hedges")
			}
		})
	}
}

// TestHedgeBudgetUnderConcurrency: concurrent slow reads never hedge more
// than the burst plus the budget earned.
func TestHedgeBudgetUnderConcurrency(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: time.Millisecond, Budget: 0.1, Burst: 3}
	f, c, r := newFake(t, cfg)
	f.delay[geoblob.Primary].Store(int64(10 * time.Millisecond))
	var wg sync.WaitGroup
	const reads = 200
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range reads / 20 {
				if _, err := read(c); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if h := r.Counters().Hedges; h == 0 || h > 3+reads/10 {
		t.Fatalf("%d hedges for %d reads with burst 3 and budget 0.1", h, reads)
	}
	if f.secWrites.Load() != 0 {
		t.Fatal("a hedge wrote to the secondary")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not reached within 2.5 s")
}

func ptr[T any](v T) *T { return &v }

// TestStaleProbeVerdictIgnored: a probe's verdict applies only to the
// breaker state it was sent from. Here the probe hangs, the breaker is
// reset by hand and trips again on a fresh failure; the old probe's
// success must not close the new open state.
func TestStaleProbeVerdictIgnored(t *testing.T) {
	var events eventLog
	cfg := geoblob.DefaultConfig()
	cfg.FailureThreshold = 1
	cfg.FailbackReads = 1
	cfg.ProbeBackoff = 1
	events.attach(cfg)
	f, c, r := newFake(t, cfg)
	f.status[geoblob.Primary].Store(503)
	_, _ = read(c) // trips; its fallback makes a probe due
	f.status[geoblob.Primary].Store(0)
	gate := make(chan struct{})
	f.gate.Store(&gate)
	probed := make(chan error, 1)
	go func() { _, err := read(c); probed <- err }()
	waitFor(t, func() bool { return r.State() == geoblob.HalfOpen })
	r.Force(geoblob.SecondaryOnly)
	r.Force(geoblob.Auto) // closed again, the probe still in flight
	f.status[geoblob.Primary].Store(503)
	_, _ = read(c) // trips again
	close(gate)    // the old probe now succeeds
	if err := <-probed; err != nil {
		t.Fatal(err)
	}
	if r.State() != geoblob.Open || r.Counters().Failbacks != 0 {
		t.Fatalf("state %v, counters %+v, transitions %s", r.State(), r.Counters(), events.transitions())
	}
	// The probe slot was released: the next due probe goes out.
	f.status[geoblob.Primary].Store(0)
	for i := 0; i < 3 && r.State() != geoblob.Closed; i++ {
		_, _ = read(c)
	}
	if r.State() != geoblob.Closed {
		t.Fatalf("no probe after the stale one: %v", r.State())
	}
}

// leakyTransport fails in ways that put secrets into error text.
type leakyTransport struct{ shape int }

const leakSecret = "S3CRETVALUE"

func (l leakyTransport) Do(req *http.Request) (*http.Response, error) {
	secondary := strings.Contains(req.URL.Host, "-secondary")
	if strings.Contains(req.URL.RawQuery, "comp=stats") {
		return nil, fmt.Errorf("stats: %w", &url.Error{Op: "Get", URL: req.URL.String(), Err: errors.New("refused")})
	}
	switch {
	case !secondary && l.shape == 0:
		return nil, &url.Error{Op: "Get", URL: req.URL.String(), Err: errors.New("connection refused")}
	case !secondary && l.shape == 1:
		return nil, fmt.Errorf("proxy: %w", &url.Error{Op: "Get", URL: req.URL.String(), Err: errors.New("reset")})
	case !secondary:
		return nil, errors.New("dial: Authorization: Bearer " + leakSecret)
	}
	body := "<?xml version=\"1.0\"?><Error><Code>ServerBusy</Code><Message>The MAC signature found in the HTTP request '" +
		leakSecret + "=' is not the same as any computed signature. sig=" + leakSecret + "</Message></Error>"
	h := http.Header{"Content-Type": {"application/xml"}, "X-Ms-Error-Code": {"ServerBusy"}}
	return &http.Response{StatusCode: 503, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req, ContentLength: int64(len(body))}, nil
}

// TestSecretsNeverLeakAnywhere: errors, every event and debug logs stay
// free of signatures and tokens, whatever shape the failure takes.
func TestSecretsNeverLeakAnywhere(t *testing.T) {
	for shape := range 3 {
		t.Run(fmt.Sprint("shape", shape), func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			note := func(s string) { mu.Lock(); seen = append(seen, s); mu.Unlock() }
			var logs strings.Builder
			cfg := geoblob.DefaultConfig()
			cfg.FailureThreshold = 2
			cfg.MaxStaleness = time.Hour
			cfg.Logger = slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
			cfg.OnResponse = func(ev geoblob.ResponseEvent) { note(fmt.Sprintf("%+v %v", ev, ev.Err)) }
			cfg.OnRetry = func(ev geoblob.RetryEvent) { note(fmt.Sprintf("%+v %v", ev, ev.Err)) }
			cfg.OnStateChange = func(ev geoblob.StateChange) { note(fmt.Sprintf("%+v", ev)) }
			o := &azblob.ClientOptions{}
			o.Transport = leakyTransport{shape}
			o.Retry = policy.RetryOptions{MaxRetries: -1}
			c, r, err := geoblob.NewClientWithNoCredential(fakeURL+"?sv=2024&sig="+leakSecret, cfg, o)
			if err != nil {
				t.Fatal(err)
			}
			for range 4 {
				_, err := read(c)
				if err == nil {
					t.Fatal("read succeeded")
				}
				note(err.Error())
				var ge *geoblob.Error
				if errors.As(err, &ge) {
					note(ge.Error())
				}
			}
			r.Force(geoblob.Auto)
			_, err = r.Staleness(context.Background())
			note(fmt.Sprint(err))
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, logs.String())
			for _, s := range seen {
				if strings.Contains(s, leakSecret) {
					t.Fatalf("secret leaked: %s", s)
				}
			}
		})
	}
}

// TestStatsHangDoesNotHangReads: a Get Blob Service Stats call that never
// answers must not hold up reads: readers with statistics in hand use them
// (they only overstate staleness), and a fetch is bounded by StatsRefresh.
func TestStatsHangDoesNotHangReads(t *testing.T) {
	clk := testenv.Clock() // the fake's LastSyncTime is this instant
	cfg := geoblob.DefaultConfig()
	cfg.Now = clk.Now
	cfg.StatsRefresh = 100 * time.Millisecond
	cfg.MaxStaleness = time.Hour
	f, c, r := newFake(t, cfg)
	r.Force(geoblob.SecondaryOnly)
	if _, err := read(c); err != nil {
		t.Fatal(err)
	}
	f.statsDelay.Store(int64(time.Hour)) // hangs until the request is cancelled
	clk.Advance(time.Second)             // the cached stats need a refresh
	done := make(chan error, 8)
	for range 8 {
		go func() { _, err := read(c); done <- err }()
	}
	for range 8 {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("read with cached stats in hand: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("reads hang behind a hanging stats call")
		}
	}
	// With no statistics at all, reads wait for one bounded fetch.
	f2, c2, r2 := newFake(t, cfg)
	f2.statsDelay.Store(int64(time.Hour))
	r2.Force(geoblob.SecondaryOnly)
	go func() { _, err := read(c2); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, geoblob.ErrTooStale) {
			t.Fatalf("err = %v, want ErrTooStale", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a read hangs behind the first stats call")
	}
}
