package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
)

// WriteSummary writes the run's summary table for a terminal.
func WriteSummary(w io.Writer, r *Result) {
	verdict := "PASS"
	if !r.Verdict.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "leadflow bench: %s (%s pipeline): %s\n", r.Scenario, r.Mode, verdict)
	for _, reason := range r.Verdict.Reasons {
		fmt.Fprintf(w, "  %s\n", reason)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, value, note string) { fmt.Fprintf(tw, "%s\t%s\t%s\n", name, value, note) }
	row("load", si(r.Produced.Rate)+"/s", fmt.Sprintf("raw events acked (target %s/s; %d errors, %d skipped)", si(r.Produced.TargetRate), r.Produced.Errors, r.Produced.Skipped))
	for _, st := range r.Stages {
		row("  "+st.Name, si(st.InPerSec)+"/s in", fmt.Sprintf("%s/s out, %s dead letters", si(st.OutPerSec), si(st.DeadLetters)))
	}
	row("delivered", si(r.Deliveries.SubjectsPerSec)+"/s", fmt.Sprintf("webhook subjects in %s requests/s (%d subjects)", si(r.Deliveries.RequestsPerSec), r.Deliveries.Subjects))
	if r.Latency.Count > 0 {
		row("latency p50", fmtMs(r.Latency.P50Ms), "end to end, raw event timestamp to webhook arrival")
		row("latency p90", fmtMs(r.Latency.P90Ms), "")
		row("latency p99", fmtMs(r.Latency.P99Ms), "bound "+fmtMs(r.Settings.P99MaxMs))
		row("latency max", fmtMs(r.Latency.MaxMs), fmt.Sprintf("%d subjects measured", r.Latency.Count))
	} else {
		row("latency", "-", "no webhooks measured")
	}
	growing := "not growing"
	if r.Lag.Growing {
		growing = "GROWING"
	}
	drain := "not drained"
	if r.Lag.DrainSec >= 0 {
		drain = fmt.Sprintf("drained in %ss", trim(r.Lag.DrainSec))
	}
	row("lag max", si(r.Lag.Max), fmt.Sprintf("%s in flight max; backlog %s, %s", si(r.Lag.MaxInflight), growing, drain))
	load := ""
	if r.Process.IncludesLoad {
		load = " incl. load generator"
	}
	row("cpu", trim(r.Process.CPUPercent)+"%", "mean, 100% = one core"+load)
	memNote := fmt.Sprintf("peak RSS (Go heap %s MiB)", trim(r.Process.PeakHeapMB))
	if w := r.Process.RSSGrowthWindowS; w > 0 {
		memNote += fmt.Sprintf("; RSS %+.1f MiB/min over the last %ss of the load", r.Process.RSSGrowthMBPerMin, trim(w))
	}
	row("memory", trim(r.Process.PeakRSSMB)+" MiB", memNote)
	costRows(row, r)
	c := r.Correctness
	if c.Checked {
		state := "ok"
		if !c.Pass {
			state = "FAIL"
		}
		failing := ""
		if n := c.ByEndpoint["failing"].Missing; n > 0 {
			failing = fmt.Sprintf(" (%d of them to failing endpoints)", n)
		}
		row("correctness", state, fmt.Sprintf("%d expected, %d delivered, %d missing%s, %d duplicates (%d redelivered), %d unexpected",
			c.Total.Expected, c.Total.Delivered, c.Total.Missing, failing, c.Total.Duplicates, c.Total.Redelivered, c.Total.Unexpected))
		for _, k := range slices.Sorted(maps.Keys(c.ByEvent)) {
			v := c.ByEvent[k]
			row("  "+k, fmt.Sprintf("%d/%d", v.Delivered, v.Expected), fmt.Sprintf("%d missing, %d duplicates, %d unexpected", v.Missing, v.Duplicates, v.Unexpected))
		}
		for _, k := range slices.Sorted(maps.Keys(c.ByEndpoint)) {
			v := c.ByEndpoint[k]
			row("  "+k+" endpoints", fmt.Sprintf("%d/%d", v.Delivered, v.Expected), fmt.Sprintf("%d missing", v.Missing))
		}
	} else {
		row("correctness", "-", c.Note)
	}
	_ = tw.Flush()
	if fm := r.FindMax; fm != nil {
		fmt.Fprintf(w, "\nmax rate: %s/s with p99 <= %s and the backlog not growing\n", si(fm.MaxRate), fmtMs(fm.P99BoundMs))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, t := range fm.Trials {
			res := "pass"
			if !t.Pass {
				res = "fail: " + t.Reason
			}
			fmt.Fprintf(tw, "  %s/s	achieved %s/s	p99 %s	%s\n", si(t.Rate), si(t.Achieved), fmtMs(t.P99Ms), res)
		}
		_ = tw.Flush()
	}
	for _, m := range c.MissingSample[:min(3, len(c.MissingSample))] {
		fmt.Fprintf(w, "  missing: %s\n", m)
	}
	for _, m := range c.UnexpectedSample[:min(3, len(c.UnexpectedSample))] {
		fmt.Fprintf(w, "  unexpected: %s\n", m)
	}
}

// costRows writes the cost figures: CPU per raw event, the process's
// high-water RSS and Redis bytes per lead and session.
func costRows(row func(name, value, note string), r *Result) {
	c := r.Cost
	if c.CPUSource != "" {
		note := fmt.Sprintf("pipeline CPU per raw event (%s, %d events, warm-up to drain)", c.CPUSource, c.Events)
		if !c.CPUDrained {
			note += "; NOT DRAINED: low, queued work missing"
		}
		if c.CPUIncludesLoad {
			note += "; incl. load generator"
		}
		row("cpu/event", trim(c.CPUMicrosPerEvent)+" µs", note)
		if c.AllocBytesPerEvent > 0 {
			note := "Go heap allocated per raw event (/metrics, same window)"
			if c.CPUIncludesLoad {
				note += "; incl. load generator"
			}
			row("alloc/event", trim(c.AllocBytesPerEvent)+" B", note)
		}
	} else {
		row("cpu/event", "-", "no CPU reading (neither /metrics nor --leadflow-pid)")
	}
	if r.Process.HighWaterRSSMB > 0 {
		row("memory hwm", trim(r.Process.HighWaterRSSMB)+" MiB", "peak RSS over the process's life (VmHWM)")
	}
	if c.Leads > 0 || c.Sessions > 0 {
		row("redis/lead", trim(c.RedisBytesPerLead)+" B", fmt.Sprintf("used_memory growth %s B over %d leads (per session: %s B, %d sessions)",
			si(float64(c.RedisUsedAfter-c.RedisUsedBefore)), c.Leads, trim(c.RedisBytesPerSession), c.Sessions))
	} else if c.RedisNote != "" {
		row("redis/lead", "-", c.RedisNote)
	}
}
