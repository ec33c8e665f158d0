package geoblob_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/geoblob/geoblob"
)

// fakeStorage is an in-memory transport answering for both locations of a
// host-style account, with a programmable status per location.
type fakeStorage struct {
	status [2]atomic.Int32 // 0 means 200
	calls  [2]atomic.Int64 // blob requests
	stats  [2]atomic.Int64 // Get Blob Service Stats requests
	delay  [2]atomic.Int64 // nanoseconds

	statsStatus atomic.Int32 // status of Get Blob Service Stats; 0 means 200
	statsDelay  atomic.Int64 // nanoseconds
	openBodies  atomic.Int64 // response bodies not yet closed
	secWrites   atomic.Int64 // non-GET/HEAD requests that reached the secondary
	// gate, when set, holds the next primary blob request (with the status
	// it was given on arrival) until the channel is closed.
	gate atomic.Pointer[chan struct{}]
}

// trackedBody counts open response bodies, to find leaked ones.
type trackedBody struct {
	io.Reader
	f    *fakeStorage
	once sync.Once
}

func (b *trackedBody) Close() error {
	b.once.Do(func() { b.f.openBodies.Add(-1) })
	return nil
}

func (f *fakeStorage) Do(req *http.Request) (*http.Response, error) {
	loc := geoblob.Primary
	if strings.Contains(req.URL.Host, "-secondary") {
		loc = geoblob.Secondary
	}
	if req.Host != "" && req.Host != req.URL.Host {
		return nil, errors.New("Host header and URL host disagree")
	}
	isStats := strings.Contains(req.URL.RawQuery, "comp=stats")
	if isStats {
		f.stats[loc].Add(1)
	} else {
		f.calls[loc].Add(1)
	}
	if loc == geoblob.Secondary && req.Method != http.MethodGet && req.Method != http.MethodHead {
		f.secWrites.Add(1)
	}
	code := int(f.status[loc].Load())
	if isStats {
		code = int(f.statsStatus.Load())
	} else if loc == geoblob.Primary {
		if g := f.gate.Swap(nil); g != nil {
			<-*g
		}
	}
	d := time.Duration(f.delay[loc].Load())
	if isStats {
		d = time.Duration(f.statsDelay.Load())
	}
	if d > 0 {
		select {
		case <-time.After(d):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	h := http.Header{}
	h.Set("x-ms-request-id", "r")
	body := "data-" + loc.String()
	switch {
	case code == -1:
		return nil, errors.New("dial tcp: connection refused")
	case code == 0:
		code = http.StatusOK
		if strings.Contains(req.URL.RawQuery, "comp=stats") {
			body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><StorageServiceStats><GeoReplication><Status>live</Status><LastSyncTime>Wed, 01 Jan 2025 00:00:00 GMT</LastSyncTime></GeoReplication></StorageServiceStats>"
			h.Set("Content-Type", "application/xml")
		}
		h.Set("ETag", `"0x1"`)
	default:
		h.Set("x-ms-error-code", "ServerBusy")
		body = ""
	}
	h.Set("Content-Length", itoa(len(body)))
	f.openBodies.Add(1)
	return &http.Response{StatusCode: code, Header: h, Body: &trackedBody{Reader: strings.NewReader(body), f: f}, Request: req, ContentLength: int64(len(body))}, nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

const fakeURL = "https://acct.blob.core.windows.net/"

func newFake(t *testing.T, cfg *geoblob.Config) (*fakeStorage, *azblob.Client, *geoblob.Router) {
	t.Helper()
	f := &fakeStorage{}
	o := &azblob.ClientOptions{}
	o.Transport = f
	o.Retry = policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Microsecond, MaxRetryDelay: time.Microsecond}
	if cfg == nil {
		cfg = geoblob.DefaultConfig()
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	c, r, err := geoblob.NewClientWithNoCredential(fakeURL+"?sv=2024&sig=SECRETSIG", cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	return f, c, r
}

func read(c *azblob.Client) (string, error) {
	resp, err := c.DownloadStream(context.Background(), "c", "b", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestSeedThresholds(t *testing.T) {
	f, c, r := newFake(t, nil)
	f.status[geoblob.Primary].Store(503)
	for i := range 25 {
		got, err := read(c)
		if err != nil || got != "data-secondary" {
			t.Fatalf("read %d: %q %v", i, got, err)
		}
	}
	// 5 failing primary tries trip; after 20 secondary reads one probe.
	if n := f.calls[geoblob.Primary].Load(); n != 6 {
		t.Fatalf("primary calls = %d, want 6", n)
	}
	f.status[geoblob.Primary].Store(0)
	for i := 0; i < 41 && r.State() != geoblob.Closed; i++ { // backed-off: 40 reads
		if _, err := read(c); err != nil {
			t.Fatal(err)
		}
	}
	if r.State() != geoblob.Closed {
		t.Fatalf("state = %v after recovery", r.State())
	}
}

func TestProbeIsExclusive(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.FailbackReads = 1
	f, c, r := newFake(t, cfg)
	f.status[geoblob.Primary].Store(503)
	for range 6 {
		_, _ = read(c)
	}
	if r.State() != geoblob.Open {
		t.Fatalf("state = %v", r.State())
	}
	// The primary hangs a little: while the probe is in flight, every other
	// read must use the secondary.
	f.status[geoblob.Primary].Store(0)
	f.delay[geoblob.Primary].Store(int64(50 * time.Millisecond))
	before := f.calls[geoblob.Primary].Load()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := read(c); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := f.calls[geoblob.Primary].Load() - before; n < 1 || n > 2 {
		// One probe, plus possibly one more once the breaker closed.
		t.Fatalf("primary calls during half-open = %d", n)
	}
}

func TestTimeBasedFailbackBacksOff(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	cfg := geoblob.DefaultConfig()
	cfg.FailbackReads = 0
	cfg.FailbackAfter = 10 * time.Second
	cfg.ProbeBackoff = 2
	cfg.MaxProbeBackoff = 4
	cfg.Now = clock
	f, c, r := newFake(t, cfg)
	f.status[geoblob.Primary].Store(-1) // connection refused
	for range 5 {
		_, _ = read(c)
	}
	probesAt := func(d time.Duration) int64 {
		before := f.calls[geoblob.Primary].Load()
		advance(d)
		_, _ = read(c)
		return f.calls[geoblob.Primary].Load() - before
	}
	for _, step := range []struct {
		advance time.Duration
		probes  int64
	}{
		{9 * time.Second, 0}, {time.Second, 1}, // first probe after 10s, fails
		{19 * time.Second, 0}, {time.Second, 1}, // backed off to 20s
		{39 * time.Second, 0}, {time.Second, 1}, // 40s, the cap
		{39 * time.Second, 0}, {time.Second, 1}, // stays at 40s
	} {
		if got := probesAt(step.advance); got != step.probes {
			t.Fatalf("after +%v: %d primary attempts, want %d", step.advance, got, step.probes)
		}
	}
	if r.Counters().Probes != 4 || r.State() != geoblob.Open {
		t.Fatalf("counters %+v state %v", r.Counters(), r.State())
	}
}

func TestFailureRatioAndSlowCalls(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.FailureThreshold = 0
	cfg.FailureRatio = 0.5
	cfg.MinThroughput = 10
	cfg.Window = time.Hour
	f, c, r := newFake(t, cfg)
	// Alternate failures and successes: never 5 in a row, but 50%.
	for i := 0; i < 20 && r.State() == geoblob.Closed; i++ {
		if i%2 == 0 {
			f.status[geoblob.Primary].Store(503)
		} else {
			f.status[geoblob.Primary].Store(0)
		}
		_, _ = read(c)
	}
	if r.State() != geoblob.Open {
		t.Fatal("ratio rule did not trip")
	}

	cfg = geoblob.DefaultConfig()
	cfg.SlowCallThreshold = time.Millisecond
	cfg.FailureThreshold = 3
	f, c, r = newFake(t, cfg)
	f.delay[geoblob.Primary].Store(int64(5 * time.Millisecond))
	for range 3 {
		if got, err := read(c); err != nil || got != "data-primary" {
			t.Fatalf("slow read: %q %v", got, err)
		}
	}
	if r.State() != geoblob.Open {
		t.Fatal("slow-call rule did not trip")
	}
}

func TestForceModes(t *testing.T) {
	f, c, r := newFake(t, nil)
	r.Force(geoblob.SecondaryOnly)
	if got, _ := read(c); got != "data-secondary" {
		t.Fatalf("SecondaryOnly read %q", got)
	}
	r.Force(geoblob.PrimaryOnly)
	f.status[geoblob.Primary].Store(503)
	before := f.calls[geoblob.Secondary].Load()
	if _, err := read(c); err == nil {
		t.Fatal("PrimaryOnly must not fall back")
	}
	if f.calls[geoblob.Secondary].Load() != before {
		t.Fatal("PrimaryOnly touched the secondary")
	}
	r.Force(geoblob.Auto)
	if got, err := read(c); err != nil || got != "data-secondary" {
		t.Fatalf("Auto read: %q %v", got, err)
	}
}

func TestCallbacksMayReenter(t *testing.T) {
	var r atomic.Pointer[geoblob.Router]
	var events atomic.Int64
	cfg := geoblob.DefaultConfig()
	cfg.FailureThreshold = 1
	cfg.FailbackReads = 1
	reenter := func() {
		if rr := r.Load(); rr != nil {
			_ = rr.State()
			_ = rr.Counters()
			_, _ = rr.Staleness(context.Background())
			events.Add(1)
		}
	}
	cfg.OnRetry = func(geoblob.RetryEvent) { reenter() }
	cfg.OnResponse = func(geoblob.ResponseEvent) { reenter() }
	cfg.OnStateChange = func(ev geoblob.StateChange) {
		reenter()
		if ev.To == geoblob.Open {
			r.Load().Force(geoblob.Auto) // a transition from inside a transition event
		}
	}
	f, c, router := newFake(t, cfg)
	r.Store(router)
	f.status[geoblob.Primary].Store(503)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10 {
			_, _ = read(c)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("deadlock: callbacks re-entering the router")
	}
	if events.Load() == 0 {
		t.Fatal("no callbacks")
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	var logs strings.Builder
	cfg := geoblob.DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.OnResponse = func(ev geoblob.ResponseEvent) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, ev.URL)
		if ev.Err != nil {
			seen = append(seen, ev.Err.Error())
		}
	}
	cfg.OnRetry = func(ev geoblob.RetryEvent) {
		if ev.Err != nil {
			mu.Lock()
			seen = append(seen, ev.Err.Error())
			mu.Unlock()
		}
	}
	f, c, _ := newFake(t, cfg)
	f.status[geoblob.Primary].Store(-1)
	f.status[geoblob.Secondary].Store(-1)
	_, err := read(c)
	if !errors.Is(err, geoblob.ErrBothUnavailable) {
		t.Fatalf("err = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	seen = append(seen, err.Error(), logs.String())
	if !strings.Contains(logs.String(), "both locations") {
		t.Fatalf("expected a log line, got %q", logs.String())
	}
	for _, s := range seen {
		if strings.Contains(s, "SECRETSIG") {
			t.Fatalf("signature leaked: %s", s)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestStatsGoToSecondary(t *testing.T) {
	f, _, r := newFake(t, nil)
	s, err := r.Staleness(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != "live" || !s.LastSyncTime.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("stats = %+v", s)
	}
	if f.stats[geoblob.Primary].Load() != 0 || f.stats[geoblob.Secondary].Load() != 1 {
		t.Fatal("Get Blob Service Stats must go to the secondary only")
	}
}

// TestSecondaryFailureClosesWhenPrimaryAnswers: with the breaker open, a
// read that fails on the secondary and is then served by the primary shows
// the primary is back. The breaker closes at once instead of making every
// read pay for the failing secondary until the next probe.
func TestSecondaryFailureClosesWhenPrimaryAnswers(t *testing.T) {
	var changes []geoblob.StateChange
	var mu sync.Mutex
	cfg := geoblob.DefaultConfig()
	cfg.OnStateChange = func(ev geoblob.StateChange) {
		mu.Lock()
		changes = append(changes, ev)
		mu.Unlock()
	}
	f, c, r := newFake(t, cfg)
	f.status[geoblob.Primary].Store(503)
	for range 6 {
		if _, err := read(c); err != nil {
			t.Fatal(err)
		}
	}
	if r.State() != geoblob.Open {
		t.Fatalf("state %v, want open", r.State())
	}
	// The regions swap: the primary recovers, the secondary fails.
	f.status[geoblob.Primary].Store(0)
	f.status[geoblob.Secondary].Store(503)
	got, err := read(c)
	if err != nil || got != "data-primary" {
		t.Fatalf("fallback read: %q %v", got, err)
	}
	if r.State() != geoblob.Closed {
		t.Fatalf("state %v after the primary answered, want closed", r.State())
	}
	secBefore := f.calls[geoblob.Secondary].Load()
	for range 5 {
		if got, err := read(c); err != nil || got != "data-primary" {
			t.Fatalf("read after recovery: %q %v", got, err)
		}
	}
	if n := f.calls[geoblob.Secondary].Load() - secBefore; n != 0 {
		t.Fatalf("%d reads still went to the failing secondary first", n)
	}
	ctr := r.Counters()
	mu.Lock()
	defer mu.Unlock()
	if ctr.Failovers != 1 || ctr.Failbacks != 1 || len(changes) != 2 || changes[1].To != geoblob.Closed {
		t.Fatalf("counters %+v, changes %+v", ctr, changes)
	}
}

// TestNotReplicatedDoesNotClose: a 404 from the secondary sent to the
// primary says nothing about the primary's health; the breaker stays open.
func TestNotReplicatedDoesNotClose(t *testing.T) {
	f, c, r := newFake(t, nil)
	f.status[geoblob.Primary].Store(503)
	for range 6 {
		if _, err := read(c); err != nil {
			t.Fatal(err)
		}
	}
	f.status[geoblob.Primary].Store(0)
	f.status[geoblob.Secondary].Store(404)
	if got, err := read(c); err != nil || got != "data-primary" {
		t.Fatalf("not-replicated read: %q %v", got, err)
	}
	if r.State() != geoblob.Open {
		t.Fatalf("state %v, want still open", r.State())
	}
}
