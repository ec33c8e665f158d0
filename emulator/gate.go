package emulator

import (
	"context"
	"sync"
)

// writeGate orders role changes against writes, like a sync.RWMutex whose
// exclusive side can give up: writes hold it shared, a role change
// exclusively. While a role change waits, new writes wait too (so that a
// steady stream of writes cannot starve it); when the role change gives up
// (its context ends), they go on at once. A sync.RWMutex cannot withdraw a
// pending Lock: one write stalled in flight would then keep every later
// write waiting until it ended, long after the failover was refused.
type writeGate struct {
	mu      sync.Mutex
	readers int           // writes holding the gate
	held    bool          // a role change holds the gate
	pending int           // role changes waiting for it
	changed chan struct{} // closed at the next change; nil until wanted
}

// wait returns a channel closed at the next change. Callers hold g.mu.
func (g *writeGate) wait() <-chan struct{} {
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	return g.changed
}

// broadcast wakes every waiter. Callers hold g.mu.
func (g *writeGate) broadcast() {
	if g.changed != nil {
		close(g.changed)
		g.changed = nil
	}
}

// RLock takes the gate shared, for a write.
func (g *writeGate) RLock() {
	g.mu.Lock()
	for g.held || g.pending > 0 {
		ch := g.wait()
		g.mu.Unlock()
		<-ch
		g.mu.Lock()
	}
	g.readers++
	g.mu.Unlock()
}

// RUnlock releases a shared hold.
func (g *writeGate) RUnlock() {
	g.mu.Lock()
	g.readers--
	if g.readers == 0 {
		g.broadcast()
	}
	g.mu.Unlock()
}

// Lock takes the gate exclusively once the writes holding it are done,
// or fails with ctx's error when ctx ends first, letting waiting writes
// go on.
func (g *writeGate) Lock(ctx context.Context) error {
	g.mu.Lock()
	g.pending++
	for g.held || g.readers > 0 {
		ch := g.wait()
		g.mu.Unlock()
		select {
		case <-ch:
			g.mu.Lock()
		case <-ctx.Done():
			g.mu.Lock()
			g.pending--
			g.broadcast()
			g.mu.Unlock()
			return ctx.Err()
		}
	}
	g.pending--
	g.held = true
	g.mu.Unlock()
	return nil
}

// Unlock releases an exclusive hold.
func (g *writeGate) Unlock() {
	g.mu.Lock()
	g.held = false
	g.broadcast()
	g.mu.Unlock()
}
