// Package breaker is geoblob's circuit-breaker state machine: when reads
// leave the primary (trip rules), when the primary is probed again
// (fail-back by secondary reads, by time, or in the background), what a
// probe's verdict does, and how flapping is damped. It knows nothing of
// HTTP: the router reports outcomes and asks where a read goes.
//
// Reads consult it with a few atomic loads; transitions take a mutex and
// return the Transition they made, for the caller to report after the
// mutex is released.
package breaker

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// State is the breaker's state.
type State int32

// States. HalfOpen is Open with a probe of the primary in flight.
const (
	Closed State = iota
	Open
	HalfOpen
)

// Mode is the routing mode.
type Mode int32

// Modes.
const (
	Auto Mode = iota
	PrimaryOnly
	SecondaryOnly
)

// Location is where a read goes first.
type Location uint8

// Locations.
const (
	Primary Location = iota
	Secondary
)

// Config is the state machine's configuration. Every value is used as
// given: the caller has filled in defaults.
type Config struct {
	// FailureThreshold trips after this many consecutive primary
	// failures; 0 or less disables the rule.
	FailureThreshold int
	// FailureRatio trips when, within Window, at least MinThroughput
	// primary reads were made and this fraction failed; 0 disables it.
	FailureRatio  float64
	Window        time.Duration
	MinThroughput int
	// FailbackReads makes a probe due after this many successful secondary
	// reads since the breaker opened or the last probe failed; 0 or less
	// disables it.
	FailbackReads int
	// FailbackAfter makes a probe due this long after the breaker opened
	// or the last probe failed; 0 or less disables it.
	FailbackAfter time.Duration
	// ProbeSuccesses consecutive successful probes close the breaker.
	ProbeSuccesses int
	// MaxProbeSuccesses caps the successes flap damping may require.
	MaxProbeSuccesses int
	// FlapWindow: a breaker that trips again within FlapWindow of closing
	// is flapping, and needs twice as many successful probes to close as
	// the last time (at most MaxProbeSuccesses). 0 disables damping.
	FlapWindow time.Duration
	// ProbeBackoff multiplies the fail-back reads and interval after each
	// failed probe, up to MaxProbeBackoff in total (both at least 1).
	ProbeBackoff, MaxProbeBackoff float64
	// MaxProbeHold releases the probe slot when a probe's verdict has not
	// come this long after it was claimed; 0 never does.
	MaxProbeHold time.Duration
	// Mode is the initial mode.
	Mode Mode
	// Now is the time source.
	Now func() time.Time
}

// Transition reports a change of state or mode.
type Transition struct {
	From, To State
	Mode     Mode
	Reason   string
	At       time.Time
}

// Counts are the breaker's own counters.
type Counts struct {
	Failovers, Failbacks, Probes uint64
}

// Route is where a read goes first. With Probe set the read is the probe
// of the primary, sent under generation Gen: the router reports its
// verdict to ProbeResult (or ProbeAbandoned).
type Route struct {
	First Location
	Probe bool
	Gen   uint64
}

// Breaker is the state machine. It is safe for concurrent use.
type Breaker struct {
	cfg   Config
	rules []tripRule

	state atomic.Int32 // Closed or Open (HalfOpen is Open with probing set)
	mode  atomic.Int32
	gen   atomic.Uint64 // bumped on every transition

	probing        atomic.Bool
	probeOK        atomic.Int32
	probeAgain     atomic.Bool  // a probe succeeded and more are needed
	secondaryReads atomic.Int64 // successful secondary reads since the last (re)arm
	readsNeeded    atomic.Int64 // fail-back reads needed before the next probe
	probeAt        atomic.Int64 // unix nanos of the next time-based probe
	lastProbe      atomic.Int64 // unix nanos when the last probe ended, or the breaker opened
	probeStart     atomic.Int64 // unix nanos when the probe in flight was claimed
	needed         atomic.Int32 // successful probes needed to close

	mu        sync.Mutex
	backoff   float64 // current probe backoff multiplier
	flaps     int     // consecutive re-trips within FlapWindow of a close
	lastClose time.Time

	failovers, failbacks, probes atomic.Uint64
}

// New returns a closed breaker.
func New(cfg Config) *Breaker {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.ProbeSuccesses = max(cfg.ProbeSuccesses, 1)
	cfg.MaxProbeSuccesses = max(cfg.MaxProbeSuccesses, cfg.ProbeSuccesses)
	cfg.ProbeBackoff = max(cfg.ProbeBackoff, 1)
	cfg.MaxProbeBackoff = max(cfg.MaxProbeBackoff, 1)
	b := &Breaker{cfg: cfg, backoff: 1}
	if cfg.FailureThreshold > 0 {
		b.rules = append(b.rules, &consecutiveRule{n: int64(cfg.FailureThreshold)})
	}
	if cfg.FailureRatio > 0 {
		b.rules = append(b.rules, newRatioRule(cfg.FailureRatio, cfg.MinThroughput, cfg.Window))
	}
	b.mode.Store(int32(cfg.Mode))
	b.needed.Store(int32(cfg.ProbeSuccesses))
	return b
}

