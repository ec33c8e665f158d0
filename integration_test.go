package geoblob_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/testenv"
)

const testContainer = "geo"

// env is an emulator plus a geoblob client of its development account.
type env struct {
	emu    *emulator.Emulator
	client *azblob.Client
	router *geoblob.Router
}

func clientOptions(t testing.TB) *azblob.ClientOptions { return testenv.ClientOptions(t) }

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newEnv(t testing.TB, eo emulator.Options, cfg *geoblob.Config) *env {
	t.Helper()
	ctx := context.Background()
	emu := testenv.Emulator(t, eo)
	if cfg == nil {
		cfg = geoblob.DefaultConfig()
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	client, router, err := geoblob.NewClientFromConnectionString(emu.ConnectionString(), cfg, clientOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, testContainer, nil); err != nil {
		t.Fatal(err)
	}
	return &env{emu: emu, client: client, router: router}
}

// put uploads data and waits until the secondary has it.
func (e *env) put(t testing.TB, name string, data []byte) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.client.UploadBuffer(ctx, testContainer, name, data, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// get downloads a blob and reports which location served it.
func (e *env) get(ctx context.Context, name string) ([]byte, geoblob.ReadStatus, error) {
	var info geoblob.ReadInfo
	resp, err := e.client.DownloadStream(geoblob.WithReadInfo(ctx, &info), testContainer, name, nil)
	if err != nil {
		return nil, info.Last(), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, info.Last(), err
}

func (e *env) fault(t testing.TB, r fault.Rule) string { return testenv.Fault(t, e.emu, r) }

func (e *env) fired(t testing.TB, id string) int64 { return testenv.Fired(t, e.emu, id) }

func outage(ep fault.Endpoint, status int) fault.Rule {
	return fault.Rule{Endpoint: ep, Match: fault.Match{Op: fault.Read, Container: testContainer}, Action: fault.Action{Status: status}}
}

func TestFailoverAndFailback(t *testing.T) {
	var retries []int
	var changes []geoblob.StateChange
	var mu sync.Mutex
	cfg := geoblob.DefaultConfig()
	cfg.OnRetry = func(ev geoblob.RetryEvent) {
		mu.Lock()
		defer mu.Unlock()
		if !ev.Probe {
			retries = append(retries, ev.Count)
		}
	}
	cfg.OnStateChange = func(ev geoblob.StateChange) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, ev)
	}
	e := newEnv(t, emulator.Options{}, cfg)
	data := []byte("hello, geo-redundant world")
	e.put(t, "hello.txt", data)
	ctx := context.Background()

	id := e.fault(t, outage(fault.Primary, 503))
	var seq []string
	for i := range 30 {
		b, st, err := e.get(ctx, "hello.txt")
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if !bytes.Equal(b, data) {
			t.Fatalf("read %d: wrong bytes %q", i, b)
		}
		seq = append(seq, st.Location.String()[:1])
		if i < 5 && (!st.Fallback || st.Location != geoblob.Secondary) {
			t.Fatalf("read %d: want a fallback to the secondary, got %+v", i, st)
		}
	}
	if got := e.router.State(); got != geoblob.Open {
		t.Fatalf("state after outage = %v, want open", got)
	}
	// 5 failures trip; 20 secondary reads later one probe fails: 6 primary
	// attempts in 30 reads, none per read once tripped.
	if n := e.fired(t, id); n != 6 {
		t.Errorf("primary attempts = %d, want 6 (reads: %v)", n, seq)
	}
	mu.Lock()
	if fmt.Sprint(retries) != "[1 2 3 4 5]" {
		t.Errorf("retry counts = %v, want [1 2 3 4 5]", retries)
	}
	mu.Unlock()

	// The primary recovers; the backed-off probe (after 40 secondary reads)
	// closes the breaker.
	e.emu.Faults().Clear()
	for i := 0; i < 100 && e.router.State() != geoblob.Closed; i++ {
		if _, _, err := e.get(ctx, "hello.txt"); err != nil {
			t.Fatalf("read %d after recovery: %v", i, err)
		}
	}
	if got := e.router.State(); got != geoblob.Closed {
		t.Fatalf("state after recovery = %v, want closed", got)
	}
	_, st, err := e.get(ctx, "hello.txt")
	if err != nil || st.Location != geoblob.Primary || st.Fallback {
		t.Fatalf("read after failback: %+v, %v", st, err)
	}
	c := e.router.Counters()
	// 6 fallbacks: the 5 reads that tripped the breaker and the failed probe.
	if c.Failovers != 1 || c.Failbacks != 1 || c.Errors != 0 || c.Fallbacks != 6 || c.Probes != 2 {
		t.Errorf("counters = %+v", c)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 2 || changes[0].To != geoblob.Open || changes[1].To != geoblob.Closed {
		t.Errorf("state changes = %+v", changes)
	}
}

func TestBothUnavailable(t *testing.T) {
	e := newEnv(t, emulator.Options{}, nil)
	e.put(t, "b.txt", []byte("x"))
	e.fault(t, outage(fault.Primary, 503))
	e.fault(t, outage(fault.Secondary, 500))
	_, _, err := e.get(context.Background(), "b.txt")
	if !errors.Is(err, geoblob.ErrBothUnavailable) {
		t.Fatalf("err = %v, want ErrBothUnavailable", err)
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) || (re.StatusCode != 503 && re.StatusCode != 500) {
		t.Fatalf("want a wrapped ResponseError, got %v", err)
	}
	var ge *geoblob.Error
	if !errors.As(err, &ge) || ge.Primary == nil || ge.Secondary == nil {
		t.Fatalf("want both causes, got %#v", ge)
	}
}

func TestSecondaryNotReplicatedFallsBackToPrimary(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old      bool // an old version is on the secondary
		ifMatch  bool
		wantBody string
	}{
		{"missing blob 404", false, false, "new"},
		{"old version with If-Match 412", true, true, "new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{}, nil)
			ctx := context.Background()
			if tc.old {
				e.put(t, "n.txt", []byte("old"))
			}
			e.emu.Replication().Pause()
			up, err := e.client.UploadBuffer(ctx, testContainer, "n.txt", []byte("new"), nil)
			if err != nil {
				t.Fatal(err)
			}
			e.router.Force(geoblob.SecondaryOnly)
			var o *blob.DownloadStreamOptions
			if tc.ifMatch {
				o = &blob.DownloadStreamOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: up.ETag}}}
			}
			var info geoblob.ReadInfo
			resp, err := e.client.DownloadStream(geoblob.WithReadInfo(ctx, &info), testContainer, "n.txt", o)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if string(b) != tc.wantBody {
				t.Fatalf("got %q, want %q", b, tc.wantBody)
			}
			if st := info.Last(); st.Location != geoblob.Primary || !st.Fallback {
				t.Fatalf("status = %+v, want a fallback to the primary", st)
			}
			if c := e.router.Counters(); c.NotReplicated == 0 || c.Errors != 0 {
				t.Fatalf("counters = %+v", c)
			}
		})
	}
}

