package geoblob

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// GeoStats is the secondary's replication state, from Get Blob Service
// Stats.
type GeoStats struct {
	// Status is "live", "bootstrap" or "unavailable".
	Status string
	// LastSyncTime: every primary write before it is readable on the
	// secondary; later writes may be missing or old there.
	LastSyncTime time.Time
	// FetchedAt is when the statistics were read.
	FetchedAt time.Time
}

// Staleness is how far the secondary may lag behind the primary.
type Staleness struct {
	GeoStats
	// Lag is now minus LastSyncTime: an upper bound on how old data read
	// from the secondary can be.
	Lag time.Duration
}

// StatsFunc reads the secondary's replication statistics.
type StatsFunc func(ctx context.Context) (GeoStats, error)

// staleness caches the statistics. The cached LastSyncTime only ever
// understates freshness (it grows over time), so using an old value is
// conservative.
type staleness struct {
	src        atomic.Pointer[StatsFunc]
	cur        atomic.Pointer[GeoStats]
	refreshing atomic.Bool
	mu         sync.Mutex // serialises synchronous fetches
}

// SetStats sets how the router reads the secondary's statistics. The
// constructors set it; call it when wiring the policy by hand.
func (r *Router) SetStats(f StatsFunc) { r.stats.src.Store(&f) }

// SetStatsClient makes the router read statistics with svc, a service
// client of the same account whose pipeline includes this router (Get
// Blob Service Stats requests are always sent to the secondary).
func (r *Router) SetStatsClient(svc *service.Client) {
	r.SetStats(func(ctx context.Context) (GeoStats, error) {
		// One try: a background refresh must not sit in retry backoff.
		ctx = policy.WithRetryOptions(ctx, policy.RetryOptions{MaxRetries: -1})
		resp, err := svc.GetStatistics(ctx, nil)
		if err != nil {
			return GeoStats{}, fmt.Errorf("geoblob: get blob service stats: %w", redactErr(err))
		}
		var st GeoStats
		if g := resp.GeoReplication; g != nil {
			if g.Status != nil {
				st.Status = string(*g.Status)
			}
			if g.LastSyncTime != nil {
				st.LastSyncTime = *g.LastSyncTime
			}
		}
		return st, nil
	})
}

// Staleness returns the secondary's replication state and lag, reading
// fresh statistics when the cached ones are older than Config.StatsRefresh.
func (r *Router) Staleness(ctx context.Context) (Staleness, error) {
	st, err := r.stats.get(ctx, r, false)
	if err != nil {
		return Staleness{}, err
	}
	return Staleness{GeoStats: st, Lag: r.cfg.Now().Sub(st.LastSyncTime)}, nil
}

// get returns cached stats if fresh enough, else fetches them.
func (s *staleness) get(ctx context.Context, r *Router, force bool) (GeoStats, error) {
	if c := s.cur.Load(); c != nil && !force && r.cfg.Now().Sub(c.FetchedAt) < r.cfg.StatsRefresh {
		return *c, nil
	}
	src := s.src.Load()
	if src == nil {
		return GeoStats{}, ErrNoSecondary
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.cur.Load(); c != nil && !force && r.cfg.Now().Sub(c.FetchedAt) < r.cfg.StatsRefresh {
		return *c, nil
	}
	st, err := (*src)(ctx)
	if err != nil {
		return GeoStats{}, err
	}
	st.FetchedAt = r.cfg.Now()
	s.store(st)
	return st, nil
}

// store keeps the newest LastSyncTime: it never moves backwards.
func (s *staleness) store(st GeoStats) {
	if c := s.cur.Load(); c != nil && c.LastSyncTime.After(st.LastSyncTime) {
		st.LastSyncTime = c.LastSyncTime
	}
	s.cur.Store(&st)
}

// maybeRefresh refreshes the cache in the background when it is stale and
// no refresh is under way. Called on reads served by the secondary.
func (s *staleness) maybeRefresh(r *Router) {
	if s.src.Load() == nil {
		return
	}
	if c := s.cur.Load(); c != nil && r.cfg.Now().Sub(c.FetchedAt) < r.cfg.StatsRefresh {
		return
	}
	if !s.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.refreshing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := s.get(ctx, r, false); err != nil {
			r.log.Debug("geoblob: refreshing secondary stats failed", "error", redactText(err.Error()))
		}
	}()
}

// checkStale enforces MaxStaleness before a read is sent to the secondary.
func (r *Router) checkStale(ctx context.Context) error {
	if r.cfg.MaxStaleness <= 0 {
		return nil
	}
	st, err := r.stats.get(ctx, r, false)
	if err == nil && r.cfg.Now().Sub(st.LastSyncTime) > r.cfg.MaxStaleness &&
		r.cfg.Now().Sub(st.FetchedAt) > r.cfg.StatsRefresh/10 {
		// The cached value may be old: ask once more before refusing, at
		// most every StatsRefresh/10.
		st, err = r.stats.get(ctx, r, true)
	}
	if err != nil {
		r.c.tooStale.Add(1)
		r.c.errors.Add(1)
		return &Error{Kind: ErrTooStale, Secondary: err}
	}
	if lag := r.cfg.Now().Sub(st.LastSyncTime); lag > r.cfg.MaxStaleness {
		r.c.tooStale.Add(1)
		r.c.errors.Add(1)
		return &Error{Kind: ErrTooStale, Secondary: fmt.Errorf("last sync %s ago (status %s), bound %s", lag.Round(time.Millisecond), st.Status, r.cfg.MaxStaleness)}
	}
	return nil
}
