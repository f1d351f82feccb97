package leads

import (
	"fmt"
	"strings"

	"github.com/leadflow/leadflow/schemas"
)

// rules are the sessionization settings of Config in the units apply uses.
type rules struct {
	timeout      int64 // session timeout, µs
	recent       int
	maxSessions  int
	maxPageviews int
	dedup        int
}

func newRules(c Config) rules {
	return rules{
		timeout:      c.SessionTimeout.Microseconds(),
		recent:       c.RecentSessions,
		maxSessions:  c.MaxSessions,
		maxPageviews: c.MaxPageviews,
		dedup:        c.DedupWindow,
	}
}

// outcome is what apply did with a hit.
type outcome uint8

const (
	// applied: the hit is part of the lead now.
	applied outcome = iota
	// duplicate: its event id was applied before; nothing changed.
	duplicate
	// late: it is older than its session's last hit by more than the
	// session timeout (it belongs to a session instance that is gone);
	// nothing changed.
	late
)

// result is apply's report.
type result struct {
	out  outcome
	kind uint8
	// changed says the subject or the stats changed, so a LeadChange is
	// emitted (a ping that reports no more time_spent, in the order the
	// subject already shows, changes nothing).
	changed bool
	sess    *session
}

// hitInfo is a decoded hit with the values apply needs precomputed.
type hitInfo struct {
	schemas.Hit
	ts     int64  // Timestamp in unix µs
	hash   uint64 // eventHash(EventID)
	offset int64  // the record's offset
}

// apply applies one hit to st in place. It is deterministic: the same
// state and hit give the same result and state, which is what makes a
// replay from the pre-image reproduce the original changes exactly.
//
// Sessionization, in event time:
//   - The hit belongs to the lead's most recent session instance with its
//     session_id, unless it is more than the session timeout after that
//     instance's last hit: then (or without an instance) it starts a new
//     session (kind new_session, or new_lead for the lead's first hit).
//   - A hit more than the timeout before its instance's last hit is late
//     and dropped: its session instance is gone. Other out-of-order hits
//     are applied (lastHit and last_seen never move back; started_at and
//     first_seen move back).
//   - A pageview appends a pageview with its time_spent. A ping sets the
//     current (last) pageview's time_spent to its value if that is larger
//     (time_spent is the page's total so far: set, never add, never
//     decrease) and never adds a pageview; in a session without a
//     pageview yet it counts as orphan time.
//   - The changed session moves to the front of the sessions.
func (r *rules) apply(st *leadState, h *hitInfo) result {
	if st.seen(h.hash) {
		return result{out: duplicate}
	}
	res := result{out: applied, kind: kindUpdated}
	s, tooLate := r.sessionOf(st, h, &res)
	if tooLate {
		return result{out: late}
	}
	res.sess = s
	if r.addTime(st, s, h) {
		res.changed = true
	}
	if widen(st, s, h.ts) {
		res.changed = true
	}
	r.trimSessions(st)
	r.remember(st, h, s, &res)
	return res
}

// seen reports whether the event with hash is in st's dedup ring.
func (st *leadState) seen(hash uint64) bool {
	for i := range st.ring {
		if st.ring[i].hash == hash {
			return true
		}
	}
	return false
}

// sessionOf returns the session h belongs to, moved to the front of st's
// sessions: the most recent instance with its session_id, unless h is
// more than the timeout after its last hit, when a new session is started
// (res.kind new_session, or new_lead for the lead's first hit). It
// reports tooLate (and changes nothing) for a hit more than the timeout
// before its instance's last hit. res.changed is set when the sessions'
// order changes or a session starts.
func (r *rules) sessionOf(st *leadState, h *hitInfo, res *result) (s *session, tooLate bool) {
	idx := -1
	for i, cand := range st.sessions {
		if cand.sessionID == h.SessionID {
			idx = i
			break
		}
	}
	if idx >= 0 {
		last := st.sessions[idx].lastHit
		switch {
		case h.ts > last+r.timeout:
			idx = -1 // timed out: a new instance
		case h.ts < last-r.timeout:
			return nil, true
		}
	}
	if idx < 0 {
		st.nextSeq++
		s = &session{seq: st.nextSeq, sessionID: strings.Clone(h.SessionID), started: h.ts, lastHit: h.ts, meta: newMeta(&h.Hit), factsInChunk: true}
		res.kind = kindNewSession
		if !st.exists() {
			res.kind = kindNewLead
			st.firstSeen, st.lastSeen = h.ts, h.ts
		}
		st.stats.Sessions++
		st.sessions = append(st.sessions, nil)
		copy(st.sessions[1:], st.sessions)
		st.sessions[0] = s
		res.changed = true
		return s, false
	}
	s = st.sessions[idx]
	switch {
	case s.cold:
		// needsLoad reads such a lead again before its batch applies.
		// Were it missed, the batch that panics drops the leads it
		// touched from the cache (process), and the runtime runs it again
		// one record at a time, from Redis's state.
		panic(fmt.Sprintf("leads: a hit for cold session %d of lead %d", s.seq, st.id))
	case s.frozen != nil:
		if err := s.thaw(); err != nil {
			panic(err) // a block freeze wrote does not decode: a bug
		}
	}
	if idx > 0 {
		copy(st.sessions[1:idx+1], st.sessions[:idx])
		st.sessions[0] = s
		res.changed = true
	}
	return s, false
}

