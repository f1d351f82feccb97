package bench

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/leadflow/leadflow/bench/producer"
	"github.com/leadflow/leadflow/bench/report"
	"github.com/leadflow/leadflow/bench/traffic"
)

// result assembles the trial's Result once it is over.
func (t *trial) result(ps producer.Stats, loadEnd time.Time, drainSec float64) *Result {
	o := t.h.o
	t.mu.Lock()
	defer t.mu.Unlock()
	r := &Result{
		FormatVersion: report.FormatVersion, Scenario: o.Scenario, Description: o.Description,
		StartedAt: t.start.UTC().Round(0), Machine: machine(), Mode: t.h.tgt.mode,
		Settings: t.settings(),
		Warnings: append([]string(nil), t.warnings...),
	}
	// The measured window: from the end of the warm-up to the end of the load.
	from := t.base
	if t.atWarm != nil {
		from = *t.atWarm
	}
	to := cumul{at: loadEnd, acked: ps.Acked, scheduled: ps.Scheduled}
	if t.atEnd != nil {
		to = *t.atEnd
		to.acked = ps.Acked // after the flush
	}
	t.throughput(r, ps, from, to)
	t.stageFigures(r, from, to)
	r.Process.IncludesLoad = t.h.tgt.includesLoad
	r.Latency = t.chk.latency()
	t.timelineFigures(r, drainSec)
	t.costFigures(r)
	r.Cost.CPUIncludesLoad = t.h.tgt.includesLoad
	t.correctness(r)
	r.Verdict = verdict(r, t.setupOK)
	return r
}

// settings returns the knobs of the trial for its Result.
func (t *trial) settings() report.Settings {
	o := t.h.o
	gcfg := t.gen.Config()
	s := report.Settings{
		Rate: t.rate, DurationSec: o.Duration.Seconds(), WarmupSec: o.Warmup.Seconds(), Seed: gcfg.Seed, RunID: t.runID,
		Workspaces: gcfg.Workspaces, Companies: min(len(t.h.data.Companies), max(gcfg.Companies, 0)), IdentifiableShare: gcfg.IdentifiableShare,
		BotShare: gcfg.BotShare, SessionsPerVisitor: gcfg.SessionsPerVisitor, PageviewsPerSession: gcfg.PageviewsPerSession,
		PingShare: gcfg.PingShare, MalformedShare: gcfg.MalformedShare, AutomationsPerWorkspace: len(o.Rules),
		SlowShare: o.SlowShare, SlowDelayMs: durMs(o.SlowDelay), FailingShare: o.FailingShare, FailRate: o.FailRate,
		MaxSubjects: o.MaxSubjects, Burst: o.Burst.String(), P99MaxMs: durMs(o.P99Max), Partitions: o.Partitions, ConfigFile: o.ConfigFile,
	}
	if s.Companies == 0 {
		s.Companies = len(t.h.data.Companies)
	}
	if t.h.tgt.mode != "embedded" {
		s.Brokers = t.h.tgt.kafka.Brokers
	}
	for i, rule := range o.Rules {
		s.Automations = append(s.Automations, fmt.Sprintf("#%d %s", i+1, describeRule(rule)))
	}
	return s
}

// perSec is (b-a)/secs, 0 for no time.
func perSec(a, b float64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return (b - a) / secs
}

// throughput fills what went in and what the receiver accepted over the
// measured window [from, to].
func (t *trial) throughput(r *Result, ps producer.Stats, from, to cumul) {
	window := to.at.Sub(from.at).Seconds()
	loadWindow := min(t.h.o.Duration.Seconds(), window) // the producer stopped on schedule, then flushed
	r.Produced = report.Produced{
		TargetRate: perSec(from.scheduled, to.scheduled, loadWindow), Rate: perSec(float64(from.acked), float64(to.acked), loadWindow),
		Events: ps.Acked, Errors: ps.Errors, Skipped: ps.Skipped, Bytes: ps.Bytes, FirstError: ps.FirstError,
		ByKind: map[string]uint64{},
	}
	for k, n := range t.byKind {
		if n > 0 {
			r.Produced.ByKind[traffic.Kind(k).String()] = n
		}
	}
	req, subj, byEvent := t.chk.deliveries()
	r.Deliveries = report.Deliveries{Requests: req, Subjects: subj, SubjectsByEvent: byEvent,
		RequestsPerSec: perSec(float64(from.requests), float64(to.requests), window),
		SubjectsPerSec: perSec(float64(from.subjects), float64(to.subjects), window),
		Failed:         t.failed.Load(), Rejected: t.rejected.Load()}
}

