package deliver

import (
	"context"
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
	spilled     int           // subjects spilled (queue_full, slow) since the state was created
	roomCh      chan struct{} // closed when the queue has room; nil when nobody waits
	slow        bool          // its full queue made no room within queue_wait_max; until it is empty
	latency     time.Duration // moving average of its requests' latency
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
	exact  bool          // a Retry-After: not sent before delay, nor much after (see Stage.hand)
}

func (s *Stage) newEndpoint(ep Endpoint) *endpoint {
	e := &endpoint{s: s, workspaceID: ep.WorkspaceID, webhookID: ep.ID,
		br: newBreaker(s.cfg.BreakerFailures, s.cfg.BreakerCooldown, s.cfg.BreakerCooldownMax)}
	e.br.now, e.br.changed = s.now, s.statusChanged
	e.setCfgLocked(ep)
	return e
}

// setCfgLocked takes the webhook's latest configuration, including its
// own rate limit (which replaces the stage's rate_limit).
func (e *endpoint) setCfgLocked(ep Endpoint) {
	e.cfg, e.disabled = ep, !ep.Enabled
	rl := e.s.cfg.RateLimit
	if ep.RateLimit > 0 {
		rl = ep.RateLimit
	}
	switch {
	case rl <= 0:
		e.limiter = nil
	case e.limiter == nil:
		e.limiter = rate.NewLimiter(rate.Limit(rl), e.s.cfg.RateBurst)
	case e.limiter.Limit() != rate.Limit(rl):
		e.limiter.SetLimitAt(e.s.now(), rate.Limit(rl))
	}
}

// maxInFlight is the webhook's own max_in_flight, at most the stage's
// max_in_flight_cap, else the stage's max_in_flight.
func (e *endpoint) maxInFlight() int {
	if e.cfg.MaxInFlight > 0 {
		return min(e.cfg.MaxInFlight, e.s.cfg.MaxInFlightCap)
	}
	return e.s.cfg.MaxInFlight
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
//
// When the endpoint's own queue is full (queue_size) and the endpoint is
// healthy (no failure since its last success, not slow), a caller that may
// wait (the worker of an input partition of deliveries) waits for room:
// a busy endpoint is backpressure on its partition, not a reason to
// defer. Room comes as soon as one of its requests is sent. If none is
// within queue_wait_max, the endpoint is slow (it takes far less than it
// is offered): this item and what follows while its queue is full are
// deferred through a retry tier (reason "slow"), so that it does not hold
// back the other endpoints of its partition. A failing endpoint, a caller
// that may not wait, or the process-wide bounds spill to the spill_delay
// tier (reason "queue_full"). It returns ctx's error if ctx ends while it
// waits (the batch is then abandoned by the runtime).
func (e *endpoint) enqueue(ctx context.Context, it *item, now time.Time, canWait bool) error {
	s := e.s
	var deadline time.Time
	for {
		var p plan
		var room <-chan struct{}
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
			p.hands = append(p.hands, handoff{r: r, reason: reason, delay: wait, exact: reason == "retry_after"})
		default:
			switch e.roomLocked(1, len(it.subject)) {
			case roomYes:
				e.addLocked(it, now, &p)
				e.dispatchLocked(now, &p)
			case roomEndpointFull:
				if canWait && e.healthyLocked() && s.cfg.QueueWaitMax > 0 && !s.stopping.Load() {
					if deadline.IsZero() {
						deadline = now.Add(s.cfg.QueueWaitMax)
					}
					if now.Before(deadline) {
						room = e.roomChLocked()
						break
					}
					e.markSlowLocked(now)
				}
				e.spillLocked(&p, e.single(it), now, "deliver.queue_size")
			default:
				e.spillLocked(&p, e.single(it), now, "deliver.max_queued / deliver.max_queued_bytes")
			}
		}
		e.mu.Unlock()
		s.run(e, &p)
		if room == nil {
			return nil
		}
		if err := s.waitRoom(ctx, room, deadline.Sub(now)); err != nil {
			return err
		}
		now = s.now()
	}
}

