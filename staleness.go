package geoblob

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/geoblob/geoblob/internal/redact"
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
// conservative; a failed fetch keeps the last good statistics.
type staleness struct {
	src        atomic.Pointer[StatsFunc]
	last       atomic.Pointer[statsResult]
	refreshing atomic.Bool
	mu         sync.Mutex // serialises fetches
}

// statsResult is the outcome of the latest fetch.
type statsResult struct {
	good *GeoStats // newest good statistics, kept across failed fetches
	err  error     // the latest fetch's error; nil when it succeeded
	at   time.Time // when the latest fetch ended
}

// value returns the best statistics known: the last good ones, else the
// latest error.
func (s *statsResult) value() (GeoStats, error) {
	if s.good != nil {
		return *s.good, nil
	}
	return GeoStats{}, s.err
}

// fresh reports whether the latest fetch is recent enough that another one
// must not be made: younger than maxAge, or, after a failure with nothing
// good to fall back on, younger than retry.
func (s *statsResult) fresh(now time.Time, maxAge, retry time.Duration) bool {
	if s == nil {
		return false
	}
	if s.good == nil {
		maxAge = min(maxAge, retry)
	}
	return now.Sub(s.at) < maxAge
}

// SetStats sets how the router reads the secondary's statistics. The
// constructors set it; call it when wiring the policy by hand.
func (r *Router) SetStats(f StatsFunc) { r.stats.src.Store(&f) }

