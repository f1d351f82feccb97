package leads

import (
	"encoding/binary"

	"github.com/leadflow/leadflow/stages/leadstore"
)

// The state of a lead is a Redis hash (see store.go) of compact binary
// fields; stages/leadstore documents its layout and holds the key, the
// session and pageview fields and their encodings, which other stages
// read. The head is this stage's own: ids, times, counters, position,
// sessions with their pageviews' time_spent, the dedup ring. The field h
// (headsField) holds the current head and the previous three (the
// pre-images replays start from, see replay.go). It is encoded with
// leadstore's primitives; the current head is whole (headFormat; heads
// written before deltas start with leadstore.FormatV1), the three before
// it are deltas against the next newer head (delta.go).

// errCorrupt is returned for a stored state that does not decode.
var errCorrupt = leadstore.ErrCorrupt

// replayHeads is how many heads a lead keeps: the current one and the
// three before it. It is part of the stored format: never change it.
const replayHeads = 4

// headsField holds a lead's heads: headsFormat, then each head as a
// uvarint length and its bytes, the current one first (whole), then the
// ones before it, newest first, each a delta against the one before it
// in the field (delta.go). Every write rewrites it whole. Leads stored
// before it kept a field per head, headFields: generation gen in
// h<gen mod 4>, whole or a delta; they are read, and rewritten in
// headsField at the lead's next write. (A field costs a hashtable-encoded
// Redis hash about 70 bytes of its own; three of them were most of what
// the field per head saved in writes.)
const (
	headsField  = "h"
	headsFormat = 5
)

var headFields = [replayHeads]string{"h0", "h1", "h2", "h3"}

// headField names the field of generation gen in the layout of a field
// per head.
func headField(gen uint64) string { return headFields[gen%replayHeads] }

// appendHeads appends the value of headsField: head, then delta (nil:
// none, a lead's first head has its genesis), then older.
func appendHeads(dst, head, delta []byte, older [][]byte) []byte {
	dst = append(dst, headsFormat)
	dst = binary.AppendUvarint(dst, uint64(len(head)))
	dst = append(dst, head...)
	if delta == nil {
		return dst
	}
	dst = binary.AppendUvarint(dst, uint64(len(delta)))
	dst = append(dst, delta...)
	for _, d := range older {
		dst = binary.AppendUvarint(dst, uint64(len(d)))
		dst = append(dst, d...)
	}
	return dst
}

// splitHeads splits headsField's value: the whole current head, then
// the deltas.
func splitHeads(b []byte) ([][]byte, error) {
	d := leadstore.NewDecoder(b)
	if d.Byte() != headsFormat {
		return nil, errCorrupt
	}
	var parts [][]byte
	for len(d.Rest()) > 0 && d.Err() == nil {
		n := d.Uvarint()
		rest := d.Rest()
		if n == 0 || n > uint64(len(rest)) || len(parts) == replayHeads {
			return nil, errCorrupt
		}
		part := rest[:n:n]
		if (part[0] == headDelta) != (len(parts) > 0) {
			return nil, errCorrupt
		}
		parts = append(parts, part)
		d = leadstore.NewDecoder(rest[n:])
	}
	if err := d.Done(); err != nil || len(parts) == 0 {
		return nil, errCorrupt
	}
	return parts, nil
}

// metaField and pageviewField name a session's fields (leadstore).
func metaField(seq uint64) string        { return leadstore.MetaField(seq) }
func pageviewField(seq, n uint64) string { return leadstore.PageviewField(seq, n) }

// headFormat is the first byte of a whole head. It differs from
// leadstore.FormatV1, which heads were written in before deltas
// (delta.go), in the ring's offsets: each is stored against the one
// before it (the first against lastOffset), so that a ring that moved on
// by a few entries is mostly the same bytes. And it says where the
// sessions' pageviews are: in chunks (leadstore.ChunkField) for
// headFormat, in a field per pageview (leadstore.PageviewField) for the
// formats before, headFormatPerPageview and FormatV1. decodeHead reads
// all three; appendHead writes headFormat, and a lead read in an earlier
// format is rewritten in chunks at its next write (store.write).
const (
	headFormat            = 4
	headFormatPerPageview = 2
)

// pvChunk is leadstore.PageviewChunk.
const pvChunk = leadstore.PageviewChunk

