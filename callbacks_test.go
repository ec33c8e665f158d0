package geoblob_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/geoblob/geoblob"
)

// TestCallbacksIssueReads: callbacks run outside every lock, so they may
// read through the same client, even from inside a transition.
func TestCallbacksIssueReads(t *testing.T) {
	var c atomic.Pointer[azblob.Client]
	var depth atomic.Int32
	var nested atomic.Int64
	reenter := func() {
		if cl := c.Load(); cl != nil && depth.Add(1) == 1 {
			if _, err := read(cl); err == nil {
				nested.Add(1)
			}
		}
		depth.Add(-1)
	}
	cfg := geoblob.DefaultConfig()
	cfg.FailureThreshold = 2
	cfg.FailbackReads = 2
	cfg.MaxStaleness = 100 * 365 * 24 * time.Hour
	cfg.OnRetry = func(geoblob.RetryEvent) { reenter() }
	cfg.OnResponse = func(geoblob.ResponseEvent) { reenter() }
	cfg.OnStateChange = func(geoblob.StateChange) { reenter() }
	f, client, r := newFake(t, cfg)
	c.Store(client)
	f.status[geoblob.Primary].Store(503)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					_, _ = read(client)
				}
			}()
		}
		wg.Wait()
		f.status[geoblob.Primary].Store(0)
		for range 10 {
			_, _ = read(client)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("deadlock: a callback reading through the client")
	}
	if nested.Load() == 0 || r.Counters().Failovers == 0 {
		t.Fatalf("nested reads %d, counters %+v", nested.Load(), r.Counters())
	}
}

func TestCallbacksMayReenter(t *testing.T) {
	var r atomic.Pointer[geoblob.Router]
	var events atomic.Int64
	cfg := geoblob.DefaultConfig()
	cfg.FailureThreshold = 1
	cfg.FailbackReads = 1
	reenter := func() {
		if rr := r.Load(); rr != nil {
			_ = rr.State()
			_ = rr.Counters()
			_, _ = rr.Staleness(context.Background())
			events.Add(1)
		}
	}
	cfg.OnRetry = func(geoblob.RetryEvent) { reenter() }
	cfg.OnResponse = func(geoblob.ResponseEvent) { reenter() }
	cfg.OnStateChange = func(ev geoblob.StateChange) {
		reenter()
		if ev.To == geoblob.Open {
			r.Load().Force(geoblob.Auto) // a transition from inside a transition event
		}
	}
	f, c, router := newFake(t, cfg)
	r.Store(router)
	f.status[geoblob.Primary].Store(503)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10 {
			_, _ = read(c)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("deadlock: callbacks re-entering the router")
	}
	if events.Load() == 0 {
		t.Fatal("no callbacks")
	}
}
