package geoblob_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/internal/testenv"
)

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
