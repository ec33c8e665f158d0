package emubench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of one [Run].
type Report struct {
	Started  time.Time      `json:"started"`
	Seconds  float64        `json:"seconds"`
	Command  string         `json:"command,omitempty"`
	Machine  Machine        `json:"machine"`
	Config   Config         `json:"config"`
	Notes    []string       `json:"notes,omitempty"`
	Servers  []ServerResult `json:"servers"`
	Phases   []PhaseResult  `json:"phases"`
	Rows     []Row          `json:"rows"`
	Verdicts []Verdict      `json:"verdicts"`
}

// Machine describes where the run happened.
type Machine struct {
	NumCPU       int    `json:"nproc"`
	MemTotalMB   int64  `json:"mem_total_mb"`
	CPUModel     string `json:"cpu_model"`
	Kernel       string `json:"kernel"`
	GoVersion    string `json:"go_version"`
	NodeVersion  string `json:"node_version,omitempty"`
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end"`
}

// ServerResult is what was measured of a server outside the phases.
type ServerResult struct {
	Name      string             `json:"name"`
	Version   string             `json:"version,omitempty"`
	StartupMS float64            `json:"startup_ms"`
	RSSAfter  map[string]float64 `json:"rss_after_mb"` // by phase group, Settle after its last phase
	HWMMB     float64            `json:"vmhwm_mb"`     // the process's own peak RSS at the end
	Error     string             `json:"error,omitempty"`
}

// PhaseResult is one phase on one server.
type PhaseResult struct {
	Phase      string  `json:"phase"`
	Group      string  `json:"group"`
	Server     string  `json:"server"`
	Clients    int     `json:"clients,omitempty"`
	Ops        int     `json:"ops"`
	Items      int     `json:"items,omitempty"`
	Bytes      int64   `json:"bytes"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	OpsPerSec  float64 `json:"ops_per_sec"`
	MiBPerSec  float64 `json:"mib_per_sec,omitempty"`
	P50MS      float64 `json:"p50_ms"`
	P99MS      float64 `json:"p99_ms"`
	ServerCPU  float64 `json:"server_cpu_s"`
	CPUPerOp   float64 `json:"server_cpu_ms_per_op"`
	CPUPerMiB  float64 `json:"server_cpu_ms_per_mib,omitempty"`
	// Faults counts the server's minor page faults during the phase.
	Faults       int64   `json:"server_minor_faults"`
	FaultsPerOp  float64 `json:"server_faults_per_op"`
	FaultsPerMiB float64 `json:"server_faults_per_mib,omitempty"`
	ClientCPU    float64 `json:"client_cpu_s"`
	ClientOp     float64 `json:"client_cpu_ms_per_op"`
	ClientMiB    float64 `json:"client_cpu_ms_per_mib,omitempty"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	RSSAfterMB   float64 `json:"rss_after_group_mb"`
}

// Row is one line of the comparison table.
type Row struct {
	Metric string             `json:"metric"`
	Unit   string             `json:"unit"`
	Better string             `json:"better"` // "lower" or "higher"
	Values map[string]float64 `json:"values"` // by server
	// GeoAzurite is geoblob's value over Azurite's (disk, else memory);
	// GeoFloor is geoblob's over the floor's. Zero when not measured.
	GeoAzurite float64 `json:"geoblob_over_azurite,omitempty"`
	GeoFloor   float64 `json:"geoblob_over_floor,omitempty"`
}

// Verdict is one target of issue 14 §2, computed from the run.
type Verdict struct {
	Target   string  `json:"target"`
	Measured float64 `json:"measured"`
	Limit    float64 `json:"limit"`
	Unit     string  `json:"unit"`
	Status   string  `json:"status"` // "pass", "fail" or "n/a"
	Note     string  `json:"note,omitempty"`
}

// phase finds a result.
func (r *Report) phase(name, server string) *PhaseResult {
	for i := range r.Phases {
		if r.Phases[i].Phase == name && r.Phases[i].Server == server {
			return &r.Phases[i]
		}
	}
	return nil
}

func (r *Report) serverResult(name string) *ServerResult {
	for i := range r.Servers {
		if r.Servers[i].Name == name && r.Servers[i].Error == "" {
			return &r.Servers[i]
		}
	}
	return nil
}

