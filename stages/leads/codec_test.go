package leads

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/leadstore"
)

func sampleState() *leadState {
	loc := schemas.GuideNetcontrolVisitorLocation()
	meta := &sessionMeta{SessionMeta: leadstore.SessionMeta{Source: new("https://www.google.com/"), Browser: new("Safari"), Loc: loc,
		UTM: schemas.SessionFacts{UTMSource: "google", UTMContent: "x"}}}
	return &leadState{
		id: 1<<53 - 1, gen: 7, firstSeen: -5, lastSeen: 1715770550123456,
		stats:     schemas.LeadStats{Sessions: 3, Pageviews: 120, TotalDuration: 99999},
		partition: 11, lastOffset: 1 << 40, maxRecTime: 1715770550123, nextSeq: 3,
		sessions: []*session{
			{seq: 3, sessionID: "s_9f1c", started: 10, lastHit: 20, meta: meta, pvTotal: 60,
				pvs:   []*pageview{{URL: schemas.GuidePageURL, Host: "www.snitcher.com", Path: schemas.GuidePageURL[len("https://www.snitcher.com"):], VisitedAt: 11}, {URL: "https://a/b", Host: "elsewhere", Path: "/x", VisitedAt: 12}},
				spent: []int64{14, 0}, orphan: 3, duration: 17, metaWritten: true, pvWritten: 60},
			{seq: 1, sessionID: "s_1", started: 1, lastHit: 2, meta: &sessionMeta{}, pvs: []*pageview{}, spent: []int64{}, metaWritten: true, orphan: 4, duration: 4},
		},
		ring: []ringEntry{{hash: 1, offset: 1<<40 - 3, seq: 3, kind: kindNewSession, emitted: true}, {hash: ^uint64(0), offset: 1 << 40, seq: 1}},
	}
}

// storedFields returns the fields of the lead's hash that hold st, as the
// stage writes them (the sessions' facts, the pageviews' chunks).
func storedFields(st *leadState) map[string]string {
	fields := map[string]string{headsField: string(appendHeads(nil, appendHead(nil, st), nil, nil))}
	w := &work{}
	for _, s := range st.sessions {
		fields[metaField(s.seq)] = string(leadstore.AppendMeta(nil, &s.meta.SessionMeta))
		args := appendChunks(nil, w, s, true)
		s.next, s.nextLast = nil, nil
		for i := 0; i < len(args); i += 2 {
			fields[args[i].(string)] = string(args[i+1].([]byte))
		}
	}
	return fields
}

func TestStateRoundTripsThroughItsFields(t *testing.T) {
	st := sampleState()
	fields := storedFields(st)
	fields["junk"] = "x"
	// Session 3 keeps pageviews 58 and 59 of 60: chunk 7 (56..63) holds
	// 56 and 57 skipped, then the two.
	chunk := fields[leadstore.ChunkField(3, 7)]
	if pvs, last, _, err := leadstore.DecodeChunk(chunk); err != nil || len(pvs) != 4 || pvs[0] != nil || pvs[1] != nil ||
		*pvs[2] != *st.sessions[0].pvs[0] || *pvs[3] != *st.sessions[0].pvs[1] || last != pvs[3] {
		t.Fatalf("chunk 7 of session 3 = %v, %v, %v", pvs, last, err)
	}
	l := decodeLoaded(fields, func(*leadState) bool { return true })
	if l.err != nil {
		t.Fatal(l.err)
	}
	// The chunk's URLs repeat their query strings: it is stored compressed.
	plain, err := leadstore.ChunkBytes(chunk)
	if err != nil || chunk[0] != leadstore.ChunkSnappy || len(plain) <= len(chunk) {
		t.Fatalf("stored chunk %x (%d bytes, %d uncompressed, %v): want it compressed", chunk, len(chunk), len(plain), err)
	}
	// The current state also holds the chunk its next write appends to.
	if got := l.cur.sessions[0]; string(got.chunk) != plain || *got.chunkLast != *st.sessions[0].pvs[1] {
		t.Fatalf("session 3's chunk = %x, last %+v; want the stored one uncompressed", got.chunk, got.chunkLast)
	}
	for _, s := range l.cur.sessions {
		s.chunk, s.chunkLast = nil, nil
	}
	if !reflect.DeepEqual(l.cur, st) {
		t.Fatalf("decoded state differs:\n got  %+v\n want %+v", l.cur, st)
	}
	if len(l.dropped) != 1 || l.dropped[0] != "junk" {
		t.Fatalf("dropped = %v, want the stray field", l.dropped)
	}
	// Host and path that are parts of the URL are stored as positions.
	if n, full := len(leadstore.AppendChunkEntry(nil, nil, st.sessions[0].pvs[0])), len(schemas.GuidePageURL); n > full+16 {
		t.Fatalf("pageview encodes to %d bytes for a %d-byte URL", n, full)
	}
}