// appendHead appends the head encoding of st (headFormat).
func appendHead(dst []byte, st *leadState) []byte {
	dst = append(dst, headFormat)
	dst = binary.AppendUvarint(dst, uint64(st.id))
	dst = binary.AppendUvarint(dst, st.gen)
	dst = binary.AppendVarint(dst, st.firstSeen)
	dst = binary.AppendVarint(dst, st.lastSeen)
	dst = binary.AppendUvarint(dst, uint64(st.stats.Sessions))
	dst = binary.AppendUvarint(dst, uint64(st.stats.Pageviews))
	dst = binary.AppendUvarint(dst, uint64(st.stats.TotalDuration))
	dst = binary.AppendVarint(dst, int64(st.partition))
	dst = binary.AppendVarint(dst, st.lastOffset)
	dst = binary.AppendVarint(dst, st.maxRecTime)
	dst = binary.AppendUvarint(dst, st.nextSeq)
	dst = binary.AppendUvarint(dst, uint64(len(st.sessions)))
	for _, s := range st.sessions {
		if s.headEnc != nil {
			dst = append(dst, s.headEnc...)
		} else {
			dst = appendSessionHead(dst, s)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(st.ring)))
	prev := st.lastOffset
	for i, e := range st.ring {
		dst = binary.LittleEndian.AppendUint64(dst, e.hash)
		if i == 0 {
			dst = binary.AppendVarint(dst, prev-e.offset)
		} else {
			dst = binary.AppendVarint(dst, e.offset-prev)
		}
		prev = e.offset
		dst = binary.AppendUvarint(dst, e.seq)
		flags := e.kind
		if e.emitted {
			flags |= 4
		}
		dst = append(dst, flags)
	}
	return dst
}

// appendSessionHead appends a session's part of the head encoding.
func appendSessionHead(dst []byte, s *session) []byte {
	dst = binary.AppendUvarint(dst, s.seq)
	dst = leadstore.AppendStr(dst, s.sessionID)
	dst = binary.AppendVarint(dst, s.started)
	dst = binary.AppendUvarint(dst, uint64(s.lastHit-s.started))
	dst = binary.AppendUvarint(dst, s.pvTotal)
	dst = binary.AppendUvarint(dst, uint64(len(s.spent)))
	for _, v := range s.spent {
		dst = binary.AppendUvarint(dst, uint64(v))
	}
	dst = binary.AppendUvarint(dst, uint64(s.orphan))
	return binary.AppendUvarint(dst, uint64(s.duration))
}

// decodeHead decodes a head. Its sessions have no meta and nil pageview
// pointers yet (len(pvs) is the kept count): resolve fills them in.
func decodeHead(b []byte) (*leadState, error) {
	d := leadstore.NewDecoder(b)
	format := d.Byte()
	if format != headFormat && format != headFormatPerPageview && format != leadstore.FormatV1 {
		return nil, errCorrupt
	}
	st := &leadState{perPageview: format != headFormat}
	st.id = int64(d.Uvarint())
	st.gen = d.Uvarint()
	st.firstSeen = d.Varint()
	st.lastSeen = d.Varint()
	st.stats.Sessions = int64(d.Uvarint())
	st.stats.Pageviews = int64(d.Uvarint())
	st.stats.TotalDuration = int64(d.Uvarint())
	st.partition = int32(d.Varint())
	st.lastOffset = d.Varint()
	st.maxRecTime = d.Varint()
	st.nextSeq = d.Uvarint()
	n := d.Count(8)
	st.sessions = make([]*session, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		s := &session{metaWritten: true}
		s.seq = d.Uvarint()
		s.sessionID = d.Str()
		s.started = d.Varint()
		s.lastHit = s.started + int64(d.Uvarint())
		s.pvTotal = d.Uvarint()
		s.pvWritten = s.pvTotal
		k := d.Count(1)
		s.pvs = make([]*pageview, k)
		s.spent = make([]int64, k)
		for j := range s.spent {
			s.spent[j] = int64(d.Uvarint())
		}
		s.orphan = int64(d.Uvarint())
		s.duration = int64(d.Uvarint())
		if uint64(k) > s.pvTotal {
			d.Fail()
		}
		st.sessions = append(st.sessions, s)
	}
	n = d.Count(11)
	st.ring = make([]ringEntry, 0, n)
	prev := st.lastOffset
	for i := 0; i < n && d.Err() == nil; i++ {
		e := ringEntry{hash: d.U64()}
		switch {
		case format == leadstore.FormatV1:
			e.offset = st.lastOffset - int64(d.Uvarint())
		case i == 0:
			e.offset = prev - d.Varint()
		default:
			e.offset = prev + d.Varint()
		}
		prev = e.offset
		e.seq = d.Uvarint()
		flags := d.Byte()
		e.kind, e.emitted = flags&3, flags&4 != 0
		st.ring = append(st.ring, e)
	}
	if err := d.Done(); err != nil {
		return nil, err
	}
	return st, nil
}

