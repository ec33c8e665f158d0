package chaos

import (
	"fmt"
	"slices"
	"sync"
)

// History records the writes of a storm, per blob name, on a logical clock:
// when each version was sent (Begin) and when it was acknowledged (the
// function Begin returns). It is safe for concurrent use.
//
// A store that loses nothing it acknowledged and never shows a torn write
// may, after a crash, show a blob at version v only if no acknowledged
// version w of the same blob was sent after v was acknowledged: w then
// follows v in real time, so it must win. Unacknowledged versions may or
// may not have been applied, in any order with their concurrent writes.
// The blob may be absent only if no version of it was acknowledged. Legal
// derives exactly that set.
type History struct {
	mu    sync.Mutex
	tick  uint64
	names map[string]*entry
}

type entry struct {
	live map[uint64]*write // versions that may still be the blob's state
	sent map[uint64]bool   // every version ever sent
}

type write struct {
	start, ack uint64
	acked      bool
}

// NewHistory returns an empty History.
func NewHistory() *History { return &History{names: map[string]*entry{}} }

func (h *History) entry(name string) *entry {
	e := h.names[name]
	if e == nil {
		e = &entry{live: map[uint64]*write{}, sent: map[uint64]bool{}}
		h.names[name] = e
	}
	return e
}

// Begin records that version ver of name is about to be sent. Call the
// returned function once, and only once the write has been acknowledged
// (a success answer read by the client).
func (h *History) Begin(name string, ver uint64) (ack func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tick++
	w := &write{start: h.tick}
	e := h.entry(name)
	e.live[ver] = w
	e.sent[ver] = true
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.tick++
		w.ack, w.acked = h.tick, true
		// Acknowledged versions acknowledged before this one was sent
		// can never be seen again: forget them, so a long run's history
		// stays small.
		for u, x := range e.live {
			if u != ver && x.acked && x.ack < w.start {
				delete(e.live, u)
			}
		}
	}
}

// Sent reports whether version ver of name was ever sent.
func (h *History) Sent(name string, ver uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.names[name]
	return e != nil && e.sent[ver]
}

// Names returns every name written so far, sorted.
func (h *History) Names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.names))
	for n := range h.names {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Acked counts the acknowledged versions still in the history: those a
// reader may still see.
func (h *History) Acked() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, e := range h.names {
		for _, w := range e.live {
			if w.acked {
				n++
			}
		}
	}
	return n
}

// Legal returns the versions of name a reader may see now, sorted, and
// whether the blob may be absent.
func (h *History) Legal(name string) (vers []uint64, absentOK bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.names[name]
	if e == nil {
		return nil, true
	}
	absentOK = true
	for _, w := range e.live {
		if w.acked {
			absentOK = false
		}
	}
	for v, w := range e.live {
		if h.superseded(e, v, w) {
			continue
		}
		vers = append(vers, v)
	}
	slices.Sort(vers)
	return vers, absentOK
}

// superseded reports whether an acknowledged version other than v was sent
// after v was acknowledged.
func (h *History) superseded(e *entry, v uint64, w *write) bool {
	if !w.acked {
		return false
	}
	for u, x := range e.live {
		if u != v && x.acked && x.start > w.ack {
			return true
		}
	}
	return false
}

// Check reports whether seeing name at version ver (present) or absent
// (!present) is legal now.
func (h *History) Check(name string, ver uint64, present bool) error {
	vers, absentOK := h.Legal(name)
	switch {
	case !present && !absentOK:
		return fmt.Errorf("blob %q is missing; an acknowledged version is lost (legal versions %v)", name, vers)
	case present && !slices.Contains(vers, ver):
		return fmt.Errorf("blob %q is at version %d, not a legal one (legal versions %v, absent allowed %v)", name, ver, vers, absentOK)
	}
	return nil
}

// Settle records what a reader saw after a crash, once Check accepted it:
// that state is now the blob's durable base, as if just acknowledged, and
// every other version not yet sent again is dropped, so it may never
// reappear.
func (h *History) Settle(name string, ver uint64, present bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.entry(name)
	clear(e.live)
	if present {
		h.tick++
		e.live[ver] = &write{start: h.tick, ack: h.tick, acked: true}
	}
}