// A session this stage starts stores its facts at the start of its chunk
// 0 (leadstore.ChunkWithFacts), not in a field of their own: one field
// less per session, about 70 bytes of Redis. A session without pageviews
// has a chunk 0 of facts alone. The state reads back the same, and
// remembers where the facts are.
func TestSessionFactsRoundTripInChunkZero(t *testing.T) {
	st := sampleState()
	for _, s := range st.sessions {
		s.factsInChunk, s.metaWritten, s.pvWritten = true, false, 0
	}
	fields := map[string]string{headsField: string(appendHeads(nil, appendHead(nil, st), nil, nil))}
	w := &work{}
	for _, s := range st.sessions {
		args := appendChunks(nil, w, s, false)
		for i := 0; i < len(args); i += 2 {
			fields[args[i].(string)] = string(args[i+1].([]byte))
		}
		s.metaWritten, s.pvWritten, s.next, s.nextLast = true, s.pvTotal, nil, nil
	}
	for _, s := range st.sessions {
		if _, ok := fields[metaField(s.seq)]; ok {
			t.Fatalf("session %d has a facts field", s.seq)
		}
		pvs, _, facts, err := leadstore.DecodeChunk(fields[leadstore.ChunkField(s.seq, 0)])
		if err != nil || !reflect.DeepEqual(facts, &s.meta.SessionMeta) {
			t.Fatalf("session %d's chunk 0: facts %+v, %v; want %+v", s.seq, facts, err, s.meta.SessionMeta)
		}
		// Session 3 keeps pageviews 58 and 59 of 60 (chunk 0's are
		// skipped); session 1 has none.
		if want := min(int(s.pvTotal), pvChunk); len(pvs) != want {
			t.Fatalf("session %d's chunk 0 has %d entries, want %d", s.seq, len(pvs), want)
		}
	}
	l := decodeLoaded(fields, func(*leadState) bool { return true })
	if l.err != nil {
		t.Fatal(l.err)
	}
	for _, s := range l.cur.sessions {
		s.chunk, s.chunkLast = nil, nil
	}
	if !reflect.DeepEqual(l.cur, st) {
		t.Fatalf("decoded state differs:\n got  %+v\n want %+v", l.cur, st)
	}
	// Only what the write stored of pageviews that are not kept: chunks
	// of skipped entries below the window (a session that got more than
	// max_pageviews in one batch), which the next write deletes.
	slices.Sort(l.dropped)
	if got, want := strings.Join(l.dropped, " "), "q3.1 q3.2 q3.3 q3.4 q3.5 q3.6"; got != want {
		t.Fatalf("dropped %s at load, want %s", got, want)
	}
	// A chunk 0 without facts, of a session whose facts field is gone,
	// does not load.
	delete(fields, leadstore.ChunkField(1, 0))
	if l := decodeLoaded(fields, func(*leadState) bool { return true }); l.err == nil {
		t.Fatal("a session without its facts loads")
	}
}

// Regression (issue 12): the evaluate stage now keeps a lead's new_lead
// claims and reveal records in the lead's hash (fields with ':'), so that
// they live exactly as long as the lead. Before, every field that no head
// referred to was dropped at the next write, which would have deleted them.
// They are kept while the lead has state, and dropped with the rest when a
// hash without a lead state is written as a new lead (a claim made for a
// lead that was gone must not stop the new lead's new_lead).
func TestEvaluateFieldsLiveAsLongAsTheLead(t *testing.T) {
	st := &leadState{id: 9, gen: 1, lastOffset: -1}
	fields := map[string]string{headField(st.gen): string(appendHead(nil, st)),
		"fired:aut_1": "ev-1", "reveals:aut_2": "1", "revealed:john@mdx.com": "ev-1|aut_2", "junk": "x"}
	l := decodeLoaded(fields, func(*leadState) bool { return false })
	if l.err != nil || l.cur == nil {
		t.Fatalf("decode: %v, state %v", l.err, l.cur)
	}
	if len(l.dropped) != 1 || l.dropped[0] != "junk" {
		t.Fatalf("dropped = %v, want only the stray field (the evaluate stage's are kept)", l.dropped)
	}
	orphan := decodeLoaded(map[string]string{"fired:aut_1": "ev-1"}, func(*leadState) bool { return false })
	if orphan.cur != nil || len(orphan.dropped) != 1 || orphan.dropped[0] != "fired:aut_1" {
		t.Fatalf("hash without a lead state: cur %v, dropped %v; want no lead and the claim dropped", orphan.cur, orphan.dropped)
	}
}

