package fault

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// manualClock is a hand-driven clock for limits.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var getBlob = Target{Endpoint: Primary, Method: "GET", Account: "acct", Container: "c", Blob: "b"}

func mustAdd(t *testing.T, s *Set, r Rule) string {
	t.Helper()
	id, err := s.Add(r)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return id
}

func status503() Action { return Action{Status: 503} }

func TestDecideOrderAndDefaults(t *testing.T) {
	s := NewSet()
	if _, ok := s.Decide(getBlob); ok {
		t.Fatal("empty set fired")
	}
	mustAdd(t, s, Rule{Endpoint: Secondary, Action: Action{Status: 500}})
	mustAdd(t, s, Rule{Endpoint: Primary, Action: status503()})
	mustAdd(t, s, Rule{Endpoint: Both, Action: Action{Hang: true}})
	a, ok := s.Decide(getBlob)
	if !ok || a.Status != 503 || a.Code != "ServerBusy" || a.Message == "" {
		t.Fatalf("Decide = %+v, %v; want the 503 with defaults", a, ok)
	}
	list := s.List()
	if len(list) != 3 || list[0].Fired != 0 || list[1].Fired != 1 || list[2].Fired != 0 {
		t.Fatalf("fired counters: %+v", list)
	}
	if list[0].ID == list[1].ID {
		t.Fatal("duplicate ids")
	}
}

func TestDecideCount(t *testing.T) {
	s := NewSet()
	id := mustAdd(t, s, Rule{Endpoint: Primary, Action: status503(), Limits: Limits{Count: 3}})
	fired := 0
	for range 10 {
		if _, ok := s.Decide(getBlob); ok {
			fired++
		}
	}
	if fired != 3 {
		t.Fatalf("fired %d times, want 3", fired)
	}
	st, err := s.Get(id)
	if err != nil || st.Fired != 3 || st.State != Exhausted {
		t.Fatalf("Get = %+v, %v; want 3 firings, exhausted", st, err)
	}
}

func TestDecideForAndAfter(t *testing.T) {
	clk := &manualClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := NewSet(WithClock(clk.Now))
	id := mustAdd(t, s, Rule{Endpoint: Primary, Action: status503(), Limits: Limits{After: Duration(10 * time.Second), For: Duration(30 * time.Second)}})
	steps := []struct {
		advance time.Duration
		fires   bool
		state   State
	}{
		{0, false, Pending},
		{9 * time.Second, false, Pending},
		{time.Second, true, Active}, // t=10s: starts
		{29 * time.Second, true, Active},
		{time.Second, false, Expired}, // t=40s: over
		{time.Hour, false, Expired},
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		if _, ok := s.Decide(getBlob); ok != st.fires {
			t.Errorf("step %d: fired = %v, want %v", i, ok, st.fires)
		}
		if got, _ := s.Get(id); got.State != st.state {
			t.Errorf("step %d: state %s, want %s", i, got.State, st.state)
		}
	}
}

func TestDecideProbabilitySeeded(t *testing.T) {
	run := func() []bool {
		s := NewSet(WithRand(rand.NewPCG(42, 7)))
		mustAdd(t, s, Rule{Endpoint: Primary, Action: status503(), Limits: Limits{Probability: new(0.3)}})
		out := make([]bool, 1000)
		for i := range out {
			_, out[i] = s.Decide(getBlob)
		}
		return out
	}
	a, b := run(), run()
	n := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different draw at %d", i)
		}
		if a[i] {
			n++
		}
	}
	// 1000 draws at p=0.3: 300 expected, sd about 14.5.
	if n < 200 || n > 400 {
		t.Errorf("fired %d of 1000 at p=0.3", n)
	}
}

func TestDecideProbabilityBounds(t *testing.T) {
	s := NewSet()
	never := mustAdd(t, s, Rule{Endpoint: Primary, Action: status503(), Limits: Limits{Probability: new(0.0)}})
	always := mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Status: 500}, Limits: Limits{Probability: new(1.0)}})
	for range 100 {
		if a, ok := s.Decide(getBlob); !ok || a.Status != 500 {
			t.Fatalf("Decide = %+v, %v; want the p=1 rule", a, ok)
		}
	}
	if st, _ := s.Get(never); st.Fired != 0 {
		t.Errorf("p=0 rule fired %d times", st.Fired)
	}
	if st, _ := s.Get(always); st.Fired != 100 {
		t.Errorf("p=1 rule fired %d times", st.Fired)
	}
}

