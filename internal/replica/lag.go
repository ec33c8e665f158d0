package replica

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/geoblob/geoblob/internal/store"
)

// LagModel draws the replication lag of each write. The replicator calls
// Next once per committed change, in commit order; a change never becomes
// due before the change committed ahead of it, so a long draw holds back
// the writes behind it, as a real replication stream does.
type LagModel interface {
	// Next returns the lag of the next write.
	Next() time.Duration
	// String describes the model in the syntax ParseLagModel reads.
	String() string
}

// ErrInvalidLagModel is wrapped by every error ParseLagModel returns.
var ErrInvalidLagModel = errors.New("replica: invalid lag model")

// Constant is a LagModel drawing the same lag every time.
type Constant time.Duration

// Next returns the constant.
func (c Constant) Next() time.Duration { return time.Duration(c) }

// Typical returns the constant.
func (c Constant) Typical() time.Duration { return time.Duration(c) }

func (c Constant) String() string { return "constant:" + time.Duration(c).String() }

// seeded is a deterministic random source shared by the seeded models.
type seeded struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newSeeded(seed uint64) *seeded {
	return &seeded{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (s *seeded) float() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64()
}

// Jitter is a LagModel drawing Base plus a uniform extra in [0, Jitter):
// a bound with jitter. Draws come from a generator seeded with Seed, so
// a run is reproducible.
type Jitter struct {
	Base, Jitter time.Duration
	Seed         uint64
	src          *seeded
}

// NewJitter returns a Jitter model.
func NewJitter(base, jitter time.Duration, seed uint64) *Jitter {
	return &Jitter{Base: base, Jitter: jitter, Seed: seed, src: newSeeded(seed)}
}

// Next draws a lag.
func (j *Jitter) Next() time.Duration {
	x := time.Duration(j.src.float() * float64(j.Jitter))
	if x > math.MaxInt64-j.Base {
		// Saturate: an overflow would wrap to a negative lag, which
		// replicates at once.
		return math.MaxInt64
	}
	return j.Base + x
}

// Typical returns Base.
func (j *Jitter) Typical() time.Duration { return j.Base }

func (j *Jitter) String() string {
	return fmt.Sprintf("jitter:%v,%v,seed=%d", j.Base, j.Jitter, j.Seed)
}

// Tail is a LagModel of a service-level promise such as Geo Priority
// Replication's: LastSyncTime within Bound (15 minutes) for a fraction P
// (0.99) of the time. A fraction P of writes lag an exponentially
// distributed time with mean Mean, cut at Bound; the rest lag a
// uniform time between Bound and Max. Draws are seeded, so a run is
// reproducible.
type Tail struct {
	Mean  time.Duration // mean of the body of the distribution
	Bound time.Duration
	P     float64
	Max   time.Duration
	Seed  uint64
	src   *seeded
}

// Geo Priority Replication's published promise.
const (
	GPRBound = 15 * time.Minute
	GPRShare = 0.99
)

// NewTail returns a Tail model. Zero Bound, P or Max take Geo Priority
// Replication's 15 minutes, 0.99 and four times Bound.
func NewTail(typical, bound time.Duration, p float64, max time.Duration, seed uint64) *Tail {
	if bound <= 0 {
		bound = GPRBound
	}
	if !(p > 0 && p <= 1) {
		p = GPRShare
	}
	if max <= bound {
		max = 4 * bound
	}
	return &Tail{Mean: typical, Bound: bound, P: p, Max: max, Seed: seed, src: newSeeded(seed)}
}

// Next draws a lag.
func (t *Tail) Next() time.Duration {
	u := t.src.float()
	if u < t.P {
		// The body: exponential with mean Typical, kept under Bound.
		v := t.src.float()
		d := time.Duration(-math.Log(1-v) * float64(t.Mean))
		if d >= t.Bound {
			d = t.Bound - time.Nanosecond
		}
		return d
	}
	return t.Bound + time.Duration(t.src.float()*float64(t.Max-t.Bound))
}

// Typical returns the mean of the body.
func (t *Tail) Typical() time.Duration { return t.Mean }

func (t *Tail) String() string {
	return fmt.Sprintf("tail:%v,%v,%g,%v,seed=%d", t.Mean, t.Bound, t.P, t.Max, t.Seed)
}

// ParseLagModel reads a lag model:
//
//	constant:D                  every write lags D
//	jitter:BASE,JITTER          BASE plus uniform [0, JITTER)
//	tail:TYPICAL[,BOUND,P,MAX]  P of writes exponential (mean TYPICAL) under
//	                            BOUND, the rest uniform in [BOUND, MAX)
//	gpr                         tail:30s,15m,0.99,1h: Geo Priority Replication
//
// seed seeds the random models; a ",seed=N" suffix overrides it.
func ParseLagModel(spec string, seed uint64) (LagModel, error) {
	kind, args, _ := strings.Cut(strings.TrimSpace(spec), ":")
	var parts []string
	if args != "" {
		for _, p := range strings.Split(args, ",") {
			if v, ok := strings.CutPrefix(p, "seed="); ok {
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("%w: seed %q", ErrInvalidLagModel, v)
				}
				seed = n
				continue
			}
			parts = append(parts, p)
		}
	}
	durs := func(n int) ([]time.Duration, error) {
		var out []time.Duration
		for i, p := range parts {
			if i >= n {
				break
			}
			d, err := time.ParseDuration(p)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("%w: %q is not a non-negative duration", ErrInvalidLagModel, p)
			}
			out = append(out, d)
		}
		return out, nil
	}
	switch kind {
	case "constant":
		d, err := durs(1)
		if err != nil {
			return nil, err
		}
		if len(parts) != 1 {
			return nil, fmt.Errorf("%w: want constant:DURATION", ErrInvalidLagModel)
		}
		return Constant(d[0]), nil
	case "jitter":
		d, err := durs(2)
		if err != nil {
			return nil, err
		}
		if len(parts) != 2 {
			return nil, fmt.Errorf("%w: want jitter:BASE,JITTER", ErrInvalidLagModel)
		}
		return NewJitter(d[0], d[1], seed), nil
	case "gpr":
		if len(parts) != 0 {
			return nil, fmt.Errorf("%w: gpr takes no arguments but seed=N", ErrInvalidLagModel)
		}
		return NewTail(30*time.Second, GPRBound, GPRShare, time.Hour, seed), nil
	case "tail":
		if len(parts) != 1 && len(parts) != 4 {
			return nil, fmt.Errorf("%w: want tail:TYPICAL or tail:TYPICAL,BOUND,P,MAX", ErrInvalidLagModel)
		}
		if len(parts) == 1 {
			d, err := durs(1)
			if err != nil {
				return nil, err
			}
			return NewTail(d[0], 0, 0, 0, seed), nil
		}
		p, err := strconv.ParseFloat(parts[2], 64)
		if err != nil || !(p > 0 && p <= 1) { // NaN is refused too
			return nil, fmt.Errorf("%w: share %q must be in (0, 1]", ErrInvalidLagModel, parts[2])
		}
		parts = []string{parts[0], parts[1], parts[3]}
		d, err := durs(3)
		if err != nil {
			return nil, err
		}
		if d[1] <= 0 {
			// NewTail would read a zero BOUND as the default and drop
			// the MAX given with it.
			return nil, fmt.Errorf("%w: BOUND must be positive", ErrInvalidLagModel)
		}
		if d[2] <= d[1] {
			return nil, fmt.Errorf("%w: MAX must exceed BOUND", ErrInvalidLagModel)
		}
		return NewTail(d[0], d[1], p, d[2], seed), nil
	}
	return nil, fmt.Errorf("%w: %q: want constant:D, jitter:BASE,JITTER, tail:TYPICAL[,BOUND,P,MAX] or gpr", ErrInvalidLagModel, spec)
}

// dueTime is when change c may be applied: its lag after the clock reading
// of its commit, and never before the change ahead of it. Callers hold
// r.mu.
func (r *Replicator) dueTime(c store.Change) time.Time {
	// The lag counts from the clock reading of the commit, not from its
	// tie-broken commit time, so every write made at one reading of the
	// clock becomes due at the same moment under a constant lag.
	at := c.Clock
	if at.IsZero() {
		at = c.Time
	}
	lag := r.lag
	if r.model != nil {
		lag = max(r.model.Next(), 0)
	}
	due := at.Add(lag)
	if due.Before(r.lastDue) {
		due = r.lastDue
	}
	r.lastDue = due
	return due
}