// waitRoom waits until room is closed, d has passed, the stage stops, or
// ctx ends (its error is returned).
func (s *Stage) waitRoom(ctx context.Context, room <-chan struct{}, d time.Duration) error {
	s.m.backpressure.WithLabelValues("queue_full").Inc()
	timeout := make(chan struct{})
	stop := s.afterFunc(d, func() { close(timeout) })
	defer stop()
	select {
	case <-room:
	case <-timeout:
	case <-s.stopCh:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
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
		p.hands = append(p.hands, handoff{r: r, reason: reason, delay: wait, exact: reason == "retry_after"})
	case e.roomLocked(len(r.items), r.subjectBytes) != roomYes:
		r.deferrals++
		e.spillLocked(&p, r, now, "deliver.queue_size")
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

// Answers of roomLocked.
const (
	roomYes          = iota // it fits
	roomEndpointFull        // the endpoint's queue_size is reached
	roomProcessFull         // max_queued or max_queued_bytes is reached
)

// roomLocked reports whether n more subjects of size bytes fit the
// endpoint's queue and the process-wide bounds.
func (e *endpoint) roomLocked(n, bytes int) int {
	s := e.s
	switch {
	case e.queued+n > s.cfg.QueueSize && e.queued > 0:
		return roomEndpointFull
	case s.queued.Load()+int64(n) > int64(s.cfg.MaxQueued), s.queuedBytes.Load()+int64(bytes) > s.cfg.MaxQueuedBytes:
		return roomProcessFull
	}
	return roomYes
}

// healthyLocked reports whether the endpoint is worth waiting for: its
// last attempt did not fail (closed breaker, no failure in a row) and it
// has not been found slow since its queue was last empty.
func (e *endpoint) healthyLocked() bool {
	return !e.slow && e.br.state == breakerClosed && e.br.run == 0
}

// roomChLocked returns a channel closed when the endpoint's queue has room.
func (e *endpoint) roomChLocked() <-chan struct{} {
	if e.roomCh == nil {
		e.roomCh = make(chan struct{})
	}
	return e.roomCh
}

// markSlowLocked records that the endpoint's full queue made no room
// within queue_wait_max: until its queue is empty again, what does not
// fit is deferred instead of waited for.
func (e *endpoint) markSlowLocked(now time.Time) {
	if e.slow {
		return
	}
	e.slow = true
	e.s.log.Warn("endpoint slow: its full queue made no room within deliver.queue_wait_max; deferring what does not fit through the retry tiers until it catches up",
		zap.String("webhook", e.webhookID), zap.Int("queued", e.queued), zap.Int("in_flight", e.inflight),
		zap.Duration("latency", e.latency), zap.Duration("queue_wait_max", e.s.cfg.QueueWaitMax))
	e.s.m.slow.Inc()
}

// spillLocked hands r to a retry tier without using an attempt because it
// does not fit the queue: a slow endpoint's to the longest tier within its
// queue's expected drain time (at least spill_delay, reason "slow"),
// anything else to the spill_delay tier (reason "queue_full"). Spills are
// counted per webhook and logged (at most once a minute per webhook) with
// the setting to raise.
func (e *endpoint) spillLocked(p *plan, r *request, now time.Time, setting string) {
	s := e.s
	h := handoff{r: r, reason: "queue_full", delay: s.cfg.SpillDelay}
	if e.slow {
		h.reason, h.delay = "slow", max(s.cfg.SpillDelay, s.tierAtMost(e.drainLocked()))
		setting = "the webhook's max_in_flight or deliver.queue_wait_max"
	}
	p.hands = append(p.hands, h)
	e.spilled += len(r.items)
	if now.Sub(e.warnedFull) > time.Minute {
		e.warnedFull = now
		s.log.Info("endpoint queue full: spilling to a retry tier; raise "+setting+" if the endpoint is healthy and this is frequent",
			zap.String("webhook", e.webhookID), zap.String("reason", h.reason), zap.Duration("delay", s.tierFor(h.delay)),
			zap.Int("spilled_total", e.spilled), zap.Int("queued", e.queued), zap.Int("in_flight", e.inflight))
	}
}

// drainLocked estimates how long the endpoint's queue takes to be sent:
// its requests, max_in_flight at a time, each taking the endpoint's
// recent latency (queue_wait_max while none has been answered).
func (e *endpoint) drainLocked() time.Duration {
	reqs := (e.queued + e.maxSubjects() - 1) / e.maxSubjects()
	lat := e.latency
	if lat == 0 {
		lat = e.s.cfg.QueueWaitMax
	}
	return time.Duration(int64(lat) * int64(reqs) / int64(e.maxInFlight()))
}

func (e *endpoint) countLocked(n, bytes int) {
	e.queued += n
	e.queuedBytes += bytes
	e.s.addQueued(n, bytes)
	if n < 0 {
		if e.roomCh != nil && e.queued < e.s.cfg.QueueSize {
			close(e.roomCh)
			e.roomCh = nil
		}
		if e.queued == 0 {
			e.slow = false
		}
	}
}

// addLocked appends it to the open batch of its event, sealing the batch
// when it is full (max_subjects), when it would grow past max_bytes, after
// a subject that is a cut point (stable_batches, cutAfter), or at once with no linger;
// otherwise the linger timer seals it.
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
	if len(r.items) >= e.maxSubjects() || (s.cfg.StableBatches && cutAfter(it.id, e.maxSubjects())) || s.cfg.Linger <= 0 || s.stopping.Load() {
		e.sealLocked(ev)
		return
	}
	if len(r.items) == 1 {
		e.lingerStop[ev] = s.afterFunc(s.cfg.Linger, func() { e.lingered(ev, r) })
	}
}

// cutAfter reports whether a batch ends after the subject of delivery
// request id, whatever came before it: a function of the id alone (FNV-1a,
// one id in maxSubjects/2 on average). A batch cut only by size depends on
// where it started, so a replay after a crash, which starts at the last
// committed offset, would form other batches under other webhook-ids;
// cut points make a replay form the same requests as the first time from
// the first cut point on (issue 12), at the cost of batches about half as
// full in a burst.
func cutAfter(id []byte, maxSubjects int) bool {
	k := uint64(maxSubjects / 2)
	if k <= 1 {
		return true
	}
	h := uint64(14695981039346656037)
	for _, c := range id {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h%k == 0
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
		e.dispatchLocked(e.s.now(), &p)
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
	for len(e.ready) > 0 && e.inflight < e.maxInFlight() {
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
	e.timerStop = e.s.afterFunc(t.Sub(now), e.wake)
}

func (e *endpoint) wake() {
	if e.s.closed.Load() {
		return
	}
	var p plan
	e.mu.Lock()
	e.timerStop = nil
	e.dispatchLocked(e.s.now(), &p)
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
		p.hands = append(p.hands, handoff{r: r, reason: reason, delay: wait, exact: reason == "retry_after"})
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