func TestWriteFastFail(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprint("allow=", allow), func(t *testing.T) {
			cfg := geoblob.DefaultConfig()
			cfg.AllowWritesWhileDown = allow
			e := newEnv(t, emulator.Options{}, cfg)
			e.put(t, "w.txt", []byte("w"))
			e.fault(t, outage(fault.Primary, 503)) // reads only
			ctx := context.Background()
			for range 5 {
				if _, _, err := e.get(ctx, "w.txt"); err != nil {
					t.Fatal(err)
				}
			}
			if e.router.State() != geoblob.Open {
				t.Fatal("breaker did not open")
			}
			_, err := e.client.UploadBuffer(ctx, testContainer, "w2.txt", []byte("w2"), nil)
			if allow {
				if err != nil {
					t.Fatalf("write with AllowWritesWhileDown: %v", err)
				}
				return
			}
			if !errors.Is(err, geoblob.ErrPrimaryUnavailable) {
				t.Fatalf("write err = %v, want ErrPrimaryUnavailable", err)
			}
			if c := e.router.Counters(); c.RejectedWrites != 1 {
				t.Fatalf("counters = %+v", c)
			}
		})
	}
}

func TestDownloadStaysOnOneVersion(t *testing.T) {
	v1 := bytes.Repeat([]byte("1"), 64*1024)
	v2 := bytes.Repeat([]byte("2"), 64*1024)
	for _, tc := range []struct {
		name       string
		start, mid geoblob.Mode
		want       []byte
	}{
		// Starts on the secondary (v1); fail-back mid-download: chunks stay
		// pinned to the secondary's version.
		{"secondary then primary", geoblob.SecondaryOnly, geoblob.Auto, v1},
		// Starts on the primary (v2); flip to the secondary mid-download:
		// the secondary lacks v2 (412) and chunks go back to the primary.
		{"primary then secondary", geoblob.Auto, geoblob.SecondaryOnly, v2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var flipped atomic.Bool
			var router atomic.Pointer[geoblob.Router]
			cfg := geoblob.DefaultConfig()
			cfg.OnResponse = func(geoblob.ResponseEvent) {
				// Flip after the first response: a callback may call back
				// into the router.
				if r := router.Load(); r != nil && flipped.CompareAndSwap(false, true) {
					r.Force(tc.mid)
				}
			}
			e := newEnv(t, emulator.Options{}, cfg)
			e.put(t, "big.bin", v1)
			e.emu.Replication().Pause()
			if _, err := e.client.UploadBuffer(context.Background(), testContainer, "big.bin", v2, nil); err != nil {
				t.Fatal(err)
			}
			e.router.Force(tc.start)
			router.Store(e.router)
			buf := make([]byte, len(v1))
			n, err := geoblob.DownloadBuffer(context.Background(), e.client, testContainer, "big.bin", buf, &blob.DownloadBufferOptions{BlockSize: 4096, Concurrency: 4})
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(buf)) || !bytes.Equal(buf, tc.want) {
				t.Fatalf("download mixed versions or wrong version: first %q last %q", buf[:1], buf[len(buf)-1:])
			}
			if !flipped.Load() {
				t.Fatal("location never flipped")
			}
		})
	}
}

