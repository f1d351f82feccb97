package leads

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/stages/leadstore"
)

// Redis key layout (KeyPrefix defaults to "lf:"):
//
//	PREFIX lead:{WORKSPACE|DOMAIN}   hash: the lead's state (stages/leadstore, codec.go), TTL lead_ttl
//	PREFIX lead-ids                  string: the lead id counter (INCRBY), no TTL
//
// Everything of one lead is in one key whose hash tag is the lead key, so
// it lives in one Redis Cluster slot; a lead's hits are on one Kafka
// partition, so one process at a time writes it. The lead id counter is
// the one key without a TTL: one per deployment, of constant size, and
// it must outlive every lead so that an id is never given twice.
//
// Fields whose name contains ':' belong to the evaluate stage (its
// claims and reveal records, stages/evaluate/claims.go): they live as
// long as the lead, so this stage keeps them while the lead has state and
// deletes them with the lead's other stray fields when a hash without a
// lead state is written as a new lead. A new_session claim
// (leadstore.SessionClaimField) lives as long as its session instead:
// a load finds those of sessions no head keeps any more, and the next
// write deletes them (a lead's cached state is read again at least every
// cache_max_age, so they outlive their session by at most that).

// store is the stage's Redis access: one pipelined round trip per step
// of a batch, never one per record.
type store struct {
	rdb        redis.UniversalClient
	prefix     string
	counterKey string
	ttl        time.Duration
	m          *metrics
}

func newStore(rdb redis.UniversalClient, prefix string, ttl time.Duration, m *metrics) *store {
	return &store{rdb: rdb, prefix: prefix, counterKey: prefix + "lead-ids", ttl: ttl, m: m}
}

// redisKey is the Redis key of a lead.
func (s *store) redisKey(leadKey string) string { return leadstore.LeadRedisKey(s.prefix, leadKey) }

// ErrRedis wraps every Redis failure that makes Process fail (and the
// runtime retry the batch with backoff).
var ErrRedis = errors.New("leads: redis")

// ErrBadState is wrapped by the dead-letter reason of hits whose lead's
// stored state cannot be used (it does not decode, or the key holds
// another type). Such a lead needs an operator: its hits wait in the DLQ.
var ErrBadState = errors.New("stored lead state is unusable")

type badStateError struct{ err error }

func (e *badStateError) Error() string  { return ErrBadState.Error() + ": " + e.err.Error() }
func (e *badStateError) Unwrap() error  { return ErrBadState }
func (e *badStateError) Reason() string { return "bad_state" }

// classify is the one place that decides what a Redis error on one key
// means. It returns nil when the error is about that key alone and can
// never heal by retrying (the batch goes on and the key's hits are
// dead-lettered), and otherwise the error to fail the batch with.
func classify(err error) (batchErr error) {
	switch {
	case redis.HasErrorPrefix(err, "WRONGTYPE"):
		// The key holds something that is not a lead hash: no retry fixes it.
		return nil
	default:
		// Connection errors, timeouts, LOADING, TRYAGAIN, CLUSTERDOWN,
		// MASTERDOWN, OOM, READONLY (failover), context cancellation:
		// transient for the whole batch. The runtime retries it with
		// backoff and reports the stage not ready meanwhile.
		return fmt.Errorf("%w: %w", ErrRedis, err)
	}
}

// loaded is what load read for one lead.
type loaded struct {
	cur *leadState
	// pres are the previous heads, newest first (only when asked for):
	// consecutive generations before cur whose fields are all there.
	pres []*leadState
	// heads are the field references of cur and the previous heads.
	heads [replayHeads]headRefs
	// head is cur's stored bytes, which the next write turns into a delta;
	// older are the stored deltas of the two heads before it, newest
	// first (fewer when there are fewer), which it keeps.
	head    []byte
	older   [][]byte
	dropped []string
	// pruned are the sessions whose claims in leadstore.ClaimsField go
	// (leadstore.PruneClaims) at the next write.
	pruned []leadstore.ClaimSession
	// legacyHeads says the heads were in a field each (h0 .. h3).
	legacyHeads bool
	err         error // the state is unusable (bad state)
}

