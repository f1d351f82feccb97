package leads

import (
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/leadstore"
)

// Change kinds as stored in the dedup ring; kindName maps them to the
// schemas.Change* constants.
const (
	kindUpdated    uint8 = 0
	kindNewSession uint8 = 1
	kindNewLead    uint8 = 2
)

var kindName = [...]string{
	kindUpdated:    schemas.ChangeSessionUpdated,
	kindNewSession: schemas.ChangeNewSession,
	kindNewLead:    schemas.ChangeNewLead,
}

// leadState is everything the stage knows about one lead (workspace,
// company). Times are unix microseconds of event time. It is owned by the
// goroutine processing the lead's partition; nothing in it is shared
// except the immutable *pageview and *sessionMeta values, which copies
// share.
type leadState struct {
	id int64
	// gen counts the writes of the state to Redis; the head is written in
	// turn to fields h0..h3 (gen modulo replayHeads), so the other fields
	// hold the previous heads: the pre-images replays start from.
	gen uint64
	// firstSeen and lastSeen are the earliest and latest hit times.
	firstSeen, lastSeen int64
	// stats are the lifetime totals.
	stats schemas.LeadStats
	// partition and lastOffset are the position of the last hit record
	// processed for the lead (applied or not); a record of the same
	// partition at or below lastOffset is a replay. lastOffset is -1
	// before the first hit.
	partition  int32
	lastOffset int64
	// maxRecTime is the largest Kafka timestamp (unix ms) of those
	// records: a record above it is new even at a lower offset (the topic
	// was recreated), never a replay.
	maxRecTime int64
	// nextSeq numbers the lead's sessions: 1, 2, ... (SessionKey is
	// "ID:seq").
	nextSeq uint64
	// sessions are kept most recently changed first (the subject's
	// recent_sessions order).
	sessions []*session
	// ring holds the most recently applied hits, oldest first, bounded
	// by Config.DedupWindow.
	ring []ringEntry
	// perPageview says the state was read from a head whose pageviews
	// are in a field each (an earlier format, codec.go); the next write
	// stores its sessions' pageviews in chunks. Not persisted as such.
	perPageview bool
}

// exists reports whether the lead has had a hit; a genesis state (id
// assigned, nothing applied) does not exist yet.
func (st *leadState) exists() bool { return st.stats.Sessions > 0 }

// session is one session instance of a lead.
type session struct {
	seq       uint64
	sessionID string
	// started and lastHit are the earliest and latest hit times.
	started, lastHit int64
	meta             *sessionMeta
	// pvTotal counts every pageview the session ever had; the kept ones
	// (pvs, the last MaxPageviews) are numbered pvTotal-len(pvs) ..
	// pvTotal-1 in their Redis field names.
	pvTotal uint64
	pvs     []*pageview
	// spent is the time_spent of pvs[i], in seconds.
	spent []int64
	// orphan is the time_spent pings reported while the session had no
	// pageview yet (its landing pageview was lost upstream), in seconds.
	orphan int64
	// duration is the session's total_duration: the time_spent of all
	// its pageviews (also those no longer kept) plus orphan, in seconds.
	duration int64

	// metaWritten and pvWritten say what is already in Redis (not
	// persisted: a state read from Redis has everything written).
	metaWritten bool
	pvWritten   uint64
	// factsInChunk says the session's facts are stored at the start of
	// its chunk 0 (leadstore.ChunkWithFacts), as every session this
	// stage starts stores them; a session stored before has them in a
	// field of their own (metaField). Not persisted as such: resolve
	// finds where they are.
	factsInChunk bool
	// chunk is the stored chunk (leadstore.PageviewChunk) that pageview
	// pvWritten-1 is in, and chunkLast its last entry that is not
	// skipped: the next write appends to them. next and nextLast are what
	// the write in progress stores, taken over when it succeeds. Only a
	// cached current state has them (not copied by clone).
	chunk, next         []byte
	chunkLast, nextLast *pageview

	pvCache pvCache // not copied by clone
	// ref is the session's schemas.SessionRef JSON as last encoded,
	// valid while refKey still describes the session (see appendRef);
	// not copied by clone.
	ref    []byte
	refKey sessionShape
	// pvw caches the pageviews' part of the cache's estimate (pvBytes).
	pvw pvWeight
	// frozen, when not nil, holds the session's facts and kept
	// pageviews, which pvs and meta do not (freeze.go). cold says the
	// session keeps only what the head stores (its numbers, sessionID
	// and spent): pvs, meta, chunk and the JSON are dropped (see
	// dropCold) until the lead is read from Redis again.
	frozen []byte
	cold   bool
	// chunkInBlock says chunk is frozen's last group, where thaw takes
	// it back from (freeze); not copied by clone.
	chunkInBlock bool
	// headEnc is the session's part of the head (appendSessionHead),
	// kept while it is frozen or cold: then nothing of it changes, and
	// every write of the lead encodes all of its sessions.
	headEnc []byte
}

