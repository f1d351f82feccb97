package report

import (
	"bytes"
	"fmt"
	"html/template"
	"maps"
	"math"
	"slices"
	"sort"
)

// HTML renders r as a self-contained page: summary tables and SVG charts,
// no scripts or external resources. The page is well-formed XML as well
// as HTML.
func HTML(r *Result) ([]byte, error) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, pageData(r)); err != nil {
		return nil, fmt.Errorf("report: rendering %s: %w", HTMLFile, err)
	}
	return buf.Bytes(), nil
}

// page is what the template shows.
type page struct {
	R      *Result
	Charts []template.HTML
	Stages []Stage
	Events []eventRow
	Ends   []eventRow
}

type eventRow struct {
	Name string
	C    Counts
}

func pageData(r *Result) page {
	p := page{R: r, Stages: r.Stages}
	warm := r.Settings.WarmupSec
	loadEnd := warm + r.Settings.DurationSec
	end := loadEnd
	if n := len(r.Timeline); n > 0 {
		end = math.Max(end, r.Timeline[n-1].T)
	}
	bands := []band{{0, warm, "warm-up"}, {loadEnd, end, "drain"}}
	x := make([]float64, len(r.Timeline))
	col := func(get func(Sample) float64) []float64 {
		out := make([]float64, len(r.Timeline))
		for i, s := range r.Timeline {
			out[i] = get(s)
		}
		return out
	}
	for i, s := range r.Timeline {
		x[i] = s.T
	}
	stages := stageNames(r)
	through := []series{
		{name: "target", x: x, y: col(func(s Sample) float64 { return s.TargetRate }), dash: true},
		{name: "produced", x: x, y: col(func(s Sample) float64 { return s.Produced })},
	}
	for _, st := range stages {
		through = append(through, series{name: st + " in", x: x, y: col(func(s Sample) float64 { return s.StageIn[st] })})
	}
	through = append(through, series{name: "webhook subjects", x: x, y: col(func(s Sample) float64 { return s.Subjects })})
	lag := []series{
		{name: "lag", x: x, y: col(func(s Sample) float64 { return s.LagTotal })},
		{name: "in flight", x: x, y: col(func(s Sample) float64 { return s.InflightTotal })},
	}
	for _, st := range stages { // per stage, where it is not always 0
		if y := col(func(s Sample) float64 { return s.Lag[st] }); anyNonZero(y) {
			lag = append(lag, series{name: st + " lag", x: x, y: y, dash: true})
		}
		if y := col(func(s Sample) float64 { return s.Inflight[st] }); anyNonZero(y) {
			lag = append(lag, series{name: st + " in flight", x: x, y: y, dash: true})
		}
	}
	p.Charts = []template.HTML{
		template.HTML(lineChart("Throughput", "per second", through, bands)),
		template.HTML(lineChart("Consumer lag and records in flight", "records", lag, bands)),
		template.HTML(histogramChart("End-to-end latency distribution (after warm-up)", r.Latency)),
		template.HTML(lineChart("End-to-end latency per second", "milliseconds", []series{
			{name: "p50", x: x, y: col(func(s Sample) float64 { return orNaN(s.P50Ms) })},
			{name: "p99", x: x, y: col(func(s Sample) float64 { return orNaN(s.P99Ms) })},
		}, bands)),
		template.HTML(lineChart("CPU (100% = one core)", "percent", []series{
			{name: "cpu", x: x, y: col(func(s Sample) float64 { return s.CPUPercent })},
		}, bands)),
		template.HTML(lineChart("Memory", "MiB", []series{
			{name: "rss", x: x, y: col(func(s Sample) float64 { return s.RSSMB })},
			{name: "go heap in use", x: x, y: col(func(s Sample) float64 { return s.HeapMB })},
		}, bands)),
	}
	for _, k := range slices.Sorted(maps.Keys(r.Correctness.ByEvent)) {
		p.Events = append(p.Events, eventRow{k, r.Correctness.ByEvent[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(r.Correctness.ByEndpoint)) {
		p.Ends = append(p.Ends, eventRow{k, r.Correctness.ByEndpoint[k]})
	}
	return p
}

func anyNonZero(v []float64) bool {
	for _, x := range v {
		if x != 0 {
			return true
		}
	}
	return false
}

// orNaN maps 0 (no data in that second) to NaN, a gap in the line.
func orNaN(v float64) float64 {
	if v == 0 {
		return math.NaN()
	}
	return v
}

// stageNames returns the stages seen in the timeline, in pipeline order.
func stageNames(r *Result) []string {
	seen := map[string]bool{}
	for _, s := range r.Timeline {
		for k := range s.StageIn {
			seen[k] = true
		}
		for k := range s.Lag {
			seen[k] = true
		}
		for k := range s.Inflight {
			seen[k] = true
		}
	}
	order := map[string]int{"enrich": 0, "leads": 1, "evaluate": 2, "deliver": 3}
	names := slices.Collect(maps.Keys(seen))
	sort.Slice(names, func(i, j int) bool {
		oi, iok := order[names[i]]
		oj, jok := order[names[j]]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return names[i] < names[j]
	})
	return names
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"si":  si,
	"ms":  fmtMs,
	"pct": func(v float64) string { return trim(v*100) + "%" },
	"f1":  func(v float64) string { return trim(v) },
	"f64": func(v uint64) float64 { return float64(v) },
}).Parse(`<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>leadflow bench: {{.R.Scenario}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 820px; color: #111827; padding: 0 12px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #e5e7eb; }
.sub { color: #6b7280; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0; } td, th { padding: 3px 12px 3px 0; text-align: left; vertical-align: top; }
th { color: #6b7280; font-weight: 500; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #15803d; font-weight: 600; } .fail { color: #b91c1c; font-weight: 600; } .warn { color: #b45309; }
svg.chart { width: 100%; height: auto; margin: 10px 0; }
svg .title { font-size: 14px; font-weight: 600; fill: #111827; }
svg .legend, svg .bandlabel { font-size: 11px; fill: #374151; }
svg .xtick { font-size: 10px; fill: #6b7280; text-anchor: middle; }
svg .ytick { font-size: 10px; fill: #6b7280; text-anchor: end; }
svg .ylabel { font-size: 11px; fill: #6b7280; text-anchor: middle; }
svg .grid { stroke: #e5e7eb; stroke-width: 1; } svg .axis { stroke: #9ca3af; stroke-width: 1; }
svg .band { fill: #f3f4f6; } svg .bar { fill: #60a5fa; } svg .marker { stroke: #dc2626; stroke-dasharray: 4 3; }
svg .empty { font-size: 13px; fill: #9ca3af; text-anchor: middle; }
code { background: #f3f4f6; padding: 1px 4px; border-radius: 3px; }
</style>
</head>
<body>
<h1>leadflow bench: {{.R.Scenario}}</h1>
<p class="sub">{{.R.Description}} · {{.R.StartedAt.Format "2006-01-02 15:04 MST"}} · pipeline {{.R.Mode}} · {{.R.Machine.CPUs}} CPUs{{with .R.Machine.CPUModel}} ({{.}}){{end}}, Go {{.R.Machine.GoVersion}}</p>
<p>Verdict: {{if .R.Verdict.Pass}}<span class="pass">pass</span>{{else}}<span class="fail">fail</span>{{end}}{{range .R.Verdict.Reasons}} · {{.}}{{end}}</p>
{{range .R.Warnings}}<p class="warn">⚠ {{.}}</p>
{{end}}
<h2>Summary</h2>
<table>
<tr><th>load</th><td class="n">{{si .R.Produced.Rate}}/s</td><td>raw events acknowledged (target {{si .R.Produced.TargetRate}}/s; {{si (f64 .R.Produced.Events)}} events, {{.R.Produced.Errors}} errors, {{.R.Produced.Skipped}} skipped)</td></tr>
<tr><th>delivered</th><td class="n">{{si .R.Deliveries.SubjectsPerSec}}/s</td><td>webhook subjects in {{si .R.Deliveries.RequestsPerSec}} requests/s ({{.R.Deliveries.Subjects}} subjects, {{.R.Deliveries.Requests}} requests)</td></tr>
<tr><th>latency</th><td class="n">{{ms .R.Latency.P99Ms}}</td><td>p99 end to end (p50 {{ms .R.Latency.P50Ms}}, p90 {{ms .R.Latency.P90Ms}}, p99.9 {{ms .R.Latency.P999Ms}}, max {{ms .R.Latency.MaxMs}}; {{.R.Latency.Count}} subjects; bound {{ms .R.Settings.P99MaxMs}})</td></tr>
<tr><th>lag</th><td class="n">{{si .R.Lag.Max}}</td><td>max records behind, max {{si .R.Lag.MaxInflight}} in flight (backlog {{if .R.Lag.Growing}}<span class="fail">growing</span>{{else}}not growing{{end}}; {{si .R.Lag.EndOfLoad}} when the load stopped{{if ge .R.Lag.DrainSec 0.0}}, drained in {{f1 .R.Lag.DrainSec}} s{{else}}, not drained{{end}})</td></tr>
<tr><th>CPU</th><td class="n">{{f1 .R.Process.CPUPercent}}%</td><td>mean (100% = one core; {{f1 .R.Process.CPUSeconds}} CPU s){{if .R.Process.IncludesLoad}}, includes the load generator and receiver{{end}}</td></tr>
<tr><th>memory</th><td class="n">{{f1 .R.Process.PeakRSSMB}} MiB</td><td>peak RSS (peak Go heap in use {{f1 .R.Process.PeakHeapMB}} MiB){{if gt .R.Process.RSSGrowthWindowS 0.0}}; RSS {{f1 .R.Process.RSSGrowthMBPerMin}} MiB/min over the last {{f1 .R.Process.RSSGrowthWindowS}} s of the load{{end}}</td></tr>
<tr><th>correctness</th><td class="n">{{if not .R.Correctness.Checked}}—{{else if .R.Correctness.Pass}}<span class="pass">ok</span>{{else}}<span class="fail">fail</span>{{end}}</td><td>{{if .R.Correctness.Checked}}{{.R.Correctness.Total.Expected}} expected, {{.R.Correctness.Total.Delivered}} delivered, {{.R.Correctness.Total.Missing}} missing, {{.R.Correctness.Total.Duplicates}} duplicates, {{.R.Correctness.Total.Unexpected}} unexpected{{else}}{{.R.Correctness.Note}}{{end}}</td></tr>
</table>
{{range .Charts}}{{.}}
{{end}}
<h2>Stages (measured window)</h2>
{{if .Stages}}<table>
<tr><th>stage</th><th>in/s</th><th>out/s</th><th>in</th><th>out</th><th>dead letters</th></tr>
{{range .Stages}}<tr><td>{{.Name}}</td><td class="n">{{si .InPerSec}}</td><td class="n">{{si .OutPerSec}}</td><td class="n">{{si .In}}</td><td class="n">{{si .Out}}</td><td class="n">{{si .DeadLetters}}</td></tr>
{{end}}</table>{{else}}<p>No stage reported records (none running yet?).</p>{{end}}
<h2>Correctness</h2>
{{if .R.Correctness.Checked}}<table>
<tr><th></th><th>expected</th><th>delivered</th><th>missing</th><th>duplicates</th><th>redelivered</th><th>unexpected</th></tr>
{{range .Events}}<tr><td>{{.Name}}</td><td class="n">{{.C.Expected}}</td><td class="n">{{.C.Delivered}}</td><td class="n">{{.C.Missing}}</td><td class="n">{{.C.Duplicates}}</td><td class="n">{{.C.Redelivered}}</td><td class="n">{{.C.Unexpected}}</td></tr>
{{end}}{{range .Ends}}<tr><td>{{.Name}} endpoints</td><td class="n">{{.C.Expected}}</td><td class="n">{{.C.Delivered}}</td><td class="n">{{.C.Missing}}</td><td class="n">{{.C.Duplicates}}</td><td class="n">{{.C.Redelivered}}</td><td class="n">{{.C.Unexpected}}</td></tr>
{{end}}</table>
<p>{{.R.Correctness.Contacts}} contact_revealed subjects ({{.R.Correctness.ContactDuplicates}} repeated to the same webhook); {{.R.Correctness.LeadIDConflicts}} lead id conflicts; {{.R.Correctness.ProduceAffected}} sessions not counted (failed produce).</p>
{{with .R.Correctness.MissingSample}}<p>Missing, for example:</p><ul>{{range .}}<li><code>{{.}}</code></li>{{end}}</ul>{{end}}
{{with .R.Correctness.UnexpectedSample}}<p>Unexpected, for example:</p><ul>{{range .}}<li><code>{{.}}</code></li>{{end}}</ul>{{end}}
{{else}}<p>{{.R.Correctness.Note}}</p>{{end}}
{{with .R.FindMax}}<h2>Find max (p99 ≤ {{ms .P99BoundMs}}, backlog not growing)</h2>
<p>Highest rate sustained: <b>{{si .MaxRate}}/s</b></p>
<table><tr><th>rate</th><th>achieved</th><th>p99</th><th>backlog</th><th>result</th></tr>
{{range .Trials}}<tr><td class="n">{{si .Rate}}/s</td><td class="n">{{si .Achieved}}/s</td><td class="n">{{ms .P99Ms}}</td><td>{{if .LagGrowing}}growing{{else}}ok{{end}}</td><td>{{if .Pass}}<span class="pass">pass</span>{{else}}<span class="fail">fail</span> {{.Reason}}{{end}}</td></tr>
{{end}}</table>{{end}}
<h2>Settings</h2>
<table>
<tr><th>rate</th><td>{{si .R.Settings.Rate}}/s for {{f1 .R.Settings.DurationSec}} s after a {{f1 .R.Settings.WarmupSec}} s warm-up{{with .R.Settings.Burst}}; bursts: {{.}}{{end}}</td></tr>
<tr><th>traffic</th><td>{{.R.Settings.Workspaces}} workspaces, {{.R.Settings.Companies}} companies, {{pct .R.Settings.IdentifiableShare}} identifiable, {{pct .R.Settings.BotShare}} bots, {{f1 .R.Settings.SessionsPerVisitor}} sessions/visitor, {{f1 .R.Settings.PageviewsPerSession}} pageviews/session, {{pct .R.Settings.PingShare}} pings, {{pct .R.Settings.MalformedShare}} malformed; seed {{.R.Settings.Seed}}, run {{.R.Settings.RunID}}</td></tr>
<tr><th>automations</th><td>{{.R.Settings.AutomationsPerWorkspace}} per workspace{{range .R.Settings.Automations}}; {{.}}{{end}}</td></tr>
<tr><th>endpoints</th><td>{{pct .R.Settings.SlowShare}} slow ({{ms .R.Settings.SlowDelayMs}}), {{pct .R.Settings.FailingShare}} failing ({{pct .R.Settings.FailRate}} of requests){{if .R.Settings.MaxSubjects}}, max_subjects {{.R.Settings.MaxSubjects}}{{end}}</td></tr>
{{with .R.Settings.Brokers}}<tr><th>brokers</th><td>{{range .}}{{.}} {{end}}</td></tr>{{end}}
{{with .R.Settings.ConfigFile}}<tr><th>config</th><td>{{.}}</td></tr>{{end}}
</table>
<p class="sub">Raw figures: <code>result.json</code>. Generated by <code>leadflow bench</code>.</p>
</body>
</html>
`))
