package leads

import (
	"bytes"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// replay handles a record that was processed for its lead before (its
// offset is at or below the lead's last processed offset): the state in
// Redis already has it, so it is not applied again, but the change it
// caused may never have been produced (the runtime commits an input
// offset only after the outputs it caused are acknowledged, and the
// process may have died in between), so the change is emitted again.
//
// Exact: the lead's hash keeps the three heads before the current one
// (the states before its last three writes; the genesis state of a new
// lead counts as one). Each write holds the records of one batch, and
// commits happen at batch boundaries, so a write's records are replayed
// all together or not at all, in order. The first replayed record of the
// lead rebuilds a shadow state from the newest stored head that precedes
// it; each replayed record is applied to the shadow as it was originally,
// and emits exactly the change it emitted then (same kind, session key,
// subject and stats). When the shadow reaches the stored state it is
// compared with it and dropped.
//
// Latest state: if the replay reaches further back than the stored heads
// (the lead was written by four or more of the replayed batches), the
// records before the oldest head have no state to start from. Such a
// record is found in the lead's ring of recently applied records (by
// offset and event id hash), and its change is emitted with the kind and
// session key it had, and the subject of the lead's current state with
// that session first: a later state than the original. Such a change was
// most likely produced already (only the last batches before a crash are
// unacknowledged), and the evaluate stage claims new_lead and new_session
// triggers once.
//
// A replayed record not in the ring either changed nothing (a duplicate
// or late hit) or is older than the ring: nothing is emitted.
func (s *Stage) replay(pc *partCache, e *entry, h *hitInfo, rec *kgo.Record, out emitter) {
	st := e.st
	if e.shadow == nil {
		for _, pre := range e.pres { // newest first
			if pre.partition == rec.Partition && rec.Offset > pre.lastOffset {
				e.shadow = pre.clone()
				break
			}
		}
	}
	if sh := e.shadow; sh != nil {
		s.m.replays[replayExact].Inc()
		res := s.rules.apply(sh, h)
		sh.partition, sh.lastOffset = rec.Partition, rec.Offset
		sh.maxRecTime = max(sh.maxRecTime, rec.Timestamp.UnixMilli())
		if res.out == applied && res.changed {
			s.emit(pc, out, e, sh, res.sess, res.kind, h)
		}
		if sh.lastOffset >= st.lastOffset {
			s.checkShadow(e)
			e.shadow, e.pres = nil, nil
		}
		return
	}
	for i := len(st.ring) - 1; i >= 0; i-- {
		r := &st.ring[i]
		if r.offset != rec.Offset || r.hash != h.hash {
			continue
		}
		if sess := st.sessionBySeq(r.seq); r.emitted && sess != nil {
			s.m.replays[replayLatest].Inc()
			s.emit(pc, out, e, st, sess, r.kind, h)
			return
		}
		break
	}
	s.m.replays[replaySilent].Inc()
}

// checkShadow compares a shadow that caught up with the stored state.
// They are equal unless apply is not deterministic (a bug): then the
// stored state wins, and the mismatch is counted and logged.
func (s *Stage) checkShadow(e *entry) {
	sh := *e.shadow
	// Records that changed nothing and were never written (duplicates)
	// may be outside the replay; they only moved the position.
	sh.gen, sh.maxRecTime = e.st.gen, e.st.maxRecTime
	if !bytes.Equal(appendHead(nil, &sh), appendHead(nil, e.st)) {
		s.m.replayMismatch.Inc()
		s.log.Warn("replayed lead state differs from the stored one; keeping the stored state", zapLead(e))
	}
}

func zapLead(e *entry) zap.Field { return zap.String("lead", e.key) }

func zapErr(err error) zap.Field { return zap.Error(err) }
