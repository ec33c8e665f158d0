package emubench

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestReadProcSelf(t *testing.T) {
	// Touching memory the process never touched faults once a page. A
	// fresh anonymous mapping, not the Go heap: a heap allocation may reuse
	// pages an earlier allocation left resident (the test run again with
	// -count, or after another test), which fault no more. Huge pages are
	// turned off for it, so that each 4 KiB page faults and a wrong field
	// (cminflt, majflt) cannot pass.
	const size = 16 << 20
	page := os.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	_ = syscall.Madvise(mem, syscall.MADV_NOHUGEPAGE) // a kernel without it has no huge pages either
	st, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(mem); i += page {
		mem[i] = 1
	}
	after, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.cpu < 0 || after.cpu < st.cpu {
		t.Errorf("cpu %v then %v", st.cpu, after.cpu)
	}
	if d := after.minflt - st.minflt; d < int64(size/page) {
		t.Errorf("minor faults %d then %d after touching %d fresh pages", st.minflt, after.minflt, size/page)
	}
	rss, hwm, err := readMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss <= 0 || hwm < rss {
		t.Errorf("rss %d, hwm %d", rss, hwm)
	}
	if _, err := readStat(-1); err == nil {
		t.Error("readStat(-1) succeeded")
	}
}

func TestPercentile(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		in   []time.Duration
		p    float64
		want float64
	}{
		{nil, 0.5, 0},
		{[]time.Duration{ms}, 0.99, 1},
		{[]time.Duration{1 * ms, 2 * ms, 3 * ms, 4 * ms}, 0.5, 2},
		{[]time.Duration{1 * ms, 2 * ms, 3 * ms, 4 * ms}, 0.99, 4},
	}
	for _, tt := range tests {
		if got := percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
		}
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in         string
		start, end int64
		ok         bool
	}{
		{"bytes=0-9", 0, 9, true},
		{"bytes=5-", 5, 99, true},
		{"bytes=90-200", 90, 99, true},
		{"bytes=100-", 0, 0, false},
		{"bytes=9-5", 0, 0, false},
		{"bytes=-5", 0, 0, false},
		{"items=0-1", 0, 0, false},
	}
	for _, tt := range tests {
		s, e, ok := parseRange(tt.in, 100)
		if ok != tt.ok || (ok && (s != tt.start || e != tt.end)) {
			t.Errorf("parseRange(%q) = %d, %d, %v; want %d, %d, %v", tt.in, s, e, ok, tt.start, tt.end, tt.ok)
		}
	}
}