// Route picks where a read goes first. It is the hot path: atomic loads
// only unless a probe is due.
func (b *Breaker) Route() Route {
	switch Mode(b.mode.Load()) {
	case PrimaryOnly:
		return Route{First: Primary}
	case SecondaryOnly:
		return Route{First: Secondary}
	}
	if State(b.state.Load()) == Closed {
		return Route{First: Primary}
	}
	if b.probeDue() {
		if gen, ok := b.claimProbe(); ok {
			return Route{First: Primary, Probe: true, Gen: gen}
		}
	}
	return Route{First: Secondary}
}

// claimProbe takes the probe slot of an open breaker in Auto mode.
func (b *Breaker) claimProbe() (uint64, bool) {
	if !b.probing.CompareAndSwap(false, true) {
		return 0, false
	}
	// Check again holding the slot: the previous probe may have ended (and
	// re-armed, or closed the breaker) since the caller looked.
	gen := b.gen.Load()
	if State(b.state.Load()) != Open || Mode(b.mode.Load()) != Auto {
		b.probing.Store(false)
		return 0, false
	}
	b.probeAgain.Store(false)
	b.probeStart.Store(b.cfg.Now().UnixNano())
	b.probes.Add(1)
	return gen, true
}

// probeStuck releases the probe slot of a probe whose verdict has not come
// within MaxProbeHold (a probe read whose body the caller never finished),
// so that probing goes on.
func (b *Breaker) probeStuck() bool {
	if b.cfg.MaxProbeHold <= 0 || b.cfg.Now().UnixNano()-b.probeStart.Load() < int64(b.cfg.MaxProbeHold) {
		return false
	}
	b.probing.Store(false)
	return true
}

// BackgroundProbe claims the probe slot when the breaker is open and no
// probe has ended (nor the breaker opened) for idle: a check of the
// primary without traffic. The caller sends the probe and reports its
// verdict like a routed one.
func (b *Breaker) BackgroundProbe(idle time.Duration) (uint64, bool) {
	if State(b.state.Load()) != Open || Mode(b.mode.Load()) != Auto || (b.probing.Load() && !b.probeStuck()) {
		return 0, false
	}
	if b.cfg.Now().UnixNano()-b.lastProbe.Load() < int64(idle) && !b.probeAgain.Load() {
		return 0, false
	}
	return b.claimProbe()
}

func (b *Breaker) probeDue() bool {
	if b.probing.Load() && !b.probeStuck() {
		return false
	}
	if b.probeAgain.Load() {
		return true
	}
	if n := b.readsNeeded.Load(); n > 0 && b.secondaryReads.Load() >= n {
		return true
	}
	return b.cfg.FailbackAfter > 0 && b.cfg.Now().UnixNano() >= b.probeAt.Load()
}

// State returns the externally visible state.
func (b *Breaker) State() State {
	if State(b.state.Load()) == Closed {
		return Closed
	}
	if b.probing.Load() {
		return HalfOpen
	}
	return Open
}

// Mode returns the routing mode.
func (b *Breaker) Mode() Mode { return Mode(b.mode.Load()) }

// PrimaryDown reports whether the breaker holds the primary as down (open
// or half-open in Auto mode).
func (b *Breaker) PrimaryDown() bool {
	return Mode(b.mode.Load()) == Auto && State(b.state.Load()) != Closed
}

// ProbesNeeded returns how many consecutive successful probes the next
// close needs (ProbeSuccesses, doubled by each flap).
func (b *Breaker) ProbesNeeded() int { return int(b.needed.Load()) }

// Counts returns the breaker's counters.
func (b *Breaker) Counts() Counts {
	return Counts{Failovers: b.failovers.Load(), Failbacks: b.failbacks.Load(), Probes: b.probes.Load()}
}

// Consecutive returns the current consecutive-failure count.
func (b *Breaker) Consecutive() int {
	for _, r := range b.rules {
		if c, ok := r.(*consecutiveRule); ok {
			return int(c.count.Load())
		}
	}
	return 0
}

// Success records a successful primary read (not a probe).
func (b *Breaker) Success(now time.Time) {
	if State(b.state.Load()) != Closed || Mode(b.mode.Load()) != Auto {
		return
	}
	n := now.UnixNano()
	for _, r := range b.rules {
		r.success(n)
	}
}