func TestDecideFallsThroughExhaustedRule(t *testing.T) {
	s := NewSet()
	mustAdd(t, s, Rule{Endpoint: Primary, Action: status503(), Limits: Limits{Count: 1}})
	mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Status: 500}})
	var got []int
	for range 3 {
		a, _ := s.Decide(getBlob)
		got = append(got, a.Status)
	}
	if got[0] != 503 || got[1] != 500 || got[2] != 500 {
		t.Errorf("statuses %v, want [503 500 500]", got)
	}
}

func TestJitterSeeded(t *testing.T) {
	s := NewSet(WithRand(rand.NewPCG(1, 2)))
	mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Latency: Duration(100 * time.Millisecond), Jitter: Duration(50 * time.Millisecond)}})
	distinct := map[Duration]bool{}
	for range 50 {
		a, ok := s.Decide(getBlob)
		if !ok || a.Jitter != 0 || a.Latency < Duration(100*time.Millisecond) || a.Latency > Duration(150*time.Millisecond) {
			t.Fatalf("Decide = %+v, %v; want latency in [100ms, 150ms]", a, ok)
		}
		distinct[a.Latency] = true
	}
	if len(distinct) < 2 {
		t.Error("jitter never varied")
	}
}

func TestAddRemoveClear(t *testing.T) {
	s := NewSet()
	if _, err := s.Add(Rule{Endpoint: "nowhere", Action: status503()}); !errors.Is(err, ErrInvalidRule) {
		t.Fatalf("Add invalid: %v", err)
	}
	a := mustAdd(t, s, Rule{Endpoint: Primary, Action: status503()})
	b := mustAdd(t, s, Rule{Endpoint: Secondary, Action: status503()})
	if err := s.Remove(a); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(a); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Remove: %v", err)
	}
	if _, err := s.Get(a); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get removed: %v", err)
	}
	if l := s.List(); len(l) != 1 || l[0].ID != b {
		t.Fatalf("List = %+v", l)
	}
	if _, ok := s.Decide(getBlob); ok {
		t.Fatal("removed rule fired")
	}
	if n := s.Clear(); n != 1 {
		t.Fatalf("Clear = %d", n)
	}
	if len(s.List()) != 0 {
		t.Fatal("not cleared")
	}
	c := mustAdd(t, s, Rule{Endpoint: Primary, Action: status503()})
	if c == a || c == b {
		t.Errorf("id %s reused", c)
	}
}

func TestRuleIsCopied(t *testing.T) {
	s := NewSet()
	n := int64(5)
	r := Rule{Endpoint: Primary, Match: Match{Methods: []string{"GET"}}, Action: Action{ResetAfterBytes: &n}}
	id := mustAdd(t, s, r)
	r.Match.Methods[0] = "PUT"
	n = 99
	a, ok := s.Decide(getBlob)
	if !ok || *a.ResetAfterBytes != 5 {
		t.Fatalf("caller's changes leaked into the set: %+v %v", a, ok)
	}
	*a.ResetAfterBytes = 1
	st, _ := s.Get(id)
	if *st.Action.ResetAfterBytes != 5 {
		t.Fatal("a decided action aliases the stored rule")
	}
}

func TestRefuseConn(t *testing.T) {
	s := NewSet()
	mustAdd(t, s, Rule{Endpoint: Secondary, Match: Match{Blob: "x"}, Action: Action{Refuse: true}})
	mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Refuse: true}})
	mustAdd(t, s, Rule{Endpoint: Secondary, Action: Action{Refuse: true}, Limits: Limits{Probability: new(0.5)}})
	if s.refuseConn(Secondary) {
		t.Fatal("refused the secondary with only conditional rules")
	}
	if !s.refuseConn(Primary) {
		t.Fatal("did not refuse the primary")
	}
	id := mustAdd(t, s, Rule{Endpoint: Both, Action: Action{Refuse: true}, Limits: Limits{Count: 2}})
	for i, want := range []bool{true, true, false} {
		if got := s.refuseConn(Secondary); got != want {
			t.Fatalf("connection %d: refused %v, want %v (count 2)", i, got, want)
		}
	}
	if st, _ := s.Get(id); st.Fired != 2 {
		t.Errorf("fired %d, want 2", st.Fired)
	}
}