// The evaluate stage's new_session claims are fields of the lead's hash
// named by their session (leadstore.SessionClaimField). Before, each was
// a key of its own kept for new_session_claim_ttl (168 h), 170 bytes of
// Redis per session and claiming automation; as a field it goes with its
// session: a load drops the claims of sessions no head keeps any more,
// and those of an earlier life of the lead (another lead id).
func TestSessionClaimsGoWithTheirSession(t *testing.T) {
	st := sampleState() // sessions 3 and 1 of lead id 1<<53-1
	id := st.id
	claim := func(aut string, id int64, seq uint64) string {
		return leadstore.ClaimName(aut, string(leadstore.AppendSessionKey(nil, id, seq)))
	}
	fields := storedFields(st)
	kept := []string{claim("aut_1", id, 3), claim("aut_2", id, 3), claim("aut_1", id, 1), "fired:aut_3"}
	gone := []string{claim("aut_1", id, 2), claim("aut_1", id-1, 3), claim("aut_1", id, 4)}
	for _, f := range append(append([]string{}, kept...), gone...) {
		fields[f] = "ev"
	}
	l := decodeLoaded(fields, func(*leadState) bool { return false })
	if l.err != nil || l.cur == nil {
		t.Fatalf("decode: %v, state %v", l.err, l.cur)
	}
	slices.Sort(l.dropped)
	slices.Sort(gone)
	if !reflect.DeepEqual(l.dropped, gone) {
		t.Fatalf("dropped %v, want the claims of sessions the lead does not keep %v", l.dropped, gone)
	}
}

func TestWriteDeletesWhatNoRemainingHeadRefersTo(t *testing.T) {
	for _, tc := range []struct {
		name        string
		perPageview bool      // the heads are from before chunks: a field per pageview
		old         []sessRef // gen 1, the head the write of gen 5 replaces
		newer       []sessRef // gens 2, 3 and 4 (each the same, for brevity)
		want        []string
	}{
		{"session 1 let go, pageview 0 of session 2 still kept by a newer head", true,
			[]sessRef{{seq: 1, from: 0, to: 3}, {seq: 2, from: 0, to: 1}},
			[]sessRef{{seq: 2, from: 0, to: 2}}, []string{"s1", "p1.0", "p1.1", "p1.2"}},
		{"pageview 0 of session 2 slid out of every newer window", true,
			[]sessRef{{seq: 1, from: 0, to: 3}, {seq: 2, from: 0, to: 1}},
			[]sessRef{{seq: 1, from: 2, to: 3}, {seq: 2, from: 1, to: 3}}, []string{"p1.0", "p1.1", "p2.0"}},
		{"chunks: session 1 let go, its chunk 0 (its facts) and chunks 1 and 2 with it", false,
			[]sessRef{{seq: 1, from: 10, to: 20}, {seq: 2, from: 0, to: 1}},
			[]sessRef{{seq: 2, from: 0, to: 2}}, []string{"s1", "q1.0", "q1.1", "q1.2"}},
		{"chunks: a session without pageviews let go, its chunk 0 with it", false,
			[]sessRef{{seq: 1, from: 0, to: 0}, {seq: 2, from: 0, to: 1}},
			[]sessRef{{seq: 2, from: 0, to: 2}}, []string{"s1", "q1.0"}},
		{"chunks: chunk 0 stays while its session does", false,
			[]sessRef{{seq: 1, from: 0, to: 20}, {seq: 2, from: 0, to: 1}},
			[]sessRef{{seq: 1, from: 17, to: 21}, {seq: 2, from: 1, to: 3}}, []string{"q1.1"}},
		{"chunks: a chunk goes once every newer window starts after it", false,
			[]sessRef{{seq: 1, from: 10, to: 20}, {seq: 2, from: 0, to: 1}},
			[]sessRef{{seq: 1, from: 17, to: 21}, {seq: 2, from: 1, to: 3}}, []string{"q1.1"}},
		{"chunks: a window starting in its chunk keeps it", false,
			[]sessRef{{seq: 1, from: 10, to: 20}, {seq: 2, from: 0, to: 1}},
			[]sessRef{{seq: 1, from: 15, to: 21}, {seq: 2, from: 1, to: 3}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &entry{}
			e.heads[1] = headRefs{gen: 1, valid: true, perPageview: tc.perPageview, refs: tc.old}
			for g := uint64(2); g <= 4; g++ {
				e.heads[g%replayHeads] = headRefs{gen: g, valid: true, perPageview: tc.perPageview, refs: tc.newer}
			}
			st := &leadState{gen: 5, sessions: []*session{{seq: 2, pvTotal: 5, pvs: make([]*pageview, 2)}}}
			if got := overwrittenFields(nil, e, st); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("deleted %v, want %v", got, tc.want)
			}
		})
	}
}

