package emubench

import (
	"testing"
)

// reportWith builds a report from phases and servers alone, the way Run
// does after the workload.
func reportWith(servers []ServerResult, phases []PhaseResult) *Report {
	cfg := DefaultConfig()
	r := &Report{Config: cfg, Servers: servers, Phases: phases}
	r.buildRows()
	r.buildVerdicts()
	return r
}

func TestVerdicts(t *testing.T) {
	servers := []ServerResult{
		{Name: Geoblob, StartupMS: 50, RSSAfter: map[string]float64{"small": 20, "overwrite": 40}},
		{Name: GeoblobDisk, StartupMS: 60, RSSAfter: map[string]float64{"small": 15, "overwrite": 30}},
		{Name: AzuriteName, StartupMS: 1000, RSSAfter: map[string]float64{"small": 200, "overwrite": 200}},
		{Name: AzuriteMemNm, StartupMS: 900, RSSAfter: map[string]float64{"small": 300, "overwrite": 400}},
		{Name: Floor, StartupMS: 40, RSSAfter: map[string]float64{"small": 10, "overwrite": 12}},
	}
	ph := func(phase, server string, cpuS, perOp, perMiB, opsPerSec, peak float64) PhaseResult {
		return PhaseResult{Phase: phase, Server: server, Ops: 100, ServerCPU: cpuS, CPUPerOp: perOp, CPUPerMiB: perMiB, OpsPerSec: opsPerSec, PeakRSSMB: peak}
	}
	phases := []PhaseResult{
		ph("small-get-c16", Geoblob, 1, 0.10, 0, 12000, 0),
		ph("small-get-c16", Floor, 1, 0.08, 0, 15000, 0),
		ph("small-get-c16", AzuriteName, 1, 1.5, 0, 1000, 0),
		ph("small-put-c16", Geoblob, 1, 0.13, 0, 0, 0),
		ph("small-put-c16", Floor, 1, 0.06, 0, 0, 0),
		ph("upload-raw", Geoblob, 1, 0, 3, 0, 0),
		ph("upload-raw", AzuriteName, 1, 0, 7, 0, 0),
		ph("download-raw", Geoblob, 0.01, 0, 0.5, 0, 0), // too few ticks
		ph("download-raw", AzuriteName, 1, 0, 7, 0, 0),
		ph("overwrite", Geoblob, 1, 0, 1, 0, 500),
		ph("overwrite", GeoblobDisk, 1, 0, 1, 0, 100),
		ph("overwrite", AzuriteName, 1, 0, 1, 0, 160),
		ph("list-delim-100000", Geoblob, 0.5, 1.1, 0, 0, 0),
		ph("list-flat-10000", Geoblob, 1, 100, 0, 0, 0),
		ph("list-flat-100000", Geoblob, 1, 2000, 0, 0, 0),
	}
	r := reportWith(servers, phases)
	want := []struct {
		status   string
		measured float64
	}{
		{Pass, 0.10 / 0.08},
		{Fail, 0.13 / 0.06},
		{Fail, 3.0 / 7},
		{NA, 0},
		{Pass, 12},
		{Pass, 40.0 / 200},
		{Pass, 30.0 / 200},
		{Pass, 40.0 / 400},
		{Fail, 500.0 / 160},
		{Pass, 100.0 / 160},
		{Pass, 0.05},
		{Pass, 1.1},
		{Fail, 2},
	}
	if len(r.Verdicts) != len(want) {
		t.Fatalf("%d verdicts, want %d", len(r.Verdicts), len(want))
	}
	for i, w := range want {
		v := r.Verdicts[i]
		if v.Status != w.status || !near(v.Measured, w.measured) {
			t.Errorf("verdict %d %q: %s %v, want %s %v", i, v.Target, v.Status, v.Measured, w.status, w.measured)
		}
	}
	// The ratio target of upload-raw passes at exactly a third.
	if got := r.Verdicts[2].Limit; !near(got, 1.0/3) {
		t.Errorf("upload limit %v", got)
	}
}

// TestRSSVerdictsReadAfterTheEnd: when the workload deleted its data, the
// RSS targets are judged on the reading taken after that ("end"), where
// every server holds the same blobs, not on the overwrite group's.
func TestRSSVerdictsReadAfterTheEnd(t *testing.T) {
	r := reportWith([]ServerResult{
		{Name: Geoblob, RSSAfter: map[string]float64{"overwrite": 300, "end": 20}},
		{Name: GeoblobDisk, RSSAfter: map[string]float64{"overwrite": 100, "end": 60}},
		{Name: AzuriteName, RSSAfter: map[string]float64{"overwrite": 200, "end": 200}},
	}, nil)
	want := map[string]struct {
		status string
		v      float64
	}{
		"RSS 2s after the workload vs Azurite (geoblob in memory)":       {Pass, 0.1},
		"RSS 2s after the workload vs Azurite (geoblob with a data dir)": {Fail, 0.3},
	}
	found := 0
	for _, v := range r.Verdicts {
		if w, ok := want[v.Target]; ok {
			found++
			if v.Status != w.status || !near(v.Measured, w.v) {
				t.Errorf("%q: %s %v, want %s %v", v.Target, v.Status, v.Measured, w.status, w.v)
			}
		}
	}
	if found != len(want) {
		t.Fatalf("found %d of the %d RSS verdicts", found, len(want))
	}
	var endRow bool
	for _, row := range r.Rows {
		endRow = endRow || row.Metric == "RSS 2s after the workload, its data deleted"
	}
	if !endRow {
		t.Error("no table row for the reading after the data was deleted")
	}
}

func TestVerdictsWithoutAzurite(t *testing.T) {
	r := reportWith([]ServerResult{{Name: Geoblob, StartupMS: 5, RSSAfter: map[string]float64{}}}, nil)
	for _, v := range r.Verdicts {
		if v.Status != NA {
			t.Errorf("%q: %s without Azurite or phases, want n/a", v.Target, v.Status)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
