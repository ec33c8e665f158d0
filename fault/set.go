package fault

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNotFound is returned for a rule id the Set does not hold.
var ErrNotFound = errors.New("fault: no such rule")

// State is where a rule stands in its life.
type State string

// Rule states.
const (
	Pending   State = "pending"   // its start delay (Limits.After) has not passed
	Active    State = "active"    // it may fire
	Expired   State = "expired"   // its duration (Limits.For) has passed
	Exhausted State = "exhausted" // it has fired Limits.Count times
)

// RuleStatus is a rule as a Set holds it: the rule, its id, when it was
// added, how often it has fired and its state. Its JSON form is the rule's
// fields plus id, added, fired and state.
type RuleStatus struct {
	ID string `json:"id"`
	Rule
	Added time.Time `json:"added"`
	Fired int64     `json:"fired"`
	State State     `json:"state"`
}

// Option configures a Set.
type Option func(*Set)

// WithClock measures Limits.For and Limits.After on now instead of the
// system clock. A Set given only a reading notices that a rule's For has
// passed when it next decides a request; give WithTimeSource a clock with
// timers to have held requests released at the moment the rule ends.
func WithClock(now func() time.Time) Option {
	return func(s *Set) { s.now, s.after = now, nil }
}

// Clock is a time source with timers, such as the emulator's clock.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed on this clock.
	After(d time.Duration) <-chan time.Time
}

// WithTimeSource measures Limits.For and Limits.After on c, and uses its
// timers to end, at the moment its For passes, the hangs and delays a rule
// is holding.
func WithTimeSource(c Clock) Option {
	return func(s *Set) { s.now, s.after = c.Now, c.After }
}

// WithRand draws probabilities and jitter from src instead of a randomly
// seeded source; give a seeded source for reproducible tests.
func WithRand(src rand.Source) Option { return func(s *Set) { s.rnd = rand.New(src) } }

// Set is an ordered list of rules. It is safe for concurrent use: rules may
// be added and removed while requests are being decided.
type Set struct {
	mu    sync.Mutex
	rules []*entry
	seq   uint64
	now   func() time.Time
	after func(time.Duration) <-chan time.Time // nil: expiry is noticed when deciding
	rnd   *rand.Rand

	// firings counts firings by rule endpoint, removed rules included.
	firings map[Endpoint]int64

	count     atomic.Int64 // len(rules), read without the lock on the hot path
	closeOnce sync.Once
	closed    chan struct{}
	shutdowns sync.Map // *http.Server -> chan struct{}, closed on Shutdown
}

type entry struct {
	id    string
	rule  Rule
	added time.Time
	fired int64
	// gone is closed when the rule ends: it is removed or cleared, its For
	// passes, or, once it has fired Count times, a request it matches goes
	// by. The requests it holds (hangs, delays) are then let go.
	gone    chan struct{}
	goneOne sync.Once
}

// end lets go of the requests e holds.
func (e *entry) end() { e.goneOne.Do(func() { close(e.gone) }) }

// NewSet returns an empty Set.
func NewSet(opts ...Option) *Set {
	s := &Set{now: time.Now, after: time.After, closed: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	if s.rnd == nil {
		s.rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return s
}

// SetRand replaces the random source of probabilities and jitter, for
// example with rand.NewPCG(seed, seed) in a test.
func (s *Set) SetRand(src rand.Source) {
	s.mu.Lock()
	s.rnd = rand.New(src)
	s.mu.Unlock()
}

// SetClock replaces the clock Limits.For and Limits.After are measured on.
// Set it before adding rules: a rule's start is read from the clock in
// force when it is added. As with WithClock, the end of a rule's For is
// then noticed when the Set next decides a request.
func (s *Set) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now, s.after = now, nil
	s.mu.Unlock()
}

// Add validates r and appends it to the Set, returning its id.
func (s *Set) Add(r Rule) (string, error) {
	if err := r.Validate(); err != nil {
		return "", err
	}
	r = cloneRule(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	e := &entry{id: strconv.FormatUint(s.seq, 10), rule: r, added: s.now(), gone: make(chan struct{})}
	s.rules = append(s.rules, e)
	s.count.Store(int64(len(s.rules)))
	if r.Limits.For > 0 && s.after != nil {
		// End the rule's hangs and delays when its For passes, traffic
		// or not.
		expiry := s.after(time.Duration(r.Limits.After) + time.Duration(r.Limits.For))
		go func() {
			select {
			case <-expiry:
				e.end()
			case <-e.gone:
			case <-s.closed:
			}
		}()
	}
	return e.id, nil
}

// Remove deletes the rule with the given id, or returns ErrNotFound.
// Requests the rule is holding (a hang, or latency) are released as Close
// releases them. A rule also lets them go by itself when it ends: when its
// For passes, or when a request it matches goes by after its Count firings.
func (s *Set) Remove(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.rules {
		if e.id == id {
			e.end()
			s.rules = slices.Delete(s.rules, i, i+1)
			s.count.Store(int64(len(s.rules)))
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrNotFound, id)
}

// Clear deletes every rule and returns how many there were.
func (s *Set) Clear() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.rules)
	for _, e := range s.rules {
		e.end()
	}
	s.rules = nil
	s.count.Store(0)
	return n
}

// List returns the rules in evaluation order with their counters.
func (s *Set) List() []RuleStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]RuleStatus, len(s.rules))
	for i, e := range s.rules {
		out[i] = e.status(now)
	}
	return out
}

