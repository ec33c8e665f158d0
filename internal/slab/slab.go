// Package slab hands out the fixed-size buffers that hold the bytes of
// large blobs an in-memory emulator keeps, from memory it manages outside
// Go's heap.
//
// # Why
//
// Reading an upload into freshly allocated heap memory costs far more than
// the copy itself: every 4 KiB page is faulted in on its first write, and on
// a virtual machine whose host takes back the memory a guest frees, each of
// those faults goes to the host as well. Measured on the 2-core VM the
// emulator bench runs on: 3.8–4.2 ms per MiB for a first write to new heap
// memory, against 0.07 ms per MiB for memory backed by transparent huge
// pages that the process had touched before, and 0.17 ms per MiB for a plain
// copy. Go's heap asks for neither: it maps 4 KiB pages, and the runtime
// returns freed pages to the OS in the background.
//
// A Pool maps regions aligned to 2 MiB and asks the kernel for huge pages
// (madvise MADV_HUGEPAGE, on Linux), cuts them into Size-byte slots, and
// keeps the slots of buffers that are no longer used for the next upload,
// still resident. Release hands the free slots back to the OS (MADV_DONTNEED)
// when the process goes idle (see internal/memidle). Elsewhere than on Linux,
// and wherever mapping fails, a buffer is plain heap memory.
//
// # Lifetime
//
// A Buf is freed by the garbage collector, not by its user: blobs share
// their bytes between versions, snapshots, copies and the secondary, so no
// single owner knows when the last reader is done. A Pool keeps a weak
// pointer to every Buf it handed out, and a slot is reused only once that
// pointer has gone nil, that is once a collection found the Buf unreachable.
// So the rule for users is the ordinary Go one, with one addition: hold the
// *Buf for as long as you use the bytes of Bytes. A slice of Bytes alone
// does not keep the slot; the emulator's store keeps the *Buf beside every
// slice it takes (store.Content).
//
// The slots live outside the heap, so the collector does not see them grow.
// A Pool paces collections itself: once the slots in use exceed the number
// in use after the last collection it ran by an eighth (and by at least
// MinGrowth bytes), it runs one on a goroutine of its own, and reuses the
// slots it freed. This is GOGC=12.5 for blob bytes. A collection of a heap
// that holds no blob bytes is cheap, and every slot it frees in time is one
// that need not be faulted in fresh.
//
// The race detector does not see memory outside the heap, so a race build
// (go test -race) makes a use after free visible another way: a freed slot
// is filled with the byte Poison at once, and a reader that kept its bytes
// without its *Buf reads Poison instead of blob bytes.
//
// Every Buf also carries a cleanup (runtime.AddCleanup) that frees its slot
// after whichever collection found it unreachable, the program's own ones
// included, and hands free slots beyond a bounded reserve back to the OS.
// So a program that stops uploading, with no memidle to call Release, does
// not keep its peak resident until its next Get.
package slab

import (
	"runtime"
	"sync"
	"weak"
)

// Size is the size of every buffer: one huge page on amd64 and arm64.
const Size = 2 << 20

// MinGrowth is the least growth of the slots in use, in bytes, that starts a
// collection.
const MinGrowth = 32 << 20

// growthDivisor sets the growth past the slots in use after the last
// collection that starts the next one: an eighth of them (GOGC=12.5 for
// blob bytes), and at least MinGrowth.
const growthDivisor = 8

// regionSlots is the number of slots mapped at once.
const regionSlots = 16

// maxIdleFree bounds the resident free slots a Pool keeps between uploads
// beyond a quarter of those in use: the rest are handed back to the OS as
// soon as they are freed, so an embedding program without memidle does not
// keep its peak.
const maxIdleFree = 64 << 20 / Size

// Poison is the byte a race build fills freed slots with.
const Poison = 0xdb

// fillPoison fills b with Poison.
func fillPoison(b []byte) {
	for i := range b {
		b[i] = Poison
	}
}

// Buf is one buffer of Size bytes. Its contents are unspecified when it is
// handed out: a reused slot holds what its last user wrote.
type Buf struct {
	b []byte
}

