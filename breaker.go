package geoblob

import (
	"math"
	"sync"
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
	// reason says why the rule trips, for StateChange.Reason.
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
	return total >= r.min && total > 0 && float64(fails)/float64(total) >= r.ratio
}

func (r *ratioRule) reason() string { return "primary read failure ratio over the window" }

func (r *ratioRule) reset() {
	for i := range r.buckets {
		r.buckets[i].epoch.Store(0)
		r.buckets[i].total.Store(0)
		r.buckets[i].fails.Store(0)
	}
}

// breaker is the state machine. Reads consult it with a few atomic loads;
// transitions take mu, and the events they produce are returned to the
// caller to be emitted after mu is released.
type breaker struct {
	cfg   *Config
	rules []tripRule

	state atomic.Int32 // Closed or Open (HalfOpen is Open with probing set)
	mode  atomic.Int32
	gen   atomic.Uint64 // bumped on every transition

	probing        atomic.Bool
	probeOK        atomic.Int32
	secondaryReads atomic.Int64 // successful secondary reads since the last (re)open
	readsNeeded    atomic.Int64 // fail-back reads needed before the next probe
	probeAt        atomic.Int64 // unix nanos of the next time-based probe

	mu      sync.Mutex
	backoff float64 // current probe backoff multiplier

	c *counters
}

type counters struct {
	reads                                       [2]atomic.Uint64
	writes, failovers, failbacks, probes        atomic.Uint64
	fallbacks, notReplicated, hedges, hedgeWins atomic.Uint64
	errors, rejectedWrites, tooStale            atomic.Uint64
}

func (c *counters) snapshot() Counters {
	return Counters{
		PrimaryReads:   c.reads[Primary].Load(),
		SecondaryReads: c.reads[Secondary].Load(),
		Writes:         c.writes.Load(),
		Failovers:      c.failovers.Load(),
		Failbacks:      c.failbacks.Load(),
		Probes:         c.probes.Load(),
		Fallbacks:      c.fallbacks.Load(),
		NotReplicated:  c.notReplicated.Load(),
		Hedges:         c.hedges.Load(),
		HedgeWins:      c.hedgeWins.Load(),
		Errors:         c.errors.Load(),
		RejectedWrites: c.rejectedWrites.Load(),
		TooStale:       c.tooStale.Load(),
	}
}

func newBreaker(cfg *Config, c *counters) *breaker {
	b := &breaker{cfg: cfg, c: c, backoff: 1}
	if cfg.FailureThreshold > 0 {
		b.rules = append(b.rules, &consecutiveRule{n: int64(cfg.FailureThreshold)})
	}
	if cfg.FailureRatio > 0 {
		b.rules = append(b.rules, newRatioRule(cfg.FailureRatio, cfg.MinThroughput, cfg.Window))
	}
	b.mode.Store(int32(cfg.Mode))
	return b
}

// route is where a read goes first, and whether it is the probe (then gen
// is the transition count it was sent under).
type route struct {
	loc   Location
	probe bool
	gen   uint64
}

// route picks the location of a read. It is the hot path: atomic loads only
// unless a probe is due.
func (b *breaker) route() route {
	switch Mode(b.mode.Load()) {
	case PrimaryOnly:
		return route{loc: Primary}
	case SecondaryOnly:
		return route{loc: Secondary}
	}
	if State(b.state.Load()) == Closed {
		return route{loc: Primary}
	}
	if b.probeDue() && b.probing.CompareAndSwap(false, true) {
		// Check again holding the slot: the previous probe may have ended
		// (and re-armed, or closed the breaker) since probeDue was read.
		gen := b.gen.Load()
		switch {
		case State(b.state.Load()) == Closed:
			b.probing.Store(false)
			return route{loc: Primary}
		case !b.probeDue():
			b.probing.Store(false)
			return route{loc: Secondary}
		}
		b.c.probes.Add(1)
		return route{loc: Primary, probe: true, gen: gen}
	}
	return route{loc: Secondary}
}

func (b *breaker) probeDue() bool {
	if n := b.readsNeeded.Load(); n > 0 && b.secondaryReads.Load() >= n {
		return true
	}
	if b.cfg.FailbackAfter > 0 && b.cfg.Now().UnixNano() >= b.probeAt.Load() {
		return true
	}
	return false
}

// primaryDown reports whether writes must fail fast.
func (b *breaker) primaryDown() bool {
	return Mode(b.mode.Load()) == Auto && State(b.state.Load()) != Closed
}

// current returns the externally visible state.
func (b *breaker) current() State {
	if State(b.state.Load()) == Closed {
		return Closed
	}
	if b.probing.Load() {
		return HalfOpen
	}
	return Open
}

// primarySuccess records a successful (non-probe) primary read and returns
// the transition it caused (a slow call can trip the breaker), if any.
func (b *breaker) primarySuccess(now time.Time, d time.Duration) *StateChange {
	if State(b.state.Load()) != Closed || Mode(b.mode.Load()) != Auto {
		return nil
	}
	if b.cfg.SlowCallThreshold > 0 && d > b.cfg.SlowCallThreshold {
		return b.primaryFailure(now, "slow primary reads: ")
	}
	n := now.UnixNano()
	for _, r := range b.rules {
		r.success(n)
	}
	return nil
}

