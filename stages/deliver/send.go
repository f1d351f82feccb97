package deliver

import (
	"context"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/leadflow/leadflow/schemas"
)

// send makes one attempt of r and decides what follows (the classifier's
// verdict): done, an in-process retry, a retry tier, or a dead letter.
func (s *Stage) send(e *endpoint, r *request) {
	defer s.wg.Done()
	ep, u, ok := s.prepare(e, r)
	if !ok {
		return
	}
	keep := s.attempts.keepDetail(e.workspaceID, e.webhookID, s.now())
	res := s.sender.send(s.ctx, u, ep.Secret, ep.PreviousSecret, r.msgID, (*r.body), keep)
	v := classify(res, s.stopping.Load(), s.cfg.RetryAfterMax)
	now := s.now()
	s.m.latency.Observe(res.latency.Seconds())
	a := Attempt{Time: res.sentAt, Event: eventOf(r, ep), Subjects: len(r.items), StatusCode: res.status,
		LatencyMS: float64(res.latency.Microseconds()) / 1000, Error: res.describe(), Attempt: r.attempt + 1, MessageID: r.msgID}

	var p plan
	e.mu.Lock()
	e.inflight--
	if v != vAbandoned {
		e.observeLatencyLocked(res.latency)
	}
	var after handoff
	a.Outcome, after = s.settleLocked(e, r, v, &res, now, a.Error, &p)
	e.dispatchLocked(now, &p)
	e.mu.Unlock()

	s.countOutcome(a.Outcome)
	if v != vAbandoned {
		s.logAttempt(e, r, a, &res, keep)
	}
	if v == vSuccess {
		r.unseal(s)
		s.release(r.items)
	} else if after.r != nil {
		s.hand(after)
	}
	s.run(e, &p)
}

// prepare refreshes e's configuration from the control plane and returns
// what r is sent with. When r is not to be sent (the webhook was deleted
// or disabled since r was queued, or its URL is not valid) it ends r
// without an attempt and reports false.
func (s *Stage) prepare(e *endpoint, r *request) (Endpoint, *url.URL, bool) {
	e.mu.Lock()
	latest, ok := s.endpoints.Endpoint(e.workspaceID, e.webhookID)
	if ok {
		e.setCfgLocked(latest)
	}
	ep, disabled := e.cfg, e.disabled
	u, uerr := e.urlLocked()
	e.mu.Unlock()
	switch {
	case !ok:
		// Deleted since it was queued: nobody wants these any more.
		s.m.dropped.WithLabelValues("unknown_endpoint").Add(float64(len(r.items)))
		s.finish(e, r, nil)
	case disabled:
		s.finish(e, r, &handoff{r: r, dlq: true, reason: ReasonDisabled})
	case uerr != nil:
		r.attempt++
		r.lastErr = uerr.Error()
		s.finish(e, r, &handoff{r: r, dlq: true, reason: ReasonBadURL})
	default:
		return ep, u, true
	}
	return ep, nil, false
}

// settleLocked applies verdict v of the attempt that came to res (errText
// is res described) to e's breaker and pause and to r, under e's lock. It
// returns the attempt's outcome ("" when abandoned) and where r goes when
// it is neither done nor requeued in process (the zero handoff then:
// returned by value, so that it stays on the stack).
func (s *Stage) settleLocked(e *endpoint, r *request, v verdict, res *result, now time.Time, errText string, p *plan) (string, handoff) {
	switch v {
	case vSuccess:
		s.m.success.Inc()
		s.m.subjects.Add(float64(len(r.items)))
		if st, changed := e.br.success(); changed {
			s.m.breaker.WithLabelValues(st.String()).Inc()
		}
		return OutcomeSuccess, handoff{}
	case vRetry, vRefused:
		r.failed(res, errText)
		s.breakerFailureLocked(e, v, now, errText)
		return s.retryLocked(e, r, v, now)
	case vBackoff:
		e.br.neutral()
		return OutcomeBackpressure, s.backOffLocked(e, r, res.retryAfter, now)
	case vDisable:
		r.failed(res, errText)
		return OutcomeDisabled, s.goneLocked(e, r, p)
	default: // vAbandoned
		e.br.neutral()
		return "", handoff{r: r, reason: "shutdown", delay: s.cfg.SpillDelay}
	}
}

// failed counts a failed attempt of r: its first attempt's time, the
// attempt number and the last error and status.
func (r *request) failed(res *result, errText string) {
	if r.attempt == 0 {
		r.firstAttempt = res.sentAt
	}
	r.attempt++
	r.lastErr, r.lastStatus = errText, res.status
}

// breakerFailureLocked tells e's breaker of a failure: a retryable one
// counts towards opening it (logged when it opens); a refused address does
// not.
func (s *Stage) breakerFailureLocked(e *endpoint, v verdict, now time.Time, errText string) {
	if v != vRetry {
		e.br.neutral()
		return
	}
	st, changed := e.br.failure(now)
	if !changed {
		return
	}
	s.m.breaker.WithLabelValues(st.String()).Inc()
	if st == breakerOpen {
		s.log.Warn("circuit breaker opened: endpoint keeps failing; its requests wait in the retry tiers",
			zap.String("webhook", e.webhookID), zap.String("error", errText), zap.Duration("cooldown", e.br.cur))
	}
}

