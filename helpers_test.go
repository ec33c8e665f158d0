package geoblob_test

import (
	"bytes"
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
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/testenv"
)

// eventLog records every callback, safe for concurrent use.
type eventLog struct {
	mu      sync.Mutex
	changes []geoblob.StateChange
	retries []geoblob.RetryEvent
}

func (l *eventLog) attach(cfg *geoblob.Config) {
	cfg.OnStateChange = func(ev geoblob.StateChange) {
		l.mu.Lock()
		l.changes = append(l.changes, ev)
		l.mu.Unlock()
	}
	cfg.OnRetry = func(ev geoblob.RetryEvent) {
		l.mu.Lock()
		l.retries = append(l.retries, ev)
		l.mu.Unlock()
	}
}

func (l *eventLog) transitions() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s []string
	for _, c := range l.changes {
		s = append(s, c.From.String()+">"+c.To.String())
	}
	return strings.Join(s, ",")
}

func (l *eventLog) retryCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.retries)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not reached within 2.5 s")
}

func ptr[T any](v T) *T { return &v }

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
	boundForTests(cfg)
	c, r, err := geoblob.NewClientWithNoCredential(fakeURL+"?sv=2024&sig=SECRETSIG", cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
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

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

const testContainer = "geo"

// env is an emulator plus a geoblob client of its development account.
type env struct {
	emu    *emulator.Emulator
	client *azblob.Client
	router *geoblob.Router
}

func clientOptions(t testing.TB) *azblob.ClientOptions { return testenv.ClientOptions(t) }

// testAttemptTimeout is the attempt bound of tests that are not about the
// bound: under a loaded CI machine the adaptive default (500ms floor) can
// be exceeded by a healthy read, which would then be served by the other
// location and upset counts the test checks. Tests of the bound set
// Config.AttemptTimeout themselves.
const testAttemptTimeout = time.Minute

// boundForTests takes real time out of a test's routing where the test
// left it to the defaults: a fixed, generous attempt bound, and no
// background probe (its real-time timer would send a probe whenever a
// loaded machine stalls a test for a second while the breaker is open,
// changing the probe counts the test checks). Tests of the bound and of
// the background probe set AttemptTimeout and ProbeInterval themselves.
func boundForTests(cfg *geoblob.Config) {
	if cfg.AttemptTimeout == 0 {
		cfg.AttemptTimeout = testAttemptTimeout
	}
	if cfg.ProbeInterval == 0 {
		cfg.ProbeInterval = -1
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newEnv(t testing.TB, eo emulator.Options, cfg *geoblob.Config) *env {
	t.Helper()
	ctx := context.Background()
	emu := testenv.Emulator(t, eo)
	if cfg == nil {
		cfg = geoblob.DefaultConfig()
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	boundForTests(cfg)
	client, router, err := geoblob.NewClientFromConnectionString(emu.ConnectionString(), cfg, clientOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = router.Close() })
	if _, err := client.CreateContainer(ctx, testContainer, nil); err != nil {
		t.Fatal(err)
	}
	return &env{emu: emu, client: client, router: router}
}

// put uploads data and waits until the secondary has it.
func (e *env) put(t testing.TB, name string, data []byte) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.client.UploadBuffer(ctx, testContainer, name, data, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// get downloads a blob and reports which location served it.
func (e *env) get(ctx context.Context, name string) ([]byte, geoblob.ReadStatus, error) {
	var info geoblob.ReadInfo
	resp, err := e.client.DownloadStream(geoblob.WithReadInfo(ctx, &info), testContainer, name, nil)
	if err != nil {
		return nil, info.Last(), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, info.Last(), err
}

func (e *env) fault(t testing.TB, r fault.Rule) string { return testenv.Fault(t, e.emu, r) }

func (e *env) fired(t testing.TB, id string) int64 { return testenv.Fired(t, e.emu, id) }

func outage(ep fault.Endpoint, status int) fault.Rule {
	return fault.Rule{Endpoint: ep, Match: fault.Match{Op: fault.Read, Container: testContainer}, Action: fault.Action{Status: status}}
}

// trip reads through a primary outage until the breaker opens.
func (e *env) trip(t *testing.T, name string) {
	t.Helper()
	for i := 0; e.router.State() == geoblob.Closed; i++ {
		if i > 20 {
			t.Fatal("the breaker never opened")
		}
		if _, _, err := e.get(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