// TestConcurrentChanges decides from many goroutines while rules come and
// go; run it under -race.
func TestConcurrentChanges(t *testing.T) {
	s := NewSet(WithRand(rand.NewPCG(3, 4)))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.Decide(getBlob)
				s.List()
			}
		})
	}
	for i := range 500 {
		id, err := s.Add(Rule{Endpoint: Both, Action: status503(), Limits: Limits{Count: int64(i%5 + 1), Probability: new(0.5)}})
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := s.Remove(id); err != nil {
				t.Fatal(err)
			}
		}
		if i%100 == 99 {
			s.Clear()
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkDecideNoRules(b *testing.B) {
	s := NewSet()
	for b.Loop() {
		s.Decide(getBlob)
	}
}

func BenchmarkDecideMiss(b *testing.B) {
	s := NewSet()
	for range 10 {
		if _, err := s.Add(Rule{Endpoint: Secondary, Match: Match{Blob: "*.png"}, Action: status503()}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		s.Decide(getBlob)
	}
}

// TestRefuseConnKeepsRuleOrder: a refusal at accept time must not jump the
// queue. An earlier rule that answers the endpoint otherwise wins, as it
// would request by request; earlier refusals, pending, expired and
// exhausted rules do not stand in the way.
func TestRefuseConnKeepsRuleOrder(t *testing.T) {
	clk := &manualClock{now: time.Unix(1e9, 0)}
	s := NewSet(WithClock(clk.Now))
	first := mustAdd(t, s, Rule{Endpoint: Secondary, Match: Match{Blob: "x"}, Action: status503()})
	refuse := mustAdd(t, s, Rule{Endpoint: Secondary, Action: Action{Refuse: true}})
	if s.refuseConn(Secondary) {
		t.Fatal("refused the connection although an earlier rule answers 503 for blob x")
	}
	if st, _ := s.Get(refuse); st.Fired != 0 {
		t.Errorf("refuse rule fired %d times at accept", st.Fired)
	}
	// Once the earlier rule is gone, pending or exhausted, the refusal applies.
	if err := s.Remove(first); err != nil {
		t.Fatal(err)
	}
	s.Clear()
	mustAdd(t, s, Rule{Endpoint: Primary, Action: status503()})                                                            // another endpoint
	mustAdd(t, s, Rule{Endpoint: Secondary, Action: status503(), Limits: Limits{After: Duration(time.Minute)}})            // pending
	exhausted := mustAdd(t, s, Rule{Endpoint: Secondary, Action: status503(), Limits: Limits{Count: 1}})                   // exhausted below
	mustAdd(t, s, Rule{Endpoint: Both, Match: Match{Op: Write}, Action: Action{Refuse: true}})                             // a conditional refusal
	mustAdd(t, s, Rule{Endpoint: Secondary, Action: Action{Refuse: true}, Limits: Limits{For: Duration(2 * time.Minute)}}) // the one
	if s.refuseConn(Secondary) {
		t.Fatal("refused while a 503 rule for every request comes first")
	}
	if _, ok := s.Decide(Target{Endpoint: Secondary, Method: "GET"}); !ok {
		t.Fatal("the count-1 rule did not fire")
	}
	if st, _ := s.Get(exhausted); st.State != Exhausted {
		t.Fatalf("state %s", st.State)
	}
	if !s.refuseConn(Secondary) {
		t.Fatal("not refused once the earlier rules no longer apply")
	}
	clk.Advance(time.Minute) // the pending 503 starts: it comes first again
	if s.refuseConn(Secondary) {
		t.Fatal("refused while the scheduled 503 is active")
	}
}
