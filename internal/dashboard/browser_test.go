package dashboard_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/control"
	"github.com/geoblob/geoblob/internal/dashboard"
)

// browserDir holds the npm project of the browser test.
var browserDir = filepath.Join("..", "..", "testdata", "browser")

// browserPrereqs returns the chromium and node binaries, or skips the test
// saying what is missing.
func browserPrereqs(t *testing.T) (chromium, node string) {
	t.Helper()
	chromium = os.Getenv("GEOBLOB_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("browser test skipped: no chromium at %s (run testdata/browser/install.sh, or set GEOBLOB_CHROMIUM)", chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("browser test skipped: node is not installed")
	}
	if _, err := os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core")); err != nil {
		t.Skip("browser test skipped: testdata/browser/node_modules is missing (run testdata/browser/install.sh)")
	}
	return chromium, node
}

// browserSteps runs a script of testdata/browser and returns the steps it
// reported (one JSON object per line, named by "step").
func browserSteps(t *testing.T, ctx context.Context, node, script string, env ...string) map[string]map[string]any {
	t.Helper()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = browserDir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("browser script output:\n%s", out)
	if err != nil {
		t.Fatalf("browser script failed: %v", err)
	}
	steps := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			if s, ok := m["step"].(string); ok {
				steps[s] = m
			}
		}
	}
	return steps
}

// TestDashboardInBrowser loads the dashboard in headless Chromium while a
// geoblob client reads through the emulator, presses "Primary outage",
// waits for secondary reads and an open breaker, recovers with the
// keyboard, waits for the primary to serve again, and saves a screenshot
// (to $GEOBLOB_SCREENSHOT when set, as docs/dashboard.png was made).
//
// It needs Debian's chromium and playwright-core from
// testdata/browser/install.sh, and skips, saying so, without them.
func TestDashboardInBrowser(t *testing.T) {
	chromium, node := browserPrereqs(t)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	emu, err := emulator.Start(ctx, emulator.Options{NoSecondaryListener: true})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()

	const container, blob = "dash", "blob.txt"
	plain, err := azblob.NewClientFromConnectionString(emu.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.CreateContainer(ctx, container, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.UploadBuffer(ctx, container, blob, []byte("hello, dashboard"), nil); err != nil {
		t.Fatal(err)
	}
	if err := emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}

	hub := emu.Dashboard()
	cfg := geoblob.DefaultConfig()
	cfg.ProbeBackoff, cfg.MaxProbeBackoff = 1, 1
	hub.ObserveReads(cfg)
	hub.ObserveBreaker(cfg)
	opts := &azblob.ClientOptions{}
	opts.Retry = policy.RetryOptions{MaxRetries: 2, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond, TryTimeout: 10 * time.Second}
	client, router, err := geoblob.NewClientFromConnectionString(emu.ConnectionString(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	hub.ObserveRouter(router)

	// The client reads until the browser is done: paced, so that the page
	// shows a readable stream, and bounded in count.
	readCtx, stopReads := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for range 40000 {
			select {
			case <-readCtx.Done():
				return
			case <-tick.C:
			}
			resp, err := client.DownloadStream(readCtx, container, blob, nil)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	defer func() { stopReads(); wg.Wait() }()

	shot := os.Getenv("GEOBLOB_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "dashboard.png")
	} else if shot, err = filepath.Abs(shot); err != nil {
		t.Fatal(err)
	}
	steps := browserSteps(t, ctx, node, "dashboard.mjs", "DASHBOARD_URL="+emu.DashboardURL(), "SCREENSHOT="+shot, "CHROMIUM="+chromium)
	for _, s := range []string{"loaded", "primary-serving", "outage", "recovered", "screenshot", "narrow", "ok"} {
		if steps[s] == nil {
			t.Errorf("browser script did not report step %q", s)
		}
	}
	if b := steps["outage"]["breaker"]; b != "open" && b != "half-open" {
		t.Errorf("breaker during the outage shown as %v, want open or half-open", b)
	}
	if tr, _ := steps["recovered"]["transitions"].([]any); len(tr) < 2 {
		t.Errorf("transitions shown after recovery: %v, want closed -> open and open -> closed", tr)
	} else if first, _ := tr[0].(string); !strings.Contains(first, "closed → open") {
		t.Errorf("first transition shown: %q, want closed → open", first)
	}
	if o, _ := steps["narrow"]["overflow"].(float64); o > 0 {
		t.Errorf("in a 380 px window the page is %v px too wide", o)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 10000 {
		t.Errorf("screenshot %s missing or tiny: %v", shot, err)
	}
	stopReads()
	wg.Wait()
	if c := router.Counters(); c.Failovers < 1 || c.Failbacks < 1 || c.SecondaryReads < 1 {
		t.Errorf("client counters %+v: want a failover, a failback and secondary reads", c)
	}
}

// fakeReplication is the replicator of TestDashboardInBrowserWithToken.
type fakeReplication struct {
	mu     sync.Mutex
	paused bool
}

func (f *fakeReplication) Pause()                   { f.mu.Lock(); f.paused = true; f.mu.Unlock() }
func (f *fakeReplication) Resume()                  { f.mu.Lock(); f.paused = false; f.mu.Unlock() }
func (f *fakeReplication) SetStatus(s string) error { return nil }
func (f *fakeReplication) Status() control.ReplicationStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return control.ReplicationStatus{Status: "live", Paused: f.paused, LastSyncTime: time.Now()}
}

// TestDashboardInBrowserWithToken opens the dashboard of a server that
// requires a control token, as a browser on another machine does: it
// answers the Basic challenge with the token, and the page's buttons must
// then reach the control API with the same credentials.
func TestDashboardInBrowserWithToken(t *testing.T) {
	chromium, node := browserPrereqs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const token = "s3cret-token"
	set := fault.NewSet()
	defer set.Close()
	repl := &fakeReplication{}
	hub := dashboard.New(dashboard.Sources{Faults: set, Replication: repl.Status}, dashboard.Options{})
	hub.Start()
	defer hub.Close()
	ctl := control.NewHandler(control.Config{Faults: set, Replication: repl, Token: token,
		Mounts: map[string]http.Handler{"ui/": hub.Handler()}})
	// The server listens on loopback, as every test server does; the
	// control API sees a remote client, which must present the token.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = "192.0.2.10:40000"
		ctl.ServeHTTP(w, r)
	}))
	defer srv.Close()

	steps := browserSteps(t, ctx, node, "dashboard-token.mjs", "DASHBOARD_URL="+srv.URL+dashboard.Path, "TOKEN="+token, "CHROMIUM="+chromium)
	for _, s := range []string{"loaded", "live", "outage", "paused", "recovered", "ok"} {
		if steps[s] == nil {
			t.Fatalf("browser script did not report step %q", s)
		}
	}
	for _, tt := range []struct{ step, want string }{
		{"outage", "primary outage started"},
		{"paused", "Replication paused."},
		{"recovered", "Recovered: 1 fault rule removed."},
	} {
		if got, _ := steps[tt.step]["text"].(string); steps[tt.step]["error"] != false || !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: the page said %q (error: %v), want %q", tt.step, got, steps[tt.step]["error"], tt.want)
		}
	}
	if !repl.Status().Paused {
		t.Error("replication was not paused")
	}
	if n := len(set.List()); n != 0 {
		t.Errorf("%d fault rules left after Recover", n)
	}
}
