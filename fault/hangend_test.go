package fault

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
)

// TestHangEndsWithItsRule: a hang rule that ends by itself, through its
// For or its Count, lets go of the requests it holds, as Remove does. A
// `geoblob fault add --hang --for 30s` outage must not outlive its 30 s in
// its victims. Time is the manual clock's.
func TestHangEndsWithItsRule(t *testing.T) {
	for _, tc := range []struct {
		name   string
		timers bool // the Set has the clock's timers, not just its reading
		limits Limits
		// end makes the rule end: move the clock, or send a request.
		end func(t *testing.T, clk *clock.Manual, get func(path string) error)
	}{
		{"for, with timers", true, Limits{For: Duration(30 * time.Second)}, func(t *testing.T, clk *clock.Manual, _ func(string) error) {
			clk.Advance(30 * time.Second) // no request needed
		}},
		{"for after a start delay, with timers", true, Limits{After: Duration(time.Second), For: Duration(30 * time.Second)}, func(t *testing.T, clk *clock.Manual, _ func(string) error) {
			clk.Advance(30 * time.Second) // 31 s from Add
		}},
		{"for, noticed by the next request", false, Limits{For: Duration(30 * time.Second)}, func(t *testing.T, clk *clock.Manual, get func(string) error) {
			clk.Advance(30 * time.Second)
			if err := get("/acct/c/next"); err != nil {
				t.Errorf("request after the rule's end: %v", err)
			}
		}},
		{"count", true, Limits{Count: 1}, func(t *testing.T, _ *clock.Manual, get func(string) error) {
			if err := get("/acct/c/next"); err != nil {
				t.Errorf("request after the last firing: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			clk := clock.NewManual(start)
			opt := WithClock(clk.Now)
			if tc.timers {
				opt = WithTimeSource(clk)
			}
			s := NewSet(opt)
			srv := httptest.NewServer(Middleware(s, pathClassify, &backend{}))
			t.Cleanup(func() {
				s.Close()
				srv.Close()
			})
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			get := func(path string) error {
				resp, err := client.Get(srv.URL + path)
				if err != nil {
					return err
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return errors.New(resp.Status)
				}
				return nil
			}
			id := mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Hang: true}, Limits: tc.limits})
			if tc.limits.After > 0 {
				clk.Advance(time.Duration(tc.limits.After))
			}
			done := make(chan error, 1)
			go func() { done <- get("/acct/c/b") }() // no deadline
			waitFired(t, s, id, 1)
			select {
			case err := <-done:
				t.Fatalf("the hang ended before its rule: %v", err)
			default:
			}
			tc.end(t, clk, get)
			select {
			case err := <-done:
				var ne net.Error
				if err == nil || !(isConnError(err) || errors.As(err, &ne)) {
					t.Errorf("released hang: %v, want a connection error", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the hang outlived its rule")
			}
		})
	}
}

// TestHangRuleWithCountHoldsUntilAfterItsLastFiring: Count does not cut the
// hang of its last victim short; only a request that finds the rule
// exhausted ends it.
func TestHangRuleWithCountHoldsUntilAfterItsLastFiring(t *testing.T) {
	s := NewSet()
	id := mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Hang: true}, Limits: Limits{Count: 2}})
	var gones []<-chan struct{}
	for range 2 {
		a, gone, ok := s.decide(Target{Endpoint: Primary, Method: http.MethodGet, Account: "acct"})
		if !ok || !a.Hang {
			t.Fatalf("decide = %+v %v, want the hang", a, ok)
		}
		gones = append(gones, gone)
	}
	// A request to the other endpoint says nothing about this one.
	if _, _, ok := s.decide(Target{Endpoint: Secondary, Method: http.MethodGet, Account: "acct"}); ok {
		t.Fatal("the secondary was faulted")
	}
	for i, g := range gones {
		select {
		case <-g:
			t.Fatalf("victim %d released before the endpoint came back", i)
		default:
		}
	}
	if _, _, ok := s.decide(Target{Endpoint: Primary, Method: http.MethodGet, Account: "acct"}); ok {
		t.Fatal("an exhausted rule fired")
	}
	for i, g := range gones {
		select {
		case <-g:
		default:
			t.Fatalf("victim %d still held after a request went by", i)
		}
	}
	if st, err := s.Get(id); err != nil || st.State != Exhausted {
		t.Fatalf("rule: %+v %v", st, err)
	}
}
