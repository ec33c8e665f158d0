// Package memidle hands the memory an idle process no longer uses back to
// the operating system.
//
// Go's runtime returns freed heap pages to the OS only gradually, and the
// garbage of a burst of work stays in the heap until the next collection,
// which an idle process may not run for minutes. So after a burst of uploads
// a server keeps its peak RSS long after it went quiet. A Releaser watches
// the process's allocation counter; once it has stood still for the idle
// period (no request is allocating) and the heap holds notably more than it
// did after the last release, it runs debug.FreeOSMemory once: one garbage
// collection and a scavenge of the free pages. A busy process is never
// interrupted, because it allocates. Work that frees memory without
// growing the heap (Config.Work: deletions) releases sooner, a quarter of
// the idle period after the process went quiet.
//
// Memory the process keeps outside the heap counts too, when the caller
// hands it over (Config.Offheap), which reads it and hands it back:
// the emulator's slab pool of blob bytes (internal/slab).
//
// Memory-mapped files count too. A read-only shared mapping of a file (the
// emulator's bbolt database, with a data directory) keeps every page it
// ever read resident in the process, though those pages are clean copies
// of the file that the kernel could drop and re-read at any time. On
// Linux a release also drops them from the process (Config.DropMapped,
// which calls DropFileMapping, madvise MADV_DONTNEED, on a mapping its
// owner holds in place meanwhile): the file is untouched, the pages stay
// in the kernel's page cache, and the next access maps them again with a
// minor fault. Only mappings an owner hands over are dropped, never ones
// found by scanning the process's list, which may change under the scan.
//
// # Headroom of a large heap
//
// Go lets the heap grow to twice what was live after the last collection
// (GOGC=100) before it collects again. For an in-memory emulator holding
// large blobs that doubles its RSS: overwriting a 64 MiB blob keeps the
// current version, the upload in flight and the secondary's copy live, and
// the garbage of earlier versions waits for a heap twice that size. Blob
// bytes are pointer-free, so a collection of such a heap is cheap: while
// the live heap is at least Config.LargeHeap (64 MiB), a Releaser lowers
// the headroom to Config.LargeHeapGCPercent (25%), and restores the
// default once the live heap is below half of LargeHeap. Small heaps, where
// collections would cost CPU for little memory, keep the default. A GOGC
// set in the environment is left alone.
//
// It is meant for a process that is a server and nothing else (geoblob
// serve), not for a library embedded in someone else's program: freeing
// memory is a decision for the whole process.
package memidle

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Config tunes a Releaser. A zero field means its default.
type Config struct {
	// Idle is how long allocation must stand still before memory is
	// released (DefaultIdle).
	Idle time.Duration
	// Slack is how much the retained heap may grow past its size after the
	// last release before an idle period releases again (DefaultSlack).
	Slack uint64
	// LargeHeap is the live heap from which the GC headroom is lowered to
	// LargeHeapGCPercent (DefaultLargeHeap).
	LargeHeap uint64
	// LargeHeapGCPercent is the GC percent of a large heap
	// (DefaultLargeHeapGCPercent); negative leaves the GC percent alone.
	LargeHeapGCPercent int
	// Work, when set, counts work that may free memory without growing
	// the heap (geoblob serve: the writes applied to the secondary, which
	// include deletions). A quarter of an idle period after it has moved
	// releases once more, at most once per Idle. Small allocations cannot
	// stand in for it: the runtime counts them only when a span is
	// refilled.
	Work func() uint64
	// DropMapped, when set, runs after each release to drop the resident
	// pages of file mappings the caller owns (geoblob serve: the data
	// directory's bbolt database, see DropFileMapping).
	DropMapped func()
	// Offheap, when set, is memory the process keeps outside Go's heap
	// (geoblob serve: the slab pool of blob bytes, internal/slab).
	Offheap Offheap
}

// Offheap is memory a process keeps outside Go's heap. Its resident bytes
// count with the heap toward Slack, its allocation counts as allocation (a
// process filling off-heap buffers, a slow large upload, is not idle), and
// each release hands its free memory back. Like heap allocation, Allocated
// moves when a buffer is taken, not as it fills: an upload slower than one
// buffer (geoblob serve: 2 MiB) per idle period still looks idle between
// buffers. *slab.Pool implements it.
type Offheap interface {
	// Resident is the memory it holds resident, in bytes.
	Resident() uint64
	// Allocated counts the bytes it has handed out so far.
	Allocated() uint64
	// Release hands its free memory back to the OS and returns the bytes.
	Release() uint64
}

// Defaults of Config.
const (
	DefaultIdle               = time.Second
	DefaultSlack              = 8 << 20
	DefaultLargeHeap          = 64 << 20
	DefaultLargeHeapGCPercent = 25
)

// Stats is what a Releaser reads of the runtime.
type Stats struct {
	Allocated uint64 // cumulative bytes allocated on the heap
	Retained  uint64 // heap bytes held from the OS (mapped and not released)
	// Mapped is the resident memory of the process that is shared with
	// the page cache (file mappings), on Linux; 0 elsewhere.
	Mapped uint64
	Live   uint64 // heap bytes marked live by the last collection
	Work   uint64 // Config.Work's count; 0 without it
	// Offheap is Config.Offheap's resident bytes; 0 without it.
	Offheap uint64
}

// held is what a release can give back.
func (s Stats) held() uint64 { return s.Retained + s.Mapped + s.Offheap }