// SetStatsClient makes the router read statistics with svc, a service
// client of the same account whose pipeline includes this router (Get
// Blob Service Stats requests are always sent to the secondary).
//
// It also sets the client background probes use (SetProbeClient).
func (r *Router) SetStatsClient(svc *service.Client) {
	r.SetProbeClient(svc)
	r.SetStats(func(ctx context.Context) (GeoStats, error) {
		// One try: a background refresh must not sit in retry backoff.
		ctx = policy.WithRetryOptions(ctx, policy.RetryOptions{MaxRetries: -1})
		resp, err := svc.GetStatistics(ctx, nil)
		if err != nil {
			return GeoStats{}, fmt.Errorf("geoblob: get blob service stats: %w", redact.Err(err))
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
// When a fetch fails, the last good statistics are returned (FetchedAt
// tells their age); the error is returned only when there are none. A
// secondary that reports no LastSyncTime has a zero LastSyncTime and the
// largest Lag.
func (r *Router) Staleness(ctx context.Context) (Staleness, error) {
	st, err := r.stats.get(ctx, r, r.cfg.StatsRefresh)
	if err != nil {
		return Staleness{}, err
	}
	return Staleness{GeoStats: st, Lag: r.cfg.Now().Sub(st.LastSyncTime)}, nil
}

// maxStatsWait bounds one Get Blob Service Stats call (StatsRefresh, when
// shorter, bounds it too).
const maxStatsWait = 10 * time.Second

// get returns the cached statistics unless the latest fetch is older than
// maxAge, else fetches them. One fetch runs at a time: callers that hold
// statistics already use them meanwhile (an old LastSyncTime only
// overstates staleness), the others wait and find the fresh result. A fetch
// is bounded by StatsRefresh (at most maxStatsWait), and a failed one is
// retried no sooner than StatsRefresh/10, so a secondary that refuses or
// hangs statistics (a container SAS, say) is not asked on every read.
//
// maxAge 0 always fetches, and returns the fetch's own error rather than
// older statistics (RecoveryPoint, CheckSecondary).
func (s *staleness) get(ctx context.Context, r *Router, maxAge time.Duration) (GeoStats, error) {
	retry := r.cfg.StatsRefresh / 10
	if l := s.last.Load(); maxAge > 0 && l.fresh(r.cfg.Now(), maxAge, retry) {
		return l.value()
	}
	src := s.src.Load()
	if src == nil {
		return GeoStats{}, ErrNoSecondary
	}
	if !s.mu.TryLock() {
		if l := s.last.Load(); maxAge > 0 && l != nil && l.good != nil {
			return *l.good, nil
		}
		s.mu.Lock()
	}
	l := s.last.Load()
	if maxAge > 0 && l.fresh(r.cfg.Now(), maxAge, retry) {
		s.mu.Unlock()
		return l.value()
	}
	next, err := s.fetch(ctx, r, src, l)
	s.mu.Unlock()
	if next == nil {
		return GeoStats{}, err // the caller gave up
	}
	// Outside the lock: marking the secondary up or down runs callbacks,
	// which may call Staleness.
	var fetched GeoStats
	if err == nil {
		fetched = *next.good
	}
	r.noteStats(fetched, err, next.at)
	if maxAge == 0 {
		return fetched, err
	}
	return next.value()
}

// fetch reads the statistics once and caches the result; nil when the
// caller gave up (which says nothing about the secondary). s.mu is held.
func (s *staleness) fetch(ctx context.Context, r *Router, src *StatsFunc, l *statsResult) (*statsResult, error) {
	fctx, cancel := context.WithTimeout(ctx, min(r.cfg.StatsRefresh, maxStatsWait))
	defer cancel()
	st, err := (*src)(fctx)
	next := &statsResult{err: err, at: r.cfg.Now()}
	if l != nil {
		next.good = l.good
	}
	if err == nil {
		st.FetchedAt = next.at
		// LastSyncTime never moves backwards, nor disappears, while the
		// status stays the same; a change of status (say unavailable, or
		// bootstrap after a failover) starts over.
		if p := next.good; p != nil && p.Status == st.Status && p.LastSyncTime.After(st.LastSyncTime) {
			st.LastSyncTime = p.LastSyncTime
		}
		next.good = &st
	} else if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil, err
	}
	s.last.Store(next)
	return next, err
}

// RecoveryPoint reads Get Blob Service Stats now (never from the cache)
// and returns the secondary's state: the recovery point of an unplanned
// account failover made at this moment. Every write the primary committed
// before LastSyncTime is on the secondary and would survive the failover;
// later writes, none older than Lag, could be lost. A runbook checks it
// before failing over. When the secondary reports no LastSyncTime
// (status unavailable or bootstrap, as after a failover until
// geo-redundancy is enabled again and the new secondary has caught up),
// the error matches ErrNoRecoveryPoint and the statistics are still
// returned. The fetch also updates the secondary's health (see
// SecondaryState).
func (r *Router) RecoveryPoint(ctx context.Context) (Staleness, error) {
	st, err := r.stats.get(ctx, r, 0)
	if err != nil {
		return Staleness{}, fmt.Errorf("geoblob: recovery point: %w", err)
	}
	s := Staleness{GeoStats: st, Lag: r.cfg.Now().Sub(st.LastSyncTime)}
	if st.LastSyncTime.IsZero() {
		return s, fmt.Errorf("%w (status %q)", ErrNoRecoveryPoint, st.Status)
	}
	return s, nil
}

// lastSyncTime returns the cached LastSyncTime, zero when unknown.
func (s *staleness) lastSyncTime() time.Time {
	if l := s.last.Load(); l != nil && l.good != nil {
		return l.good.LastSyncTime
	}
	return time.Time{}
}

// maybeRefresh refreshes the cache in the background when it is stale, no
// refresh is under way and the Router is not closed. Called, with the time of the answer, on reads
// served by the secondary.
func (s *staleness) maybeRefresh(r *Router, now time.Time) {
	if s.src.Load() == nil || r.closed.Load() || s.last.Load().fresh(now, r.cfg.StatsRefresh, r.cfg.StatsRefresh/10) {
		return
	}
	if !s.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.refreshing.Store(false)
		// Background work: Close ends it (r.life), as it ends the prober.
		if _, err := s.get(r.life, r, r.cfg.StatsRefresh); err != nil {
			r.log.Debug("geoblob: refreshing secondary stats failed", "error", redact.Text(err.Error()))
		}
	}()
}

// checkStale enforces MaxStaleness before a read is sent to the secondary,
// counting a refusal.
func (r *Router) checkStale(ctx context.Context) error {
	err := r.stale(ctx)
	if err != nil {
		r.c.tooStale.Add(1)
		r.c.errors.Add(1)
	}
	return err
}

// stale returns ErrTooStale when MaxStaleness is set and the secondary is
// staler than it, or its staleness cannot be known.
func (r *Router) stale(ctx context.Context) error {
	if r.cfg.MaxStaleness <= 0 {
		return nil
	}
	st, err := r.stats.get(ctx, r, r.cfg.StatsRefresh)
	if err == nil && r.cfg.Now().Sub(st.LastSyncTime) > r.cfg.MaxStaleness {
		// The cached value may be old: ask again before refusing, at most
		// every StatsRefresh/10 (one fetch, whatever the concurrency).
		st, err = r.stats.get(ctx, r, r.cfg.StatsRefresh/10)
	}
	switch {
	case err != nil:
		return &Error{Kind: ErrTooStale, Secondary: err}
	case st.LastSyncTime.IsZero():
		return &Error{Kind: ErrTooStale, Secondary: fmt.Errorf("secondary reports no LastSyncTime (status %s), bound %s", st.Status, r.cfg.MaxStaleness)}
	}
	if lag := r.cfg.Now().Sub(st.LastSyncTime); lag > r.cfg.MaxStaleness {
		return &Error{Kind: ErrTooStale, Secondary: fmt.Errorf("last sync %s ago (status %s), bound %s", lag.Round(time.Millisecond), st.Status, r.cfg.MaxStaleness)}
	}
	return nil
}
