package leadstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/pipeline/cache"
	"github.com/leadflow/leadflow/schemas"
)

// SessionStore completes lead subjects: a lead change carries its changed
// session whole and the subject's other recent sessions by reference
// (schemas.LeadChange.OlderSessions), and SessionStore reads those
// sessions' facts and pageviews from the lead's state in Redis. They are
// immutable once written (only the numbers and time_spent change, and the
// reference carries those), so the subject is rebuilt exactly as it was
// at the change, and what was read is cached. It is safe for concurrent
// use.
//
// A part can be gone from Redis: the leads stage deletes a session's
// fields once the session falls out of the lead's max_sessions, and a
// pageview's once it slides out of max_pageviews, which needs many more
// hits of the lead than a live pipeline lags behind. A missing session
// is left out of the subject, a missing pageview out of its session, and
// Complete counts them.
type SessionStore struct {
	rdb    redis.UniversalClient
	prefix string

	mu    sync.Mutex
	max   int
	size  int // parts cached: a session's facts and each of its pageviews
	cache *cache.LRU[sessionID, *storedSession]
}

// sessionID names a stored session: the lead's Redis key and id (a lead
// forgotten after lead_ttl and seen again gets a new id, and numbers its
// sessions from 1 again) and the session's number.
type sessionID struct {
	rkey string
	id   int64
	seq  int64
}

// storedSession is what was read of a session: its facts and its
// pageviews from..from+len(pvs)-1 (nil: not read; askedPV: asked for by
// the Complete that is reading it).
type storedSession struct {
	meta      *SessionMeta
	from      int64
	pvs       []*Pageview
	metaAsked bool // chunk 0, which holds the facts, is asked for
}

// askedPV marks, while one Complete reads a session, a pageview asked for
// and not read (yet). Cached sessions never hold it.
var askedPV = new(Pageview)

// maxWindow bounds the pageviews one storedSession spans (from the
// references of one batch), so that a corrupt reference cannot ask for a
// huge slice; leads keeps at most 1000 (max_pageviews).
const maxWindow = 4096

// slot returns where pageview n is held, nil when n is outside the window.
func (ss *storedSession) slot(n int64) **Pageview {
	if i := n - ss.from; i >= 0 && i < int64(len(ss.pvs)) {
		return &ss.pvs[i]
	}
	return nil
}

// pv returns pageview n (nil: not held).
func (ss *storedSession) pv(n int64) *Pageview {
	if p := ss.slot(n); p != nil {
		return *p
	}
	return nil
}

// widen makes ss's window span first..end-1 too, keeping what it holds;
// a window that would pass maxWindow becomes first..end-1 alone.
func (ss *storedSession) widen(first, end int64) {
	if end-first > maxWindow {
		end = first + maxWindow
	}
	if first >= end {
		return
	}
	if len(ss.pvs) == 0 {
		ss.from, ss.pvs = first, make([]*Pageview, end-first)
		return
	}
	lo, hi := min(ss.from, first), max(ss.from+int64(len(ss.pvs)), end)
	if lo == ss.from && hi == ss.from+int64(len(ss.pvs)) {
		return
	}
	if hi-lo > maxWindow {
		ss.from, ss.pvs = first, make([]*Pageview, end-first)
		return
	}
	pvs := make([]*Pageview, hi-lo)
	copy(pvs[ss.from-lo:], ss.pvs)
	ss.from, ss.pvs = lo, pvs
}

// covers reports whether ss holds its facts and pageviews first..end-1.
func (ss *storedSession) covers(first, end int64) bool {
	if ss.meta == nil {
		return false
	}
	for n := first; n < end; n++ {
		if p := ss.pv(n); p == nil || p == askedPV {
			return false
		}
	}
	return true
}