// load reads the state of every entry in es in one pipelined round trip.
// needPre tells, given the current state of es[i], whether its previous
// heads are wanted too (its batch starts with a record that is a replay).
func (s *store) load(ctx context.Context, es []*entry, needPre func(i int, cur *leadState) bool) ([]loaded, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(es))
	for i, e := range es {
		cmds[i] = pipe.HGetAll(ctx, e.rkey)
	}
	_, _ = pipe.Exec(ctx) // errors are read per command below
	s.m.roundTrips[opLoad].Inc()
	out := make([]loaded, len(es))
	for i, cmd := range cmds {
		fields, err := cmd.Result()
		if err != nil {
			if berr := classify(err); berr != nil {
				return nil, berr
			}
			out[i].err = &badStateError{err: err}
			continue
		}
		out[i] = decodeLoaded(fields, func(cur *leadState) bool { return needPre(i, cur) })
	}
	return out, nil
}

// decodeLoaded turns a lead's hash into its current state (nil: no lead),
// the previous heads if asked, and the fields no head refers to (stray
// fields of a failed delete), which the next write deletes.
func decodeLoaded(fields map[string]string, needPre func(cur *leadState) bool) loaded {
	var l loaded
	curRaw, older, legacy, err := headChain(fields)
	if err != nil {
		return loaded{err: &badStateError{err: err}}
	}
	if curRaw != nil {
		cur, err := decodeHead(curRaw)
		if err != nil {
			return loaded{err: &badStateError{err: fmt.Errorf("current head: %w", err)}}
		}
		memo := make(map[string]any)
		if err := resolve(cur, fields, memo, true); err != nil {
			return loaded{err: &badStateError{err: err}}
		}
		l.cur, l.head = cur, curRaw
		l.older = older[:min(len(older), replayHeads-2)]
		l.heads[cur.gen%replayHeads] = headRefsOf(cur)
		pre := needPre(cur)
		newer := curRaw // the bytes of head g+1
		for k, d := range older {
			g := cur.gen - 1 - uint64(k)
			b, err := applyDelta(newer, d)
			var h *leadState
			if err == nil {
				h, err = decodeHead(b)
			}
			if err != nil || h.gen != g {
				return loaded{err: &badStateError{err: fmt.Errorf("head %d: %w", g, errCorrupt)}}
			}
			newer = b
			l.heads[g%replayHeads] = headRefsOf(h)
			if pre && resolve(h, fields, memo, false) == nil {
				l.pres = append(l.pres, h)
			} else {
				pre = false // a replay can only start from an unbroken run of heads
			}
		}
	}
	for f := range fields {
		if f == headsField {
			continue
		}
		if slices.Contains(headFields[:], f) {
			// The layout of a field per head, from before headsField. A
			// lead read from it keeps them until its heads are written in
			// headsField (written), so that a failed write never leaves
			// the lead without heads; otherwise they are strays.
			if !legacy || l.cur == nil {
				l.dropped = append(l.dropped, f)
			}
			continue
		}
		if l.cur != nil && isForeignField(f) {
			// The evaluate stage's: kept for the lead's lifetime, except
			// a new_session claim, which goes with its session (or is of
			// an earlier life of the lead, another id).
			if id, seq, ok := leadstore.SessionOfClaim(f); ok && (id != l.cur.id || !l.keepsSession(seq)) {
				l.dropped = append(l.dropped, f)
			}
			if f == leadstore.ClaimsField {
				l.pruned = l.cur.prunedClaims(fields[f], l.keepsSession)
			}
			continue
		}
		if !l.references(f) {
			l.dropped = append(l.dropped, f)
		}
	}
	l.legacyHeads = legacy && l.cur != nil
	return l
}