// serverNames lists the servers that ran, in table order.
func (r *Report) serverNames() []string {
	var names []string
	for _, n := range []string{Geoblob, GeoblobDisk, AzuriteName, AzuriteMemNm, Floor} {
		if r.serverResult(n) != nil {
			names = append(names, n)
		}
	}
	return names
}

// azuriteRef is the Azurite the ratios are taken against: disk
// persistence, as in the targets, else memory.
func (r *Report) azuriteRef() string {
	for _, n := range []string{AzuriteName, AzuriteMemNm} {
		if r.serverResult(n) != nil {
			return n
		}
	}
	return ""
}

// percentile of sorted durations, in milliseconds.
func percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(d)))) - 1
	i = max(0, min(i, len(d)-1))
	return float64(d[i]) / float64(time.Millisecond)
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// buildRows derives the comparison table from the phases.
func (r *Report) buildRows() {
	r.Rows = nil
	add := func(metric, unit, better string, get func(s string) (float64, bool)) {
		row := Row{Metric: metric, Unit: unit, Better: better, Values: map[string]float64{}}
		for _, s := range r.serverNames() {
			if v, ok := get(s); ok {
				row.Values[s] = v
			}
		}
		if len(row.Values) == 0 {
			return
		}
		g, gok := row.Values[Geoblob]
		if a, ok := row.Values[r.azuriteRef()]; ok && gok && a != 0 {
			row.GeoAzurite = g / a
		}
		// The floor holds both payloads in memory and stores nothing, so
		// its memory is no floor for a server's.
		if f, ok := row.Values[Floor]; ok && gok && f != 0 && unit != "MB" {
			row.GeoFloor = g / f
		}
		r.Rows = append(r.Rows, row)
	}
	ph := func(name string, f func(p *PhaseResult) float64) func(string) (float64, bool) {
		return func(s string) (float64, bool) {
			p := r.phase(name, s)
			if p == nil || p.Ops == 0 {
				return 0, false
			}
			return f(p), true
		}
	}
	add("start-up to first answer", "ms", "lower", func(s string) (float64, bool) {
		sr := r.serverResult(s)
		return sr.StartupMS, sr != nil
	})
	for _, kind := range []string{"get", "put"} {
		for _, c := range r.Config.Clients {
			name := fmt.Sprintf("small-%s-c%d", kind, c)
			label := fmt.Sprintf("4 KiB %s, %d clients", strings.ToUpper(kind), c)
			if c == 1 {
				label = fmt.Sprintf("4 KiB %s, 1 client", strings.ToUpper(kind))
			}
			add(label+": throughput", "ops/s", "higher", ph(name, func(p *PhaseResult) float64 { return p.OpsPerSec }))
			add(label+": p50", "ms", "lower", ph(name, func(p *PhaseResult) float64 { return p.P50MS }))
			add(label+": p99", "ms", "lower", ph(name, func(p *PhaseResult) float64 { return p.P99MS }))
			add(label+": server CPU", "ms/op", "lower", ph(name, func(p *PhaseResult) float64 { return p.CPUPerOp }))
			add(label+": client CPU", "ms/op", "lower", ph(name, func(p *PhaseResult) float64 { return p.ClientOp }))
			add(label+": server page faults", "per op", "lower", ph(name, func(p *PhaseResult) float64 { return p.FaultsPerOp }))
		}
	}
	for _, l := range largePhases {
		label := fmt.Sprintf("%d MiB %s", r.Config.LargeSize>>20, l.label)
		add(label+": throughput", "MiB/s", "higher", ph(l.name, func(p *PhaseResult) float64 { return p.MiBPerSec }))
		add(label+": server CPU", "ms/MiB", "lower", ph(l.name, func(p *PhaseResult) float64 { return p.CPUPerMiB }))
		add(label+": client CPU", "ms/MiB", "lower", ph(l.name, func(p *PhaseResult) float64 { return p.ClientMiB }))
		add(label+": server page faults", "per MiB", "lower", ph(l.name, func(p *PhaseResult) float64 { return p.FaultsPerMiB }))
		add(label+": peak RSS", "MB", "lower", ph(l.name, func(p *PhaseResult) float64 { return p.PeakRSSMB }))
	}
	for _, n := range r.Config.ListSizes {
		fillName := fmt.Sprintf("list-fill-%d", n)
		add(fmt.Sprintf("fill %d empty blobs: throughput", n), "ops/s", "higher", ph(fillName, func(p *PhaseResult) float64 { return p.OpsPerSec }))
		flat := fmt.Sprintf("list-flat-%d", n)
		add(fmt.Sprintf("list %d blobs flat: wall", n), "ms/listing", "lower", ph(flat, func(p *PhaseResult) float64 { return p.P50MS }))
		add(fmt.Sprintf("list %d blobs flat: server CPU", n), "ms/listing", "lower", ph(flat, func(p *PhaseResult) float64 { return p.CPUPerOp }))
		add(fmt.Sprintf("list %d blobs flat: server CPU per 1k blobs", n), "ms", "lower", ph(flat, func(p *PhaseResult) float64 { return p.CPUPerOp * 1000 / float64(n) }))
		delim := fmt.Sprintf("list-delim-%d", n)
		add(fmt.Sprintf("list %d blobs, root with delimiter: wall", n), "ms/listing", "lower", ph(delim, func(p *PhaseResult) float64 { return p.P50MS }))
		add(fmt.Sprintf("list %d blobs, root with delimiter: server CPU", n), "ms/listing", "lower", ph(delim, func(p *PhaseResult) float64 { return p.CPUPerOp }))
		add(fmt.Sprintf("list %d blobs: peak RSS", n), "MB", "lower", ph(flat, func(p *PhaseResult) float64 { return p.PeakRSSMB }))
	}
	if r.Config.Overwrites > 0 {
		label := fmt.Sprintf("%d overwrites of %d MiB, lag %v", r.Config.Overwrites, r.Config.LargeSize>>20, r.Config.Lag)
		add(label+": throughput", "MiB/s", "higher", ph("overwrite", func(p *PhaseResult) float64 { return p.MiBPerSec }))
		add(label+": server CPU", "ms/MiB", "lower", ph("overwrite", func(p *PhaseResult) float64 { return p.CPUPerMiB }))
		add(label+": peak RSS", "MB", "lower", ph("overwrite", func(p *PhaseResult) float64 { return p.PeakRSSMB }))
	}
	for _, g := range groups {
		label := fmt.Sprintf("RSS %v after the %s phases", r.Config.Settle, g)
		if g == "end" {
			label = fmt.Sprintf("RSS %v after the workload, its data deleted", r.Config.Settle)
		}
		add(label, "MB", "lower", func(s string) (float64, bool) {
			sr := r.serverResult(s)
			if sr == nil {
				return 0, false
			}
			v, ok := sr.RSSAfter[g]
			return v, ok
		})
	}
	add("peak RSS over the run (VmHWM)", "MB", "lower", func(s string) (float64, bool) {
		sr := r.serverResult(s)
		return sr.HWMMB, sr != nil
	})
}

