package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// This file draws the report's charts as inline SVG: no scripts, no
// external files, well-formed XML (the test parses the page as XML).

// Chart geometry in SVG user units.
const (
	chartW, chartH = 760.0, 260.0
	padL, padR     = 64.0, 16.0
	padT, padB     = 30.0, 34.0
	legendRow      = 15.0 // height of a legend row
)

// legendItem is one placed legend entry.
type legendItem struct {
	x, y  float64
	color string
	name  string
}

// layoutLegend places names after the title, wrapping into rows, and
// returns the items and the top padding the plot needs below them.
func layoutLegend(title string, names []string) ([]legendItem, float64) {
	start := padL + 9*float64(len(title)) + 24
	x, y := start, 18.0
	var out []legendItem
	for i, n := range names {
		w := 22 + 6.5*float64(len(n))
		if x+w > chartW-padR && x > start {
			x, y = padL, y+legendRow
		}
		out = append(out, legendItem{x: x, y: y, color: palette[i%len(palette)], name: n})
		x += w
	}
	return out, padT + (y - 18)
}

// palette are the series colours, in order.
var palette = []string{"#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04"}

// series is one line of a line chart.
type series struct {
	name string
	x, y []float64
	dash bool
}

// band is a shaded x range with a label (warm-up, drain).
type band struct {
	from, to float64
	label    string
}

