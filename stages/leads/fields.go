package leads

import (
	"strconv"
	"strings"

	"github.com/leadflow/leadflow/stages/leadstore"
)

// Which fields of a lead's hash its stored heads refer to: what a write
// stores of a session's pageviews (appendChunks), what it drops once no
// head refers to it (overwrittenFields), and what a load keeps
// (loaded.references). A session's fields are its chunks (the first of
// them with its facts, leadstore.ChunkWithFacts) or, as stored before,
// its facts field and a field per pageview.

// headRefs are the field references of one stored head; perPageview:
// its pageviews are in a field each (an earlier format), not in chunks.
type headRefs struct {
	gen         uint64
	valid       bool
	perPageview bool
	refs        []sessRef
}

// headRefsOf returns the field references of a decoded head.
func headRefsOf(st *leadState) headRefs {
	return headRefs{gen: st.gen, valid: true, perPageview: st.perPageview, refs: refsOf(st)}
}

// appendChunks appends to args the chunk fields of ss that its pageviews
// since the last write change (leadstore.PageviewChunk), encoded in
// w.arena: the stored chunk of its last written pageview with the new
// ones appended, then new chunks (each written in its stored form,
// leadstore.AppendStoredChunk). With convert (the lead was read in the
// format with a field per pageview) it writes the chunks of every kept
// pageview instead, from the start of the first one's chunk. A pageview
// that is not kept any more (it slid out before it was written, or it is
// before the kept ones of a converted session) is a skipped entry. The
// chunk of the newest pageview is left in ss.next, for written.
func appendChunks(args []any, w *work, ss *session, convert bool) []any {
	if ss.cold || ss.frozen != nil {
		return args // written whole before it went cold or froze, and unchanged since
	}
	first := ss.pvTotal - uint64(ss.kept())
	from, prev := ss.pvWritten, ss.chunkLast
	if convert || (from%pvChunk != 0 && ss.chunk == nil) {
		from, prev = first-first%pvChunk, nil
	}
	if from >= ss.pvTotal {
		if ss.factsInChunk && !ss.metaWritten {
			// A new session without pageviews: chunk 0 holds its facts
			// alone until its first pageview (then it starts again).
			at := len(w.arena)
			w.arena = leadstore.AppendChunkStart(w.arena, &ss.meta.SessionMeta)
			chunk := w.arena[at:len(w.arena):len(w.arena)]
			at = len(w.arena)
			w.arena = leadstore.AppendStoredChunk(w.arena, chunk)
			args = append(args, leadstore.ChunkField(ss.seq, 0), w.arena[at:len(w.arena):len(w.arena)])
		}
		return args
	}
	at := len(w.arena)
	if from%pvChunk != 0 {
		w.arena = append(w.arena, ss.chunk...)
	}
	flush := func(n uint64) {
		b := w.arena[at:len(w.arena):len(w.arena)]
		at = len(w.arena)
		w.arena = leadstore.AppendStoredChunk(w.arena, b)
		args = append(args, leadstore.ChunkField(ss.seq, n/pvChunk), w.arena[at:len(w.arena):len(w.arena)])
		ss.next = b // the chunk itself, which the next write appends to
		at = len(w.arena)
	}
	for n := from; n < ss.pvTotal; n++ {
		if n%pvChunk == 0 {
			if n > from {
				flush(n - 1)
			}
			var facts *leadstore.SessionMeta
			if n == 0 && ss.factsInChunk {
				facts = &ss.meta.SessionMeta
			}
			w.arena = leadstore.AppendChunkStart(w.arena, facts)
			prev = nil
		}
		if n < first {
			w.arena = leadstore.AppendChunkSkip(w.arena)
			continue
		}
		pv := ss.pvs[n-first]
		w.arena = leadstore.AppendChunkEntry(w.arena, prev, pv)
		prev = pv
	}
	flush(ss.pvTotal - 1)
	ss.nextLast = prev
	return args
}

// refsOf returns the field references of a head.
func refsOf(st *leadState) []sessRef {
	refs := make([]sessRef, 0, len(st.sessions))
	for _, ss := range st.sessions {
		refs = append(refs, sessRef{seq: ss.seq, from: ss.pvTotal - uint64(ss.kept()), to: ss.pvTotal})
	}
	return refs
}