// Releaser decides when to release. Its zero value is not usable; build it
// with New. Tick is not safe for concurrent use: Run calls it from one
// goroutine.
type Releaser struct {
	cfg      Config
	read     func() Stats
	release  func()
	last     Stats     // the reading at the previous tick
	still    time.Time // since when Allocated has not moved; zero while it moves
	baseline uint64    // held() just after the last release
	after    Stats     // the reading just after the last release
	at       time.Time // when the last release ran
	releases int
	heap     headroom
}

// headroom lowers the GC percent while the live heap is large.
type headroom struct {
	large   uint64
	percent int           // while large
	normal  int           // otherwise
	set     func(int) int // debug.SetGCPercent; nil when disabled
	lowered bool
}

// adjust sets the GC percent for a live heap of live bytes, with
// hysteresis: lowered at large, restored below large/2.
func (h *headroom) adjust(live uint64) {
	switch {
	case h.set == nil:
	case !h.lowered && live >= h.large:
		h.set(h.percent)
		h.lowered = true
	case h.lowered && live < h.large/2:
		h.set(h.normal)
		h.lowered = false
	}
}

// New returns a Releaser over the process's runtime.
func New(cfg Config) *Releaser {
	rt := runtimeReader()
	read := func() Stats {
		s := rt()
		if cfg.Work != nil {
			s.Work = cfg.Work()
		}
		if cfg.Offheap != nil {
			s.Offheap = cfg.Offheap.Resident()
			s.Allocated += cfg.Offheap.Allocated()
		}
		return s
	}
	r := newReleaser(cfg, read, func() {
		debug.FreeOSMemory()
		if cfg.Offheap != nil {
			cfg.Offheap.Release()
		}
		if cfg.DropMapped != nil {
			cfg.DropMapped()
		}
	})
	if os.Getenv("GOGC") == "" && r.cfg.LargeHeapGCPercent >= 0 {
		r.heap.set, r.heap.normal = debug.SetGCPercent, 100
	}
	return r
}

func newReleaser(cfg Config, read func() Stats, release func()) *Releaser {
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultIdle
	}
	if cfg.Slack == 0 {
		cfg.Slack = DefaultSlack
	}
	if cfg.LargeHeap == 0 {
		cfg.LargeHeap = DefaultLargeHeap
	}
	if cfg.LargeHeapGCPercent == 0 {
		cfg.LargeHeapGCPercent = DefaultLargeHeapGCPercent
	}
	return &Releaser{cfg: cfg, read: read, release: release,
		heap: headroom{large: cfg.LargeHeap, percent: cfg.LargeHeapGCPercent}}
}

// idleAlloc is how much a process may allocate and still count as idle:
// timers, the metrics scrape and the runtime's own bookkeeping allocate a
// little even when no request comes in.
const idleAlloc = 256 << 10

// Tick takes one reading at now and releases memory when the process has
// been idle for Config.Idle and holds (heap and mapped files) more than
// Slack past the baseline, or when it has done work (Config.Work) since
// the last release and been idle for a quarter of Idle (one tick of Run),
// at most once per Idle. The work may have dropped memory that only a
// collection finds, without growing the heap: a container deleted, and a
// lag later its deletion replicated. That work has ended when the process
// goes quiet, so waiting a whole idle period would only keep what it
// dropped resident for longer; a release costs one collection, which a
// process that stays quiet does not otherwise run.
// It reports whether it released.
func (r *Releaser) Tick(now time.Time) bool {
	s := r.read()
	r.heap.adjust(s.Live)
	moved := s.Allocated-r.last.Allocated > idleAlloc
	first := r.last == (Stats{})
	r.last = s
	if first || moved {
		r.still = time.Time{}
		if first {
			r.still = now
		}
		return false
	}
	if r.still.IsZero() {
		r.still = now
		return false
	}
	quiet := now.Sub(r.still)
	grown := s.held() > r.baseline+r.cfg.Slack && quiet >= r.cfg.Idle
	worked := r.releases > 0 && s.Work != r.after.Work && now.Sub(r.at) >= r.cfg.Idle && quiet >= r.cfg.Idle/4
	if !grown && !worked {
		return false
	}
	r.release()
	r.releases++
	after := r.read()
	r.baseline, r.last, r.after, r.at = after.held(), after, after, now
	return true
}

// Releases counts the releases so far.
func (r *Releaser) Releases() int { return r.releases }

// Run ticks every quarter of the idle period until ctx ends.
func (r *Releaser) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Idle / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.Tick(now)
		}
	}
}

var runtimeSamples = []string{
	"/gc/heap/allocs:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/gc/heap/live:bytes",
}

// runtimeReader returns a reader of the process's runtime and memory that
// allocates nothing once built, so that ticking leaves the allocation
// counter of an idle process still.
func runtimeReader() func() Stats {
	s := make([]metrics.Sample, len(runtimeSamples))
	for i, n := range runtimeSamples {
		s[i].Name = n
	}
	shared := newSharedReader()
	return func() Stats {
		metrics.Read(s)
		v := func(i int) uint64 {
			if s[i].Value.Kind() != metrics.KindUint64 {
				return 0
			}
			return s[i].Value.Uint64()
		}
		return Stats{Allocated: v(0), Retained: v(1) + v(2) + v(3) + v(4), Mapped: shared(), Live: v(5)}
	}
}
