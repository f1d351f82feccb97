package deliver

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A Retry-After wait is honoured to the second without using an attempt.
// A wait up to in_process_retry_max pauses the endpoint in process. A
// longer one is handed to the longest tier not longer than the wait, with
// the time it ends in HeaderNotBefore (Stage.hand). When such a record is
// due, waitNotBefore decides what to do with the rest of the wait: up to
// in_process_retry_max, the endpoint is paused until then and the request
// queued; longer, through the longest tier that fits, if one is longer
// than in_process_retry_max; otherwise (less than the first retry tier
// is left) the record is held in process until then, counted against
// tier_hold_max_records/bytes like tier records that are not due yet, or,
// past those bounds, handed through the shortest tier again.

// raWait is a retry record held in process until its HeaderNotBefore.
type raWait struct {
	rec  *kgo.Record
	ref  *holdRef
	stop func() bool
}

// waitNotBefore handles the rest of a Retry-After wait of a due retry
// record (its items already held); it reports false when nothing is left
// to wait beyond in_process_retry_max (the caller queues the items; the
// endpoint is paused until the wait ends).
func (s *Stage) waitNotBefore(rec *kgo.Record, ref *holdRef, items []*item, st retryState, now time.Time) bool {
	wait := st.notBefore.Sub(now)
	if wait <= 0 {
		return false
	}
	if wait <= s.cfg.InProcessRetryMax || s.stopping.Load() {
		first := items[0]
		if e := s.endpointFor(first.workspaceID, first.webhookID); e != nil {
			e.mu.Lock()
			if st.notBefore.After(e.pausedUntil) {
				e.pausedUntil = st.notBefore
			}
			e.mu.Unlock()
		}
		return false
	}
	size := int64(len(rec.Key) + len(rec.Value))
	if t := s.tierAtMost(wait); t <= s.cfg.InProcessRetryMax &&
		s.tierRecords.Load() < int64(s.cfg.TierHoldMaxRecords) && s.tierBytes.Load()+size <= s.cfg.TierHoldMaxBytes {
		s.holdUntil(rec, ref, items, wait)
		return true
	}
	s.hand(handoff{r: requestOf(items, st), delay: wait, exact: true})
	return true
}

// holdUntil takes rec again after wait; its items are released meanwhile
// (they are taken again from the record), its hold is kept.
func (s *Stage) holdUntil(rec *kgo.Record, ref *holdRef, items []*item, wait time.Duration) {
	ref.add()
	s.release(items)
	s.tierRecords.Add(1)
	s.tierBytes.Add(int64(len(rec.Key) + len(rec.Value)))
	w := &raWait{rec: rec, ref: ref}
	s.tmu.Lock()
	defer s.tmu.Unlock()
	s.raWaits[w] = struct{}{}
	w.stop = s.afterFunc(wait, func() {
		s.tmu.Lock()
		_, ok := s.raWaits[w]
		delete(s.raWaits, w)
		s.tmu.Unlock()
		if !ok || s.closed.Load() {
			return
		}
		s.untrackTier(rec)
		s.takeTier(rec, ref, s.now())
		ref.release()
	})
}

// requeueWaits writes the records held until their HeaderNotBefore back
// to their tier (Shutdown).
func (s *Stage) requeueWaits() {
	s.tmu.Lock()
	ws := make([]*raWait, 0, len(s.raWaits))
	for w := range s.raWaits {
		ws = append(ws, w)
	}
	clear(s.raWaits)
	s.tmu.Unlock()
	for _, w := range ws {
		w.stop()
		s.untrackTier(w.rec)
		s.requeueTier(w.rec, w.ref)
		w.ref.release() // requeueTier took its own count
	}
}

// dropWaits forgets the records of a revoked tier partition held until
// their HeaderNotBefore: the runtime abandons their holds and the next
// owner reads them again.
func (s *Stage) dropWaits(topic string, partition int32) {
	s.tmu.Lock()
	var ws []*raWait
	for w := range s.raWaits {
		if w.rec.Topic == topic && w.rec.Partition == partition {
			ws = append(ws, w)
			delete(s.raWaits, w)
		}
	}
	s.tmu.Unlock()
	for _, w := range ws {
		w.stop()
		s.untrackTier(w.rec)
	}
}