// Bytes returns the buffer's bytes. They stay valid only while the Buf is
// reachable: keep the *Buf, not just the slice.
func (b *Buf) Bytes() []byte { return b.b }

// Stats is what a Pool holds.
type Stats struct {
	InUse    int // slots handed out and not yet found unreachable
	Free     int // free slots still resident (touched, ready for reuse)
	Released int // free slots handed back to the OS
	GCs      int // collections the Pool started
	// Handed counts the buffers handed out so far, heap ones included.
	Handed uint64
}

// Resident is the memory the Pool holds resident, in bytes, at most: slots
// in use (some may never have been written) and free resident slots.
func (s Stats) Resident() uint64 { return uint64(s.InUse+s.Free) * Size }

// slot is one Size-byte piece of a mapped region.
type slot struct {
	mem  []byte
	w    weak.Pointer[Buf] // the Buf using the slot; zero when free
	used bool
	gen  uint64 // counts the Bufs handed out: a cleanup frees only its own
}

// slotRef is the argument of the cleanup of a Buf: the slot it was handed
// out from, and the generation it was handed out as.
type slotRef struct {
	p   *Pool
	i   int32
	gen uint64
}

// Pool hands out Bufs. The zero value is not usable: use New or Default.
type Pool struct {
	mu       sync.Mutex
	mapper   mapper
	slots    []slot
	free     []int32 // resident free slots, most recently freed last
	released []int32 // free slots whose pages went back to the OS
	inUse    int
	next     int                   // inUse above which a collection starts
	probe    weak.Pointer[gcProbe] // nil once a collection ran since the last scan
	running  bool                  // a collection started by the Pool is under way
	gcs      int
	handed   uint64
	gc       func() // runtime.GC; tests replace it
	heapOnly bool   // mapping failed or is not offered: plain heap buffers
}

// gcProbe is a heap object that only a weak pointer refers to: it is gone
// after the next collection. It holds a pointer and more than 16 bytes so
// that the allocator never packs it with other objects.
type gcProbe struct {
	_ *byte
	_ [3]uintptr
}

var defaultPool = sync.OnceValue(func() *Pool { return New() })

// Default returns the process's Pool.
func Default() *Pool { return defaultPool() }

// New returns an empty Pool.
func New() *Pool {
	p := &Pool{mapper: newMapper(), gc: runtime.GC, next: MinGrowth / Size}
	p.heapOnly = p.mapper == nil
	p.probe = weak.Make(&gcProbe{})
	return p
}

// Get returns a buffer of Size bytes.
func (p *Pool) Get() *Buf {
	p.mu.Lock()
	p.handed++
	if p.heapOnly {
		p.mu.Unlock()
		return &Buf{b: make([]byte, Size)}
	}
	if p.probe.Value() == nil {
		p.reclaimLocked() // a collection ran since the last look: it may have freed slots
	}
	i, ok := p.takeLocked()
	if !ok {
		if !p.growLocked() {
			p.mu.Unlock()
			return &Buf{b: make([]byte, Size)}
		}
		i, _ = p.takeLocked()
	}
	s := &p.slots[i]
	b := &Buf{b: s.mem[:Size:Size]}
	s.w, s.used = weak.Make(b), true
	s.gen++
	runtime.AddCleanup(b, dropped, slotRef{p, i, s.gen})
	p.inUse++
	collect := p.inUse > p.next && !p.running
	if collect {
		p.running = true
		p.gcs++
	}
	p.mu.Unlock()
	if collect {
		go p.collect()
	}
	return b
}

// takeLocked pops a free slot, a resident one first.
func (p *Pool) takeLocked() (int32, bool) {
	for _, l := range []*[]int32{&p.free, &p.released} {
		if n := len(*l); n > 0 {
			i := (*l)[n-1]
			*l = (*l)[:n-1]
			return i, true
		}
	}
	return 0, false
}

