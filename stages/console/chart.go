package console

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leadflow/leadflow/stages/console/clusterview"
)

// The Pipeline page's chart: throughput and lag of every stage over the
// last minutes, as server-rendered inline SVG (no script, no library). It
// is drawn from a bounded ring of samples that the page itself takes when
// someone views it (one per pipelineRefresh at most, whoever views it), so
// a console nobody looks at samples nothing.
const (
	// chartSamples is how many samples the ring keeps: 60 at the page's
	// 5 s refresh are the last 5 minutes.
	chartSamples = 60
	// chartWindow is the most time the chart spans; chartMinSpan the
	// least (while fewer samples were taken).
	chartWindow  = chartSamples * pipelineRefresh
	chartMinSpan = time.Minute
	chartW       = 640 // viewBox width of a panel
	chartH       = 150 // and height
	chartPadL    = 56  // room for the axis labels
	chartPadB    = 18
	chartPadT    = 8
)

// chartColor is the i-th stage's colour, in pipeline order (a
// colour-blind safe palette), and the legend's class of it (console.css:
// the page's Content-Security-Policy allows no inline style).
func chartColor(i int) (color, class string) {
	colors := [...]string{"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00"}
	i %= len(colors)
	return colors[i], "c" + strconv.Itoa(i)
}

// sample is one read of every stage.
type sample struct {
	t      time.Time
	stages []stagePoint
}

type stagePoint struct {
	name    string
	in, out float64 // records per second; -1 unknown
	lag     int64
}

// sampleRing keeps the newest chartSamples samples. It is safe for
// concurrent use.
type sampleRing struct {
	mu   sync.Mutex
	buf  []sample
	next int // where the next sample goes once buf is full
}

func newSampleRing(n int) *sampleRing { return &sampleRing{buf: make([]sample, 0, n)} }

// add records the stages read at t, unless the newest sample is less than
// half a refresh old (several people viewing the page).
func (r *sampleRing) add(t time.Time, stages []clusterview.Stage) {
	pts := make([]stagePoint, 0, len(stages))
	for _, s := range stages {
		pts = append(pts, stagePoint{name: s.Name, in: s.InPerSec, out: s.OutPerSec, lag: s.Lag})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if last, ok := r.lastLocked(); ok && t.Sub(last.t) < pipelineRefresh/2 {
		return
	}
	if len(r.buf) < cap(r.buf) {
		r.buf = append(r.buf, sample{t: t, stages: pts})
		return
	}
	r.buf[r.next] = sample{t: t, stages: pts}
	r.next = (r.next + 1) % len(r.buf)
}

func (r *sampleRing) lastLocked() (sample, bool) {
	if len(r.buf) == 0 {
		return sample{}, false
	}
	if len(r.buf) < cap(r.buf) {
		return r.buf[len(r.buf)-1], true
	}
	return r.buf[(r.next+len(r.buf)-1)%len(r.buf)], true
}

// snapshot returns the samples oldest first.
func (r *sampleRing) snapshot() []sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]sample, 0, len(r.buf))
	if len(r.buf) < cap(r.buf) {
		return append(out, r.buf...)
	}
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// series is one line of a panel.
type series struct {
	name, color string
	class       string // the legend's colour class
	dashed      bool
	pts         [][2]float64 // (unix seconds, value); NaN breaks the line
}

// pipelineCharts renders the throughput and the lag panels of samples
// ending at now.
func pipelineCharts(samples []sample, now time.Time) template.HTML {
	var names []string
	seen := map[string]int{}
	for _, s := range samples {
		for _, p := range s.stages {
			if _, ok := seen[p.name]; !ok {
				seen[p.name] = len(names)
				names = append(names, p.name)
			}
		}
	}
	var thr, lag []series
	for i, n := range names {
		c, cls := chartColor(i)
		in := series{name: n + " in", color: c, class: cls}
		out := series{name: n + " out", color: c, class: cls, dashed: true}
		lg := series{name: n, color: c, class: cls}
		for _, s := range samples {
			x := float64(s.t.UnixMilli()) / 1000
			vin, vout, vlag := math.NaN(), math.NaN(), math.NaN()
			for _, p := range s.stages {
				if p.name != n {
					continue
				}
				if p.in >= 0 {
					vin = p.in
				}
				if p.out >= 0 {
					vout = p.out
				}
				if p.lag >= 0 {
					vlag = float64(p.lag)
				}
			}
			in.pts = append(in.pts, [2]float64{x, vin})
			out.pts = append(out.pts, [2]float64{x, vout})
			lg.pts = append(lg.pts, [2]float64{x, vlag})
		}
		thr = append(thr, in, out)
		lag = append(lag, lg)
	}
	// The span: from the oldest sample (at least chartMinSpan), at most
	// chartWindow, so that a page just opened is not a sliver at the right.
	span := chartMinSpan
	if len(samples) > 0 {
		span = min(max(now.Sub(samples[0].t), chartMinSpan), chartWindow)
	}
	var b strings.Builder
	b.WriteString(`<div class="charts">`)
	panel(&b, "chart-throughput", "Records per second (solid: in, dashed: out)", "/s", thr, now, span)
	panel(&b, "chart-lag", "Lag (records)", "", lag, now, span)
	b.WriteString(`</div>`)
	return template.HTML(b.String()) // every name in it is escaped
}

