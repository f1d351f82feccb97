package leads

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/schemas"
)

// work is one batch's scratch, reused by the partition's next batch.
type work struct {
	hits    []hitInfo
	items   []item
	touched []*entry      // entries the batch uses, once each
	missing []*entry      // entries to read from Redis
	firsts  []*kgo.Record // the first record of each missing entry
	fresh   []*entry      // leads that need an id
	dirty   []*entry      // entries to write
	args    []any
	arena   []byte
	enc     changeEncoder
}

// item is one decoded record of the batch.
type item struct {
	rec *kgo.Record
	e   *entry
	hit int // index in work.hits
}

func (w *work) reset() {
	w.items, w.touched, w.missing, w.firsts, w.fresh, w.dirty = w.items[:0], w.touched[:0], w.missing[:0], w.firsts[:0], w.fresh[:0], w.dirty[:0]
	w.arena = w.arena[:0]
}

// release drops the batch's references so that they do not outlive it.
func (w *work) release() {
	clear(w.hits)
	clear(w.items)
	clear(w.touched)
	clear(w.missing)
	clear(w.firsts)
	clear(w.fresh)
	clear(w.dirty)
	clear(w.args)
	if cap(w.arena) > 4<<20 { // one huge batch must not pin its memory
		w.arena = nil
	}
}

// process applies one batch of a partition's hits, in offset order:
//
//  1. decode every record (bad ones are dead-lettered) and look its lead
//     up in the partition's cache;
//  2. read the leads the cache misses from Redis: one pipelined round trip;
//  3. reserve ids for new leads: one INCRBY (only when there are new leads);
//  4. apply the hits in memory and encode a LeadChange for each that
//     changes its lead (replayed records re-emit theirs, see replay.go);
//  5. write the changed leads: one pipelined round trip.
//
// If any step fails, or the batch panics, every lead the batch touched is
// dropped from the cache before the error is returned, so the retry starts
// from Redis's state, never from half-applied memory; what was emitted is
// discarded by the runtime.
func (s *Stage) process(ctx context.Context, part int32, recs []*kgo.Record, out emitter) error {
	pc := s.partCache(part)
	pc.batch++
	w := &pc.work
	w.reset()
	w.enc.recent = s.cfg.RecentSessions
	now := s.now()
	ok := false
	defer func() {
		if !ok {
			for _, e := range w.touched {
				pc.remove(e)
			}
		}
		w.release()
	}()
	s.m.batchRecords.Observe(float64(len(recs)))

	s.collect(pc, w, recs, now, out)
	s.m.batchLeads.Observe(float64(len(w.touched)))

	if err := s.loadMissing(ctx, part, w, now); err != nil {
		return err
	}

	for i := range w.items {
		it := &w.items[i]
		if it.e.bad != nil {
			out.DeadLetter(it.rec, it.e.bad)
			continue
		}
		s.handle(pc, it.e, &w.hits[it.hit], it.rec, out)
	}

	if err := s.writeDirty(ctx, w, now); err != nil {
		return err
	}
	ok = true
	for _, e := range w.touched {
		switch {
		case e.bad != nil:
			pc.remove(e)
		case e.st != nil:
			// As in Redis now (written, or read and not changed).
			e.st.settle(s.cfg.RecentSessions)
		}
	}
	pc.trim(w.touched)
	return nil
}

// collect decodes recs into w.hits and queues each business hit, with its
// lead's cache entry, in w.items (dead-lettering what does not decode);
// see entryFor.
func (s *Stage) collect(pc *partCache, w *work, recs []*kgo.Record, now time.Time, out emitter) {
	if cap(w.hits) < len(recs) {
		w.hits = make([]hitInfo, len(recs))
	}
	w.hits = w.hits[:len(recs)]
	for i, rec := range recs {
		h := &w.hits[i]
		if err := decodeHit(rec, h); err != nil {
			out.DeadLetter(rec, err)
			continue
		}
		if h.NetworkType != "" && h.NetworkType != schemas.NetworkBusiness {
			s.m.skipped[skipNotBusiness].Inc()
			continue
		}
		e := s.entryFor(pc, w, h, rec, now)
		w.items = append(w.items, item{rec: rec, e: e, hit: i})
	}
}

