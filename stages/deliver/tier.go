package deliver

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
)

type tierKey struct {
	topic     string
	partition int32
}

// tierPart is one owned partition of a retry tier. Its records arrive in
// due order (each was written with due = now + the tier's delay), so the
// partition waits for its head: records not yet due are held (not
// committed) in waiting, the partition's fetching is paused, and one timer
// fires when the head is due. Nothing sleeps in Process and nothing polls.
type tierPart struct {
	s   *Stage
	key tierKey

	mu      sync.Mutex
	waiting []waitRec   // in offset order
	resume  func()      // resumes fetching; nil when not paused
	stop    func() bool // the timer for the head; nil when none
	gone    bool        // revoked
}

type waitRec struct {
	rec *kgo.Record
	due time.Time
	ref *holdRef
}

func (s *Stage) tierPart(topic string, partition int32) *tierPart {
	k := tierKey{topic, partition}
	s.tmu.Lock()
	defer s.tmu.Unlock()
	tp := s.tparts[k]
	if tp == nil {
		tp = &tierPart{s: s, key: k}
		s.tparts[k] = tp
	}
	return tp
}

// processTier takes the due records of a retry-tier batch and holds the
// rest (from the first that is not due) until they are.
func (s *Stage) processTier(b *pipeline.Batch, ref *holdRef) {
	tp := s.tierPart(b.Topic, b.Partition)
	now := s.now()
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for _, rec := range b.Records {
		due := dueOf(rec)
		if len(tp.waiting) == 0 && !due.After(now) {
			s.takeTier(rec, ref, now)
			continue
		}
		size := int64(len(rec.Key) + len(rec.Value))
		if s.stopping.Load() || s.tierRecords.Load() >= int64(s.cfg.TierHoldMaxRecords) || s.tierBytes.Load()+size > s.cfg.TierHoldMaxBytes {
			// Stopping, or too much is waiting already (it counts against
			// the runtime's in-flight bounds, which deliveries need): hand it
			// back to the end of its tier instead of waiting here.
			if !s.stopping.Load() {
				s.m.spills.WithLabelValues("tier_hold_full").Inc()
			}
			s.requeueTier(rec, ref)
			continue
		}
		ref.add()
		s.tierRecords.Add(1)
		s.tierBytes.Add(size)
		tp.waiting = append(tp.waiting, waitRec{rec: rec, due: due, ref: ref})
	}
	if len(tp.waiting) == 0 {
		return
	}
	if tp.resume == nil {
		tp.resume = b.PauseFetching()
		s.m.backpressure.WithLabelValues("tier_due").Inc()
	}
	if tp.stop == nil {
		tp.stop = s.afterFunc(tp.waiting[0].due.Sub(now), tp.fire)
	}
}

// fire takes the records that are due and waits for the next, or resumes
// fetching when none is left.
func (tp *tierPart) fire() {
	s := tp.s
	if s.closed.Load() {
		return
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.stop = nil
	if tp.gone {
		return
	}
	now := s.now()
	i := 0
	for ; i < len(tp.waiting) && !tp.waiting[i].due.After(now); i++ {
		w := tp.waiting[i]
		s.untrackTier(w.rec)
		s.takeTier(w.rec, w.ref, now)
		w.ref.release()
	}
	clear(tp.waiting[:i])
	tp.waiting = tp.waiting[i:]
	if len(tp.waiting) > 0 {
		tp.stop = s.afterFunc(tp.waiting[0].due.Sub(now), tp.fire)
		return
	}
	tp.waiting = nil
	if tp.resume != nil {
		tp.resume()
		tp.resume = nil
	}
}

// takeTier handles a due retry record: an unattempted one (attempt 0) is
// batched again subject by subject; an attempted one is resent as the
// same request.
func (s *Stage) takeTier(rec *kgo.Record, ref *holdRef, now time.Time) {
	st := parseState(rec.Headers)
	var items []*item
	err := decodeEnvelope(rec.Value, func(raw []byte) error {
		it := new(item)
		if err := decodeRequest(raw, it); err != nil {
			return err
		}
		items = append(items, it)
		return nil
	})
	if err == nil && len(items) == 0 {
		err = badRequest("envelope holds no requests")
	}
	if err != nil {
		ref.h.DeadLetter(rec, err)
		return
	}
	seen := st.firstSeen
	if seen.IsZero() {
		seen = now
	}
	for _, it := range items {
		it.firstSeen = seen
		s.hold(it, ref)
	}
	if s.waitNotBefore(rec, ref, items, st, now) {
		return
	}
	if st.attempt == 0 {
		for _, it := range items {
			_ = s.route(s.ctx, it, now, false) // never waits: no error
		}
		return
	}
	first := items[0]
	r := requestOf(items, st)
	e := s.endpointFor(first.workspaceID, first.webhookID)
	if e == nil {
		// Known when it was attempted, unknown now: deleted.
		s.m.dropped.WithLabelValues("unknown_endpoint").Add(float64(len(items)))
		s.release(items)
		return
	}
	e.enqueueFixed(r, now)
}

// requestOf rebuilds the request of a retry record's items and state.
func requestOf(items []*item, st retryState) *request {
	first := items[0]
	r := &request{workspaceID: string(first.workspaceID), webhookID: string(first.webhookID), event: first.event,
		attempt: st.attempt, firstAttempt: st.firstAttempt, lastErr: st.lastErr, lastStatus: st.lastStatus,
		deferrals: st.deferrals, notBefore: st.notBefore}
	for _, it := range items {
		r.add(it)
	}
	if r.fixed() {
		r.msgID = MessageID(r.webhookID, idsOf(items)...)
	}
	return r
}

// requeueTier writes rec back to the end of its tier (same key, value and
// headers, so the same due time) and releases it once Kafka has it.
func (s *Stage) requeueTier(rec *kgo.Record, ref *holdRef) {
	ref.add()
	ref.h.EmitShared(&kgo.Record{Topic: rec.Topic, Key: rec.Key, Value: rec.Value, Headers: rec.Headers}, ref.release)
}

func (s *Stage) untrackTier(rec *kgo.Record) {
	s.tierRecords.Add(-1)
	s.tierBytes.Add(-int64(len(rec.Key) + len(rec.Value)))
}

// PartitionAssigned implements pipeline.PartitionListener.
func (s *Stage) PartitionAssigned(string, int32) {}

// PartitionRevoked drops a retry-tier partition's waiting records: the
// runtime abandons their holds (never committed) and the next owner reads
// them again.
func (s *Stage) PartitionRevoked(topic string, partition int32) {
	s.dropWaits(topic, partition)
	k := tierKey{topic, partition}
	s.tmu.Lock()
	tp := s.tparts[k]
	delete(s.tparts, k)
	s.tmu.Unlock()
	if tp == nil {
		return
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.gone = true
	if tp.stop != nil {
		tp.stop()
		tp.stop = nil
	}
	for _, w := range tp.waiting {
		s.untrackTier(w.rec)
	}
	clear(tp.waiting)
	tp.waiting, tp.resume = nil, nil
}

var _ pipeline.PartitionListener = (*Stage)(nil)