// niceCeil returns a round number >= v (1, 2, 2.5, 5 times a power of ten).
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// si formats v with k/M/G suffixes, e.g. 12.5k.
func si(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trim(v/1e9) + "G"
	case a >= 1e6:
		return trim(v/1e6) + "M"
	case a >= 1e3:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

func trim(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// f formats an SVG coordinate.
func f(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// esc escapes text for XML.
func esc(s string) string { return html.EscapeString(s) }

// lineChart draws series over a shared x axis (seconds) with y from 0.
func lineChart(title, yLabel string, ss []series, bands []band) string {
	var xmax, ymax float64
	for _, s := range ss {
		for i := range s.x {
			xmax = math.Max(xmax, s.x[i])
			if !math.IsNaN(s.y[i]) {
				ymax = math.Max(ymax, s.y[i])
			}
		}
	}
	for _, b := range bands {
		xmax = math.Max(xmax, b.to)
	}
	if xmax <= 0 {
		xmax = 1
	}
	ymax = niceCeil(ymax * 1.05)
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.name
	}
	legend, padT := layoutLegend(title, names)
	plotW, plotH := chartW-padL-padR, chartH-padT-padB
	px := func(x float64) float64 { return padL + x/xmax*plotW }
	py := func(y float64) float64 { return padT + plotH - y/ymax*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %s %s" role="img" aria-label="%s">`, f(chartW), f(chartH), esc(title))
	fmt.Fprintf(&b, `<text x="%s" y="18" class="title">%s</text>`, f(padL), esc(title))
	for _, bd := range bands {
		if bd.to <= bd.from {
			continue
		}
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" class="band"><title>%s</title></rect>`,
			f(px(bd.from)), f(padT), f(px(bd.to)-px(bd.from)), f(plotH), esc(bd.label))
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="bandlabel">%s</text>`, f(px(bd.from)+4), f(padT+12), esc(bd.label))
	}
	// Grid and y ticks.
	for i := 0; i <= 4; i++ {
		y := ymax * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" class="grid"/>`, f(padL), f(py(y)), f(padL+plotW), f(py(y)))
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="ytick">%s</text>`, f(padL-6), f(py(y)+4), esc(si(y)))
	}
	// X ticks every nice step of seconds.
	step := niceCeil(xmax / 8)
	for x := 0.0; x <= xmax+1e-9; x += step {
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="xtick">%s</text>`, f(px(x)), f(padT+plotH+16), esc(trim(x)+"s"))
	}
	fmt.Fprintf(&b, `<text x="14" y="%s" class="ylabel" transform="rotate(-90 14 %s)">%s</text>`, f(padT+plotH/2), f(padT+plotH/2), esc(yLabel))
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" class="axis"/>`, f(padL), f(padT+plotH), f(padL+plotW), f(padT+plotH))
	// Lines (broken at NaN) and the legend after the title.
	for i, s := range ss {
		color := palette[i%len(palette)]
		dash := ""
		if s.dash {
			dash = ` stroke-dasharray="5 3"`
		}
		var pts strings.Builder
		flush := func() {
			if pts.Len() > 0 {
				fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.6"%s><title>%s</title></polyline>`,
					pts.String(), color, dash, esc(s.name))
				pts.Reset()
			}
		}
		for j := range s.x {
			if math.IsNaN(s.y[j]) {
				flush()
				continue
			}
			if pts.Len() > 0 {
				pts.WriteByte(' ')
			}
			pts.WriteString(f(px(s.x[j])) + "," + f(py(s.y[j])))
		}
		flush()
	}
	for _, it := range legend {
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="10" height="10" fill="%s"/><text x="%s" y="%s" class="legend">%s</text>`,
			f(it.x), f(it.y-9), it.color, f(it.x+13), f(it.y), esc(it.name))
	}
	if len(ss) == 0 || xmax <= 1 && ymax <= 1 {
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="empty">no data</text>`, f(padL+plotW/2), f(padT+plotH/2))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// histogramChart draws the latency distribution as bars on a log scale,
// with lines at p50 and p99.
func histogramChart(title string, l Latency) string {
	plotW, plotH := chartW-padL-padR, chartH-padT-padB
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %s %s" role="img" aria-label="%s">`, f(chartW), f(chartH), esc(title))
	fmt.Fprintf(&b, `<text x="%s" y="18" class="title">%s</text>`, f(padL), esc(title))
	if len(l.Buckets) == 0 {
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="empty">no webhooks received</text></svg>`, f(padL+plotW/2), f(padT+plotH/2))
		return b.String()
	}
	lo := math.Log10(math.Max(l.Buckets[0].LowMs, 0.001))
	hi := math.Log10(math.Max(l.Buckets[len(l.Buckets)-1].HighMs, l.Buckets[0].LowMs*1.01+0.001))
	if hi <= lo {
		hi = lo + 1
	}
	px := func(ms float64) float64 { return padL + (math.Log10(math.Max(ms, 0.001))-lo)/(hi-lo)*plotW }
	var cmax uint64
	for _, bk := range l.Buckets {
		cmax = max(cmax, bk.Count)
	}
	ymax := niceCeil(float64(cmax) * 1.05)
	py := func(c float64) float64 { return padT + plotH - c/ymax*plotH }
	for i := 0; i <= 4; i++ {
		y := ymax * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" class="grid"/>`, f(padL), f(py(y)), f(padL+plotW), f(py(y)))
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="ytick">%s</text>`, f(padL-6), f(py(y)+4), esc(si(y)))
	}
	for _, bk := range l.Buckets {
		x0, x1 := px(bk.LowMs), px(bk.HighMs)
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" class="bar"><title>%s–%s ms: %d</title></rect>`,
			f(x0), f(py(float64(bk.Count))), f(math.Max(x1-x0-1, 1)), f(py(0)-py(float64(bk.Count))), esc(trim(bk.LowMs)), esc(trim(bk.HighMs)), bk.Count)
	}
	for d := math.Floor(lo); d <= math.Ceil(hi); d++ {
		ms := math.Pow(10, d)
		if x := px(ms); x >= padL-1 && x <= padL+plotW+1 {
			fmt.Fprintf(&b, `<text x="%s" y="%s" class="xtick">%s</text>`, f(x), f(padT+plotH+16), esc(fmtMs(ms)))
		}
	}
	for _, m := range []struct {
		name string
		v    float64
	}{{"p50", l.P50Ms}, {"p99", l.P99Ms}} {
		x := px(m.v)
		label, lxp, anchor := m.name+" "+fmtMs(m.v), x+3, "start"
		if x > padL+plotW-90 { // near the right edge: label on the left of the line
			lxp, anchor = x-3, "end"
		}
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" class="marker"/><text x="%s" y="%s" class="legend" text-anchor="%s">%s</text>`,
			f(x), f(padT), f(x), f(padT+plotH), f(lxp), f(padT+10), anchor, esc(label))
	}
	fmt.Fprintf(&b, `<text x="14" y="%s" class="ylabel" transform="rotate(-90 14 %s)">webhook subjects</text>`, f(padT+plotH/2), f(padT+plotH/2))
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" class="axis"/>`, f(padL), f(padT+plotH), f(padL+plotW), f(padT+plotH))
	b.WriteString(`</svg>`)
	return b.String()
}

// fmtMs formats milliseconds for people: 850ms, 1.2s, 3m5s.
func fmtMs(ms float64) string {
	switch {
	case ms < 1:
		return trim(ms*1000) + "µs"
	case ms < 1000:
		return trim(ms) + "ms"
	case ms < 60000:
		return trim(ms/1000) + "s"
	}
	return fmt.Sprintf("%dm%ds", int(ms/60000), int(math.Mod(ms, 60000)/1000))
}