// entryFor returns the cache entry of h's lead, touched in this batch: a
// cached one unless it was last synced with Redis more than
// cache_max_age ago, else a new one, queued in w to be loaded from Redis.
func (s *Stage) entryFor(pc *partCache, w *work, h *hitInfo, rec *kgo.Record, now time.Time) *entry {
	e := pc.get(rec.Key)
	if e != nil && e.batch != pc.batch && now.Sub(e.synced) > s.cfg.CacheMaxAge {
		pc.remove(e) // too old to trust: Redis may have expired it
		e = nil
	}
	switch {
	case e == nil:
		e = s.newEntry(h, rec.Key)
		pc.add(e)
		w.missing = append(w.missing, e)
		w.firsts = append(w.firsts, rec)
		s.m.cacheMisses.Inc()
	case e.st != nil && e.st.needsLoad(h, rec):
		// Read again: the cached state lacks what h needs (a cold
		// session, or the previous heads of a replay). Redis has the
		// state the cache has (it is written through), so this is a
		// miss that keeps the entry. Nothing of the batch is applied
		// before the loads, also when an earlier record of it touched
		// the lead.
		first := rec
		if e.batch == pc.batch {
			first = w.firstRecordOf(e)
		}
		e.st = nil
		w.missing = append(w.missing, e)
		w.firsts = append(w.firsts, first)
		s.m.cacheReloads.Inc()
	case e.batch != pc.batch:
		s.m.cacheHits.Inc()
	}
	if e.batch != pc.batch {
		e.batch, e.dirty = pc.batch, false
		w.touched = append(w.touched, e)
	}
	return e
}

// firstRecordOf returns the first record of the batch queued for e.
func (w *work) firstRecordOf(e *entry) *kgo.Record {
	for i := range w.items {
		if w.items[i].e == e {
			return w.items[i].rec
		}
	}
	return nil
}

// writeDirty writes the leads the batch changed to Redis in one round
// trip and marks them synced at now.
func (s *Stage) writeDirty(ctx context.Context, w *work, now time.Time) error {
	if len(w.dirty) == 0 {
		return nil
	}
	if err := s.store.write(ctx, w.dirty, w, now); err != nil {
		return err
	}
	for _, e := range w.dirty {
		written(e, now)
	}
	return nil
}

// loadMissing reads the batch's cache misses from Redis and gives the
// new leads their ids and genesis states.
func (s *Stage) loadMissing(ctx context.Context, part int32, w *work, now time.Time) error {
	if len(w.missing) == 0 {
		return nil
	}
	res, err := s.store.load(ctx, w.missing, func(i int, cur *leadState) bool {
		return isReplay(cur, w.firsts[i])
	})
	if err != nil {
		return err
	}
	for i, e := range w.missing {
		l := res[i]
		if l.err != nil {
			e.bad = l.err
			s.log.Error("lead state in Redis is unusable; its hits go to the dead-letter topic",
				zapLead(e), zapErr(l.err))
			continue
		}
		e.st, e.pres, e.heads, e.dropped, e.synced = l.cur, l.pres, l.heads, l.dropped, now
		e.head, e.older, e.legacyHeads, e.pruned = l.head, l.older, l.legacyHeads, l.pruned
		if e.st == nil {
			w.fresh = append(w.fresh, e)
		}
	}
	if len(w.fresh) > 0 {
		first, err := s.store.ids(ctx, len(w.fresh))
		if err != nil {
			return err
		}
		for i, e := range w.fresh {
			e.st = genesis(first+int64(i), part)
			e.isNew = true // its first write stores this genesis state as the pre-image
		}
	}
	return nil
}

// isReplay reports whether rec was processed for the lead before: same
// partition, at or below the last offset processed, and not newer (by
// Kafka timestamp) than any record processed, which tells a replay from
// a record of a recreated topic.
func isReplay(st *leadState, rec *kgo.Record) bool {
	return st != nil && st.partition == rec.Partition && rec.Offset <= st.lastOffset &&
		rec.Timestamp.UnixMilli() <= st.maxRecTime
}

// handle applies one record to its lead, or re-emits its change if it is
// a replay.
func (s *Stage) handle(pc *partCache, e *entry, h *hitInfo, rec *kgo.Record, out emitter) {
	st := e.st
	if isReplay(st, rec) {
		s.replay(pc, e, h, rec, out)
		return
	}
	e.pres, e.shadow = nil, nil // past the replays
	res := s.rules.apply(st, h)
	st.partition, st.lastOffset = rec.Partition, rec.Offset
	st.maxRecTime = max(st.maxRecTime, rec.Timestamp.UnixMilli())
	switch res.out {
	case duplicate:
		s.m.skipped[skipDuplicate].Inc()
		return
	case late:
		s.m.skipped[skipLate].Inc()
		return
	}
	if !e.dirty {
		e.dirty = true
		pc.work.dirty = append(pc.work.dirty, e)
	}
	switch res.kind {
	case kindNewLead:
		s.m.leadsCreated.Inc()
		s.m.sessionsCreated.Inc()
	case kindNewSession:
		s.m.sessionsCreated.Inc()
	}
	if res.changed {
		s.emit(pc, out, e, st, res.sess, res.kind, h)
	}
}

// emit encodes and emits one LeadChange.
func (s *Stage) emit(pc *partCache, out emitter, e *entry, st *leadState, sess *session, kind uint8, h *hitInfo) {
	out.Emit(&kgo.Record{Topic: s.topics.LeadChanges, Key: e.keyB, Value: pc.work.enc.encode(out, e, st, sess, kind, h)})
	s.m.changes[kind].Inc()
}