// NewSessionStore returns a SessionStore reading the lead states that the
// leads stage keeps under keyPrefix (config redis.key_prefix), caching up
// to cacheSize session parts (0: none) in least-recently-used order, and
// counting the cache's lookups and evictions in m (nil: not counted;
// CacheName names them).
func NewSessionStore(rdb redis.UniversalClient, keyPrefix string, cacheSize int, m *cache.Metrics) *SessionStore {
	return &SessionStore{rdb: rdb, prefix: keyPrefix, max: cacheSize, cache: cache.NewLRU[sessionID, *storedSession](m)}
}

// CacheName names the session cache in leadflow_cache_lookups_total and
// leadflow_cache_evictions_total.
const CacheName = "evaluate_sessions"

// ErrSessionRead wraps the Redis failures of Complete.
var ErrSessionRead = errors.New("leadstore: reading sessions")

// Complete appends to each change's Lead.RecentSessions the sessions its
// OlderSessions refer to, in order, and clears OlderSessions; changes
// without references are left as they are, and a change may be passed
// more than once. What is not cached is read in one pipelined round trip.
// It returns how many sessions and pageviews were missing from Redis (see
// SessionStore); err is a Redis failure, after which no change is altered.
func (s *SessionStore) Complete(ctx context.Context, chs []*schemas.LeadChange) (missing int, err error) {
	refs := 0
	for _, ch := range chs {
		refs += len(ch.OlderSessions)
	}
	c := completion{
		want:   make(map[sessionID]*storedSession, refs),
		fresh:  make(map[sessionID]*storedSession), // the cache's misses
		byKey:  make(map[string]*partsRead),
		chunks: make(map[part]bool),
	}
	s.mu.Lock()
	for _, ch := range chs {
		if len(ch.OlderSessions) == 0 {
			continue
		}
		rkey := LeadRedisKey(s.prefix, ch.LeadKey)
		for _, ref := range ch.OlderSessions {
			s.planLocked(&c, rkey, ch.Lead.ID, ref)
		}
	}
	s.mu.Unlock()
	if len(c.reads) > 0 {
		if err := s.read(ctx, &c); err != nil {
			return 0, err
		}
		s.remember(c.fresh)
	}
	for _, ch := range chs {
		missing += s.assemble(ch, c.want)
	}
	return missing, nil
}

// completion is what one Complete call works with: every referenced
// session with its cached parts (want), those of them read now (fresh),
// and the parts to read, per lead.
type completion struct {
	want   map[sessionID]*storedSession
	fresh  map[sessionID]*storedSession
	reads  []*partsRead
	byKey  map[string]*partsRead // reads by Redis key
	chunks map[part]bool         // chunks asked for
}

// partsRead is one lead's parts to read: the hash fields, the parts they
// are read into, and the pipelined command.
type partsRead struct {
	rkey   string
	fields []string
	into   []part
	cmd    *redis.SliceCmd
}

// need adds field of the lead at rkey to the reads, to be read into p.
func (c *completion) need(rkey, field string, p part) {
	rd := c.byKey[rkey]
	if rd == nil {
		rd = &partsRead{rkey: rkey}
		c.byKey[rkey] = rd
		c.reads = append(c.reads, rd)
	}
	rd.fields = append(rd.fields, field)
	rd.into = append(rd.into, p)
}

