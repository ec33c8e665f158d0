package emubench

import (
	"fmt"
	"slices"
	"strings"
)

// Verdict statuses.
const (
	Pass = "pass"
	Fail = "fail"
	NA   = "n/a"
)

// minCPU is the least server CPU time, in seconds, a phase must show for
// a CPU verdict: five ticks of /proc/PID/stat, so that the tick
// resolution costs at most 20%.
const minCPU = 5.0 / clockTicks

// refClients is the concurrency at which the small-request targets are
// judged: 16 when measured, as in the profile, else the highest.
func (r *Report) refClients() int {
	if slices.Contains(r.Config.Clients, 16) {
		return 16
	}
	return slices.Max(r.Config.Clients)
}

// buildVerdicts judges the run against the targets of issue 14 §2.
func (r *Report) buildVerdicts() {
	r.Verdicts = nil
	ref := r.azuriteRef()
	atMost := func(target string, v, limit float64, unit string, ok bool, note string) {
		if !ok && note == "" {
			note = "not measured, or too few CPU ticks"
		}
		vd := Verdict{Target: target, Measured: v, Limit: limit, Unit: unit, Status: NA, Note: note}
		if ok {
			vd.Status = Fail
			if v <= limit {
				vd.Status = Pass
			}
		}
		r.Verdicts = append(r.Verdicts, vd)
	}
	atLeast := func(target string, v, limit float64, unit string, ok bool, note string) {
		if !ok && note == "" {
			note = "not measured, or too few CPU ticks"
		}
		vd := Verdict{Target: target, Measured: v, Limit: limit, Unit: unit, Status: NA, Note: note}
		if ok {
			vd.Status = Fail
			if v >= limit {
				vd.Status = Pass
			}
		}
		r.Verdicts = append(r.Verdicts, vd)
	}
	// ratio of geoblob's figure over another server's in one phase.
	// A CPU ratio needs enough clock ticks on both sides to mean anything.
	ratioOf := func(geo, phase, other string, f func(*PhaseResult) float64, cpu bool) (float64, bool) {
		g, o := r.phase(phase, geo), r.phase(phase, other)
		if g == nil || o == nil || g.Errors > 0 || o.Errors > 0 || f(o) == 0 {
			return 0, false
		}
		if cpu && (g.ServerCPU < minCPU || o.ServerCPU < minCPU) {
			return 0, false
		}
		return f(g) / f(o), true
	}
	ratio := func(phase, other string, f func(*PhaseResult) float64, cpu bool) (float64, bool) {
		return ratioOf(Geoblob, phase, other, f, cpu)
	}
	noAz := ""
	if ref == "" {
		noAz = "no Azurite in this run"
	} else if ref != AzuriteName {
		noAz = "against Azurite in memory; the target names disk"
	}
	c := r.refClients()
	cpuOp := func(p *PhaseResult) float64 { return p.CPUPerOp }
	cpuMiB := func(p *PhaseResult) float64 { return p.CPUPerMiB }

	v, ok := ratio(fmt.Sprintf("small-get-c%d", c), Floor, cpuOp, true)
	atMost(fmt.Sprintf("server CPU per 4 KiB GET (%s) vs floor", clientsLabel(c)), v, 1.3, "x", ok, "")
	v, ok = ratio(fmt.Sprintf("small-put-c%d", c), Floor, cpuOp, true)
	atMost(fmt.Sprintf("server CPU per 4 KiB PUT (%s) vs floor", clientsLabel(c)), v, 1.5, "x", ok, "")
	v, ok = ratio("upload-raw", ref, cpuMiB, true)
	atMost("server CPU per uploaded MiB (raw) vs Azurite", v, 1.0/3, "x", ok, noAz)
	v, ok = ratio("download-raw", ref, cpuMiB, true)
	atMost("server CPU per downloaded MiB (raw) vs Azurite", v, 0.1, "x", ok, noAz)
	v, ok = ratio(fmt.Sprintf("small-get-c%d", c), ref, func(p *PhaseResult) float64 { return p.OpsPerSec }, false)
	atLeast(fmt.Sprintf("4 KiB GET throughput via azblob (%s) vs Azurite", clientsLabel(c)), v, 10, "x", ok, noAz)

	// "After the workload" is the last reading: "end" when the workload
	// deleted its data, so that every server holds the same (nothing).
	last := ""
	for _, g := range groups {
		if sr := r.serverResult(Geoblob); sr != nil {
			if _, ok := sr.RSSAfter[g]; ok {
				last = g
			}
		}
	}
	g, a := r.serverResult(Geoblob), r.serverResult(ref)
	ok = g != nil && a != nil && last != "" && a.RSSAfter[last] > 0
	v = 0
	if ok {
		v = g.RSSAfter[last] / a.RSSAfter[last]
	}
	atMost(fmt.Sprintf("RSS %v after the workload vs Azurite (geoblob in memory)", r.Config.Settle), v, 0.25, "x", ok, noAz)
	gd := r.serverResult(GeoblobDisk)
	ok = gd != nil && a != nil && last != "" && a.RSSAfter[last] > 0
	v, note := 0.0, noAz
	if ok {
		v = gd.RSSAfter[last] / a.RSSAfter[last]
	} else if note == "" {
		note = "needs geoblob with a data dir: --geoblob-disk"
	}
	atMost(fmt.Sprintf("RSS %v after the workload vs Azurite (geoblob with a data dir)", r.Config.Settle), v, 0.25, "x", ok, note)
	// Like for like: geoblob keeps everything in memory, so it is also
	// compared with Azurite in memory when that ran.
	am := r.serverResult(AzuriteMemNm)
	ok = g != nil && am != nil && last != "" && am.RSSAfter[last] > 0
	v, note = 0, "needs Azurite in memory: --azurite both"
	if ok {
		v, note = g.RSSAfter[last]/am.RSSAfter[last], ""
	}
	atMost(fmt.Sprintf("RSS %v after the workload vs Azurite in memory", r.Config.Settle), v, 0.25, "x", ok, note)
	peak := func(p *PhaseResult) float64 { return p.PeakRSSMB }
	v, ok = ratio("overwrite", ref, peak, false)
	atMost("peak RSS in the overwrite phase vs Azurite (geoblob in memory)", v, 2, "x", ok, noAz)
	v, ok = ratioOf(GeoblobDisk, "overwrite", ref, peak, false)
	atMost("peak RSS in the overwrite phase vs Azurite (geoblob with a data dir)", v, 2, "x", ok, noAz)
	ok = g != nil && a != nil && a.StartupMS > 0
	v = 0
	if ok {
		v = g.StartupMS / a.StartupMS
	}
	atMost("start-up to first answer vs Azurite", v, 0.1, "x", ok, noAz)

	sizes := slices.Sorted(slices.Values(r.Config.ListSizes))
	if len(sizes) == 0 {
		atMost("root listing with delimiter, 100k blobs: server CPU", 0, 2, " ms", false, "listing skipped")
		atMost("full listing cost linear in blobs", 0, 1.5, "x", false, "listing skipped")
		return
	}
	n := sizes[len(sizes)-1]
	note = ""
	if n != 100_000 {
		note = fmt.Sprintf("measured at %d blobs", n)
	}
	p := r.phase(fmt.Sprintf("list-delim-%d", n), Geoblob)
	ok = p != nil && p.Errors == 0 && p.Ops > 0 && p.ServerCPU >= minCPU
	v = 0
	if ok {
		v = p.CPUPerOp
	}
	if p != nil && p.ServerCPU < minCPU {
		note = strings.TrimPrefix(note+"; too few CPU ticks to judge", "; ")
	}
	atMost("root listing with delimiter, 100k blobs: server CPU", v, 2, " ms", ok, note)
	// Linear: the cost per blob at the largest size is at most 1.5 times
	// the cost per blob at the next size down.
	if len(sizes) < 2 {
		atMost("full listing cost linear in blobs", 0, 1.5, "x", false, "needs two list sizes")
		return
	}
	m := sizes[len(sizes)-2]
	big, small := r.phase(fmt.Sprintf("list-flat-%d", n), Geoblob), r.phase(fmt.Sprintf("list-flat-%d", m), Geoblob)
	ok = big != nil && small != nil && big.Errors == 0 && small.Errors == 0 && big.ServerCPU >= minCPU && small.ServerCPU >= minCPU
	v = 0
	if ok {
		v = (big.CPUPerOp / float64(n)) / (small.CPUPerOp / float64(m))
	}
	atMost(fmt.Sprintf("full listing cost linear: per-blob CPU at %d over at %d", n, m), v, 1.5, "x", ok, "")
}

func clientsLabel(n int) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", n)
}