// headChain reads a lead's heads: the current one's bytes (nil: none) and
// the deltas of the ones before it, newest first, of consecutive
// generations. legacy says they were in the layout of a field per head
// (h0 .. h3, generation gen in h<gen mod 4>), which leads were stored in
// before headsField; there, a head is whole (the current one, and older
// ones written before deltas, which headChain turns into deltas) or a
// delta against the next newer one.
func headChain(fields map[string]string) (cur []byte, older [][]byte, legacy bool, err error) {
	if raw, ok := fields[headsField]; ok {
		parts, err := splitHeads([]byte(raw))
		if err != nil {
			return nil, nil, false, fmt.Errorf("field %s: %w", headsField, err)
		}
		return parts[0], parts[1:], false, nil
	}
	var deltas, raws [replayHeads][]byte // a slot's delta, or its whole head's bytes
	var gens [replayHeads]uint64
	var curGen uint64
	found := false
	for i, f := range headFields {
		raw, ok := fields[f]
		if !ok {
			continue
		}
		legacy = true
		b := []byte(raw)
		if len(b) > 0 && b[0] == headDelta {
			g, err := deltaGen(b)
			if err != nil {
				return nil, nil, false, fmt.Errorf("field %s: %w", f, err)
			}
			deltas[i], gens[i] = b, g
			continue
		}
		st, err := decodeHead(b)
		if err != nil {
			return nil, nil, false, fmt.Errorf("field %s: %w", f, err)
		}
		if st.gen%replayHeads != uint64(i) {
			continue // not where its generation goes: stray
		}
		raws[i], gens[i] = b, st.gen
		if !found || st.gen > curGen {
			cur, curGen, found = b, st.gen, true
		}
	}
	if !found {
		return nil, nil, legacy, nil
	}
	newer := cur // the bytes of head g+1
	for g := curGen - 1; g < curGen && g+replayHeads > curGen; g-- {
		i := g % replayHeads
		switch {
		case deltas[i] != nil && gens[i] == g:
			b, err := applyDelta(newer, deltas[i])
			if err != nil {
				return nil, nil, false, fmt.Errorf("field %s: %w", headFields[i], err)
			}
			older, newer = append(older, deltas[i]), b
		case raws[i] != nil && gens[i] == g:
			older, newer = append(older, appendDelta(nil, newer, raws[i], g)), raws[i]
		default:
			return cur, older, true, nil // the run of heads before cur ends
		}
	}
	return cur, older, true, nil
}

// isForeignField reports whether f is another stage's field of the lead's
// hash (its name contains ':', which this stage's fields never do).
func isForeignField(f string) bool { return strings.IndexByte(f, ':') >= 0 }

// prunedClaims returns the sessions of the new_session claims in claims (a
// leadstore.ClaimsField value) that go: of another lead id, or of a
// session keeps reports as not kept. A value that does not decode is left
// alone (the evaluate stage's).
func (st *leadState) prunedClaims(claims string, keeps func(seq uint64) bool) []leadstore.ClaimSession {
	ss, err := leadstore.ClaimSessions(claims)
	if err != nil {
		return nil
	}
	return slices.DeleteFunc(ss, func(s leadstore.ClaimSession) bool {
		return s.ID32 == uint32(st.id) && keeps(uint64(s.Seq))
	})
}

// keepsSession reports whether any of the heads keeps session seq.
func (l *loaded) keepsSession(seq uint64) bool {
	for _, h := range l.heads {
		if !h.valid {
			continue
		}
		for _, r := range h.refs {
			if r.seq == seq {
				return true
			}
		}
	}
	return false
}

// ids reserves n new lead ids in one round trip and returns the first.
// Ids are 1, 2, ... from one counter: unique, and far below 2^53.
// Numbers reserved by a batch that then fails are skipped (never given to
// two leads, and a lead's id, once written, is never replaced).
func (s *store) ids(ctx context.Context, n int) (int64, error) {
	last, err := s.rdb.IncrBy(ctx, s.counterKey, int64(n)).Result()
	s.m.roundTrips[opIDs].Inc()
	if err != nil {
		return 0, fmt.Errorf("%w: reserving %d lead ids: %w", ErrRedis, n, err)
	}
	return last - int64(n) + 1, nil
}