// planLocked finds the session ref refers to (of the lead at rkey with
// id) in the batch or the cache and adds what it lacks to c's reads.
// s.mu is held.
func (s *SessionStore) planLocked(c *completion, rkey string, id int64, ref schemas.SessionRef) {
	sid := sessionID{rkey, id, ref.Seq}
	first := ref.Pageviews - int64(len(ref.TimeSpent))
	// Cached sessions are never changed, only replaced: one that has every
	// part this reference shows is used as it is, else a copy of it is
	// completed by the read.
	ss, earlier := c.want[sid], c.want[sid] != nil // earlier: another change of the batch refers to it
	if ss == nil && s.max > 0 {
		ss, _ = s.cache.Get(sid)
	}
	if c.fresh[sid] == nil {
		if ss != nil && ss.covers(first, ref.Pageviews) {
			c.want[sid] = ss
			return
		}
		ss = ss.copyFrom(first, earlier)
		c.want[sid], c.fresh[sid] = ss, ss
	}
	askChunk := func(n int64) {
		ch := part{sid: sid, n: n, chunk: true}
		if !c.chunks[ch] {
			c.chunks[ch] = true
			c.need(rkey, ChunkField(uint64(ref.Seq), uint64(n)), ch)
		}
	}
	if ss.meta == nil && !ss.metaAsked {
		// The facts are at the start of chunk 0 (ChunkWithFacts), or, for
		// a session stored before, in a field of their own, which read
		// asks for in a second round trip when chunk 0 has none.
		ss.metaAsked = true
		askChunk(0)
	}
	ss.widen(first, ref.Pageviews)
	for n := first; n < ref.Pageviews; n++ {
		if p := ss.slot(n); p != nil && *p == nil {
			*p = askedPV
			askChunk(n / PageviewChunk)
		}
	}
}

// copyFrom returns a new storedSession to be completed by a read, holding
// what ss (nil: nothing cached) has of it: its facts and its pageviews
// from first on (all of them when earlier, an earlier change of the batch
// referring to the session, may still show them).
func (ss *storedSession) copyFrom(first int64, earlier bool) *storedSession {
	cp := &storedSession{}
	if ss == nil {
		return cp
	}
	cp.meta = ss.meta
	// The pageviews before first slid out of the window for good, unless
	// an earlier change of the batch still shows them.
	from, pvs := ss.from, ss.pvs
	if !earlier && from < first {
		pvs = pvs[min(first-from, int64(len(pvs))):]
		from = first
	}
	if len(pvs) > 0 {
		cp.from, cp.pvs = from, slices.Clone(pvs)
	}
	return cp
}

// read reads c's parts into c.want's sessions in one pipelined round
// trip; a part missing or unusable is left nil. What no chunk held is then
// read, in a second round trip, from the fields leads stored before
// chunks (PageviewChunk) and before ChunkWithFacts had: a pageview's own
// field, and the facts' (MetaField) when chunk 0 had none.
func (s *SessionStore) read(ctx context.Context, c *completion) error {
	if err := s.readParts(ctx, c); err != nil {
		return err
	}
	var old completion
	need := func(rkey, field string, p part) {
		if old.byKey == nil {
			old = completion{want: c.want, byKey: make(map[string]*partsRead)}
		}
		old.need(rkey, field, p)
	}
	for _, rd := range c.reads {
		for _, p := range rd.into {
			if !p.chunk {
				continue
			}
			ss := c.want[p.sid]
			if p.n == 0 && ss.meta == nil {
				need(rd.rkey, MetaField(uint64(p.sid.seq)), part{sid: p.sid, n: -1})
			}
			for n := p.n * PageviewChunk; n < (p.n+1)*PageviewChunk; n++ {
				if ss.pv(n) == askedPV {
					need(rd.rkey, PageviewField(uint64(p.sid.seq), uint64(n)), part{sid: p.sid, n: n})
				}
			}
		}
	}
	if len(old.reads) == 0 {
		return nil
	}
	return s.readParts(ctx, &old)
}

// readParts reads c's parts in one pipelined round trip.
func (s *SessionStore) readParts(ctx context.Context, c *completion) error {
	pipe := s.rdb.Pipeline()
	for _, rd := range c.reads {
		rd.cmd = pipe.HMGet(ctx, rd.rkey, rd.fields...)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("%w: %w", ErrSessionRead, err)
	}
	for _, rd := range c.reads {
		vals, err := rd.cmd.Result()
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrSessionRead, rd.rkey, err)
		}
		for i, v := range vals {
			raw, ok := v.(string)
			if !ok {
				continue // missing
			}
			p := rd.into[i]
			ss := c.want[p.sid]
			switch {
			case p.chunk:
				pvs, _, facts, err := DecodeChunk(raw)
				if err != nil {
					continue // unusable: counted as missing
				}
				if facts != nil && ss.meta == nil {
					ss.meta = facts
				}
				for j, pv := range pvs {
					if at := ss.slot(p.n*PageviewChunk + int64(j)); pv != nil && at != nil && *at == askedPV {
						*at = pv
					}
				}
			case p.n < 0:
				if m := new(SessionMeta); DecodeMeta(m, raw) == nil {
					ss.meta = m
				} // else unusable: counted as missing
			default:
				if at := ss.slot(p.n); at != nil {
					if pv, err := DecodePageview(raw); err == nil {
						*at = pv
					}
				}
			}
		}
	}
	return nil
}