// largePhases are the large-transfer phases in order.
var largePhases = []struct{ name, label string }{
	{"upload-azblob", "upload, azblob (one Put Blob)"},
	{"download-azblob", "download, azblob (parallel ranges)"},
	{"upload-raw", "upload, raw HTTP (Put Block + Put Block List)"},
	{"download-raw", "download, raw HTTP (parallel ranged GETs)"},
}

// groups of phases after which RSS is read, in run order. Each group's
// reading is taken with every server holding the same blobs: what the
// group wrote, less any container some server did not take part in
// (deleted before the reading). A group then deletes what it wrote; "end"
// is read after the last of it is deleted.
var groups = []string{"small", "large", "list", "overwrite", "end"}

// README markers between which [Report.UpdateReadme] writes.
const (
	ReadmeBegin = "<!-- geoblob bench emulator: begin (generated, do not edit) -->"
	ReadmeEnd   = "<!-- geoblob bench emulator: end -->"
)

// UpdateReadme replaces the text between [ReadmeBegin] and [ReadmeEnd] in
// doc with the machine, the command and the table of this run, and a link
// to the picture at svgPath. It fails when the markers are missing.
func (r *Report) UpdateReadme(doc []byte, svgPath string) ([]byte, error) {
	s := string(doc)
	i := strings.Index(s, ReadmeBegin)
	j := strings.Index(s, ReadmeEnd)
	if i < 0 || j < i {
		return nil, fmt.Errorf("emubench: README lacks the markers %q and %q", ReadmeBegin, ReadmeEnd)
	}
	var b strings.Builder
	b.WriteString(ReadmeBegin + "\n\n")
	m := r.Machine
	fmt.Fprintf(&b, "Run %s, %.0f s, on %d CPUs (%s), %d MB of memory, Linux %s, %s",
		r.Started.Format("2006-01-02 15:04 MST"), r.Seconds, m.NumCPU, m.CPUModel, m.MemTotalMB, m.Kernel, m.GoVersion)
	if m.NodeVersion != "" {
		fmt.Fprintf(&b, ", Node.js %s", m.NodeVersion)
	}
	fmt.Fprintf(&b, "; load average %s before and %s after (a shared machine: the figures are noisy).\n\n", loadAvg(m.LoadAvgStart), loadAvg(m.LoadAvgEnd))
	fmt.Fprintf(&b, "```\n%s\n```\n\n", r.Command)
	if svgPath != "" {
		fmt.Fprintf(&b, "![geoblob over Azurite and the floor](%s)\n\n", svgPath)
	}
	if err := r.WriteTable(&b); err != nil {
		return nil, err
	}
	b.WriteString("\n")
	return []byte(s[:i] + b.String() + s[j:]), nil
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("emubench: json: %w", err)
	}
	return nil
}

