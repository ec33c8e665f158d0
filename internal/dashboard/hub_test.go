package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/control"
	"github.com/geoblob/geoblob/internal/metrics"
)

// stream is one open event stream read by a test.
type stream struct {
	resp *http.Response
	rd   *bufio.Reader
}

func openStream(t *testing.T, ctx context.Context, url string) *stream {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+Path+"events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("events: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("events: Content-Type %q", ct)
	}
	return &stream{resp: resp, rd: bufio.NewReader(resp.Body)}
}

// next reads the next event, skipping retry lines and comments.
func (s *stream) next(t *testing.T) (string, []byte) {
	t.Helper()
	var event string
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			return event, []byte(line[len("data: "):])
		}
	}
}

// newTestHub serves a hub that ticks when told; call stop before checking
// for leaked goroutines.
func newTestHub(t *testing.T, opts Options) (h *Hub, set *fault.Set, srv *httptest.Server, stop func()) {
	t.Helper()
	opts.Interval = -1 // the test ticks
	set = fault.NewSet()
	now := time.Date(2025, 5, 1, 12, 0, 10, 0, time.UTC)
	h = New(Sources{
		Faults: set,
		Replication: func() control.ReplicationStatus {
			return control.ReplicationStatus{Status: "live", LastSyncTime: now.Add(-4 * time.Second), Pending: 2, Lag: time.Second}
		},
		Now: func() time.Time { return now },
	}, opts)
	srv = httptest.NewServer(h.Handler())
	stop = func() {
		h.Close()
		srv.Close()
		http.DefaultClient.CloseIdleConnections()
	}
	t.Cleanup(stop)
	return h, set, srv, stop
}

func TestEventsSnapshotThenTicks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h, set, srv, stop := newTestHub(t, Options{})
	defer stop()
	if _, err := set.Add(fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Status: 503}}); err != nil {
		t.Fatal(err)
	}
	h.ClientRead(ReadPrimary)
	h.Tick()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := openStream(t, ctx, srv.URL)
	defer s.resp.Body.Close()
	ev, data := s.next(t)
	if ev != "snapshot" {
		t.Fatalf("first event %q, want snapshot", ev)
	}
	var snap Snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Ticks) != 1 || snap.Stream != "P" || !snap.Status.Client || len(snap.Status.Faults) != 1 || !snap.Status.Faults[0].Outage {
		t.Errorf("snapshot %+v", snap)
	}

	reqs := []metrics.Request{
		{Endpoint: "primary", Code: 200, Duration: 2 * time.Millisecond},
		{Endpoint: "primary", Code: 503, Duration: 4 * time.Millisecond},
		{Endpoint: "primary", Code: 0, Duration: 6 * time.Millisecond},
		{Endpoint: "secondary", Code: 404, Duration: time.Millisecond},
		{Endpoint: "secondary", Code: 206, Duration: time.Millisecond, BytesOut: 10},
	}
	for _, r := range reqs {
		h.Record(r)
	}
	h.ClientRead(ReadSecondary)
	h.ClientRead(ReadFailed)
	h.Breaker("closed", "open", "test", time.Unix(100, 0))
	h.Tick()
	ev, data = s.next(t)
	if ev != "tick" {
		t.Fatalf("event %q, want tick", ev)
	}
	var tick Tick
	if err := json.Unmarshal(data, &tick); err != nil {
		t.Fatal(err)
	}
	p, sec := tick.Endpoints["primary"], tick.Endpoints["secondary"]
	if p.Requests != 3 || p.S2xx != 1 || p.S5xx != 1 || p.Reset != 1 || p.MaxMs != 6 || p.AvgMs != 4 || p.P95Ms != 6 {
		t.Errorf("primary %+v", p)
	}
	if sec.Requests != 2 || sec.S4xx != 1 || sec.S2xx != 1 || sec.BytesOut != 10 {
		t.Errorf("secondary %+v", sec)
	}
	if tick.Stream != "SF" || tick.Reads != (ReadCounts{Secondary: 1, Failed: 1}) {
		t.Errorf("reads %q %+v", tick.Stream, tick.Reads)
	}
	if tick.Status.ClientReads != (ReadCounts{Primary: 1, Secondary: 1, Failed: 1}) {
		t.Errorf("read totals %+v", tick.Status.ClientReads)
	}
	if len(tick.Transitions) != 1 || tick.Transitions[0].Read != 3 || tick.Transitions[0].To != "open" {
		t.Errorf("transitions %+v", tick.Transitions)
	}
	r := tick.Status.Replication
	if r == nil || r.BehindSec != 4 || r.Pending != 2 || r.Lag != "1s" {
		t.Errorf("replication %+v", r)
	}
	cancel()
	s.resp.Body.Close()
}