// overwrittenFields appends the fields that only the head the write of
// st (generation st.gen) overwrites refers to: sessions no newer head
// keeps, and pageviews below every newer head's window (in chunks, a chunk
// once all of its pageviews are; in a field each, for a head from before
// chunks, each such pageview's field, which only heads from before chunks
// refer to). Chunk 0 goes with its session, since it may hold the
// session's facts (leadstore.ChunkWithFacts). A session's window only
// moves forward, and session and pageview numbers are never reused, so a
// field dropped never comes back.
func overwrittenFields(dst []string, e *entry, st *leadState) []string {
	g := st.gen
	old := &e.heads[g%replayHeads]
	if !old.valid || old.gen+replayHeads != g {
		return dst
	}
	for _, r := range old.refs {
		if !old.perPageview && keepsAllOf(st, r) {
			continue
		}
		dst = refDrops(dst, e, st, old, r)
	}
	return dst
}

// keepsAllOf reports whether st, the state being written, still refers to
// every field of r, a session of a head in chunks: st keeps the session,
// and its first kept pageview is in r's first chunk or in chunk 1 (chunk 0
// goes with its session). Then refDrops has nothing of r to drop, whatever
// the heads between hold (windows only move forward, so theirs start at
// or before st's), and need not look at them: most writes are of leads
// whose sessions' windows did not cross a chunk.
func keepsAllOf(st *leadState, r sessRef) bool {
	for _, ss := range st.sessions {
		if ss.seq == r.seq {
			return (ss.pvTotal-uint64(ss.kept()))/pvChunk <= max(r.from/pvChunk, 1)
		}
	}
	return false
}

// refDrops appends the fields of r, a session of old (the head the write
// of st overwrites), that neither a newer head nor st refers to.
func refDrops(dst []string, e *entry, st *leadState, old *headRefs, r sessRef) []string {
	g := st.gen
	// found: a newer head keeps the session; from: the lowest first
	// kept pageview of the newer heads with old's layout.
	found, from := false, r.to
	note := func(seq, first uint64, perPageview bool) {
		if seq == r.seq {
			found = true
			if perPageview == old.perPageview {
				from = min(from, first)
			}
		}
	}
	for i := range e.heads {
		if h := &e.heads[i]; h.valid && h.gen > old.gen && h.gen < g {
			for _, o := range h.refs {
				note(o.seq, o.from, h.perPageview)
			}
		}
	}
	for _, ss := range st.sessions {
		note(ss.seq, ss.pvTotal-uint64(ss.kept()), false)
	}
	if !found {
		dst = append(dst, metaField(r.seq))
	}
	if old.perPageview {
		for n := r.from; n < min(r.to, from); n++ {
			dst = append(dst, pageviewField(r.seq, n))
		}
		return dst
	}
	// Chunk 0 goes with its session, not with its pageviews: it may
	// hold the session's facts (leadstore.ChunkWithFacts), also when
	// the session has no pageview.
	if !found && (r.from >= r.to || r.from >= pvChunk) {
		dst = append(dst, leadstore.ChunkField(r.seq, 0))
	}
	if r.from >= r.to {
		return dst
	}
	// Chunks of old's window that no newer head's window reaches into.
	lo, last := r.from/pvChunk, (r.to-1)/pvChunk
	if found {
		lo = max(lo, 1)
		if from/pvChunk == 0 {
			return dst
		}
		last = min(last, from/pvChunk-1)
	}
	for c := lo; c <= last; c++ {
		dst = append(dst, leadstore.ChunkField(r.seq, c))
	}
	return dst
}

// references reports whether any of the heads refers to field f: a
// session's facts (s), a pageview in a chunk (q) of a head in chunks or in
// a field of its own (p) of a head from before.
func (l *loaded) references(f string) bool {
	if len(f) < 2 {
		return false
	}
	var seq, n uint64
	var err error
	switch f[0] {
	case 's':
		seq, err = strconv.ParseUint(f[1:], 10, 64)
	case 'p', 'q':
		a, b, ok := strings.Cut(f[1:], ".")
		seq, err = strconv.ParseUint(a, 10, 64)
		var err2 error
		n, err2 = strconv.ParseUint(b, 10, 64)
		if !ok || err2 != nil {
			return false
		}
	default:
		return false
	}
	if err != nil {
		return false
	}
	for _, h := range l.heads {
		if !h.valid {
			continue
		}
		for _, r := range h.refs {
			if r.seq != seq {
				continue
			}
			switch {
			case f[0] == 's',
				f[0] == 'p' && h.perPageview && n >= r.from && n < r.to,
				f[0] == 'q' && !h.perPageview && n == 0, // chunk 0 goes with its session (overwrittenFields)
				f[0] == 'q' && !h.perPageview && r.from < r.to && n >= r.from/pvChunk && n <= (r.to-1)/pvChunk:
				return true
			}
		}
	}
	return false
}