// A lead's heads are one field (headsField): one field of a hash instead
// of four saves about 70 bytes of Redis each. It splits back exactly,
// and what is not such a field does not split.
func TestHeadsFieldSplitsBackIntoItsHeads(t *testing.T) {
	head := appendHead(nil, sampleState())
	old := sampleState()
	old.gen--
	d1 := appendDelta(nil, head, appendHead(nil, old), old.gen)
	v := appendHeads(nil, head, d1, [][]byte{d1, d1})
	parts, err := splitHeads(v)
	if err != nil || len(parts) != 4 || !bytes.Equal(parts[0], head) || !bytes.Equal(parts[3], d1) {
		t.Fatalf("split = %d parts, %v", len(parts), err)
	}
	if parts, err := splitHeads(appendHeads(nil, head, nil, nil)); err != nil || len(parts) != 1 {
		t.Fatalf("a lone head: %d parts, %v", len(parts), err)
	}
	for name, bad := range map[string][]byte{
		"empty":           {},
		"format only":     {headsFormat},
		"truncated":       v[:len(v)-1],
		"five heads":      appendHeads(nil, head, d1, [][]byte{d1, d1, d1}),
		"delta first":     appendHeads(nil, d1, nil, nil),
		"two whole heads": appendHeads(nil, head, head, nil),
		"other format":    append([]byte{headFormat}, v[1:]...),
	} {
		if _, err := splitHeads(bad); err == nil {
			t.Errorf("%s: splits", name)
		}
	}
}

func FuzzDecodeHead(f *testing.F) {
	f.Add(appendHead(nil, sampleState()))
	f.Add(appendHead(nil, &leadState{lastOffset: -1}))
	f.Add(leadstore.AppendPageview(nil, sampleState().sessions[0].pvs[0]))
	f.Add(leadstore.AppendMeta(nil, &sampleState().sessions[0].meta.SessionMeta))
	f.Fuzz(func(t *testing.T, b []byte) {
		if st, err := decodeHead(b); err == nil {
			// What decodes survives a round trip.
			enc := appendHead(nil, st)
			again, err := decodeHead(enc)
			if err != nil || !bytes.Equal(appendHead(nil, again), enc) {
				t.Fatalf("re-encoded %x does not decode the same (%v)", enc, err)
			}
		}
		_, _ = splitHeads(b)
		_, _ = leadstore.DecodePageview(string(b))
		_ = leadstore.DecodeMeta(new(leadstore.SessionMeta), string(b))
	})
}

// overwrittenFields skips a session the state being written keeps with a
// window that did not leave its first chunks (keepsAllOf); that shortcut
// must never hide a field to drop. Over random histories of windows that
// only move forward, refDrops, the whole computation, finds nothing to
// drop for every session the shortcut skips.
func TestKeepsAllOfHidesNothingToDrop(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	skipped := 0
	for range 5000 {
		// Sessions 1..4, each a window [from, to) per generation 1..5.
		var wins [6][5]sessRef
		present := [6][5]bool{}
		for seq := uint64(1); seq <= 4; seq++ {
			from, to := uint64(rng.IntN(20)), uint64(0)
			to = from + uint64(rng.IntN(6))
			gone := 1 + rng.IntN(7) // the generation from which on the session is let go
			for g := 1; g <= 5; g++ {
				from += uint64(rng.IntN(3)) * uint64(rng.IntN(5))
				to = max(to+uint64(rng.IntN(4)), from)
				wins[g][seq] = sessRef{seq: seq, from: from, to: to}
				present[g][seq] = g < gone
			}
		}
		e := &entry{}
		for g := uint64(1); g <= 4; g++ {
			h := headRefs{gen: g, valid: true}
			for seq := 1; seq <= 4; seq++ {
				if present[g][seq] {
					h.refs = append(h.refs, wins[g][seq])
				}
			}
			e.heads[g%replayHeads] = h
		}
		st := &leadState{gen: 5}
		for seq := 1; seq <= 4; seq++ {
			if present[5][seq] {
				w := wins[5][seq]
				st.sessions = append(st.sessions, &session{seq: w.seq, pvTotal: w.to, spent: make([]int64, w.to-w.from)})
			}
		}
		old := &e.heads[1]
		for _, r := range old.refs {
			if keepsAllOf(st, r) {
				skipped++
				if got := refDrops(nil, e, st, old, r); len(got) > 0 {
					t.Fatalf("skipped session %d (window %v, written window %v) but would drop %v", r.seq, r, wins[5][r.seq], got)
				}
			}
		}
	}
	if skipped < 1000 {
		t.Fatalf("the shortcut applied only %d times: the histories do not exercise it", skipped)
	}
}
