package deliver

import (
	"net/url"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/leadflow/leadflow/schemas"
)

// events indexes the open batches of an endpoint.
var events = [...]string{schemas.EventNewLead, schemas.EventNewSession, schemas.EventContactRevealed}

func eventIndex(ev string) int {
	switch ev {
	case schemas.EventNewSession:
		return 1
	case schemas.EventContactRevealed:
		return 2
	}
	return 0
}

// endpoint is one webhook's in-process state: an open batch per event, a
// FIFO of sealed requests waiting for a send slot, the requests in
// flight, its circuit breaker, rate limiter and Retry-After pause. Its
// queue is bounded (queue_size subjects, and the process-wide max_queued):
// what does not fit is spilled to a retry tier, never buffered. mu guards
// everything; nothing blocking is done while holding it (sends and
// hand-offs collected in a plan run after unlocking).
type endpoint struct {
	s                      *Stage
	workspaceID, webhookID string

	mu          sync.Mutex
	cfg         Endpoint
	disabled    bool
	url         *url.URL
	urlText     string
	open        [len(events)]*request
	lingerStop  [len(events)]func() bool
	ready       []*request
	queued      int // subjects in open batches and ready requests
	queuedBytes int
	inflight    int
	br          breaker
	limiter     *rate.Limiter
	pausedUntil time.Time // Retry-After
	timerAt     time.Time
	timerStop   func() bool
	lastActive  time.Time
	warnedFull  time.Time
}

// plan is work decided under an endpoint's lock and done after it.
type plan struct {
	sends []*request
	hands []handoff
}

// handoff sends a request to a retry tier (delay) or the dead-letter topic.
type handoff struct {
	r      *request
	dlq    bool
	reason string        // dead-letter reason, or spill reason
	delay  time.Duration // retry tier delay
}

func (s *Stage) newEndpoint(ep Endpoint) *endpoint {
	e := &endpoint{s: s, workspaceID: ep.WorkspaceID, webhookID: ep.ID,
		br: newBreaker(s.cfg.BreakerFailures, s.cfg.BreakerCooldown, s.cfg.BreakerCooldownMax)}
	e.setCfgLocked(ep)
	if s.cfg.RateLimit > 0 {
		e.limiter = rate.NewLimiter(rate.Limit(s.cfg.RateLimit), s.cfg.RateBurst)
	}
	return e
}

func (e *endpoint) setCfgLocked(ep Endpoint) {
	e.cfg, e.disabled = ep, !ep.Enabled
}

// refreshLocked re-reads the endpoint from the control plane.
func (e *endpoint) refreshLocked() {
	if ep, ok := e.s.endpoints.Endpoint(e.workspaceID, e.webhookID); ok {
		e.setCfgLocked(ep)
	}
}

func (e *endpoint) maxSubjects() int {
	if e.cfg.MaxSubjects > 0 {
		return e.cfg.MaxSubjects
	}
	return e.s.cfg.MaxSubjects
}

// blockedLocked reports whether new work must be handed to a retry tier
// instead of queued because the endpoint will not take requests for
// longer than in_process_retry_max (open breaker, Retry-After), and why.
func (e *endpoint) blockedLocked(now time.Time) (time.Duration, string, bool) {
	limit := e.s.cfg.InProcessRetryMax
	if e.s.stopping.Load() {
		limit = 0
	}
	if d := e.pausedUntil.Sub(now); d > limit {
		return d, "retry_after", true
	}
	if b, until := e.br.blocked(now); b && !until.IsZero() {
		if d := until.Sub(now); d > limit {
			return d, "breaker_open", true
		}
	}
	return 0, "", false
}

// enqueue takes one item: into the endpoint's open batch for its event, or
// handed on (spilled, dead-lettered) when it cannot be queued.
func (e *endpoint) enqueue(it *item, now time.Time) {
	s := e.s
	var p plan
	e.mu.Lock()
	e.lastActive = now
	if e.open[eventIndex(it.event)] == nil {
		e.refreshLocked()
	}
	switch wait, reason, blocked := e.blockedLocked(now); {
	case e.disabled:
		p.hands = append(p.hands, handoff{r: e.single(it), dlq: true, reason: ReasonDisabled})
	case blocked:
		r := e.single(it)
		r.deferrals++
		p.hands = append(p.hands, handoff{r: r, reason: reason, delay: wait})
	case !e.roomLocked(1, len(it.subject), now):
		p.hands = append(p.hands, handoff{r: e.single(it), reason: "queue_full", delay: s.cfg.SpillDelay})
	default:
		e.addLocked(it, now, &p)
		e.dispatchLocked(now, &p)
	}
	e.mu.Unlock()
	s.run(e, &p)
}

