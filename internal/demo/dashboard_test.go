package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/dashboard"
)

// TestRunWithDashboard runs the demo with --dashboard and reads the page's
// event stream while the demo lingers: the stream holds the demo's reads
// in order and its breaker transitions.
func TestRunWithDashboard(t *testing.T) {
	cfg := fastConfig(t)
	cfg.Dashboard = true
	var (
		snap    dashboard.Snapshot
		lingerd bool
	)
	urlRE := regexp.MustCompile(`Dashboard: (http://127\.0\.0\.1:\d+/_geoblob/ui/)\n`)
	cfg.Linger = func(ctx context.Context) {
		lingerd = true
		m := urlRE.FindStringSubmatch(cfg.Stdout.(*bytes.Buffer).String())
		if m == nil {
			t.Error("no dashboard URL printed")
			return
		}
		snap = readSnapshot(t, ctx, m[1])
	}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !lingerd {
		t.Fatal("Linger was not called")
	}
	if snap.Stream != string(sum.Locations) {
		t.Errorf("dashboard stream %q\ndiffers from the demo's reads %q", snap.Stream, sum.Locations)
	}
	if got := snap.Status.ClientReads; got.Primary != sum.Primary || got.Secondary != sum.Secondary || got.Failed != sum.Failed {
		t.Errorf("dashboard counts %+v, summary %s", got, sum)
	}
	opens, closes := 0, 0
	for _, tr := range snap.Transitions {
		switch {
		case tr.From == "closed" && tr.To == "open":
			opens++
		case tr.From == "open" && tr.To == "closed":
			closes++
		}
	}
	if opens != sum.Failovers || closes != sum.Failbacks || opens < 2 {
		t.Errorf("dashboard transitions %+v; summary %s", snap.Transitions, sum)
	}
	if snap.Status.Breaker != "closed" {
		t.Errorf("breaker shown as %q after the run", snap.Status.Breaker)
	}
}

func TestDashboardNeedsTheEmulator(t *testing.T) {
	cfg := fastConfig(t)
	cfg.Dashboard = true
	cfg.ConnectionString = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net"
	if _, err := Run(context.Background(), cfg); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("got %v, want ErrBadConfig", err)
	}
}

func readSnapshot(t *testing.T, ctx context.Context, url string) dashboard.Snapshot {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	var snap dashboard.Snapshot
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			if err := json.Unmarshal([]byte(data), &snap); err != nil {
				t.Fatal(err)
			}
			return snap
		}
	}
	t.Fatalf("no snapshot on the event stream: %v", sc.Err())
	return snap
}

// TestElapsedLeavesOutTheLinger checks that the summary's elapsed time is
// the reads' and not the minutes a person spends on the dashboard after
// them.
func TestElapsedLeavesOutTheLinger(t *testing.T) {
	cfg := fastConfig(t)
	cfg.Dashboard = true
	start := time.Now()
	var before time.Duration // from start to the linger
	cfg.Linger = func(context.Context) {
		before = time.Since(start)
		// Linger a moment: a busy wait, so that the clock has surely moved.
		for time.Since(start) <= before+time.Millisecond {
			runtime.Gosched()
		}
	}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Elapsed > before {
		t.Errorf("elapsed %v includes the linger: the reads were done %v after the start", sum.Elapsed, before)
	}
}