// panel writes one SVG panel of lines over the window of length spanD
// ending at now.
func panel(b *strings.Builder, id, title, unit string, ss []series, now time.Time, spanD time.Duration) {
	spanD = spanD.Round(time.Second)
	x0 := float64(now.Add(-spanD).UnixMilli()) / 1000
	span := spanD.Seconds()
	top := 0.0
	for _, s := range ss {
		for _, p := range s.pts {
			if p[0] >= x0 && !math.IsNaN(p[1]) {
				top = max(top, p[1])
			}
		}
	}
	top = niceCeil(top)
	plotW, plotH := float64(chartW-chartPadL-4), float64(chartH-chartPadT-chartPadB)
	px := func(x float64) float64 { return chartPadL + (x-x0)/span*plotW }
	py := func(y float64) float64 { return chartPadT + plotH - y/top*plotH }
	fmt.Fprintf(b, `<figure class="chart"><figcaption>%s</figcaption>`, html.EscapeString(title))
	fmt.Fprintf(b, `<svg id="%s" viewBox="0 0 %d %d" role="img" aria-label="%s over the last %s">`,
		id, chartW, chartH, html.EscapeString(title), spanD)
	// Axes and grid: 0, half and top; the window's start and now.
	for _, f := range []float64{0, 0.5, 1} {
		y := py(top * f)
		fmt.Fprintf(b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, chartPadL, chartW-4, y, y)
		fmt.Fprintf(b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%s%s</text>`, chartPadL-4, y+4, short(top*f), unit)
	}
	fmt.Fprintf(b, `<text class="axis" x="%d" y="%d">%s ago</text>`, chartPadL, chartH-4, spanLabel(spanD))
	fmt.Fprintf(b, `<text class="axis" x="%d" y="%d" text-anchor="end">now</text>`, chartW-4, chartH-4)
	drawn := 0
	for _, s := range ss {
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="5 3"`
		}
		var seg []string
		flush := func() {
			if len(seg) > 1 {
				fmt.Fprintf(b, `<polyline class="line" data-series="%s" fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`,
					html.EscapeString(s.name), s.color, dash, strings.Join(seg, " "))
				drawn++
			} else if len(seg) == 1 {
				xy := strings.Split(seg[0], ",")
				fmt.Fprintf(b, `<circle data-series="%s" cx="%s" cy="%s" r="2.5" fill="%s"/>`, html.EscapeString(s.name), xy[0], xy[1], s.color)
				drawn++
			}
			seg = seg[:0]
		}
		prev := math.Inf(-1)
		for _, p := range s.pts {
			// A gap of more than 3 refreshes (nobody viewed the page, or
			// Kafka could not be read) breaks the line.
			if p[0] < x0 || math.IsNaN(p[1]) || p[0]-prev > 3*pipelineRefresh.Seconds() {
				flush()
			}
			prev = p[0]
			if p[0] < x0 || math.IsNaN(p[1]) {
				continue
			}
			seg = append(seg, fmt.Sprintf("%.1f,%.1f", px(p[0]), py(p[1])))
		}
		flush()
	}
	if drawn == 0 {
		fmt.Fprintf(b, `<text class="axis" x="%d" y="%d" text-anchor="middle">collecting samples: one every %s while this page is open</text>`,
			chartPadL+int(plotW/2), chartPadT+int(plotH/2), pipelineRefresh)
	}
	b.WriteString(`</svg><ul class="legend">`)
	for _, s := range ss {
		style := "solid"
		if s.dashed {
			style = "dashed"
		}
		fmt.Fprintf(b, `<li><span class="swatch %s %s"></span>%s</li>`, style, s.class, html.EscapeString(s.name))
	}
	b.WriteString(`</ul></figure>`)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (1 for 0).
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// short formats an axis value: 0, 2.5, 40, 1.2k, 3M.
func short(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// spanLabel is a span for the axis: 5 min, 90 s.
func spanLabel(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.Itoa(int(d/time.Minute)) + " min"
	}
	return strconv.Itoa(int(d.Round(time.Second)/time.Second)) + " s"
}
