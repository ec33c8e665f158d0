package emubench

import (
	"os"
	"testing"
	"time"
)

func TestReadProcSelf(t *testing.T) {
	cpu, err := readCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if cpu < 0 {
		t.Errorf("cpu %v", cpu)
	}
	rss, hwm, err := readMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss <= 0 || hwm < rss {
		t.Errorf("rss %d, hwm %d", rss, hwm)
	}
	if _, err := readCPU(-1); err == nil {
		t.Error("readCPU(-1) succeeded")
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
