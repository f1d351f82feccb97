package deliver

import (
	"fmt"
	"time"
)

// breakerState is a circuit breaker's state.
type breakerState int

const (
	breakerClosed   breakerState = iota // requests flow
	breakerOpen                         // no requests until the cooldown passes
	breakerHalfOpen                     // one probe request is in flight
)

func (s breakerState) String() string {
	switch s {
	case breakerOpen:
		return "open"
	case breakerHalfOpen:
		return "half_open"
	}
	return "closed"
}

// breaker is one endpoint's circuit breaker: failures failed attempts in
// a row open it; after the cooldown one probe is let through; its success
// closes the breaker, its failure opens it again with the cooldown
// doubled (up to maxCooldown). It is not safe for concurrent use: the
// endpoint's mutex guards it.
type breaker struct {
	failures    int // threshold
	cooldown    time.Duration
	maxCooldown time.Duration

	state     breakerState
	run       int           // failed attempts in a row
	cur       time.Duration // current cooldown
	openUntil time.Time

	// since is when the state last changed and reason why (for the
	// published status, see status.go). now is the clock of the changes
	// that carry no time (nil: since is left zero); changed, when set, is
	// called on every change (it must not block: the endpoint's lock is
	// held).
	since   time.Time
	reason  string
	now     func() time.Time
	changed func()
}

func newBreaker(failures int, cooldown, maxCooldown time.Duration) breaker {
	return breaker{failures: failures, cooldown: cooldown, maxCooldown: maxCooldown, cur: cooldown}
}

// blocked reports whether a request may not be sent now, and until when
// (zero time: until the probe in flight returns).
func (b *breaker) blocked(now time.Time) (bool, time.Time) {
	switch b.state {
	case breakerOpen:
		if now.Before(b.openUntil) {
			return true, b.openUntil
		}
		return false, time.Time{}
	case breakerHalfOpen:
		return true, time.Time{}
	}
	return false, time.Time{}
}

// sending records that a request is sent; an open breaker whose cooldown
// passed turns half-open (this request is the probe). It returns the new
// state if it changed.
func (b *breaker) sending() (breakerState, bool) {
	if b.state == breakerOpen {
		b.state = breakerHalfOpen
		b.note(time.Time{}, "cooldown passed: one probe request in flight")
		return b.state, true
	}
	return b.state, false
}

// success records a successful attempt.
func (b *breaker) success() (breakerState, bool) {
	b.run = 0
	if b.state == breakerClosed {
		return b.state, false
	}
	b.state, b.cur = breakerClosed, b.cooldown
	b.note(time.Time{}, "probe request succeeded")
	return b.state, true
}

// failure records a failed attempt.
func (b *breaker) failure(now time.Time) (breakerState, bool) {
	b.run++
	switch b.state {
	case breakerHalfOpen:
		b.cur = min(b.cur*2, b.maxCooldown)
	case breakerClosed:
		if b.run < b.failures {
			return b.state, false
		}
	case breakerOpen:
		return b.state, false // a request sent before it opened
	}
	b.state, b.openUntil = breakerOpen, now.Add(b.cur)
	b.note(now, fmt.Sprintf("%d failed attempts in a row; cooldown %s", b.run, b.cur))
	return b.state, true
}

// neutral records an attempt that says nothing about the endpoint's
// health (backpressure, abandoned): a probe that ends so is let through
// again.
func (b *breaker) neutral() {
	if b.state == breakerHalfOpen {
		b.state = breakerOpen // openUntil has passed: the next request probes
		b.note(time.Time{}, "probe ended without a verdict; the next request probes")
	}
}

// note records a change of state at now (zero: b.now()) and why.
func (b *breaker) note(now time.Time, reason string) {
	if now.IsZero() && b.now != nil {
		now = b.now()
	}
	b.since, b.reason = now, reason
	if b.changed != nil {
		b.changed()
	}
}