// stageFigures fills the stages' records and the process's CPU over the
// measured window from the /metrics scrapes at its ends.
func (t *trial) stageFigures(r *Result, from, to cumul) {
	fs := from.snap
	if fs == nil || to.snap == nil {
		return
	}
	secs := to.snap.At.Sub(fs.At).Seconds()
	names := map[string]bool{}
	for k := range to.snap.RecordsIn {
		names[k] = true
	}
	for k := range to.snap.RecordsOut {
		names[k] = true
	}
	for _, name := range orderStages(slices.Collect(maps.Keys(names))) {
		st := report.Stage{Name: name, In: to.snap.RecordsIn[name] - fs.RecordsIn[name], Out: to.snap.RecordsOut[name] - fs.RecordsOut[name],
			DeadLetters: to.snap.DeadLetters[name] - fs.DeadLetters[name], OutByTopic: map[string]float64{}}
		st.InPerSec, st.OutPerSec = perSec(0, st.In, secs), perSec(0, st.Out, secs)
		for k, v := range to.snap.RecordsOutByTopic {
			if len(k) > len(name) && k[:len(name)+1] == name+" " {
				st.OutByTopic[k[len(name)+1:]] = v - fs.RecordsOutByTopic[k]
			}
		}
		r.Stages = append(r.Stages, st)
	}
	r.Process.CPUSeconds = to.snap.CPUSeconds - fs.CPUSeconds
	r.Process.CPUPercent = perSec(0, r.Process.CPUSeconds, secs) * 100
	r.Lag.EndOfLoad = to.snap.TotalLag()
}

// timelineFigures fills the lag and memory figures from the per-second
// samples.
func (t *trial) timelineFigures(r *Result, drainSec float64) {
	r.Timeline = append([]report.Sample(nil), t.samples...)
	r.Lag.MaxByStage = map[string]float64{}
	var measureBacklog []float64
	var measured []report.Sample
	for _, s := range r.Timeline {
		r.Lag.Max = max(r.Lag.Max, s.LagTotal)
		r.Lag.MaxInflight = max(r.Lag.MaxInflight, s.InflightTotal)
		for k, v := range s.Lag {
			r.Lag.MaxByStage[k] = max(r.Lag.MaxByStage[k], v)
		}
		r.Process.PeakRSSMB = max(r.Process.PeakRSSMB, s.RSSMB)
		r.Process.PeakHeapMB = max(r.Process.PeakHeapMB, s.HeapMB)
		if s.Phase == phaseMeasure {
			measured = append(measured, s)
			b := s.LagTotal + s.InflightTotal
			if t.h.o.FailingShare > 0 {
				// Deliveries to failing endpoints wait in flight for their
				// retries (1 min and more) by design: judge lag alone.
				b = s.LagTotal
			}
			measureBacklog = append(measureBacklog, b)
		}
	}
	if n := len(r.Timeline); n > 0 {
		r.Lag.Final = r.Timeline[n-1].LagTotal
	}
	if t.lastSnap != nil {
		r.Lag.Final = t.lastSnap.TotalLag()
	}
	r.Lag.Growing = backlogGrowing(measureBacklog, t.rate)
	r.Lag.DrainSec = drainSec
	r.Process.RSSGrowthMBPerMin, r.Process.RSSGrowthWindowS = rssGrowth(measured)
}

// rssGrowth returns the least-squares slope of RSS (MiB a minute) over
// the second half of the measured samples and that half's length in
// seconds; 0, 0 when it spans under 20 s or has no RSS reading.
func rssGrowth(measured []report.Sample) (perMin, windowS float64) {
	half := measured[len(measured)/2:]
	var pts [][2]float64
	for _, s := range half {
		if s.RSSMB > 0 {
			pts = append(pts, [2]float64{s.T, s.RSSMB})
		}
	}
	if len(pts) < 3 || pts[len(pts)-1][0]-pts[0][0] < 20 {
		return 0, 0
	}
	var mx, my float64
	for _, p := range pts {
		mx += p[0]
		my += p[1]
	}
	n := float64(len(pts))
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for _, p := range pts {
		sxy += (p[0] - mx) * (p[1] - my)
		sxx += (p[0] - mx) * (p[0] - mx)
	}
	return sxy / sxx * 60, pts[len(pts)-1][0] - pts[0][0]
}

// costFigures fills the Redis bytes per lead and session over the trial
// and the high-water RSS (costCPU the CPU per event).
func (t *trial) costFigures(r *Result) {
	sessions, leads := t.gen.Ledger().Len()
	switch {
	case t.h.tgt.redisNote != "":
		r.Cost.RedisNote = t.h.tgt.redisNote
	case t.redisBeforeErr != nil || t.redisAfterErr != nil:
		r.Cost.RedisNote = "not measured: " + errors.Join(t.redisBeforeErr, t.redisAfterErr).Error()
	default:
		redisPerLead(&r.Cost, t.redisBefore, t.redisAfter, leads, sessions)
		r.Cost.RedisNote = "used_memory of the whole Redis: other clients' writes and expiring keys count too"
	}
	if t.highWaterErr == nil {
		r.Process.HighWaterRSSMB = t.highWater / (1 << 20)
	}
}