// fmtNum prints v with about three significant digits.
func fmtNum(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	case a >= 0.01:
		return fmt.Sprintf("%.3f", v)
	default:
		return fmt.Sprintf("%.2g", v)
	}
}

func fmtRatio(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmtNum(v) + "x"
}

// WriteTable writes the comparison table, the verdicts and any notes as
// plain text (Markdown-compatible).
func (r *Report) WriteTable(w io.Writer) error {
	names := r.serverNames()
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	head := "metric\tunit"
	sep := "---\t---"
	for _, n := range names {
		head += "\t" + n
		sep += "\t---:"
	}
	ref := r.azuriteRef()
	if ref != "" {
		head += "\tgeoblob/" + ref
		sep += "\t---:"
	}
	head += "\tgeoblob/floor"
	sep += "\t---:"
	fmt.Fprintln(tw, "| "+head+"\t")
	fmt.Fprintln(tw, "| "+sep+"\t")
	for _, row := range r.Rows {
		line := row.Metric + "\t" + row.Unit
		for _, n := range names {
			if v, ok := row.Values[n]; ok {
				line += "\t" + fmtNum(v)
			} else {
				line += "\t-"
			}
		}
		if ref != "" {
			line += "\t" + fmtRatio(row.GeoAzurite)
		}
		line += "\t" + fmtRatio(row.GeoFloor)
		fmt.Fprintln(tw, "| "+line+"\t")
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("emubench: table: %w", err)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Targets of issue 14 §2 (computed from this run, not asserted):")
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| target\tmeasured\tlimit\tverdict\t")
	fmt.Fprintln(tw, "| ---\t---:\t---:\t---\t")
	for _, v := range r.Verdicts {
		m, l := fmtNum(v.Measured)+v.Unit, fmtNum(v.Limit)+v.Unit
		if v.Status == "n/a" {
			m = "-"
		}
		st := v.Status
		if v.Note != "" {
			st += " (" + v.Note + ")"
		}
		fmt.Fprintf(tw, "| %s\t%s\t%s\t%s\t\n", v.Target, m, l, st)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("emubench: table: %w", err)
	}
	var errs []string
	for _, p := range r.Phases {
		if p.Errors > 0 {
			errs = append(errs, fmt.Sprintf("%s on %s: %d errors, first: %s", p.Phase, p.Server, p.Errors, p.FirstError))
		}
	}
	notes := slices.Concat(r.Notes, errs)
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, "- "+n)
		}
	}
	return nil
}
