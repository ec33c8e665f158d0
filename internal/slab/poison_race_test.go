//go:build race

package slab

import (
	"bytes"
	"runtime"
	"testing"
)

// TestRaceBuildPoisonsFreedSlots: in a race build a slot is filled with
// Poison as soon as it is freed, so bytes read after a free are visibly
// wrong (the race detector does not watch memory outside the heap).
func TestRaceBuildPoisonsFreedSlots(t *testing.T) {
	p := mappedPool(t)
	p.gc = func() {}
	b := p.Get()
	copy(b.Bytes(), bytes.Repeat([]byte{'a'}, Size))
	mem := b.Bytes() // kept without the Buf, as a buggy user would
	b = nil
	runtime.GC()
	p.Reclaim()
	if s := p.Stats(); s.InUse != 0 {
		t.Fatalf("the dropped buffer was not freed: %+v", s)
	}
	if !bytes.Equal(mem, bytes.Repeat([]byte{Poison}, Size)) {
		t.Fatal("a freed slot kept its bytes in a race build")
	}
}