// enqueueFixed takes a request that has been attempted before (from a
// retry tier): it is resent as it is, after the requests already waiting.
func (e *endpoint) enqueueFixed(r *request, now time.Time) {
	s := e.s
	var p plan
	e.mu.Lock()
	e.lastActive = now
	e.refreshLocked()
	switch wait, reason, blocked := e.blockedLocked(now); {
	case e.disabled:
		p.hands = append(p.hands, handoff{r: r, dlq: true, reason: ReasonDisabled})
	case blocked:
		r.deferrals++
		p.hands = append(p.hands, handoff{r: r, reason: reason, delay: wait})
	case !e.roomLocked(len(r.items), r.subjectBytes, now):
		r.deferrals++
		p.hands = append(p.hands, handoff{r: r, reason: "queue_full", delay: s.cfg.SpillDelay})
	default:
		r.seal(s, e.cfg.LegacyEventNames)
		e.countLocked(len(r.items), r.subjectBytes)
		e.ready = append(e.ready, r)
		e.dispatchLocked(now, &p)
	}
	e.mu.Unlock()
	s.run(e, &p)
}

func (e *endpoint) single(it *item) *request {
	r := &request{workspaceID: e.workspaceID, webhookID: e.webhookID, event: it.event}
	r.add(it)
	return r
}

// roomLocked reports whether n more subjects of size bytes fit the
// endpoint's queue and the process-wide bounds; hitting a bound is counted
// and logged (at most once a minute per endpoint) with the setting to raise.
func (e *endpoint) roomLocked(n, bytes int, now time.Time) bool {
	s := e.s
	var setting string
	switch {
	case e.queued+n > s.cfg.QueueSize && e.queued > 0:
		setting = "deliver.queue_size"
	case s.queued.Load()+int64(n) > int64(s.cfg.MaxQueued):
		setting = "deliver.max_queued"
	case s.queuedBytes.Load()+int64(bytes) > s.cfg.MaxQueuedBytes:
		setting = "deliver.max_queued_bytes"
	default:
		return true
	}
	if now.Sub(e.warnedFull) > time.Minute {
		e.warnedFull = now
		s.log.Info("endpoint queue full: spilling its new requests to the retry tier; raise "+setting+" if the endpoint is healthy and this is frequent",
			zap.String("webhook", e.webhookID), zap.Int("queued", e.queued), zap.Int("in_flight", e.inflight))
	}
	return false
}

func (e *endpoint) countLocked(n, bytes int) {
	e.queued += n
	e.queuedBytes += bytes
	e.s.addQueued(n, bytes)
}

// addLocked appends it to the open batch of its event, sealing the batch
// when it is full (max_subjects), when it would grow past max_bytes, or at
// once with no linger; otherwise the linger timer seals it.
func (e *endpoint) addLocked(it *item, now time.Time, p *plan) {
	s := e.s
	ev := eventIndex(it.event)
	r := e.open[ev]
	if r != nil && schemas.PayloadSize(schemas.WireEvent(it.event, e.cfg.LegacyEventNames), len(r.items)+1, r.subjectBytes+len(it.subject)) > s.cfg.MaxBytes {
		e.sealLocked(ev)
		r = nil
	}
	if r == nil {
		r = &request{workspaceID: e.workspaceID, webhookID: e.webhookID, event: it.event}
		e.open[ev] = r
	}
	r.add(it)
	e.countLocked(1, len(it.subject))
	if len(r.items) >= e.maxSubjects() || s.cfg.Linger <= 0 || s.stopping.Load() {
		e.sealLocked(ev)
		return
	}
	if len(r.items) == 1 {
		e.lingerStop[ev] = s.clock.AfterFunc(s.cfg.Linger, func() { e.lingered(ev, r) })
	}
}

// sealLocked moves the open batch of event ev to the ready queue.
func (e *endpoint) sealLocked(ev int) {
	r := e.open[ev]
	if r == nil {
		return
	}
	e.open[ev] = nil
	if stop := e.lingerStop[ev]; stop != nil {
		stop()
		e.lingerStop[ev] = nil
	}
	r.seal(e.s, e.cfg.LegacyEventNames)
	e.ready = append(e.ready, r)
}

// lingered seals r if it is still the open batch when its linger ends.
func (e *endpoint) lingered(ev int, r *request) {
	if e.s.closed.Load() {
		return
	}
	var p plan
	e.mu.Lock()
	if e.open[ev] == r {
		e.lingerStop[ev] = nil
		e.sealLocked(ev)
		e.dispatchLocked(e.s.clock.Now(), &p)
	}
	e.mu.Unlock()
	e.s.run(e, &p)
}