// Get returns the rule with the given id, or ErrNotFound.
func (s *Set) Get(id string) (RuleStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.rules {
		if e.id == id {
			return e.status(s.now()), nil
		}
	}
	return RuleStatus{}, fmt.Errorf("%w: %q", ErrNotFound, id)
}

// Decide picks the action for a request: the first rule, in order, that
// matches t, is active and passes its probability draw fires, and its
// counter goes up. The returned Action has its jitter folded into Latency
// and, for a status, its default code and message filled in. ok is false
// when no rule fires.
func (s *Set) Decide(t Target) (a Action, ok bool) {
	a, _, ok = s.decide(t)
	return a, ok
}

// decide is Decide that also returns a channel closed when the firing rule
// ends (see entry.gone), so that the requests it holds can be let go.
func (s *Set) decide(t Target) (Action, <-chan struct{}, bool) {
	if s.count.Load() == 0 {
		return Action{}, nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, e := range s.rules {
		if !e.rule.matches(t) {
			continue
		}
		if !s.fire(e, now) {
			if st := e.state(now); st == Expired || st == Exhausted {
				// The outage is over for this request: it is over for
				// the requests the rule still holds too.
				e.end()
			}
			continue
		}
		return s.resolve(e.rule.Action), e.gone, true
	}
	return Action{}, nil, false
}

// refuseConn reports whether a new connection to ep should be refused at
// accept time: when an active refuse rule for ep has an empty match and no
// probability below 1, and no active rule for ep before it could do
// anything but refuse. That rule fires. When an earlier rule could answer
// differently (a 503 for every request, say), order decides request by
// request, so the connection is accepted and Middleware applies the rules.
func (s *Set) refuseConn(ep Endpoint) bool {
	if s.count.Load() == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, e := range s.rules {
		r := &e.rule
		if (r.Endpoint != Both && r.Endpoint != ep) || e.state(now) != Active {
			continue
		}
		if !r.Action.Refuse {
			return false // it comes first for some request
		}
		if !r.Match.empty() || (r.Limits.Probability != nil && *r.Limits.Probability < 1) {
			continue // a conditional refusal: the outcome is a refusal either way
		}
		if s.fire(e, now) {
			return true
		}
	}
	return false
}

// fire applies e's limits and counts the firing. s.mu is held.
func (s *Set) fire(e *entry, now time.Time) bool {
	if e.state(now) != Active {
		return false
	}
	if p := e.rule.Limits.Probability; p != nil && *p < 1 && s.rnd.Float64() >= *p {
		return false
	}
	e.fired++
	if s.firings == nil {
		s.firings = map[Endpoint]int64{}
	}
	s.firings[e.rule.Endpoint]++
	return true
}

// Firings returns how many times the Set's rules have fired, by the rules'
// Endpoint, those of rules since removed or cleared included. Every
// endpoint is present.
func (s *Set) Firings() map[Endpoint]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[Endpoint]int64{Primary: 0, Secondary: 0, Both: 0}
	for ep, n := range s.firings {
		out[ep] += n
	}
	return out
}

// resolve turns a rule's action into the concrete one to apply. s.mu is held.
func (s *Set) resolve(a Action) Action {
	if a.Jitter > 0 {
		a.Latency += Duration(s.rnd.Int64N(int64(a.Jitter) + 1))
		a.Jitter = 0
	}
	if a.Status != 0 {
		code, msg := defaultError(a.Status)
		if a.Code == "" {
			a.Code = code
		}
		if a.Message == "" {
			a.Message = msg
		}
	}
	return cloneAction(a)
}

// Close releases every request a hang or latency rule is holding and makes
// later hangs end at once. (Middleware also releases them by itself when
// its http.Server starts shutting down.) Rules keep deciding after Close.
func (s *Set) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
}

func (e *entry) state(now time.Time) State {
	l := &e.rule.Limits
	start := e.added.Add(time.Duration(l.After))
	switch {
	case l.Count > 0 && e.fired >= l.Count:
		return Exhausted
	case now.Before(start):
		return Pending
	case l.For > 0 && !now.Before(start.Add(time.Duration(l.For))):
		return Expired
	}
	return Active
}

func (e *entry) status(now time.Time) RuleStatus {
	return RuleStatus{ID: e.id, Rule: cloneRule(e.rule), Added: e.added, Fired: e.fired, State: e.state(now)}
}

func (m *Match) empty() bool {
	return len(m.Methods) == 0 && m.Op == "" && m.Account == "" && m.Container == "" && m.Blob == ""
}

func cloneRule(r Rule) Rule {
	r.Match.Methods = slices.Clone(r.Match.Methods)
	r.Action = cloneAction(r.Action)
	if p := r.Limits.Probability; p != nil {
		r.Limits.Probability = new(*p)
	}
	return r
}

func cloneAction(a Action) Action {
	if p := a.ResetAfterBytes; p != nil {
		a.ResetAfterBytes = new(*p)
	}
	if p := a.ResetAfterRequestBytes; p != nil {
		a.ResetAfterRequestBytes = new(*p)
	}
	return a
}
