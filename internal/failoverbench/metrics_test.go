package failoverbench

import (
	"testing"
	"time"
)

// TestMeasureCountsBlobReadsOnly: the first secondary read and the share
// after recovery count blob reads (chunks and resumptions included), not
// the Router's own service requests (Get Blob Service Stats, which only the
// secondary answers, and background probes), nor a read whose body broke.
func TestMeasureCountsBlobReadsOnly(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ev := func(start int, loc string, blob bool, status int) *wireEvent {
		return &wireEvent{at: at(start), end: at(start + 1), method: "GET", loc: loc, blob: blob, status: status}
	}
	broken := ev(1105, "primary", true, 200)
	broken.bodyFail.Store(true)
	rd := &runData{
		scenario: scenario{name: Scenario503},
		client:   ClientGeoblob,
		timeline: Timeline{OutageStart: 100 * time.Millisecond, OutageEnd: time.Second, End: 3 * time.Second},
		t0:       t0,
		afterWin: 2 * time.Second,
		wire: []*wireEvent{
			ev(100, "primary", true, 503),
			ev(104, "secondary", false, 200), // statistics: not a read
			ev(109, "secondary", true, 200),  // the first secondary read
			ev(1100, "secondary", false, 200),
			ev(1101, "primary", false, 200), // a background probe
			ev(1102, "primary", true, 200),
			ev(1103, "primary", true, 206),
			ev(1104, "secondary", true, 200),
			broken,
		},
	}
	r := measure(rd)
	if r.FirstSecondaryMS == nil || *r.FirstSecondaryMS != 10 {
		t.Errorf("first secondary read %v ms, want 10", fmtPtr(r.FirstSecondaryMS))
	}
	if r.AfterWireReads != 3 || r.AfterPrimaryShare == nil || *r.AfterPrimaryShare != 2.0/3 {
		t.Errorf("after recovery: %d wire reads, primary share %v; want 3 and 2/3", r.AfterWireReads, fmtPtr(r.AfterPrimaryShare))
	}
	if r.PrimaryAttempts != 1 {
		t.Errorf("primary attempts %d, want 1", r.PrimaryAttempts)
	}
}

func fmtPtr(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