// retryLocked decides what follows a failed attempt: a dead letter for a
// refused address or when the retry schedule is used up, else the
// schedule's next delay, waited in process when it is at most
// in_process_retry_max (and the stage is not stopping), in a retry tier
// otherwise.
func (s *Stage) retryLocked(e *endpoint, r *request, v verdict, now time.Time) (string, handoff) {
	switch {
	case v == vRefused:
		return OutcomeDLQ, handoff{r: r, dlq: true, reason: ReasonPrivateAddress}
	case r.attempt > len(s.cfg.RetrySchedule):
		return OutcomeDLQ, handoff{r: r, dlq: true, reason: ReasonRetriesExhausted}
	}
	delay := s.cfg.RetrySchedule[r.attempt-1]
	if delay <= s.cfg.InProcessRetryMax && !s.stopping.Load() {
		r.notBefore = now.Add(delay)
		e.requeueLocked(r)
		return OutcomeRetry, handoff{}
	}
	return OutcomeRetry, handoff{r: r, delay: delay}
}

// backOffLocked pauses e for the answer's Retry-After (wait) and defers r
// without using an attempt: in process when wait is at most
// in_process_retry_max (and the stage is not stopping), in a retry tier
// otherwise.
func (s *Stage) backOffLocked(e *endpoint, r *request, wait time.Duration, now time.Time) handoff {
	if until := now.Add(wait); until.After(e.pausedUntil) {
		e.pausedUntil = until
	}
	r.deferrals++
	if wait <= s.cfg.InProcessRetryMax && !s.stopping.Load() {
		s.m.backpressure.WithLabelValues("retry_after").Inc()
		r.notBefore = now.Add(wait)
		e.requeueLocked(r)
		return handoff{}
	}
	return handoff{r: r, reason: "retry_after", delay: wait, exact: true}
}

// goneLocked handles a 410 Gone: e is disabled, everything queued on it
// is dead-lettered (in p) with r, and, the first time, the control plane
// is told.
func (s *Stage) goneLocked(e *endpoint, r *request, p *plan) handoff {
	e.br.neutral()
	wasDisabled := e.disabled
	e.disabled = true
	e.dlqAllLocked(p, ReasonDisabled)
	if !wasDisabled {
		s.wg.Add(1)
		go s.disable(e)
	}
	return handoff{r: r, dlq: true, reason: ReasonDisabled}
}

// countOutcome counts an attempt's dead letter, retry, disabling or back
// off in the stage's metrics (successes are counted by settleLocked).
func (s *Stage) countOutcome(outcome string) {
	switch outcome {
	case OutcomeDLQ:
		s.m.dlq.Inc()
	case OutcomeRetry:
		s.m.retry.Inc()
	case OutcomeDisabled:
		s.m.disabled.Inc()
	case OutcomeBackpressure:
		s.m.backoff.Inc()
	}
}

// logAttempt queues attempt a of r for the attempt log, with its detail
// (headers, body, the answer's start) when keep is set.
func (s *Stage) logAttempt(e *endpoint, r *request, a Attempt, res *result, keep bool) {
	le := logEntry{workspaceID: e.workspaceID, webhookID: e.webhookID, a: a}
	if keep {
		le.d = newDetail(a, res.header, *r.body, res.snippet, s.cfg.AttemptLogBodyBytes)
	}
	s.logw.add(le)
}

// finish ends a request that was not attempted: it frees its slot and
// hands it on (or, with h nil, releases it as dropped).
func (s *Stage) finish(e *endpoint, r *request, h *handoff) {
	var p plan
	e.mu.Lock()
	e.inflight--
	e.dispatchLocked(s.now(), &p)
	e.mu.Unlock()
	if h != nil {
		s.hand(*h)
	} else {
		r.unseal(s)
		s.release(r.items)
	}
	s.run(e, &p)
}

// observeLatencyLocked adds one request's latency to the endpoint's moving
// average (weight 1/8), used to estimate how long a slow endpoint's queue
// takes to drain.
func (e *endpoint) observeLatencyLocked(d time.Duration) {
	if e.latency == 0 {
		e.latency = d
		return
	}
	e.latency += (d - e.latency) / 8
}

func eventOf(r *request, ep Endpoint) string {
	return schemas.WireEvent(r.event, ep.LegacyEventNames)
}

// requeueLocked puts r back at the head of the ready queue (an in-process
// retry keeps its place before later requests).
func (e *endpoint) requeueLocked(r *request) {
	e.countLocked(len(r.items), r.subjectBytes)
	e.ready = append(e.ready, nil)
	copy(e.ready[1:], e.ready)
	e.ready[0] = r
}

// disable tells the control plane the endpoint answered 410.
func (s *Stage) disable(e *endpoint) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	reason := "endpoint answered 410 Gone"
	if err := s.endpoints.Disable(ctx, e.workspaceID, e.webhookID, reason); err != nil {
		s.log.Error("could not disable webhook after 410 Gone; its requests are dead-lettered meanwhile",
			zap.String("webhook", e.webhookID), zap.Error(err))
		return
	}
	s.log.Warn("webhook disabled: endpoint answered 410 Gone", zap.String("webhook", e.webhookID))
}