// dispatchLocked starts sends while there are ready requests and free
// slots, unless the endpoint must wait: a Retry-After pause, an in-process
// retry's wait, an open breaker or the rate limit. Waiting is
// backpressure and uses up no attempt; a wait longer than
// in_process_retry_max hands everything queued to a retry tier instead.
func (e *endpoint) dispatchLocked(now time.Time, p *plan) {
	s := e.s
	for len(e.ready) > 0 && e.inflight < s.cfg.MaxInFlight {
		if wait, reason, blocked := e.blockedLocked(now); blocked {
			e.deferAllLocked(p, reason, wait)
			return
		}
		if e.pausedUntil.After(now) {
			e.armLocked(now, e.pausedUntil, "retry_after")
			return
		}
		head := e.ready[0]
		if head.notBefore.After(now) {
			e.armLocked(now, head.notBefore, "")
			return
		}
		if b, until := e.br.blocked(now); b {
			if !until.IsZero() {
				e.armLocked(now, until, "breaker_open")
			} // else a probe is in flight: its answer dispatches again
			return
		}
		if e.limiter != nil {
			res := e.limiter.ReserveN(now, 1)
			if d := res.DelayFrom(now); d > 0 {
				res.CancelAt(now)
				e.armLocked(now, now.Add(d), "rate_limit")
				return
			}
		}
		if st, changed := e.br.sending(); changed {
			s.m.breaker.WithLabelValues(st.String()).Inc()
		}
		e.ready[0] = nil
		e.ready = e.ready[1:]
		if len(e.ready) == 0 {
			e.ready = nil
		}
		e.inflight++
		e.countLocked(-len(head.items), -head.subjectBytes)
		p.sends = append(p.sends, head)
	}
}

// armLocked makes sure dispatch runs again at t.
func (e *endpoint) armLocked(now, t time.Time, reason string) {
	if e.timerStop != nil && !e.timerAt.After(t) {
		return
	}
	if e.timerStop != nil {
		e.timerStop()
	}
	if reason != "" {
		e.s.m.backpressure.WithLabelValues(reason).Inc()
	}
	e.timerAt = t
	e.timerStop = e.s.clock.AfterFunc(t.Sub(now), e.wake)
}

func (e *endpoint) wake() {
	if e.s.closed.Load() {
		return
	}
	var p plan
	e.mu.Lock()
	e.timerStop = nil
	e.dispatchLocked(e.s.clock.Now(), &p)
	e.mu.Unlock()
	e.s.run(e, &p)
}

// deferAllLocked hands every queued request and open batch to a retry
// tier without using up an attempt (the endpoint will not take requests
// for wait).
func (e *endpoint) deferAllLocked(p *plan, reason string, wait time.Duration) {
	for i, r := range e.open {
		if r != nil {
			e.sealLocked(i)
		}
	}
	for _, r := range e.ready {
		e.countLocked(-len(r.items), -r.subjectBytes)
		r.deferrals++
		p.hands = append(p.hands, handoff{r: r, reason: reason, delay: wait})
	}
	clear(e.ready)
	e.ready = nil
}

// dlqAllLocked dead-letters every queued request and open batch (the
// endpoint was disabled).
func (e *endpoint) dlqAllLocked(p *plan, reason string) {
	for i, r := range e.open {
		if r != nil {
			e.sealLocked(i)
		}
	}
	for _, r := range e.ready {
		e.countLocked(-len(r.items), -r.subjectBytes)
		p.hands = append(p.hands, handoff{r: r, dlq: true, reason: reason})
	}
	clear(e.ready)
	e.ready = nil
}

// urlLocked returns the parsed URL of the endpoint's current configuration.
func (e *endpoint) urlLocked() (*url.URL, error) {
	if e.url != nil && e.urlText == e.cfg.URL {
		return e.url, nil
	}
	u, err := url.Parse(e.cfg.URL)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &url.Error{Op: "parse", URL: e.cfg.URL, Err: errBadURL}
	}
	e.url, e.urlText = u, e.cfg.URL
	return u, nil
}

// idleLocked reports whether the endpoint holds nothing and has been idle
// for timeout, with a closed breaker (so dropping it loses nothing).
func (e *endpoint) idleLocked(now time.Time, timeout time.Duration) bool {
	for _, r := range e.open {
		if r != nil {
			return false
		}
	}
	return len(e.ready) == 0 && e.inflight == 0 && e.br.state == breakerClosed &&
		!e.pausedUntil.After(now) && now.Sub(e.lastActive) > timeout
}
