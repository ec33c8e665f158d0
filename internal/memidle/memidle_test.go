package memidle

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// fakeRuntime is a scripted runtime: each step sets what the next reading
// returns, and a release drops Retained to Live.
type fakeRuntime struct {
	s        Stats
	live     uint64
	released int
}

func (f *fakeRuntime) read() Stats { return f.s }
func (f *fakeRuntime) release()    { f.released++; f.s.Retained = f.live }

func TestTick(t *testing.T) {
	const mib = 1 << 20
	type step struct {
		after     time.Duration // since the previous step
		allocated uint64        // bytes allocated since the previous step
		retained  uint64
		want      bool // a release at this step
	}
	cases := []struct {
		name  string
		live  uint64
		steps []step
	}{
		{"busy process is never released", 10 * mib, []step{
			{0, 0, 100 * mib, false},
			{time.Second, 50 * mib, 200 * mib, false},
			{time.Second, 50 * mib, 200 * mib, false},
			{time.Second, 50 * mib, 200 * mib, false},
		}},
		{"released once after the idle period", 10 * mib, []step{
			{0, 0, 100 * mib, false},
			{250 * time.Millisecond, 50 * mib, 200 * mib, false}, // still working
			{250 * time.Millisecond, 0, 200 * mib, false},        // quiet from here
			{500 * time.Millisecond, 0, 200 * mib, false},        // quiet for 0.5 s
			{500 * time.Millisecond, 0, 200 * mib, true},         // quiet for 1 s
			{time.Second, 0, 10 * mib, false},                    // nothing left to release
			{time.Second, 0, 10 * mib, false},
		}},
		{"small heap is left alone", 1 * mib, []step{
			{0, 0, 4 * mib, false},
			{time.Second, 0, 4 * mib, false},
			{time.Second, 0, 4 * mib, false},
			{time.Second, 0, 4 * mib, false},
		}},
		{"background allocation still counts as idle", 10 * mib, []step{
			{0, 0, 100 * mib, false},
			{time.Second, 50 * mib, 100 * mib, false},
			{time.Second, 100 << 10, 100 * mib, false},
			{time.Second, 100 << 10, 100 * mib, true},
		}},
		{"quiet from the first reading", 10 * mib, []step{
			{0, 0, 100 * mib, false},
			{time.Second, 0, 100 * mib, true},
		}},
		{"a second burst releases again", 10 * mib, []step{
			{0, 0, 100 * mib, false},
			{time.Second, 50 * mib, 100 * mib, false},
			{time.Second, 0, 100 * mib, false},
			{time.Second, 0, 100 * mib, true},
			{time.Second, 80 * mib, 90 * mib, false},
			{time.Second, 0, 90 * mib, false},
			{time.Second, 0, 90 * mib, true},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRuntime{live: tc.live}
			r := newReleaser(Config{}, f.read, f.release)
			now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			for i, st := range tc.steps {
				now = now.Add(st.after)
				f.s.Allocated += st.allocated
				f.s.Retained = st.retained
				before := f.released
				got := r.Tick(now)
				if got != st.want || (f.released > before) != st.want {
					t.Fatalf("step %d: Tick = %v (released %d→%d), want %v", i, got, before, f.released, st.want)
				}
			}
		})
	}
}

// TestTickCountsMemoryOutsideTheHeap: pages of mapped files and memory
// kept outside the heap count as held, so a process whose heap is small but
// whose mapped database or slab pool is large and idle is released, once,
// and not again until it grows past the slack.
func TestTickCountsMemoryOutsideTheHeap(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name  string
		field func(*Stats) *uint64
	}{
		{"mapped files", func(s *Stats) *uint64 { return &s.Mapped }},
		{"off the heap", func(s *Stats) *uint64 { return &s.Offheap }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Stats{Retained: 4 * mib}
			f := tt.field(&s)
			*f = 200 * mib
			released := 0
			r := newReleaser(Config{}, func() Stats { return s }, func() { released++; *f = 15 * mib })
			now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			for i := range 4 {
				r.Tick(now.Add(time.Duration(i) * time.Second))
			}
			if released != 1 || *f != 15*mib {
				t.Fatalf("%d releases, held %d MiB: want one release", released, *f/mib)
			}
			*f += 4 * mib // within the slack
			for i := 4; i < 8; i++ {
				r.Tick(now.Add(time.Duration(i) * time.Second))
			}
			if released != 1 {
				t.Fatalf("released again for 4 MiB: %d releases", released)
			}
		})
	}
}

// fakeOffheap is an Offheap with set readings that counts releases.
type fakeOffheap struct {
	resident, allocated uint64
	releases            int
}

func (f *fakeOffheap) Resident() uint64  { return f.resident }
func (f *fakeOffheap) Allocated() uint64 { return f.allocated }
func (f *fakeOffheap) Release() uint64   { f.releases++; return 0 }