// Failure records a failed primary read (not a probe) and returns the
// transition it caused, if any. prefix qualifies the trip reason ("slow
// primary reads: " for slow calls).
func (b *Breaker) Failure(now time.Time, prefix string) *Transition {
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

func (b *Breaker) open(now time.Time, reason string) *Transition {
	b.mu.Lock()
	defer b.mu.Unlock()
	if State(b.state.Load()) != Closed {
		return nil
	}
	// Flap damping: tripping again soon after closing doubles the
	// successful probes the next close needs.
	if b.cfg.FlapWindow > 0 && !b.lastClose.IsZero() && now.Sub(b.lastClose) < b.cfg.FlapWindow {
		b.flaps++
	} else {
		b.flaps = 0
	}
	need := b.cfg.ProbeSuccesses
	for i := 0; i < b.flaps && need < b.cfg.MaxProbeSuccesses; i++ {
		need *= 2
	}
	b.needed.Store(int32(min(need, b.cfg.MaxProbeSuccesses)))
	b.backoff = 1
	b.probeOK.Store(0)
	b.probeAgain.Store(false)
	b.armProbe(now)
	b.state.Store(int32(Open))
	b.gen.Add(1)
	b.failovers.Add(1)
	return &Transition{From: Closed, To: Open, Mode: Mode(b.mode.Load()), Reason: reason, At: now}
}

// armProbe schedules the next probe with the current backoff; mu held.
func (b *Breaker) armProbe(now time.Time) {
	b.secondaryReads.Store(0)
	b.lastProbe.Store(now.UnixNano())
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

// SecondarySuccess counts a successful secondary read towards fail-back.
func (b *Breaker) SecondarySuccess() {
	if State(b.state.Load()) == Open {
		b.secondaryReads.Add(1)
	}
}

// ProbeResult ends the probe sent under generation gen. A success closes
// the breaker once ProbesNeeded probes in a row succeeded (the next read
// probes again meanwhile); a failure backs the next probe off. A verdict
// from before a later transition (a Force, a fresh trip) says nothing
// about the current state and is dropped.
func (b *Breaker) ProbeResult(now time.Time, gen uint64, ok bool) *Transition {
	return b.probeResult(now, gen, ok, true)
}

// ProbeTimedOut fails the probe sent under generation gen, which waited
// the whole attempt bound. The wait itself spaced the probes out, so the
// back-off starts over instead of growing: the next probe is due after
// FailbackReads reads (or FailbackAfter) again, and a primary that comes
// back from a hang is found soon.
func (b *Breaker) ProbeTimedOut(now time.Time, gen uint64) *Transition {
	return b.probeResult(now, gen, false, false)
}

func (b *Breaker) probeResult(now time.Time, gen uint64, ok, grow bool) *Transition {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.probing.Store(false)
	if State(b.state.Load()) != Open || b.gen.Load() != gen {
		return nil
	}
	b.lastProbe.Store(now.UnixNano())
	if !ok {
		b.probeOK.Store(0)
		if grow {
			b.backoff = math.Min(b.backoff*b.cfg.ProbeBackoff, b.cfg.MaxProbeBackoff)
		} else {
			b.backoff = 1
		}
		b.armProbe(now)
		return nil
	}
	if b.probeOK.Add(1) < b.needed.Load() {
		b.probeAgain.Store(true)
		return nil
	}
	return b.closeLocked(now, "probe of the primary succeeded")
}

// ProbeAbandoned releases the probe slot without a verdict.
func (b *Breaker) ProbeAbandoned() { b.probing.Store(false) }

// closeLocked moves an open breaker back to closed: it resets the trip
// rules, starts a new generation (so a probe in flight is ignored) and
// counts a failback. Callers hold b.mu.
func (b *Breaker) closeLocked(now time.Time, reason string) *Transition {
	b.probeOK.Store(0)
	b.probeAgain.Store(false)
	for _, r := range b.rules {
		r.reset()
	}
	b.lastClose = now
	b.state.Store(int32(Closed))
	b.gen.Add(1)
	b.failbacks.Add(1)
	return &Transition{From: Open, To: Closed, Mode: Mode(b.mode.Load()), Reason: reason, At: now}
}

// Recovered closes an open breaker (in Auto mode) because the primary
// answered a read the secondary had just failed: the primary is evidently
// back. Like a successful probe it resets the trip rules and counts a
// failback.
func (b *Breaker) Recovered(now time.Time) *Transition {
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

// Force sets the mode and returns the change, if any. Back in Auto the
// breaker starts closed, as if freshly built.
func (b *Breaker) Force(now time.Time, m Mode) *Transition {
	b.mu.Lock()
	defer b.mu.Unlock()
	from := b.State()
	old := Mode(b.mode.Swap(int32(m)))
	if old == m {
		return nil
	}
	if m == Auto {
		for _, r := range b.rules {
			r.reset()
		}
		b.flaps = 0
		b.lastClose = time.Time{}
		b.needed.Store(int32(b.cfg.ProbeSuccesses))
		b.state.Store(int32(Closed))
	}
	b.gen.Add(1)
	return &Transition{From: from, To: b.State(), Mode: m, Reason: "forced " + m.String(), At: now}
}

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case PrimaryOnly:
		return "primary-only"
	case SecondaryOnly:
		return "secondary-only"
	default:
		return "auto"
	}
}
