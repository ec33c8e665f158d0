package failoverbench

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Report is the outcome of a Run.
type Report struct {
	Config  Config        `json:"config"`
	Started time.Time     `json:"started"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Results []Result      `json:"results"`
	// Reads is every read of every run, in run order.
	Reads []Read `json:"-"`
	// Timelines maps scenario/client to when its outage happened.
	Timelines map[string]Timeline `json:"timelines"`
}

// Result is one client's figures in one scenario. Durations are in
// milliseconds; a figure that does not apply is null in JSON.
type Result struct {
	Scenario string `json:"scenario"`
	Client   string `json:"client"`
	Reads    int    `json:"reads"`
	Failed   int    `json:"failed"`
	// Unfinished counts reads cut at the end of the run (Config.Grace);
	// their latency, a lower bound, is in the percentiles.
	Unfinished int `json:"unfinished"`
	// Wrong counts reads that returned bytes other than the committed ones.
	Wrong int `json:"wrong"`
	// FirstSecondaryMS is from the outage's start to the end of the first
	// wire read the secondary served in the outage; null if none.
	FirstSecondaryMS *float64 `json:"first_secondary_ms"`
	// OutageReads is the number of reads in flight during the outage
	// (started before its end, ended after its start), and P50/P99/Max
	// their latency.
	OutageReads  int      `json:"outage_reads"`
	OutageFailed int      `json:"outage_failed"`
	P50MS        *float64 `json:"p50_ms"`
	P99MS        *float64 `json:"p99_ms"`
	MaxMS        *float64 `json:"max_ms"`
	// PrimaryAttempts counts wire requests sent to the primary during the
	// outage.
	PrimaryAttempts int `json:"primary_attempts"`
	// AfterPrimaryShare is the share of wire reads of blobs (reads, chunks
	// and resumptions; not service requests) served (2xx, body whole) by
	// the primary among those that started in the AfterWindow after the
	// outage ended; AfterWireReads is how many there were.
	AfterPrimaryShare *float64 `json:"after_primary_share"`
	AfterWireReads    int      `json:"after_wire_reads"`
	// BothUnavailable counts failed reads that were geoblob's
	// ErrBothUnavailable; Timeouts those that hit the read timeout.
	BothUnavailable int `json:"both_unavailable"`
	Timeouts        int `json:"timeouts"`
	// GoroutineGrowth is the goroutines left over once the run ended and
	// its idle connections were closed (per scenario with Parallel).
	GoroutineGrowth int `json:"goroutine_growth"`
	// Transitions are the breaker's during the outage (geoblob only), and
	// TransitionsPerSec per second of outage.
	Transitions       *int64   `json:"transitions"`
	TransitionsPerSec *float64 `json:"transitions_per_sec"`
	// Checks are the targets that apply to the row, and Verdict sums them
	// up: PASS, FAIL or - when no target applies.
	Checks  []Check `json:"checks"`
	Verdict string  `json:"verdict"`
	// DroppedWire is non-zero when the wire log hit its bound.
	DroppedWire int `json:"dropped_wire,omitempty"`
}

// Check is one target measured for one row.
type Check struct {
	Target string `json:"target"`
	Pass   bool   `json:"pass"`
	Got    string `json:"got"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ptr[T any](v T) *T { return &v }

// percentile returns the p-th percentile (0..1) of sorted, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func key(scenario, client string) string { return scenario + "/" + client }

// report computes the figures of every run and checks the targets.
func report(cfg Config, runs []*runData) *Report {
	rep := &Report{Config: cfg, Timelines: map[string]Timeline{}}
	for _, rd := range runs {
		rep.Results = append(rep.Results, measure(rd))
		rep.Reads = append(rep.Reads, rd.reads...)
		rep.Timelines[key(rd.scenario.name, rd.client)] = rd.timeline
	}
	byKey := map[string]*Result{}
	for i := range rep.Results {
		r := &rep.Results[i]
		byKey[key(r.Scenario, r.Client)] = r
	}
	sc := map[string]scenario{}
	for _, s := range scenarios() {
		sc[s.name] = s
	}
	for i := range rep.Results {
		r := &rep.Results[i]
		r.Checks = checks(cfg, sc[r.Scenario], r, byKey)
		r.Verdict = "-"
		if len(r.Checks) > 0 {
			r.Verdict = "PASS"
			for _, c := range r.Checks {
				if !c.Pass {
					r.Verdict = "FAIL"
				}
			}
		}
	}
	return rep
}

func measure(rd *runData) Result {
	tl := rd.timeline
	r := Result{Scenario: rd.scenario.name, Client: rd.client, Reads: len(rd.reads), GoroutineGrowth: rd.goroutines, DroppedWire: rd.dropped}
	var lat []time.Duration
	for _, rd := range rd.reads {
		if rd.ErrKind == "unfinished" {
			r.Unfinished++
		} else if !rd.OK {
			r.Failed++
			switch rd.ErrKind {
			case "both-unavailable":
				r.BothUnavailable++
			case "timeout":
				r.Timeouts++
			}
		}
		if rd.Wrong {
			r.Wrong++
		}
		if rd.InOutage {
			r.OutageReads++
			lat = append(lat, rd.Latency)
			if !rd.OK && rd.ErrKind != "unfinished" {
				r.OutageFailed++
			}
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		r.P50MS, r.P99MS, r.MaxMS = ptr(ms(percentile(lat, 0.5))), ptr(ms(percentile(lat, 0.99))), ptr(ms(lat[len(lat)-1]))
	}
	outStart, outEnd := rd.t0.Add(tl.OutageStart), rd.t0.Add(tl.OutageEnd)
	after := outEnd.Add(rd.afterWindow())
	var first time.Duration = -1
	var ap, as int
	for _, e := range rd.wire {
		if e.loc == "primary" && !e.at.Before(outStart) && e.at.Before(outEnd) {
			r.PrimaryAttempts++
		}
		if !e.servedRead() {
			continue
		}
		if e.loc == "secondary" && !e.end.Before(outStart) && e.at.Before(outEnd) {
			if d := e.end.Sub(outStart); first < 0 || d < first {
				first = d
			}
		}
		if !e.at.Before(outEnd) && e.at.Before(after) {
			if e.loc == "primary" {
				ap++
			} else {
				as++
			}
		}
	}
	if first >= 0 {
		r.FirstSecondaryMS = ptr(ms(first))
	}
	r.AfterWireReads = ap + as
	if ap+as > 0 {
		r.AfterPrimaryShare = ptr(float64(ap) / float64(ap+as))
	}
	if rd.client == ClientGeoblob {
		r.Transitions = ptr(rd.transitions)
		r.TransitionsPerSec = ptr(float64(rd.transitions) / (tl.OutageEnd - tl.OutageStart).Seconds())
	}
	return r
}

// afterWindow is the window after recovery that the share is measured in.
func (rd *runData) afterWindow() time.Duration {
	return min(rd.timeline.End-rd.timeline.OutageEnd, rd.afterWin)
}

// checks measures the targets of issue 9 that apply to r.
func checks(cfg Config, sc scenario, r *Result, byKey map[string]*Result) []Check {
	var out []Check
	add := func(target string, pass bool, format string, a ...any) {
		out = append(out, Check{Target: target, Pass: pass, Got: fmt.Sprintf(format, a...)})
	}
	add("0 wrong bytes", r.Wrong == 0, "%d wrong", r.Wrong)
	if r.Client != ClientGeoblob {
		return out
	}
	if sc.secondaryHealthy || sc.name == ScenarioSecondaryBlip {
		add("0 failed reads", r.Failed == 0, "%d failed", r.Failed)
	}
	msOr := func(p *float64) string {
		if p == nil {
			return "none"
		}
		return fmt.Sprintf("%.0fms", *p)
	}
	switch sc.name {
	case ScenarioHang, Scenario503ThenHang:
		add("first secondary read <= 2s", r.FirstSecondaryMS != nil && *r.FirstSecondaryMS <= 2000, "%s", msOr(r.FirstSecondaryMS))
		add("no read in the outage > 3s", r.MaxMS != nil && *r.MaxMS <= 3000, "max %s", msOr(r.MaxMS))
	case Scenario503:
		add("first secondary read <= 100ms", r.FirstSecondaryMS != nil && *r.FirstSecondaryMS <= 100, "%s", msOr(r.FirstSecondaryMS))
		if alt := byKey[key(sc.name, ClientAlternation)]; alt != nil && alt.P99MS != nil && r.P99MS != nil {
			add("p99 <= alternation p99 / 2", *r.P99MS <= *alt.P99MS/2, "%.0fms vs %.0fms", *r.P99MS, *alt.P99MS)
		}
	case ScenarioSlow:
		if az := byKey[key(sc.name, ClientAzblob)]; az != nil && az.P99MS != nil && r.P99MS != nil {
			add("p99 <= azblob p99 / 2", *r.P99MS <= *az.P99MS/2, "%.0fms vs %.0fms", *r.P99MS, *az.P99MS)
		}
	case ScenarioFlapping:
		if r.TransitionsPerSec != nil {
			add("<= 10 transitions/s", *r.TransitionsPerSec <= 10, "%.1f/s", *r.TransitionsPerSec)
		}
	case ScenarioDoubleOutage:
		add("every outage read ends <= 5s", r.MaxMS != nil && *r.MaxMS <= 5000, "max %s", msOr(r.MaxMS))
		add("failures are ErrBothUnavailable", r.OutageFailed > 0 && r.BothUnavailable == r.Failed, "%d of %d", r.BothUnavailable, r.Failed)
	}
	if sc.name != ScenarioDoubleOutage || r.AfterWireReads > 0 {
		share := "none"
		if r.AfterPrimaryShare != nil {
			share = fmt.Sprintf("%.1f%%", 100**r.AfterPrimaryShare)
		}
		add(fmt.Sprintf(">= 95%% primary within %v of recovery", cfg.AfterWindow), r.AfterPrimaryShare != nil && *r.AfterPrimaryShare >= 0.95, "%s of %d", share, r.AfterWireReads)
	}
	return out
}

// failedChecks lists the targets r missed, for the table.
func failedChecks(r *Result) string {
	var f []string
	for _, c := range r.Checks {
		if !c.Pass {
			f = append(f, c.Target+" ("+c.Got+")")
		}
	}
	return strings.Join(f, "; ")
}
