package breaker

import (
	"sync/atomic"
	"time"
)

// tripRule decides from primary read outcomes when the breaker opens.
// Implementations must be safe for concurrent use and cheap on success.
type tripRule interface {
	success(now int64)
	// failure records a failure and reports whether the breaker must trip.
	failure(now int64) bool
	reset()
	// reason says why the rule trips, for Transition.Reason.
	reason() string
}

// consecutiveRule trips after n consecutive failures (the seed's rule).
type consecutiveRule struct {
	n     int64
	count atomic.Int64
}

func (r *consecutiveRule) success(int64) {
	if r.count.Load() != 0 {
		r.count.Store(0)
	}
}
func (r *consecutiveRule) failure(int64) bool { return r.count.Add(1) >= r.n }
func (r *consecutiveRule) reset()             { r.count.Store(0) }
func (r *consecutiveRule) reason() string     { return "consecutive primary read failures" }

// ratioRule trips when, over a rolling window of buckets, at least min
// reads were made and the failure ratio reached ratio. Buckets are reset
// lazily by whoever first writes to them in a new epoch; the count is
// approximate under races, which a breaker tolerates.
type ratioRule struct {
	ratio   float64
	min     int64
	width   int64 // nanoseconds per bucket
	buckets [10]ratioBucket
}

type ratioBucket struct {
	epoch atomic.Int64
	total atomic.Int64
	fails atomic.Int64
}

func newRatioRule(ratio float64, min int, window time.Duration) *ratioRule {
	w := int64(window) / 10
	if w <= 0 {
		w = 1
	}
	if min < 1 {
		min = 1
	}
	return &ratioRule{ratio: ratio, min: int64(min), width: w}
}

func (r *ratioRule) bucket(now int64) *ratioBucket {
	epoch := now / r.width
	b := &r.buckets[epoch%int64(len(r.buckets))]
	if old := b.epoch.Load(); old != epoch && b.epoch.CompareAndSwap(old, epoch) {
		b.total.Store(0)
		b.fails.Store(0)
	}
	return b
}

func (r *ratioRule) success(now int64) { r.bucket(now).total.Add(1) }

func (r *ratioRule) failure(now int64) bool {
	b := r.bucket(now)
	b.total.Add(1)
	b.fails.Add(1)
	epoch := now / r.width
	var total, fails int64
	for i := range r.buckets {
		if e := r.buckets[i].epoch.Load(); e > epoch-int64(len(r.buckets)) && e <= epoch {
			total += r.buckets[i].total.Load()
			fails += r.buckets[i].fails.Load()
		}
	}
	return total >= r.min && float64(fails)/float64(total) >= r.ratio
}

func (r *ratioRule) reason() string { return "primary read failure ratio over the window" }

func (r *ratioRule) reset() {
	for i := range r.buckets {
		r.buckets[i].epoch.Store(0)
		r.buckets[i].total.Store(0)
		r.buckets[i].fails.Store(0)
	}
}
