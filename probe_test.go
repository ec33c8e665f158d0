package geoblob_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

// probeLog records probe events and state changes.
type probeLog struct {
	mu      sync.Mutex
	probes  []geoblob.ProbeEvent
	changes chan geoblob.StateChange
	probed  chan geoblob.ProbeEvent
}

func (l *probeLog) attach(cfg *geoblob.Config) {
	l.changes = make(chan geoblob.StateChange, 100)
	l.probed = make(chan geoblob.ProbeEvent, 1000)
	cfg.OnProbe = func(ev geoblob.ProbeEvent) {
		l.mu.Lock()
		l.probes = append(l.probes, ev)
		l.mu.Unlock()
		select {
		case l.probed <- ev:
		default:
		}
	}
	cfg.OnStateChange = func(ev geoblob.StateChange) { l.changes <- ev }
}

func (l *probeLog) list() []geoblob.ProbeEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]geoblob.ProbeEvent(nil), l.probes...)
}

// await waits for the transition to state to.
func (l *probeLog) await(t *testing.T, to geoblob.State) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-l.changes:
			if ev.To == to {
				return
			}
		case <-timeout:
			t.Fatalf("no transition to %v", to)
		}
	}
}

// TestSlowProbeDoesNotClose: a probe that succeeds, but slower than
// SlowCallThreshold, leaves the breaker open and is reported as failed.
func TestSlowProbeDoesNotClose(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.FailbackReads, cfg.SlowCallThreshold, cfg.AttemptTimeout = 1, 20*time.Millisecond, 5*time.Second
	cfg.ProbeInterval = -1
	var l probeLog
	l.attach(cfg)
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "p", []byte("x"))
	id := e.fault(t, outage(fault.Primary, 503))
	e.trip(t, "p")
	if err := e.emu.Faults().Remove(id); err != nil {
		t.Fatal(err)
	}
	e.fault(t, fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read}, Action: fault.Action{Latency: fault.Duration(100 * time.Millisecond)}})
	for range 2 { // one secondary read, then the (slow) probe
		if _, _, err := e.get(context.Background(), "p"); err != nil {
			t.Fatal(err)
		}
	}
	probes := l.list()
	if len(probes) != 1 || probes[0].OK || probes[0].Reason != "slow" || probes[0].StatusCode != 200 {
		t.Fatalf("probes %+v", probes)
	}
	if s := e.router.State(); s != geoblob.Open {
		t.Fatalf("state %v after a slow probe", s)
	}
}

// TestBackgroundProbeFailsBackWithoutTraffic: with no reads at all, the
// background probe finds the primary down (a failed probe event), then
// back, and closes the breaker.
func TestBackgroundProbeFailsBackWithoutTraffic(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.ProbeInterval, cfg.FailbackReads = 20*time.Millisecond, 1000
	var l probeLog
	l.attach(cfg)
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "p", []byte("x"))
	// Every primary read fails, Get Account Information included.
	id := e.fault(t, fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read}, Action: fault.Action{Status: 503}})
	e.trip(t, "p")
	l.await(t, geoblob.Open)
	var p geoblob.ProbeEvent
	select {
	case p = <-l.probed:
	case <-time.After(10 * time.Second):
		t.Fatal("no background probe")
	}
	if p.OK || !p.Background || p.StatusCode != 503 {
		t.Fatalf("first background probe %+v", p)
	}
	if err := e.emu.Faults().Remove(id); err != nil {
		t.Fatal(err)
	}
	l.await(t, geoblob.Closed)
	if c := e.router.Counters(); c.BackgroundProbes < 2 || c.ProbesFailed < 1 || c.ProbesOK != 1 {
		t.Fatalf("counters %+v", c)
	}
}
