package emubench

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestReadProcSelf(t *testing.T) {
	st, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Touching fresh memory faults: the count must move.
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	after, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.cpu < 0 || after.cpu < st.cpu {
		t.Errorf("cpu %v then %v", st.cpu, after.cpu)
	}
	if after.minflt <= st.minflt {
		t.Errorf("minor faults %d then %d after touching 64 MiB", st.minflt, after.minflt)
	}
	runtime.KeepAlive(buf)
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