func TestSubscriberLimit(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h, _, srv, stop := newTestHub(t, Options{MaxSubscribers: 2})
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		s := openStream(t, ctx, srv.URL)
		defer s.resp.Body.Close()
		s.next(t) // the snapshot: the stream is registered
	}
	if n := h.Subscribers(); n != 2 {
		t.Fatalf("subscribers %d, want 2", n)
	}
	resp, err := http.Get(srv.URL + Path + "events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third stream: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// A subscriber whose queue is full is dropped, not waited for.
func TestSlowSubscriberDropped(t *testing.T) {
	h := New(Sources{}, Options{Interval: -1, Buffer: 2})
	defer h.Close()
	s, _, err := h.subscribe()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		h.Tick()
	}
	select {
	case <-s.gone:
		t.Fatal("dropped with room in its queue")
	default:
	}
	h.Tick() // the queue is full
	select {
	case <-s.gone:
	default:
		t.Fatal("a full subscriber was not dropped")
	}
	if n := h.Subscribers(); n != 0 {
		t.Errorf("subscribers %d after the drop", n)
	}
}

// Close ends open streams and the ticker; nothing is left running.
func TestCloseEndsStreams(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := New(Sources{}, Options{Interval: time.Hour})
	h.Start()
	srv := httptest.NewServer(h.Handler())
	defer http.DefaultClient.CloseIdleConnections()
	defer srv.Close()
	// The deadline only turns a stream Close fails to end into a failure.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := openStream(t, ctx, srv.URL)
	defer s.resp.Body.Close()
	s.next(t)
	h.Close()
	if _, err := io.ReadAll(s.rd); err != nil {
		t.Errorf("stream not ended by Close: %v", err)
	}
	h.Close() // twice is fine
	resp, err := http.Get(srv.URL + Path + "events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("stream after Close: status %d, want 503", resp.StatusCode)
	}
}

func TestHistoryBounded(t *testing.T) {
	h := New(Sources{}, Options{Interval: -1, History: 3, MaxReads: 5, MaxTransitions: 2})
	defer h.Close()
	for i := range 10 {
		h.ClientRead("PS"[i%2])
		h.Breaker("closed", "open", "", time.Unix(int64(i), 0))
		h.Tick()
	}
	snap := h.snapshot()
	if len(snap.Ticks) != 3 || snap.Stream != "SPSPS" || snap.StreamFirst != 5 || len(snap.Transitions) != 2 || snap.Transitions[1].Read != 10 {
		t.Errorf("snapshot ticks %d stream %q first %d transitions %+v", len(snap.Ticks), snap.Stream, snap.StreamFirst, snap.Transitions)
	}
	if snap.Status.ClientReads != (ReadCounts{Primary: 5, Secondary: 5}) {
		t.Errorf("totals %+v", snap.Status.ClientReads)
	}
}

func TestHandlerServesAssets(t *testing.T) {
	_, _, srv, _ := newTestHub(t, Options{})
	tests := []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", Path, 200, "text/html; charset=utf-8"},
		{"GET", Path + "app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", Path + "style.css", 200, "text/css; charset=utf-8"},
		{"GET", strings.TrimSuffix(Path, "/"), 200, "text/html; charset=utf-8"}, // redirected
		{"GET", Path + "nope", 404, ""},
		{"POST", Path, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.contentType != "" && resp.Header.Get("Content-Type") != tt.contentType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tt.contentType)
			}
			if tt.status == 200 && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Error("no Content-Security-Policy")
			}
		})
	}
}

func TestFaultListBounded(t *testing.T) {
	set := fault.NewSet()
	for range maxRules + 3 {
		if _, err := set.Add(fault.Rule{Endpoint: fault.Secondary, Action: fault.Action{Status: 500}}); err != nil {
			t.Fatal(err)
		}
	}
	h := New(Sources{Faults: set}, Options{Interval: -1})
	defer h.Close()
	st := h.status()
	if len(st.Faults) != maxRules || st.MoreFaults != 3 {
		t.Errorf("listed %d rules, %d more; want %d and 3", len(st.Faults), st.MoreFaults, maxRules)
	}
}
