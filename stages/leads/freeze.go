package leads

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/stages/leadstore"
)

// A cached lead's sessions are kept in one of three forms, settled after
// every batch that touched the lead (settle):
//
//   - hot, the most recently changed session (sessions[0]): pageviews and
//     facts decoded, with the JSON the next change reuses (change.go);
//   - frozen, the subject's other recent sessions: a change shows them by
//     reference (appendRef: numbers only), so their facts and kept
//     pageviews are one pointer-free block in the stored chunks' encoding
//     (session.frozen), decoded again in place by a hit of their own
//     (thaw, from sessionOf);
//   - cold, the sessions past the recent ones (dropCold): only what the
//     head stores; a hit for one reads the lead from Redis again
//     (needsLoad).
//
// At steady state in the bench every lead keeps max_sessions sessions, a
// visit is over before the lead's next one starts, and a decoded session
// (a pointer and an object per pageview and per string, its facts, its
// JSON) costs the garbage collector on every cycle; a frozen one is one
// block, a cold one nothing but its numbers.

// settle freezes and drops the sessions of a state that is as in Redis
// (written, or read and not changed): see above.
func (st *leadState) settle(recent int) {
	if st.perPageview {
		// Read from the format with a field per pageview: everything
		// stays until the next write stores the sessions in chunks.
		return
	}
	st.dropCold(recent)
	for i, s := range st.sessions {
		if i > 0 && i < recent {
			s.freeze()
		}
		if (s.cold || s.frozen != nil) && s.headEnc == nil {
			s.headEnc = appendSessionHead(nil, s)
		}
	}
}

// freeze packs a hot session's facts and kept pageviews into s.frozen:
// its pageviews in groups of leadstore.PageviewChunk, each group a chunk
// (the first with the facts, leadstore.ChunkWithFacts) after its length.
// The stored chunk the next write appends to (s.chunk) is the block's
// last group whenever the kept pageviews start at a chunk's start (a
// session within max_pageviews, stored in chunks from its start): then
// it is not kept twice (chunkInBlock), else it is kept as it is. The
// session's reference JSON is kept (appendRef shows it); the rest of the
// JSON is dropped.
func (s *session) freeze() {
	if s.cold || s.frozen != nil {
		return
	}
	var b, c []byte
	for i := 0; i == 0 || i < len(s.pvs); i += pvChunk {
		var facts *leadstore.SessionMeta
		if i == 0 {
			facts = &s.meta.SessionMeta
		}
		c = leadstore.AppendChunkStart(c[:0], facts)
		var prev *pageview
		for _, pv := range s.pvs[i:min(i+pvChunk, len(s.pvs))] {
			c = leadstore.AppendChunkEntry(c, prev, pv)
			prev = pv
		}
		b = binary.AppendUvarint(b, uint64(len(c)))
		b = append(b, c...)
	}
	s.frozen = b[:len(b):len(b)]
	if s.chunk != nil && bytes.Equal(c, s.chunk) {
		s.chunk, s.chunkInBlock = nil, true
	}
	s.pvs, s.meta, s.pvw = nil, nil, pvWeight{}
	s.chunkLast, s.pvCache = nil, pvCache{}
}

// thaw decodes a frozen session back to hot. The decoded strings are
// parts of the frozen block, which they keep.
func (s *session) thaw() error {
	rest := s.frozen
	var pvs []*pageview
	var facts *leadstore.SessionMeta
	var c []byte
	for first := true; first || len(rest) > 0; first = false {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return fmt.Errorf("leads: frozen session %d: %w", s.seq, errCorrupt)
		}
		c = rest[k : k+int(n)]
		rest = rest[k+int(n):]
		// The block is never written again: the strings may share it.
		got, _, f, err := leadstore.DecodeChunk(unsafe.String(unsafe.SliceData(c), len(c)))
		if err != nil {
			return fmt.Errorf("leads: frozen session %d: %w", s.seq, err)
		}
		if first {
			facts = f
		}
		if pvs == nil {
			pvs = got
		} else {
			pvs = append(pvs, got...)
		}
	}
	if facts == nil || len(pvs) != s.kept() {
		return fmt.Errorf("leads: frozen session %d: %d pageviews, want %d: %w", s.seq, len(pvs), s.kept(), errCorrupt)
	}
	s.meta, s.pvs, s.frozen, s.headEnc = &sessionMeta{SessionMeta: *facts}, pvs, nil, nil
	if s.chunkInBlock {
		// A copy: the next write's chunk replaces it in place (written),
		// and the decoded strings share the block.
		s.chunk, s.chunkInBlock = bytes.Clone(c), false
	}
	if s.chunk != nil && len(pvs) > 0 {
		s.chunkLast = pvs[len(pvs)-1] // the last entry of the stored chunk
	}
	return nil
}

// dropCold makes the sessions past the subject's recent ones cold (see
// above): they keep what the head stores and drop their pageviews, facts,
// stored chunk and JSON. No change shows them, and one never moves up
// among the recent ones but by a hit of its own (apply moves the hit's
// session first; trimSessions keeps the order), which needsLoad sees.
func (st *leadState) dropCold(recent int) {
	for _, ss := range st.sessions[min(recent, len(st.sessions)):] {
		if ss.cold {
			continue
		}
		ss.cold = true
		ss.pvs, ss.meta, ss.pvw, ss.frozen = nil, nil, pvWeight{}, nil
		ss.chunk, ss.chunkLast, ss.chunkInBlock = nil, nil, false
		ss.pvCache, ss.ref, ss.refKey = pvCache{}, nil, sessionShape{}
	}
}

// needsLoad reports whether a cached state cannot take record rec (hit
// h) as it is: h is for one of its cold sessions, or rec is a replay
// (its change is rebuilt from the previous heads a load reads, and may
// show any session). The lead is then read from Redis again, as a cache
// miss is.
func (st *leadState) needsLoad(h *hitInfo, rec *kgo.Record) bool {
	if isReplay(st, rec) {
		return true
	}
	for _, s := range st.sessions {
		if s.cold && s.sessionID == h.SessionID {
			return true
		}
	}
	return false
}