// costCPU fills the CPU per raw event of c: the pipeline's CPU from the
// start of the trial (from) to after the drain (to) over every event
// acked (warm-up included), so that work the pipeline deferred into the
// drain counts; drained says the backlog reached 0 (else the figure
// misses the work still queued).
func costCPU(c *report.Cost, from, to cumul, acked uint64, drained bool) {
	w := cpuWindow{events: acked}
	if from.procErr == nil && to.procErr == nil {
		w.procFrom, w.procTo, w.procOK = from.procCPU, to.procCPU, true
	}
	if from.snap != nil && to.snap != nil {
		w.metricsSecs, w.metricsOK = to.snap.CPUSeconds-from.snap.CPUSeconds, true
		w.allocBytes = to.snap.AllocBytes - from.snap.AllocBytes
	}
	cpuPerEvent(c, w)
	c.CPUDrained = drained
}

// correctness fills the webhook check and the warnings about it and about
// /metrics.
func (t *trial) correctness(r *Result) {
	if t.setupOK {
		r.Correctness = t.chk.result()
		if r.Correctness.Total.Expected > 0 && r.Deliveries.Subjects == 0 {
			r.Warnings = append(r.Warnings, "no webhook arrived: are the evaluate and deliver stages running in the pipeline?")
		}
	} else {
		r.Correctness = report.Correctness{Note: "not checked: no webhooks were set up"}
	}
	if t.scrapeErr != nil {
		r.Warnings = append(r.Warnings, "reading /metrics failed (stage, lag, CPU and memory figures may be missing): "+t.scrapeErr.Error())
	}
	if len(r.Stages) == 0 && t.scrapeErr == nil {
		r.Warnings = append(r.Warnings, "no stage reported records in or out (are the stages running?)")
	}
}

// orderStages sorts stage names in pipeline order, others after.
func orderStages(names []string) []string {
	order := map[string]int{"enrich": 0, "leads": 1, "evaluate": 2, "deliver": 3}
	slices.SortFunc(names, func(a, b string) int {
		oa, aok := order[a]
		ob, bok := order[b]
		switch {
		case aok && bok:
			return oa - ob
		case aok:
			return -1
		case bok:
			return 1
		}
		if a < b {
			return -1
		}
		return 1
	})
	return names
}

// backlogGrowing reports whether the backlog (lag plus records in flight)
// kept growing over the measured samples: the mean of the last third is
// above half a second of load (and 1000 records) and 1.5 times the mean of
// the first third.
func backlogGrowing(lag []float64, rate float64) bool {
	if len(lag) < 3 {
		return false
	}
	third := len(lag) / 3
	mean := func(v []float64) float64 {
		var s float64
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	first, last := mean(lag[:third]), mean(lag[len(lag)-third:])
	return last > max(rate*0.5, 1000) && last > 1.5*first
}

// verdict decides whether the run met its bounds.
func verdict(r *Result, setupOK bool) report.Verdict {
	var reasons []string
	if r.Produced.TargetRate > 0 && r.Produced.Rate < 0.95*r.Produced.TargetRate {
		reasons = append(reasons, fmt.Sprintf("produced %.0f/s, below 95%% of the target %.0f/s (the load generator or Kafka could not keep up)", r.Produced.Rate, r.Produced.TargetRate))
	}
	if r.Produced.Errors > 0 {
		reasons = append(reasons, fmt.Sprintf("%d events failed to produce (%s)", r.Produced.Errors, r.Produced.FirstError))
	}
	if r.Lag.Growing {
		reasons = append(reasons, "the backlog (consumer lag plus records in flight) kept growing: the pipeline did not keep up")
	}
	if setupOK {
		switch {
		case r.Latency.Count == 0:
			reasons = append(reasons, "no webhook latency measured")
		case r.Latency.P99Ms > r.Settings.P99MaxMs:
			reasons = append(reasons, fmt.Sprintf("p99 latency %s above the bound %s", time.Duration(r.Latency.P99Ms*1e6).Round(time.Millisecond), time.Duration(r.Settings.P99MaxMs*1e6)))
		}
		if r.Correctness.Checked && !r.Correctness.Pass {
			c := r.Correctness
			reasons = append(reasons, fmt.Sprintf("correctness: %d missing, %d unexpected, %d lead id conflicts, %d repeated contacts",
				c.Total.Missing-c.ByEndpoint[classNames[classFailing]].Missing, c.Total.Unexpected, c.LeadIDConflicts, c.ContactDuplicates))
		}
	}
	return report.Verdict{Pass: len(reasons) == 0, Reasons: reasons}
}
