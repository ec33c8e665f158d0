package geoblob

import (
	"context"
	"testing"
	"time"
)

// TestCloseEndsBackgroundStatsRefresh: a background refresh of the
// secondary's statistics (started by a read the secondary served) is
// background work like the prober, so Close cancels it at once instead of
// leaving it to run out its timeout against a secondary that hangs.
func TestCloseEndsBackgroundStatsRefresh(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StatsRefresh = time.Hour // a fetch may take maxStatsWait (10s)
	r, err := NewRouter("http://127.0.0.1:1/devstoreaccount1", cfg)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	ended := make(chan error, 1)
	r.SetStats(func(ctx context.Context) (GeoStats, error) {
		close(started)
		<-ctx.Done() // a secondary that never answers
		ended <- ctx.Err()
		return GeoStats{}, ctx.Err()
	})
	r.stats.maybeRefresh(r, r.cfg.Now())
	<-started
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if err != context.Canceled {
			t.Fatalf("refresh ended with %v, want context.Canceled by Close", err)
		}
	case <-time.After(maxStatsWait / 2):
		t.Fatal("the background stats refresh outlived Close")
	}
}
