package deliver

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
)

// Dead-letter reasons of deliveries.dlq (the leadflow-reason header).
const (
	ReasonRetriesExhausted = "retries_exhausted" // every attempt of the schedule failed
	ReasonDisabled         = "disabled"          // the endpoint is disabled (or answered 410)
	ReasonPrivateAddress   = "private_address"   // the URL resolved to a non-public address
	ReasonExpired          = "expired"           // waited longer than max_age without using up its attempts
	ReasonBadURL           = "bad_url"           // the webhook URL is not an absolute http(s) URL
)

// tierFor returns the delay tier for a wait of d: the shortest tier at
// least as long, else the longest.
func (s *Stage) tierFor(d time.Duration) time.Duration {
	for _, t := range s.tiers {
		if t >= d {
			return t
		}
	}
	return s.tiers[len(s.tiers)-1]
}

// tierAtMost returns the longest tier not longer than d, else the
// shortest: an exact wait (Retry-After) goes through it, and what is left
// of the wait when it is due is waited in process or in the next tier
// (see takeTier).
func (s *Stage) tierAtMost(d time.Duration) time.Duration {
	best := s.tiers[0]
	for _, t := range s.tiers {
		if t <= d {
			best = t
		}
	}
	return best
}

// hand sends a request to a retry tier or to deliveries.dlq with its retry
// state in headers; its items are released once Kafka has the record. A
// request older than max_age is dead-lettered instead of deferred again.
// A request whose record would exceed retry_record_max_bytes is split.
func (s *Stage) hand(h handoff) {
	r := h.r
	r.unseal(s)
	now := s.now()
	if !h.dlq && !r.firstSeen.IsZero() && now.Sub(r.firstSeen) > s.cfg.MaxAge {
		h.dlq, h.reason = true, ReasonExpired
	}
	if len(r.items) > 1 && envelopeSize(r.items) > s.cfg.RetryRecordMaxBytes {
		half := len(r.items) / 2
		for _, part := range [][]*item{r.items[:half:half], r.items[half:]} {
			c := *r
			c.items, c.subjectBytes, c.firstSeen = nil, 0, time.Time{}
			for _, it := range part {
				c.add(it)
			}
			if c.fixed() {
				c.msgID = MessageID(c.webhookID, idsOf(c.items)...)
			}
			hh := h
			hh.r = &c
			s.hand(hh)
		}
		return
	}
	var rec *kgo.Record
	if h.dlq {
		hs := pipeline.AppendReasonHeaders(r.stateHeaders(time.Time{}), "deliver", &dlqReason{reason: h.reason, text: s.dlqError(r, h.reason)})
		rec = &kgo.Record{Topic: s.topics.DeliveriesDLQ, Headers: hs}
		s.log.Debug("request dead-lettered", zap.String("webhook", r.webhookID), zap.String("reason", h.reason), zap.Int("subjects", len(r.items)))
	} else {
		if h.reason != "" {
			s.m.spills.WithLabelValues(h.reason).Add(float64(len(r.items)))
			s.spilled.Add(int64(len(r.items)))
		}
		tier := s.tierFor(h.delay)
		if h.exact {
			tier = s.tierAtMost(h.delay)
			r.notBefore = now.Add(h.delay)
		}
		rec = &kgo.Record{Topic: s.topics.Retry(TierName(tier)), Headers: r.stateHeaders(now.Add(tier))}
	}
	rec.Key = []byte(r.webhookID)
	rec.Value = appendEnvelope(make([]byte, 0, envelopeSize(r.items)), r.items)
	s.handedBytes.Add(int64(len(rec.Value)))
	s.emitShared(rec, r.items)
}

// emitShared produces rec, which carries items of possibly many input
// batches, through the runtime (pipeline.Hold.EmitShared): every item is
// released once Kafka has rec. The runtime's classifier retries transient
// failures, and dead-letters a stub through the first item's batch if the
// broker refuses rec for good (raise the topic's max.message.bytes or
// lower deliver.retry_record_max_bytes); its subjects are lost then.
func (s *Stage) emitShared(rec *kgo.Record, items []*item) {
	if len(items) == 0 {
		return
	}
	items[0].hold.h.EmitShared(rec, func() { s.release(items) })
}

// dlqReason is why a request is dead-lettered: text is its leadflow-error
// header and reason (one of the Reason constants) its leadflow-reason.
type dlqReason struct{ reason, text string }

func (e *dlqReason) Error() string  { return e.text }
func (e *dlqReason) Reason() string { return e.reason }

func idsOf(items []*item) [][]byte {
	ids := make([][]byte, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	return ids
}

// dlqError is the leadflow-error text of a dead letter.
func (s *Stage) dlqError(r *request, reason string) string {
	switch reason {
	case ReasonExpired:
		return fmt.Sprintf("waited longer than deliver.max_age (%s) without using up its attempts (last error: %q)", s.cfg.MaxAge, r.lastErr)
	case ReasonDisabled:
		if r.lastStatus == 410 {
			return "endpoint answered 410 Gone and was disabled"
		}
		return "endpoint is disabled"
	case ReasonRetriesExhausted:
		return fmt.Sprintf("%d attempts failed; last: %s", r.attempt, r.lastErr)
	}
	return r.lastErr
}