// assemble appends to ch's Lead.RecentSessions the sessions its
// OlderSessions refer to, from want, clears OlderSessions and returns how
// many sessions and pageviews were missing.
func (s *SessionStore) assemble(ch *schemas.LeadChange, want map[sessionID]*storedSession) (missing int) {
	if len(ch.OlderSessions) == 0 {
		return 0
	}
	rkey := LeadRedisKey(s.prefix, ch.LeadKey)
	sessions := slices.Grow(ch.Lead.RecentSessions, len(ch.OlderSessions))
	for _, ref := range ch.OlderSessions {
		ss := want[sessionID{rkey, ch.Lead.ID, ref.Seq}]
		if ss.meta == nil {
			missing++
			continue
		}
		out, lost := ss.session(ref)
		missing += lost
		sessions = append(sessions, out)
	}
	ch.Lead.RecentSessions, ch.OlderSessions = sessions, nil
	return missing
}

// session builds the session ref refers to from ss (whose facts are
// known), and returns how many of its pageviews were missing.
func (ss *storedSession) session(ref schemas.SessionRef) (out schemas.Session, missing int) {
	m := ss.meta
	out = schemas.Session{StartedAt: schemas.SessionTime{Time: time.UnixMicro(ref.StartedAt)},
		Source: m.Source, Browser: m.Browser, DeviceType: m.Device, OperatingSystem: m.OS,
		TotalDuration: ref.TotalDuration, Location: m.Loc,
		Pageviews: make([]schemas.Pageview, 0, len(ref.TimeSpent))}
	first := ref.Pageviews - int64(len(ref.TimeSpent))
	for i, spent := range ref.TimeSpent {
		pv := ss.pv(first + int64(i))
		if pv == nil || pv == askedPV {
			missing++
			continue
		}
		out.Pageviews = append(out.Pageviews, schemas.Pageview{URL: pv.URL, Host: pv.Host, Path: pv.Path,
			TimeSpent: spent, VisitedAt: schemas.SessionTime{Time: time.UnixMicro(pv.VisitedAt)}})
	}
	return out, missing
}

// part is a field read into a session: its chunk n (chunk), its pageview
// n in a field of its own, or its facts (n -1).
type part struct {
	sid   sessionID
	n     int64
	chunk bool
}

// remember caches the sessions read (replacing what was cached of them;
// a session whose facts were missing is not kept, and is asked for again
// next time), then evicts the least recently used sessions until at most
// max parts are cached.
func (s *SessionStore) remember(read map[sessionID]*storedSession) {
	if s.max == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for sid, ss := range read {
		if ss.meta == nil {
			continue
		}
		for i, pv := range ss.pvs {
			if pv == askedPV {
				ss.pvs[i] = nil // missing: asked for again next time
			}
		}
		if old, ok := s.cache.Peek(sid); ok {
			s.size -= old.parts()
		}
		s.cache.Add(sid, ss)
		s.size += ss.parts()
	}
	for s.size > s.max {
		_, old, ok := s.cache.RemoveOldest()
		if !ok {
			break
		}
		s.size -= old.parts()
	}
}

// parts is the weight of a cached session: its facts and its pageviews.
func (ss *storedSession) parts() int {
	n := 1
	for _, pv := range ss.pvs {
		if pv != nil {
			n++
		}
	}
	return n
}