// primaryFailure records a retryable (non-probe) primary read failure and
// returns the transition it caused, if any. prefix qualifies the reason
// ("slow primary reads: " for slow calls).
func (b *breaker) primaryFailure(now time.Time, prefix string) *StateChange {
	if State(b.state.Load()) != Closed || Mode(b.mode.Load()) != Auto {
		return nil
	}
	n := now.UnixNano()
	var tripped tripRule
	for _, r := range b.rules {
		if r.failure(n) && tripped == nil {
			tripped = r
		}
	}
	if tripped == nil {
		return nil
	}
	return b.open(now, prefix+tripped.reason())
}

// consecutive returns the current consecutive-failure count (for events).
func (b *breaker) consecutive() int {
	for _, r := range b.rules {
		if c, ok := r.(*consecutiveRule); ok {
			return int(c.count.Load())
		}
	}
	return 0
}

func (b *breaker) open(now time.Time, reason string) *StateChange {
	b.mu.Lock()
	defer b.mu.Unlock()
	if State(b.state.Load()) != Closed {
		return nil
	}
	b.backoff = 1
	b.armProbe(now)
	b.state.Store(int32(Open))
	b.gen.Add(1)
	b.c.failovers.Add(1)
	return &StateChange{From: Closed, To: Open, Mode: Mode(b.mode.Load()), Reason: reason, At: now}
}

// armProbe schedules the next probe with the current backoff; mu held.
func (b *breaker) armProbe(now time.Time) {
	b.secondaryReads.Store(0)
	if b.cfg.FailbackReads > 0 {
		b.readsNeeded.Store(int64(math.Ceil(float64(b.cfg.FailbackReads) * b.backoff)))
	} else {
		b.readsNeeded.Store(0)
	}
	if b.cfg.FailbackAfter > 0 {
		b.probeAt.Store(now.Add(time.Duration(float64(b.cfg.FailbackAfter) * b.backoff)).UnixNano())
	} else {
		b.probeAt.Store(math.MaxInt64)
	}
}

// secondarySuccess counts a successful secondary read towards fail-back.
func (b *breaker) secondarySuccess() {
	if State(b.state.Load()) == Open {
		b.secondaryReads.Add(1)
	}
}

// probeResult ends the probe sent under generation gen. A success closes
// the breaker once ProbeSuccesses probes in a row succeeded; a failure
// backs off. A verdict from before a later transition (a Force, a fresh
// trip) says nothing about the current state and is dropped.
func (b *breaker) probeResult(now time.Time, gen uint64, ok bool) *StateChange {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.probing.Store(false)
	if State(b.state.Load()) != Open || b.gen.Load() != gen {
		return nil
	}
	if !ok {
		b.probeOK.Store(0)
		b.backoff = math.Min(b.backoff*b.cfg.ProbeBackoff, b.cfg.MaxProbeBackoff)
		b.armProbe(now)
		return nil
	}
	if int(b.probeOK.Add(1)) < b.cfg.ProbeSuccesses {
		return nil // the next read probes again
	}
	return b.closeLocked(now, "probe of the primary succeeded")
}

// closeLocked moves an open breaker back to closed: it resets the trip
// rules, starts a new generation (so a probe in flight is ignored) and
// counts a failback. Callers hold b.mu.
func (b *breaker) closeLocked(now time.Time, reason string) *StateChange {
	b.probeOK.Store(0)
	for _, r := range b.rules {
		r.reset()
	}
	b.state.Store(int32(Closed))
	b.gen.Add(1)
	b.c.failbacks.Add(1)
	return &StateChange{From: Open, To: Closed, Mode: Mode(b.mode.Load()), Reason: reason, At: now}
}

// recovered closes an open breaker (in Auto mode) because the primary
// answered a read that the secondary had just failed retryably: the
// primary is evidently back, and waiting for the next probe would make
// every read until then pay for a failing secondary first. Like a
// successful probe it resets the trip rules and counts a failback; a probe
// in flight sees the new generation and its verdict is ignored.
func (b *breaker) recovered(now time.Time) *StateChange {
	if State(b.state.Load()) == Closed || Mode(b.mode.Load()) != Auto {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if State(b.state.Load()) != Open || Mode(b.mode.Load()) != Auto {
		return nil
	}
	return b.closeLocked(now, "the secondary failed and the primary answered")
}

// probeAbandoned releases the probe slot without a verdict (cancellation).
func (b *breaker) probeAbandoned() { b.probing.Store(false) }

// force sets the mode and returns the change event.
func (b *breaker) force(now time.Time, m Mode) *StateChange {
	b.mu.Lock()
	defer b.mu.Unlock()
	from := b.current()
	old := Mode(b.mode.Swap(int32(m)))
	if old == m {
		return nil
	}
	if m == Auto {
		// Start over from the primary, as if freshly built.
		for _, r := range b.rules {
			r.reset()
		}
		b.state.Store(int32(Closed))
	}
	b.gen.Add(1)
	return &StateChange{From: from, To: b.current(), Mode: m, Reason: "forced " + m.String(), At: now}
}
