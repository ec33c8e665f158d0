package emubench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// chartItem is one bar of the picture: a ratio of geoblob over another
// server, with its target when the issue sets one.
type chartItem struct {
	label  string
	ratio  float64
	limit  float64 // 0 when there is no target
	status string
}

// chartItems picks the main ratios: every ratio target, then the listing
// costs at the largest size against Azurite.
func (r *Report) chartItems() []chartItem {
	var items []chartItem
	for _, v := range r.Verdicts {
		if v.Unit != "x" || v.Status == NA || strings.HasPrefix(v.Target, "full listing") {
			continue
		}
		items = append(items, chartItem{label: v.Target, ratio: v.Measured, limit: v.Limit, status: v.Status})
	}
	// Listing costs at the largest size Azurite was listed at.
	big := 0
	for _, row := range r.Rows {
		var n int
		if _, err := fmt.Sscanf(row.Metric, "list %d blobs", &n); err == nil && row.GeoAzurite != 0 {
			big = max(big, n)
		}
	}
	for _, row := range r.Rows {
		var n int
		if _, err := fmt.Sscanf(row.Metric, "list %d blobs", &n); err != nil || n != big || row.GeoAzurite == 0 ||
			!strings.HasSuffix(row.Metric, "server CPU") {
			continue
		}
		items = append(items, chartItem{label: row.Metric + " vs Azurite", ratio: row.GeoAzurite})
	}
	return items
}

// WriteSVG draws the main ratios as horizontal bars on a logarithmic scale
// around 1 (geoblob equal to the other server), each with its target.
func (r *Report) WriteSVG(w io.Writer) error {
	items := r.chartItems()
	const (
		width, left, right = 960, 430, 40
		top, rowH          = 78, 30
		lo, hi             = -3.0, 2.0 // log10 range of the axis
	)
	height := top + rowH*max(len(items), 1) + 60
	plotW := float64(width - left - right)
	x := func(v float64) float64 {
		l := math.Log10(math.Max(v, 1e-9))
		l = math.Max(lo, math.Min(hi, l))
		return float64(left) + (l-lo)/(hi-lo)*plotW
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="12" y="24" font-size="17" font-weight="bold">geoblob bench emulator: geoblob over the other server (log scale)</text>`+"\n")
	sub := fmt.Sprintf("%s, %d CPUs, %s; load %s; shared noisy machine", r.Started.Format("2006-01-02 15:04 MST"), r.Machine.NumCPU, r.Machine.CPUModel, loadAvg(r.Machine.LoadAvgStart))
	fmt.Fprintf(&b, `<text x="12" y="44" fill="#555">%s</text>`+"\n", html.EscapeString(sub))
	fmt.Fprintf(&b, `<text x="12" y="62" fill="#555">%s</text>`+"\n", html.EscapeString("bar: measured ratio (green meets its target, red misses it, grey has none); black tick: target"))
	axisY := top + rowH*len(items)
	for e := lo; e <= hi; e++ {
		v := math.Pow(10, e)
		xx := x(v)
		stroke := "#ddd"
		if e == 0 {
			stroke = "#888"
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`+"\n", xx, top-6, xx, axisY, stroke)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", xx, axisY+18, fmtNum(v)+"x")
	}
	for i, it := range items {
		y := top + i*rowH
		fill := "#9e9e9e"
		switch it.status {
		case Pass:
			fill = "#2e7d32"
		case Fail:
			fill = "#c62828"
		}
		x0, x1 := x(1), x(it.ratio)
		if x1 < x0 {
			x0, x1 = x1, x0
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+rowH/2+4, html.EscapeString(it.label))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x0, y+6, math.Max(x1-x0, 1), rowH-12, fill)
		if it.limit > 0 {
			lx := x(it.limit)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-width="2"/>`+"\n", lx, y+2, lx, y+rowH-2)
		}
		// The value sits beyond the bar's end and its target tick.
		tx, anchor := x(it.ratio)+5, "start"
		if it.limit > 0 {
			tx = math.Max(tx, x(it.limit)+5)
		}
		if it.ratio < 1 {
			tx, anchor = x(it.ratio)-5, "end"
			if it.limit > 0 {
				tx = math.Min(tx, x(it.limit)-5)
			}
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s" font-size="12">%s</text>`+"\n", tx, y+rowH/2+4, anchor, fmtNum(it.ratio)+"x")
	}
	if len(items) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d">no ratios in this run</text>`+"\n", left, top+rowH/2)
	}
	fmt.Fprintf(&b, `<text x="12" y="%d" fill="#555">%s</text>`+"\n", axisY+44, html.EscapeString("below 1x: geoblob costs less (CPU, memory, time); above 1x: geoblob does more (throughput)"))
	b.WriteString("</svg>\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("emubench: svg: %w", err)
	}
	return nil
}

// loadAvg keeps the three load averages of a /proc/loadavg line.
func loadAvg(line string) string {
	f := strings.Fields(line)
	return strings.Join(f[:min(3, len(f))], " ")
}