// kept is how many pageviews the session keeps: len(pvs), which a cold
// session does not have, is len(spent).
func (s *session) kept() int { return len(s.spent) }

// sessionShape is what of a session can change between hits: only the
// last kept pageview's time_spent ever changes (pings), the others are
// frozen.
type sessionShape struct {
	started, duration, lastSpent int64
	pvTotal                      uint64
	kept                         int
}

// sessionMeta are a session's facts taken from its first hit (stored as
// leadstore.SessionMeta); immutable but for its JSON fragments, built on
// first use (see fragments).
type sessionMeta struct {
	leadstore.SessionMeta
	// strs and coords hold the values the pointers above point to when
	// newMeta packed them (a decoded meta has its own).
	strs   [7]string
	coords [2]float64

	json          []byte // the session object from ,"source" to its end
	midEnd, locAt int    // json[:midEnd] is the middle, json[locAt:] the location and '}'
	weight        int64  // approxBytes without json, once counted (0: not yet)
}

// pageview is one kept page view; immutable (its time_spent is in the
// session's spent).
type pageview = leadstore.Pageview

// pvCache is a session's encoded frozen pageviews (see frozenJSON):
// json[start:] holds pageviews first, first+1, ... each followed by a
// comma; ends[i] is the end of the i-th, relative to start.
type pvCache struct {
	first uint64
	json  []byte
	start int
	ends  []int
}

// ringEntry is one applied hit: enough to recognise a duplicate event id
// and, for a replayed record, to tell the change it caused.
type ringEntry struct {
	hash    uint64 // eventHash(event_id)
	offset  int64
	seq     uint64 // the session it changed
	kind    uint8
	emitted bool // it changed the subject, so a LeadChange was emitted
}

// clone returns a copy of st that shares only immutable values.
func (st *leadState) clone() *leadState {
	c := *st
	c.sessions = make([]*session, len(st.sessions))
	for i, s := range st.sessions {
		sc := *s
		sc.pvCache = pvCache{}
		sc.chunk, sc.next, sc.chunkLast, sc.nextLast, sc.chunkInBlock = nil, nil, nil, nil, false
		sc.ref, sc.refKey, sc.headEnc = nil, sessionShape{}, nil
		sc.pvs = append([]*pageview(nil), s.pvs...)
		sc.spent = append([]int64(nil), s.spent...)
		c.sessions[i] = &sc
	}
	c.ring = append([]ringEntry(nil), st.ring...)
	return &c
}

// sessionBySeq returns the session numbered seq, or nil.
func (st *leadState) sessionBySeq(seq uint64) *session {
	for _, s := range st.sessions {
		if s.seq == seq {
			return s
		}
	}
	return nil
}

// eventHash is the 64-bit FNV-1a hash of an event id, the form the dedup
// ring keeps. It is part of the stored state: never change it.
func eventHash(id string) uint64 { return leadstore.FNV1a64(id) }