// addTime adds h to s and st's stats: a pageview appends a pageview (s
// keeps the last maxPageviews) with its time_spent; a ping raises the
// current pageview's time_spent (or, before any pageview, the orphan
// time) to its own. It reports whether anything changed.
func (r *rules) addTime(st *leadState, s *session, h *hitInfo) bool {
	spent := max(h.TimeSpent, 0)
	if h.Type == schemas.TypePageview {
		s.pvs = append(s.pvs, newPageview(h))
		s.spent = append(s.spent, spent)
		s.pvTotal++
		if n := len(s.pvs) - r.maxPageviews; n > 0 {
			s.pvs = s.pvs[:copy(s.pvs, s.pvs[n:])]
			s.spent = s.spent[:copy(s.spent, s.spent[n:])]
		}
		s.duration += spent
		st.stats.Pageviews++
		st.stats.TotalDuration += spent
		return true
	}
	cur := &s.orphan
	if n := len(s.spent); n > 0 {
		cur = &s.spent[n-1]
	}
	d := spent - *cur
	if d <= 0 {
		return false
	}
	*cur = spent
	s.duration += d
	st.stats.TotalDuration += d
	return true
}

// widen moves s's start and st's first and last seen to include ts (the
// session's last hit too, which is not reported). It reports whether the
// start or first or last seen changed.
func widen(st *leadState, s *session, ts int64) bool {
	changed := false
	if ts < s.started {
		s.started = ts
		changed = true
	}
	s.lastHit = max(s.lastHit, ts)
	if ts < st.firstSeen {
		st.firstSeen = ts
		changed = true
	}
	if ts > st.lastSeen {
		st.lastSeen = ts
		changed = true
	}
	return changed
}

// remember adds h to st's dedup ring (which keeps the last dedup hits),
// with what apply made of it.
func (r *rules) remember(st *leadState, h *hitInfo, s *session, res *result) {
	if len(st.ring) >= r.dedup {
		n := len(st.ring) - r.dedup + 1
		st.ring = st.ring[:copy(st.ring, st.ring[n:])]
	}
	st.ring = append(st.ring, ringEntry{hash: h.hash, offset: h.offset, seq: s.seq, kind: res.kind, emitted: res.changed})
}

// trimSessions drops the sessions st no longer keeps: beyond the recent
// ones, only open sessions (a hit within the timeout of the lead's last
// hit) are kept, and never more than maxSessions.
func (r *rules) trimSessions(st *leadState) {
	if len(st.sessions) <= r.recent {
		return
	}
	keep := st.sessions[:r.recent]
	for _, s := range st.sessions[r.recent:] {
		if len(keep) < r.maxSessions && s.lastHit >= st.lastSeen-r.timeout {
			keep = append(keep, s)
		}
	}
	clear(st.sessions[len(keep):])
	st.sessions = keep
}

// The strings of a decoded hit are its record's bytes
// (schemas.Hit.DecodeShared), which are lent to another fetch once the
// batch is finished: what the state keeps is copied.

// newPageview makes the pageview of h. Its host and path are usually
// parts of its URL and then share its memory.
func newPageview(h *hitInfo) *pageview {
	pv := &pageview{URL: strings.Clone(h.URL), VisitedAt: h.ts}
	pv.Host = substringOf(pv.URL, h.Host)
	pv.Path = substringOf(pv.URL, h.Path)
	return pv
}

// substringOf returns s from within in if it is part of it, else a clone.
func substringOf(in, s string) string {
	if i := strings.Index(in, s); i >= 0 {
		return in[i : i+len(s)]
	}
	return strings.Clone(s)
}

// newMeta takes a new session's facts from its first hit. A session lives
// as long as its lead is cached, so its facts are packed for the garbage
// collector: every string is a part of one allocation, and the pointers of
// the optional values point into m itself (two objects instead of up to 20).
func newMeta(h *schemas.Hit) *sessionMeta {
	m := &sessionMeta{}
	var loc schemas.Location
	if h.Location != nil { // not pointers into the hit's location (it holds the record)
		loc = *h.Location
	}
	parts := [...]string{h.Referrer, h.Browser, h.DeviceType, h.OperatingSystem,
		deref(loc.City), deref(loc.CountryCode), deref(loc.Region),
		h.UTMSource, h.UTMMedium, h.UTMCampaign, h.UTMTerm, h.UTMContent}
	var b strings.Builder
	for _, p := range parts {
		b.Grow(len(p))
	}
	for _, p := range parts {
		b.WriteString(p)
	}
	all := b.String()
	for i, p := range parts {
		parts[i], all = all[:len(p)], all[len(p):]
	}
	opt := func(i int, present bool) *string {
		if !present {
			return nil
		}
		m.strs[i] = parts[i]
		return &m.strs[i]
	}
	m.Source, m.Browser = opt(0, parts[0] != ""), opt(1, parts[1] != "")
	m.Device, m.OS = opt(2, parts[2] != ""), opt(3, parts[3] != "")
	m.Loc.City, m.Loc.CountryCode, m.Loc.Region = opt(4, loc.City != nil), opt(5, loc.CountryCode != nil), opt(6, loc.Region != nil)
	if loc.Latitude != nil {
		m.coords[0] = *loc.Latitude
		m.Loc.Latitude = &m.coords[0]
	}
	if loc.Longitude != nil {
		m.coords[1] = *loc.Longitude
		m.Loc.Longitude = &m.coords[1]
	}
	m.UTM = schemas.SessionFacts{UTMSource: parts[7], UTMMedium: parts[8], UTMCampaign: parts[9], UTMTerm: parts[10], UTMContent: parts[11]}
	return m
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
