package load

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// WriteSVG draws the time series as an SVG chart: records/s in and out on
// top, p50 and p99 latency below, lag on the bottom panel.
func (r *Report) WriteSVG(w io.Writer, title string) error {
	const (
		width, left, right = 960, 90, 20
		panelH, gap, top   = 200, 60, 50
	)
	plotW := float64(width - left - right)
	height := top + 3*panelH + 2*gap + 50
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", left, esc(title))

	var tMax float64
	for _, s := range r.Series {
		tMax = max(tMax, s.At.Seconds())
	}
	tStep := niceCeil(max(tMax, 1) / 6)
	tMax = math.Ceil(max(tMax, 1)/tStep) * tStep
	x := func(t time.Duration) float64 { return float64(left) + plotW*t.Seconds()/tMax }

	type line struct {
		name, color string
		v           func(Sample) float64
	}
	panel := func(i int, label string, unit string, lines []line) {
		y0 := float64(top + i*(panelH+gap))
		var vMax float64
		for _, s := range r.Series {
			for _, l := range lines {
				vMax = max(vMax, l.v(s))
			}
		}
		vStep := niceCeil(max(vMax, 1) / 4)
		vMax = math.Ceil(max(vMax, 1)/vStep) * vStep
		y := func(v float64) float64 { return y0 + panelH - panelH*v/vMax }
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" font-weight="bold">%s</text>`+"\n", left, y0-8, esc(label))
		// grid and y labels
		for v := 0.0; v <= vMax+vStep/2; v += vStep {
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), width-right, y(v))
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y(v)+4, esc(short(v)+unit))
		}
		// x labels
		for t := 0.0; t <= tMax+tStep/2; t += tStep {
			xx := float64(left) + plotW*t/tMax
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", xx, y0, xx, y0+panelH)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%ss</text>`+"\n", xx, y0+panelH+16, short(t))
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%.0f" height="%d" fill="none" stroke="#888"/>`+"\n", left, y0, plotW, panelH)
		for li, l := range lines {
			var pts []string
			for _, s := range r.Series {
				v := l.v(s)
				if v < 0 {
					continue
				}
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.At), y(v)))
			}
			if len(pts) > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"/>`+"\n", l.color, strings.Join(pts, " "))
			}
			lx := float64(width-right) - 150 // legend: top right, one row per line
			ly := y0 + 16 + float64(li)*16
			fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="3"/>`+"\n", lx, ly-4, lx+20, ly-4, l.color)
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", lx+26, ly, esc(l.name))
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	panel(0, "Throughput (records/s)", "", []line{
		{"in (produced)", "#1f77b4", func(s Sample) float64 { return s.InRate }},
		{"out (results)", "#ff7f0e", func(s Sample) float64 { return s.OutRate }},
	})
	panel(1, "End-to-end latency, produce → result (ms)", "", []line{
		{"p99", "#d62728", func(s Sample) float64 { return ms(s.P99) }},
		{"p50", "#2ca02c", func(s Sample) float64 { return ms(s.P50) }},
	})
	panel(2, "Consumer lag and records outstanding", "", []line{
		{"group lag", "#9467bd", func(s Sample) float64 { return float64(s.Lag) }},
		{"outstanding", "#8c564b", func(s Sample) float64 { return float64(s.Outstanding) }},
	})
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">%s</text>`+"\n", left, height-14, esc(fmt.Sprintf(
		"produced %s, came back %s, missing %s, duplicates %s; latency p50 %s p90 %s p99 %s p99.9 %s",
		group(r.Produced), group(r.Output+r.DLQ), group(r.Missing), group(r.Duplicates), r.P50, r.P90, r.P99, r.P999)))
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// short formats an axis value: 1500 → 1.5k, 250000 → 250k.
func short(v float64) string {
	switch {
	case v >= 1e6:
		return trimZero(fmt.Sprintf("%.2f", v/1e6)) + "M"
	case v >= 1e3:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	}
	return trimZero(fmt.Sprintf("%.1f", v))
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