func TestMaxStaleness(t *testing.T) {
	clk := emulator.NewManualClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := geoblob.DefaultConfig()
	cfg.MaxStaleness = time.Minute
	cfg.StatsRefresh = time.Second
	cfg.Now = clk.Now
	e := newEnv(t, emulator.Options{Clock: clk}, cfg)
	e.put(t, "s.txt", []byte("s"))
	e.router.Force(geoblob.SecondaryOnly)
	ctx := context.Background()
	if _, st, err := e.get(ctx, "s.txt"); err != nil || st.Location != geoblob.Secondary || st.LastSyncTime.IsZero() {
		t.Fatalf("fresh secondary read: %+v, %v", st, err)
	}
	e.emu.Replication().Pause()
	clk.Advance(2 * time.Minute)
	_, _, err := e.get(ctx, "s.txt")
	if !errors.Is(err, geoblob.ErrTooStale) {
		t.Fatalf("stale read err = %v, want ErrTooStale", err)
	}
	s, err := e.router.Staleness(ctx)
	if err != nil || s.Lag < 2*time.Minute || s.Status != "live" {
		t.Fatalf("Staleness = %+v, %v", s, err)
	}
	e.emu.Replication().Resume()
	if err := e.emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second) // let the cached stats expire
	if _, st, err := e.get(ctx, "s.txt"); err != nil || st.Location != geoblob.Secondary {
		t.Fatalf("read after catch-up: %+v, %v", st, err)
	}
}