// TestNewWiresOffheap: New reads Config.Offheap's resident bytes into every
// reading, counts its allocation as allocation and releases it on each
// release.
func TestNewWiresOffheap(t *testing.T) {
	off := &fakeOffheap{resident: 42 << 20}
	r := New(Config{LargeHeapGCPercent: -1, Offheap: off})
	if got := r.read().Offheap; got != 42<<20 {
		t.Fatalf("reading: Offheap %d", got)
	}
	before := r.read().Allocated
	off.allocated = 1 << 40 // far more than the heap allocates meanwhile
	if got := r.read().Allocated - before; got < 1<<40 {
		t.Fatalf("off-heap allocation did not count as allocation: +%d", got)
	}
	r.release()
	if off.releases != 1 {
		t.Fatalf("Offheap.Release ran %d times on one release", off.releases)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	r := New(Config{Idle: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	cancel()
	<-done
}

// workStep is one reading of a test of Config.Work: time since the
// previous one, bytes allocated and work done meanwhile, and the releases
// wanted so far.
type workStep struct {
	after time.Duration
	alloc uint64
	work  uint64
	want  int
}

// runWorkSteps ticks a Releaser over steps, starting with 100 MiB held; a
// release leaves 10 MiB.
func runWorkSteps(t *testing.T, steps []workStep) {
	t.Helper()
	const mib = 1 << 20
	s := Stats{Retained: 100 * mib}
	released := 0
	r := newReleaser(Config{}, func() Stats { return s }, func() { released++; s.Retained = 10 * mib })
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, st := range steps {
		now = now.Add(st.after)
		s.Allocated += st.alloc
		s.Work += st.work
		r.Tick(now)
		if released != st.want {
			t.Fatalf("step %d: %d releases, want %d", i, released, st.want)
		}
	}
}

// TestWorkReleasesAgain: work counted by Config.Work after a release
// (a deletion, then its replication) releases again once the process is
// idle, at most once per idle period, though the heap did not grow.
func TestWorkReleasesAgain(t *testing.T) {
	runWorkSteps(t, []workStep{
		{0, 0, 0, 0},
		{time.Second, 0, 0, 1},            // idle: released; holds 10 MiB
		{250 * time.Millisecond, 0, 1, 1}, // a delete, too soon after the release
		{750 * time.Millisecond, 0, 0, 2}, // an idle period after the release
		{time.Second, 0, 0, 2},            // nothing done since
		{250 * time.Millisecond, 0, 1, 3}, // its replication applied: released at once
		{250 * time.Millisecond, 0, 1, 3}, // more work, too soon after
		{time.Second, 0, 0, 4},            // released after an idle period
		{10 * time.Second, 0, 0, 4},       // idle and nothing done
	})
}

// TestWorkReleasesSoonAfterItEnds: work that allocated while it ran (a
// replicated deletion) is released a quarter of the idle period after
// the process went quiet, not a whole one, still at most once per idle
// period; without work, a quiet process whose heap did not grow is not
// released.
func TestWorkReleasesSoonAfterItEnds(t *testing.T) {
	const mib = 1 << 20
	tick := DefaultIdle / 4
	cases := []struct {
		name string
		work uint64 // counted by the burst
		want []int  // releases so far after each step
	}{
		{"replicated deletion", 1, []int{0, 1, 1, 1, 1, 2, 2}},
		{"no work", 0, []int{0, 1, 1, 1, 1, 1, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			steps := []workStep{
				{0, 0, 0, 0},
				{DefaultIdle, 0, 0, 0},              // idle: released; holds 10 MiB
				{tick, 50 * mib, tc.work, 0},        // the burst (its heap comes back as garbage)
				{tick, 0, 0, 0},                     // quiet from here
				{tick, 0, 0, 0},                     // quiet for a tick, too soon after the release
				{tick, 0, 0, 0},                     // an idle period after the release
				{10 * DefaultIdle, 100 << 10, 0, 0}, // idle and nothing done since
			}
			for i := range steps {
				steps[i].want = tc.want[i]
			}
			runWorkSteps(t, steps)
		})
	}
}

// TestHeadroom: the GC percent is lowered once the live heap reaches
// LargeHeap, restored once it falls below half of it, and set only when
// it changes.
func TestHeadroom(t *testing.T) {
	const mib = 1 << 20
	var s Stats
	var sets []int
	r := newReleaser(Config{LargeHeap: 64 * mib, LargeHeapGCPercent: 40}, func() Stats { return s }, func() {})
	r.heap.set, r.heap.normal = func(p int) int { sets = append(sets, p); return 0 }, 100
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, live := range []uint64{10, 63, 64, 200, 40, 33, 31, 20, 70} {
		s.Live, s.Allocated = live*mib, uint64(i)*mib
		r.Tick(now.Add(time.Duration(i) * time.Second))
	}
	if want := []int{40, 100, 40}; fmt.Sprint(sets) != fmt.Sprint(want) {
		t.Fatalf("GC percents set %v, want %v", sets, want)
	}
}

// TestReaderAllocatesNothing: reading the runtime must not move the
// allocation counter, or an idle process would never look idle and every
// tick would count as work.
func TestReaderAllocatesNothing(t *testing.T) {
	read := runtimeReader()
	if n := testing.AllocsPerRun(100, func() { read() }); n != 0 {
		t.Fatalf("a reading allocates %v times", n)
	}
}

func TestReadRuntime(t *testing.T) {
	runtime.GC() // so that there is a live heap to read
	s := runtimeReader()()
	if s.Allocated == 0 || s.Retained == 0 || s.Live == 0 {
		t.Fatalf("runtimeReader()() = %+v, want non-zero readings", s)
	}
}