// resolve fills in the sessions' meta and pageviews of a decoded head
// from the lead's hash fields. memo shares the immutable values between
// the current head and the pre-images. The current head's sessions (cur)
// also get the chunk their newest pageview is in, which the next write
// appends to.
func resolve(st *leadState, fields map[string]string, memo map[string]any, cur bool) error {
	for _, s := range st.sessions {
		// The facts are in a field of their own (sessions stored before
		// leadstore.ChunkWithFacts) or at the start of chunk 0.
		f := metaField(s.seq)
		raw, own := fields[f]
		s.factsInChunk = !own
		if v, ok := memo[f]; ok {
			s.meta = v.(*sessionMeta)
		} else {
			m := &sessionMeta{}
			if own {
				if err := leadstore.DecodeMeta(&m.SessionMeta, raw); err != nil {
					return err
				}
			} else {
				c, err := chunkOf(fields, memo, leadstore.ChunkField(s.seq, 0))
				if err != nil {
					return err
				}
				if c.facts == nil {
					return errCorrupt
				}
				m.SessionMeta = *c.facts
			}
			memo[f], s.meta = m, m
		}
		var err error
		if st.perPageview {
			err = resolvePageviews(s, fields, memo)
		} else {
			err = resolveChunks(s, fields, memo, cur)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// resolvePageviews fills in s's pageviews from a field each.
func resolvePageviews(s *session, fields map[string]string, memo map[string]any) error {
	first := s.pvTotal - uint64(len(s.pvs))
	for i := range s.pvs {
		f := pageviewField(s.seq, first+uint64(i))
		if v, ok := memo[f]; ok {
			s.pvs[i] = v.(*pageview)
			continue
		}
		raw, ok := fields[f]
		if !ok {
			return errCorrupt
		}
		pv, err := leadstore.DecodePageview(raw)
		if err != nil {
			return err
		}
		memo[f], s.pvs[i] = pv, pv
	}
	return nil
}

// decodedChunk is a chunk field as resolve decoded it; raw is the chunk
// uncompressed (leadstore.ChunkBytes).
type decodedChunk struct {
	raw   string
	pvs   []*pageview
	last  *pageview
	facts *leadstore.SessionMeta
}

// chunkOf returns the chunk field f decoded, from memo or fields.
func chunkOf(fields map[string]string, memo map[string]any, f string) (*decodedChunk, error) {
	if v, ok := memo[f]; ok {
		return v.(*decodedChunk), nil
	}
	raw, ok := fields[f]
	if !ok {
		return nil, errCorrupt
	}
	raw, err := leadstore.ChunkBytes(raw)
	if err != nil {
		return nil, err
	}
	pvs, last, facts, err := leadstore.DecodeChunk(raw)
	if err != nil {
		return nil, err
	}
	c := &decodedChunk{raw: raw, pvs: pvs, last: last, facts: facts}
	memo[f] = c
	return c, nil
}

// resolveChunks fills in s's pageviews from their chunks; with cur, s
// also gets the chunk of its newest pageview.
func resolveChunks(s *session, fields map[string]string, memo map[string]any, cur bool) error {
	first := s.pvTotal - uint64(len(s.pvs))
	var c *decodedChunk
	for i := range s.pvs {
		n := first + uint64(i)
		if c == nil || n%pvChunk == 0 {
			var err error
			if c, err = chunkOf(fields, memo, leadstore.ChunkField(s.seq, n/pvChunk)); err != nil {
				return err
			}
		}
		j := n % pvChunk
		if j >= uint64(len(c.pvs)) || c.pvs[j] == nil {
			return errCorrupt
		}
		s.pvs[i] = c.pvs[j]
	}
	if cur && c != nil {
		// A chunk holds nothing past the head's pageviews: the head and
		// the chunks are written in one HSET.
		if uint64(len(c.pvs)) != (s.pvTotal-1)%pvChunk+1 {
			return errCorrupt
		}
		s.chunk, s.chunkLast = []byte(c.raw), c.last
	}
	return nil
}