// growLocked maps a region and adds its slots to the released list (not yet
// touched, so not resident). It reports false when mapping failed.
func (p *Pool) growLocked() bool {
	mems, err := p.mapper.mapRegion(regionSlots, Size)
	if err != nil {
		return false
	}
	for _, m := range mems {
		p.slots = append(p.slots, slot{mem: m})
		p.released = append(p.released, int32(len(p.slots)-1))
	}
	// Taken from the end: hand out the region's slots in address order.
	for i, j := len(p.released)-len(mems), len(p.released)-1; i < j; i, j = i+1, j-1 {
		p.released[i], p.released[j] = p.released[j], p.released[i]
	}
	return true
}

// dropped is the cleanup of a Buf: it runs on a goroutine of the runtime's
// once a collection found the Buf unreachable, and frees its slot unless a
// reclaim did.
func dropped(r slotRef) {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	// The Buf is unreachable, so its weak pointer reads nil (and reading it
	// keeps nothing alive); a slot freed by a reclaim, or handed out again
	// since, is not this cleanup's.
	if s := &p.slots[r.i]; !s.used || s.gen != r.gen || s.w.Value() != nil {
		return
	}
	p.freeLocked(r.i)
	p.trimLocked()
}

// collect runs a collection, frees the slots of the Bufs it found
// unreachable and sets the next threshold.
func (p *Pool) collect() {
	p.gc()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reclaimLocked()
	p.running = false
}

// Reclaim frees the slots of Bufs that the last collection found
// unreachable. Their cleanups do it too, on a goroutine of the runtime's and
// so a little later; callers that have just run a collection (memidle) call
// it to see what it freed at once.
func (p *Pool) Reclaim() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reclaimLocked()
}

func (p *Pool) reclaimLocked() {
	p.probe = weak.Make(&gcProbe{})
	for i := range p.slots {
		s := &p.slots[i]
		if s.used && s.w.Value() == nil {
			p.freeLocked(int32(i))
		}
	}
	p.next = p.inUse + max(p.inUse/growthDivisor, MinGrowth/Size)
	p.trimLocked()
}

// freeLocked frees the slot i, in use until now.
func (p *Pool) freeLocked(i int32) {
	s := &p.slots[i]
	s.used, s.w = false, weak.Pointer[Buf]{}
	if poisonFreed {
		fillPoison(s.mem)
	}
	p.free = append(p.free, i)
	p.inUse--
}

// trimLocked keeps a bounded reserve of resident free slots and hands the
// rest back.
func (p *Pool) trimLocked() {
	if keep := p.inUse/4 + maxIdleFree; len(p.free) > keep {
		p.releaseLocked(p.free[:len(p.free)-keep])
		p.free = append(p.free[:0], p.free[len(p.free)-keep:]...)
	}
}

// Release hands the pages of every free slot back to the OS, after
// freeing the slots of Bufs the last collection found unreachable. It
// returns the bytes it handed back. Memory released this way is faulted in
// again, at a cost, when a later Get reuses the slot.
func (p *Pool) Release() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.heapOnly {
		return 0
	}
	p.reclaimLocked()
	n := uint64(len(p.free)) * Size
	p.releaseLocked(p.free)
	p.free = p.free[:0]
	return n
}

// releaseLocked drops the pages of the slots ids and moves them to the
// released list.
func (p *Pool) releaseLocked(ids []int32) {
	for _, i := range ids {
		p.mapper.drop(p.slots[i].mem)
		p.released = append(p.released, i)
	}
}

// Resident is the memory the Pool holds resident, in bytes, at most (see
// Stats.Resident).
func (p *Pool) Resident() uint64 { return p.Stats().Resident() }

// Allocated counts the bytes handed out so far (Stats.Handed buffers).
func (p *Pool) Allocated() uint64 { return p.Stats().Handed * Size }

// collecting reports whether a collection the Pool started is under way.
func (p *Pool) collecting() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running
}

// Stats reads what the Pool holds.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{InUse: p.inUse, Free: len(p.free), Released: len(p.released), GCs: p.gcs, Handed: p.handed}
}

// mapper maps memory outside the heap; nil where the platform offers none.
type mapper interface {
	// mapRegion maps n slots of size bytes each, every slot aligned to
	// size.
	mapRegion(n, size int) ([][]byte, error)
	// drop hands the pages of b back to the OS; b reads as zeros after.
	drop(b []byte)
}
