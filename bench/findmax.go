package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/leadflow/leadflow/bench/report"
)

// Bounds of the --find-max search.
const (
	findMaxTrials   = 10
	findMaxCeiling  = 5_000_000
	findMaxPrecise  = 0.05 // stop when the bracket is within 5% of the pass rate
	findMaxMinStart = 1000
)

// findMax searches for the highest rate the pipeline sustains: it doubles
// the rate from Options.Rate until a trial fails, then bisects between the
// last pass and the first failure until they are within 5% (at most 10
// trials). A trial passes when it produced at least 95% of its rate, its
// p99 is at most P99Max and its backlog (lag plus records in flight) did
// not keep growing. Each trial uses
// fresh workspaces; the pipeline keeps running between trials.
func (h *harness) findMax(ctx context.Context) (*Result, error) {
	o := h.o
	fm := &report.FindMax{P99BoundMs: durMs(o.P99Max)}
	rate := math.Max(o.Rate, findMaxMinStart)
	lo, hi := 0.0, 0.0
	var best, last *Result
	var warnings []string
	for i := 0; i < findMaxTrials && ctx.Err() == nil; i++ {
		label := fmt.Sprintf("trial %d @ %s/s", i+1, si(rate))
		res, err := h.trial(ctx, rate, label)
		if err != nil {
			if res == nil {
				return nil, err
			}
			if ctx.Err() != nil {
				break
			}
		}
		last = res
		pass, reason := trialPasses(res)
		fm.Trials = append(fm.Trials, report.Trial{Rate: rate, Achieved: res.Produced.Rate, P99Ms: res.Latency.P99Ms,
			LagGrowing: res.Lag.Growing, Pass: pass, Reason: reason})
		warnings = appendNew(warnings, res.Warnings...)
		if pass {
			lo, best = rate, res
		} else {
			hi = rate
		}
		switch {
		case hi == 0:
			if rate >= findMaxCeiling {
				i = findMaxTrials // nothing above the ceiling
				continue
			}
			rate = math.Min(rate*2, findMaxCeiling)
		case lo == 0:
			rate = hi / 2 // even the first rate failed: go down
			if rate < 100 {
				i = findMaxTrials
			}
		default:
			if hi-lo <= findMaxPrecise*lo {
				i = findMaxTrials
				continue
			}
			rate = math.Round((lo + hi) / 2)
		}
		// Let the pipeline settle between trials.
		if err := sleepCtx(ctx, 2*time.Second); err != nil {
			break
		}
	}
	fm.MaxRate = lo
	res := best
	if res == nil {
		res = last
	}
	if res == nil {
		return nil, ctx.Err()
	}
	res.FindMax = fm
	res.Warnings = appendNew(res.Warnings, warnings...)
	res.Verdict = report.Verdict{Pass: lo > 0}
	if lo == 0 {
		res.Verdict.Reasons = []string{"no rate passed"}
	} else {
		res.Verdict.Reasons = []string{fmt.Sprintf("highest rate sustained: %s/s with p99 ≤ %v", si(lo), o.P99Max)}
	}
	return res, ctx.Err()
}

// trialPasses decides a find-max trial and says why it failed.
func trialPasses(r *Result) (bool, string) {
	switch {
	case r.Produced.TargetRate > 0 && r.Produced.Rate < 0.95*r.Produced.TargetRate:
		return false, fmt.Sprintf("produced only %s/s", si(r.Produced.Rate))
	case r.Produced.Errors > 0:
		return false, "produce errors"
	case r.Lag.Growing:
		return false, "backlog growing"
	case r.Latency.Count > 0 && r.Latency.P99Ms > r.Settings.P99MaxMs:
		return false, "p99 " + fmtMs(r.Latency.P99Ms)
	case r.Latency.Count == 0 && r.Correctness.Checked:
		return false, "no webhooks received"
	}
	return true, ""
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		found := false
		for _, l := range list {
			found = found || l == it
		}
		if !found {
			list = append(list, it)
		}
	}
	return list
}