// write stores the changes of the batch's dirty entries in one pipelined
// round trip. Per lead it is one HSET of the new head (into the slot of
// the oldest of the four heads), the genesis head of a new lead, the new
// sessions' facts and the pageview chunks that changed (appendChunks;
// atomic: the state moves from one consistent version to the next), then
// an HDEL of the fields no remaining head refers to, and a PEXPIRE of
// lead_ttl. The PEXPIRE is left out when this process set it less than
// lead_ttl/100 ago (a lead then expires between 99% and 100% of lead_ttl
// after its last change), which halves the commands of a busy lead's
// writes.
func (s *store) write(ctx context.Context, es []*entry, w *work, now time.Time) error {
	pipe := s.rdb.Pipeline()
	for _, e := range es {
		st := e.st
		st.gen++
		args := w.args[:0]
		at := len(w.arena)
		w.arena = appendHead(w.arena, st)
		head := w.arena[at:len(w.arena):len(w.arena)]
		// The head this one follows becomes a delta against it: the
		// genesis head of a new lead, else the stored current head. The
		// deltas of the two before that are kept as they are stored.
		prev, older := e.head, e.older
		if e.isNew {
			at = len(w.arena)
			w.arena = appendHead(w.arena, genesis(st.id, st.partition))
			prev, older = w.arena[at:len(w.arena):len(w.arena)], nil
		}
		var delta []byte
		if prev != nil {
			at = len(w.arena)
			w.arena = appendDelta(w.arena, head, prev, st.gen-1)
			delta = w.arena[at:len(w.arena):len(w.arena)]
		}
		at = len(w.arena)
		w.arena = appendHeads(w.arena, head, delta, older)
		args = append(args, headsField, w.arena[at:len(w.arena):len(w.arena)])
		e.written, e.writtenDelta = head, delta
		for _, ss := range st.sessions {
			if !ss.metaWritten && !ss.factsInChunk {
				at = len(w.arena)
				w.arena = leadstore.AppendMeta(w.arena, &ss.meta.SessionMeta)
				args = append(args, metaField(ss.seq), w.arena[at:len(w.arena):len(w.arena)])
			}
			args = appendChunks(args, w, ss, st.perPageview)
		}
		pipe.HSet(ctx, e.rkey, args...)
		e.dropped = overwrittenFields(e.dropped, e, st)
		if len(e.dropped) > 0 {
			pipe.HDel(ctx, e.rkey, e.dropped...)
		}
		e.ttlKept = !e.ttlSet.IsZero() && now.Sub(e.ttlSet) <= s.ttl/100
		if !e.ttlKept {
			pipe.PExpire(ctx, e.rkey, s.ttl)
		}
		w.args = args[:0]
	}
	_, err := pipe.Exec(ctx)
	s.m.roundTrips[opWrite].Inc()
	if err != nil {
		return fmt.Errorf("%w: writing %d leads: %w", ErrRedis, len(es), err)
	}
	var prunes []leadstore.Prune
	for _, e := range es {
		if len(e.pruned) > 0 {
			prunes = append(prunes, leadstore.Prune{Key: e.rkey, Sessions: e.pruned})
		}
	}
	if len(prunes) > 0 {
		s.m.roundTrips[opWrite].Inc()
		if err := leadstore.PruneClaims(ctx, s.rdb, prunes); err != nil {
			return fmt.Errorf("%w: %w", ErrRedis, err)
		}
	}
	return nil
}

// genesis is the state of a lead before its first hit: the pre-image
// of that hit's replay.
func genesis(id int64, partition int32) *leadState {
	return &leadState{id: id, partition: partition, lastOffset: -1}
}

// written updates e's bookkeeping after its write succeeded.
func written(e *entry, now time.Time) {
	st := e.st
	if e.isNew {
		e.heads[0] = headRefs{gen: 0, valid: true}
	}
	e.head, e.written = append(e.head[:0], e.written...), nil
	// The deltas of the two heads before the new one, newest first.
	if d := e.writtenDelta; d != nil {
		var keep []byte
		if len(e.older) > 0 && !e.isNew {
			keep = e.older[0]
		}
		e.older = e.older[:0]
		e.older = append(e.older, append([]byte(nil), d...))
		if keep != nil {
			e.older = append(e.older, keep)
		}
	}
	e.writtenDelta = nil
	h := &e.heads[st.gen%replayHeads]
	h.gen, h.valid, h.perPageview, h.refs = st.gen, true, false, h.refs[:0]
	st.perPageview = false
	for _, ss := range st.sessions {
		ss.metaWritten = true
		if ss.next != nil {
			ss.chunk = append(ss.chunk[:0], ss.next...)
			ss.chunkLast, ss.next, ss.nextLast = ss.nextLast, nil, nil
		}
		ss.pvWritten = ss.pvTotal
		h.refs = append(h.refs, sessRef{seq: ss.seq, from: ss.pvTotal - uint64(ss.kept()), to: ss.pvTotal})
	}
	e.dropped, e.pruned = e.dropped[:0], nil
	if e.legacyHeads {
		// The heads are in headsField now: the next write deletes the
		// fields they were in.
		e.dropped, e.legacyHeads = append(e.dropped, headFields[:]...), false
	}
	e.isNew = false
	e.synced = now
	if !e.ttlKept {
		e.ttlSet = now
	}
}
