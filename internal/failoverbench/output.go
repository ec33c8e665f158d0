package failoverbench

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes one row per client and scenario, then the targets each
// failing row missed.
func WriteTable(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tclient\treads\tfailed\twrong\tfirst sec\tp50\tp99\tmax\tprim att\tafter prim\tgoroutines\ttrans/s\tverdict\t")
	num := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return strconv.FormatFloat(*p, 'f', 0, 64)
	}
	for _, r := range rep.Results {
		share := "-"
		if r.AfterPrimaryShare != nil {
			share = strconv.FormatFloat(100**r.AfterPrimaryShare, 'f', 1, 64) + "%"
		}
		tr := "-"
		if r.TransitionsPerSec != nil {
			tr = strconv.FormatFloat(*r.TransitionsPerSec, 'f', 1, 64)
		}
		failed := strconv.Itoa(r.Failed)
		if r.Unfinished > 0 {
			failed += fmt.Sprintf(" (+%d cut)", r.Unfinished)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%+d\t%s\t%s\t\n",
			r.Scenario, r.Client, r.Reads, failed, r.Wrong, num(r.FirstSecondaryMS), num(r.P50MS), num(r.P99MS), num(r.MaxMS),
			r.PrimaryAttempts, share, r.GoroutineGrowth, tr, r.Verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nTimes in ms. first sec: outage start to the first secondary-served wire read. p50/p99/max: reads in")
	fmt.Fprintln(w, "flight during the outage. prim att: wire requests to the primary during the outage. after prim: share of")
	fmt.Fprintf(w, "wire reads served by the primary in the %v after recovery. goroutines: growth over the run.\n", rep.Config.AfterWindow)
	fmt.Fprintln(w, "trans/s: breaker transitions per second of outage. Verdicts check geoblob's rows against issue 9's targets.")
	if rep.Config.Grace > 0 {
		fmt.Fprintf(w, "Reads still running %v after a run's end were cut (\"cut\"), not counted as failed.\n", rep.Config.Grace)
	}
	var fails []string
	for _, r := range rep.Results {
		if r.Verdict == "FAIL" {
			fails = append(fails, fmt.Sprintf("  %s/%s: %s", r.Scenario, r.Client, failedChecks(&r)))
		}
	}
	if len(fails) > 0 {
		fmt.Fprintln(w, "\nMissed targets:")
		fmt.Fprintln(w, strings.Join(fails, "\n"))
	}
	_, err := fmt.Fprintf(w, "\n%d runs in %v.\n", len(rep.Results), rep.Elapsed.Round(time.Second))
	return err
}

// WriteJSON writes the report (without the per-read rows) as indented JSON.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// CSVHeader is the first row WriteCSV writes.
var CSVHeader = []string{"scenario", "client", "reader", "start_ms", "latency_ms", "served", "ok", "wrong", "in_outage", "wire_requests", "err_kind", "err"}

// WriteCSV writes every read, one row each.
func WriteCSV(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	f := func(d time.Duration) string { return strconv.FormatFloat(ms(d), 'f', 3, 64) }
	for _, r := range rep.Reads {
		errText := r.Err
		if len(errText) > 300 {
			errText = errText[:300]
		}
		if err := cw.Write([]string{r.Scenario, r.Client, strconv.Itoa(r.Reader), f(r.Start), f(r.Latency), r.Served,
			strconv.FormatBool(r.OK), strconv.FormatBool(r.Wrong), strconv.FormatBool(r.InOutage), strconv.Itoa(r.Wire), r.ErrKind, errText}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Files written by WriteFiles.
const (
	TableFile = "table.txt"
	JSONFile  = "results.json"
	CSVFile   = "reads.csv"
)

// SVGFile is the picture of a scenario.
func SVGFile(scenario string) string { return "latency-" + scenario + ".svg" }

// WriteFiles writes the table, the JSON, the CSV and one SVG per scenario
// into dir, creating it.
func WriteFiles(dir string, rep *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, fn func(io.Writer) error) error {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		return errors.Join(fn(f), f.Close())
	}
	err := errors.Join(
		write(TableFile, func(w io.Writer) error { return WriteTable(w, rep) }),
		write(JSONFile, func(w io.Writer) error { return WriteJSON(w, rep) }),
		write(CSVFile, func(w io.Writer) error { return WriteCSV(w, rep) }),
	)
	for _, sc := range rep.scenarioNames() {
		err = errors.Join(err, write(SVGFile(sc), func(w io.Writer) error { return WriteSVG(w, rep, sc) }))
	}
	return err
}

func (rep *Report) scenarioNames() []string {
	var out []string
	for _, r := range rep.Results {
		if len(out) == 0 || out[len(out)-1] != r.Scenario {
			out = append(out, r.Scenario)
		}
	}
	return out
}

// Colours of the serving locations.
var served = []struct{ name, colour string }{
	{"primary", "#1f77b4"},
	{"secondary", "#ff7f0e"},
	{"mixed", "#9467bd"},
	{"none", "#d62728"},
}

// WriteSVG draws, for one scenario, one panel per client: each read's
// latency (log scale) against its start time, coloured by the location
// that served it (red: failed), the outage shaded.
func WriteSVG(w io.Writer, rep *Report, scenario string) error {
	var clients []string
	for _, r := range rep.Results {
		if r.Scenario == scenario {
			clients = append(clients, r.Client)
		}
	}
	const (
		width, left, right, top, panelH, gap = 900.0, 70.0, 20.0, 40.0, 170.0, 40.0
	)
	height := top + float64(len(clients))*(panelH+gap) + 20
	lo, hi := math.Log10(0.5), math.Log10(math.Max(ms(rep.Config.ReadTimeout), 1000)*1.2)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="14">geoblob bench failover: %s (read latency over time; shaded: outage)</text>`+"\n", left, xmlEscape(scenario))
	lx := left
	for _, s := range served {
		label := s.name
		if label == "none" {
			label = "failed"
		}
		fmt.Fprintf(&b, `<circle cx="%.0f" cy="30" r="4" fill="%s"/><text x="%.0f" y="34">%s</text>`+"\n", lx, s.colour, lx+8, label)
		lx += 90
	}
	// One time axis for every panel, long enough for the last read to end.
	span := 0.0
	for _, client := range clients {
		span = math.Max(span, ms(rep.Timelines[key(scenario, client)].End)*1.02)
	}
	for _, r := range rep.Reads {
		if r.Scenario == scenario {
			span = math.Max(span, ms(r.Start+r.Latency))
		}
	}
	for i, client := range clients {
		tl := rep.Timelines[key(scenario, client)]
		y0 := top + float64(i)*(panelH+gap) + 20
		plotW := width - left - right
		x := func(msv float64) float64 { return left + plotW*msv/span }
		y := func(msv float64) float64 {
			v := math.Log10(math.Max(msv, 0.5))
			return y0 + panelH - panelH*(v-lo)/(hi-lo)
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="12" font-weight="bold">%s</text>`+"\n", left, y0-6, xmlEscape(client))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#e6e6e6"/>`+"\n", x(ms(tl.OutageStart)), y0, x(ms(tl.OutageEnd))-x(ms(tl.OutageStart)), panelH)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#888"/>`+"\n", left, y0, plotW, panelH)
		for _, t := range []float64{1, 10, 100, 1000, 10000} {
			if math.Log10(t) > hi {
				break
			}
			label := fmt.Sprintf("%gms", t)
			if t >= 1000 {
				label = fmt.Sprintf("%gs", t/1000)
			}
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ccc"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", left, left+plotW, y(t), y(t), left-4, y(t)+4, label)
		}
		step := 1000.0
		if span > 20000 {
			step = 5000
		}
		for t := 0.0; t <= span; t += step {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%gs</text>`+"\n", x(t), y0+panelH+13, t/1000)
		}
		// One dot per pixel and colour: the picture stays small whatever
		// the number of reads.
		seen := map[[3]int]bool{}
		for si, s := range served {
			fmt.Fprintf(&b, `<g fill="%s" fill-opacity="0.6">`, s.colour)
			for _, r := range rep.Reads {
				if r.Scenario != scenario || r.Client != client || r.Served != s.name {
					continue
				}
				px, py := x(ms(r.Start)), y(ms(r.Latency))
				k := [3]int{int(px), int(py), si}
				if seen[k] {
					continue
				}
				seen[k] = true
				fmt.Fprintf(&b, `<circle cx="%.0f" cy="%.0f" r="1.6"/>`, px, py)
			}
			b.WriteString("</g>\n")
		}
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