func TestHedgedRead(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: 20 * time.Millisecond, Budget: 0.01, Burst: 1}
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "h.txt", []byte("hedge"))
	ctx := context.Background()
	if _, st, err := e.get(ctx, "h.txt"); err != nil || st.Location != geoblob.Primary || st.Hedged {
		t.Fatalf("fast primary read: %+v, %v", st, err)
	}
	e.fault(t, fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read, Blob: "h.txt"},
		Action: fault.Action{Latency: fault.Duration(10 * time.Second)}})
	b, st, err := e.get(ctx, "h.txt")
	if err != nil || string(b) != "hedge" {
		t.Fatalf("hedged read: %q, %v", b, err)
	}
	if st.Location != geoblob.Secondary || !st.Hedged {
		t.Fatalf("status = %+v, want the secondary's hedge to win", st)
	}
	if c := e.router.Counters(); c.Hedges != 1 || c.HedgeWins != 1 || c.Failovers != 0 {
		t.Fatalf("counters = %+v", c)
	}
	// The budget caps hedging: the one-hedge burst is spent and 3 reads earn
	// only 0.03 of another, so slow reads now wait for the primary.
	for range 3 {
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, _, _ = e.get(ctx, "h.txt")
		cancel()
	}
	if c := e.router.Counters(); c.Hedges != 1 {
		t.Fatalf("hedges = %d, budget exceeded", c.Hedges)
	}
}

func TestConcurrentReadersDuringOutage(t *testing.T) {
	e := newEnv(t, emulator.Options{}, nil)
	data := []byte("concurrent")
	e.put(t, "c.txt", data)
	ctx := context.Background()
	var failed atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() { // toggle the outage while readers run
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if i%2 == 0 {
				_, _ = e.emu.Faults().Add(outage(fault.Primary, 503))
			} else {
				e.emu.Faults().Clear()
			}
			_ = e.router.Counters()
			_ = e.router.State()
		}
	}()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				b, _, err := e.get(ctx, "c.txt")
				if err != nil || !bytes.Equal(b, data) {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d failed reads", n)
	}
	c := e.router.Counters()
	if c.PrimaryReads+c.SecondaryReads != 16*50 {
		t.Fatalf("counters = %+v", c)
	}
}

// TestPathStyleSecondary runs against an emulator whose secondary is only
// reachable path-style (/ACCOUNT-secondary): the secondary URL is derived,
// and requests moved there are signed again for that path.
func TestPathStyleSecondary(t *testing.T) {
	ctx := context.Background()
	emu := testenv.Emulator(t, emulator.Options{NoSecondaryListener: true})
	cfg := geoblob.DefaultConfig()
	cfg.Logger = quietLogger()
	client, router, err := geoblob.NewClientWithSharedKey(emu.PrimaryURL(), emu.AccountName(), emu.AccountKey(), cfg, clientOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := emu.PrimaryURL() + "-secondary"; router.SecondaryURL() != want {
		t.Fatalf("derived secondary %q, want %q", router.SecondaryURL(), want)
	}
	e := &env{emu: emu, client: client, router: router}
	if _, err := client.CreateContainer(ctx, testContainer, nil); err != nil {
		t.Fatal(err)
	}
	e.put(t, "p.txt", []byte("path-style"))
	e.fault(t, outage(fault.Primary, 503))
	for i := range 7 {
		b, st, err := e.get(ctx, "p.txt")
		if err != nil || string(b) != "path-style" || st.Location != geoblob.Secondary {
			t.Fatalf("read %d: %q %+v %v", i, b, st, err)
		}
	}
	if s, err := router.Staleness(ctx); err != nil || s.Status != "live" {
		t.Fatalf("Staleness: %+v %v", s, err)
	}
}
