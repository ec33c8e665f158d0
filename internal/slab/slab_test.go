package slab

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
	"unsafe"
)

func first(b *Buf) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b.Bytes()))) }

// mapped reports whether p hands out mapped slots on this platform.
func mapped(p *Pool) bool { return !p.heapOnly }

// mappedPool returns a new Pool, or skips the test where slots are not
// mapped (elsewhere than on Linux).
func mappedPool(t *testing.T) *Pool {
	t.Helper()
	p := New()
	if !mapped(p) {
		t.Skip("no mapped slots on this platform")
	}
	return p
}

func TestGetHandsOutSizeBytes(t *testing.T) {
	p := New()
	b := p.Get()
	if len(b.Bytes()) != Size || cap(b.Bytes()) != Size {
		t.Fatalf("len %d cap %d, want %d", len(b.Bytes()), cap(b.Bytes()), Size)
	}
	if mapped(p) && first(b)%Size != 0 {
		t.Fatalf("slot at %#x is not aligned to %d", first(b), Size)
	}
	for i := range b.Bytes() {
		b.Bytes()[i] = byte(i)
	}
	if got := p.Stats().InUse; mapped(p) && got != 1 {
		t.Fatalf("InUse = %d, want 1", got)
	}
	runtime.KeepAlive(b)
}

func TestSlotReusedOnlyOnceUnreachable(t *testing.T) {
	p := mappedPool(t)
	b1 := p.Get()
	at := first(b1)
	runtime.GC()
	b2 := p.Get()
	if first(b2) == at {
		t.Fatal("a slot in use was handed out again")
	}
	runtime.KeepAlive(b1)
	b1 = nil
	runtime.GC()
	b3 := p.Get()
	if first(b3) != at {
		t.Fatalf("the freed slot %#x was not reused (got %#x)", at, first(b3))
	}
	if s := p.Stats(); s.InUse != 2 {
		t.Fatalf("InUse = %d, want 2", s.InUse)
	}
	runtime.KeepAlive(b2)
	runtime.KeepAlive(b3)
}

func TestPoolPacesCollections(t *testing.T) {
	p := mappedPool(t)
	ran := make(chan struct{}, 1)
	p.gc = func() { runtime.GC(); ran <- struct{}{} }
	limit := MinGrowth / Size
	for range limit {
		_ = p.Get() // dropped at once: garbage
	}
	select {
	case <-ran:
		t.Fatalf("a collection started with only %d slots in use", limit)
	default:
	}
	_ = p.Get()
	<-ran // the Get past the threshold started one
	// Wait for collect to finish reclaiming: it holds the lock meanwhile.
	for p.collecting() {
		runtime.Gosched()
	}
	if s := p.Stats(); s.InUse != 0 || s.Free == 0 {
		t.Fatalf("after the collection: %+v, want no slot in use and free ones kept", s)
	}
}

func TestReleaseHandsFreeSlotsBack(t *testing.T) {
	p := mappedPool(t)
	b := p.Get()
	at := first(b)
	copy(b.Bytes(), bytes.Repeat([]byte{0xaa}, Size))
	b = nil
	runtime.GC()
	if got := p.Release(); got != Size {
		t.Fatalf("Release = %d bytes, want %d", got, Size)
	}
	if s := p.Stats(); s.Free != 0 || s.InUse != 0 {
		t.Fatalf("after Release: %+v", s)
	}
	b = p.Get()
	if first(b) != at {
		t.Fatalf("the released slot was not reused first")
	}
	if !bytes.Equal(b.Bytes(), make([]byte, Size)) {
		t.Fatal("a released slot still held its bytes: its pages were not dropped")
	}
	runtime.KeepAlive(b)
}

func TestFreeReserveIsBounded(t *testing.T) {
	p := mappedPool(t)
	p.gc = func() {} // no collection of the Pool's own: this test runs them
	keep := make([]*Buf, 3*maxIdleFree)
	for i := range keep {
		keep[i] = p.Get()
		keep[i].Bytes()[0] = 1
	}
	keep = nil
	runtime.GC()
	p.Reclaim()
	if s := p.Stats(); s.InUse != 0 || s.Free != maxIdleFree || s.Released < 2*maxIdleFree {
		t.Fatalf("after freeing %d slots: %+v, want %d kept resident", 3*maxIdleFree, s, maxIdleFree)
	}
}

func TestHeapOnlyPool(t *testing.T) {
	p := New()
	p.heapOnly = true
	b := p.Get()
	if len(b.Bytes()) != Size {
		t.Fatalf("len %d", len(b.Bytes()))
	}
	if s := p.Stats(); s.InUse != 0 || p.Release() != 0 {
		t.Fatalf("a heap-only pool counted its buffers: %+v", s)
	}
}

// TestLiveBuffersKeepTheirBytes writes a pattern of its own into every
// buffer it holds and checks it after collections and other goroutines'
// Gets and drops: a slot handed out twice would mix two patterns.
func TestLiveBuffersKeepTheirBytes(t *testing.T) {
	p := New()
	const workers, rounds, held = 4, 40, 3
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			type held1 struct {
				b   *Buf
				tag byte
			}
			var mine []held1
			for r := range rounds {
				b := p.Get()
				tag := byte(w*rounds + r + 1)
				for i := 0; i < Size; i += 4096 {
					b.Bytes()[i] = tag
				}
				mine = append(mine, held1{b, tag})
				if len(mine) > held {
					mine = mine[1:]
				}
				if r%8 == 0 {
					runtime.GC()
				}
				for _, m := range mine {
					for i := 0; i < Size; i += 4096 {
						if m.b.Bytes()[i] != m.tag {
							errs <- "a live buffer's bytes changed under its holder"
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// TestDroppedBuffersFreedWithoutGet: once the program drops its buffers
// and a collection runs, their slots are freed and all but the bounded
// reserve go back to the OS, even when no Get follows (an emulator
// embedded in a test binary, with no memidle, that deleted its large blobs
// and went on with small ones). The collections here are the program's,
// not the Pool's: nothing calls into the Pool after the drop.
func TestDroppedBuffersFreedWithoutGet(t *testing.T) {
	p := mappedPool(t)
	p.gc = func() {} // collections the Pool starts find nothing: the buffers are held
	n := 3 * maxIdleFree
	keep := make([]*Buf, n)
	for i := range keep {
		keep[i] = p.Get()
		keep[i].Bytes()[0] = 1
	}
	for p.collecting() { // a collection started by a Get reclaims nothing more after this
		runtime.Gosched()
	}
	if s := p.Stats(); s.InUse != n {
		t.Fatalf("before the drop: %+v, want %d in use", s, n)
	}
	keep = nil
	// The slots are freed on a goroutine of the runtime's after a
	// collection: collect until they are, a bounded number of times.
	for i := 0; i < 200 && p.Stats().InUse != 0; i++ {
		runtime.GC()
	}
	if s := p.Stats(); s.InUse != 0 || s.Free > maxIdleFree || s.Released < n-maxIdleFree {
		t.Fatalf("after dropping %d buffers and collecting: %+v, want none in use and at most %d resident free", n, s, maxIdleFree)
	}
}
