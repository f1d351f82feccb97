package leads

import (
	"bytes"
	"context"
	"maps"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/leadstore"
)

// sessionOf is the subject's view of a session of a lead's state.
func sessionOf(s *session) schemas.Session {
	out := schemas.Session{StartedAt: schemas.SessionTime{Time: time.UnixMicro(s.started)},
		Source: s.meta.Source, Browser: s.meta.Browser, DeviceType: s.meta.Device, OperatingSystem: s.meta.OS,
		TotalDuration: s.duration, Location: s.meta.Loc, Pageviews: []schemas.Pageview{}}
	for i, pv := range s.pvs {
		out.Pageviews = append(out.Pageviews, schemas.Pageview{URL: pv.URL, Host: pv.Host, Path: pv.Path,
			TimeSpent: s.spent[i], VisitedAt: schemas.SessionTime{Time: time.UnixMicro(pv.VisitedAt)}})
	}
	return out
}

// wantSessions is the subject's recent_sessions for a change of session
// seq of st: that session, then the others in st's order.
func wantSessions(st *leadState, seq uint64, recent int) []schemas.Session {
	first := st.sessionBySeq(seq)
	out := []schemas.Session{sessionOf(first)}
	for _, s := range st.sessions {
		if len(out) == recent {
			break
		}
		if s != first {
			out = append(out, sessionOf(s))
		}
	}
	return out
}

func seqOf(t testing.TB, sessionKey string) uint64 {
	t.Helper()
	_, seq, _ := strings.Cut(sessionKey, ":")
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		t.Fatalf("session key %q: %v", sessionKey, err)
	}
	return n
}

// TestCompletedSubjectsAreTheLeadsState drives a lead through many random
// hits (sessions coming and going, pageview windows sliding) and checks
// that every change, completed by a SessionStore (with a cache that lives
// across the changes, and without one), shows the lead's recent sessions
// exactly as the lead's state has them after the hit: the subject a
// change used to carry whole.
func TestCompletedSubjectsAreTheLeadsState(t *testing.T) {
	cfg := testStageConfig()
	cfg.MaxPageviews, cfg.RecentSessions, cfg.MaxSessions = 3, 3, 4
	f := newFixture(t, cfg)
	cached := leadstore.NewSessionStore(f.rdb, f.prefix, 1000, nil)
	small := leadstore.NewSessionStore(f.rdb, f.prefix, 8, nil) // evicts often
	// Changes are also completed three at a time, as a batch: the same
	// session can be referenced with different pageviews. (A lead's
	// stored parts outlive its next three writes, see decodeLoaded.)
	type pending struct {
		ch   schemas.LeadChange
		want []schemas.Session
	}
	var group []pending
	batched := leadstore.NewSessionStore(f.rdb, f.prefix, 1000, nil)
	hits := newRandomHits(3, 5)
	refs := 0
	for i := 0; i < 300; i++ {
		h := hits.next()
		o := f.run(nil, f.rec(h))
		if len(o.recs) == 0 {
			continue
		}
		var ch schemas.LeadChange
		if err := ch.UnmarshalJSON(o.recs[0].Value); err != nil {
			t.Fatal(err)
		}
		if len(ch.Lead.RecentSessions) != 1 {
			t.Fatalf("hit %d: the change carries %d sessions whole, want only the changed one", i, len(ch.Lead.RecentSessions))
		}
		refs += len(ch.OlderSessions)
		st := f.state(ch.LeadKey)
		// The stored head is what the in-memory state encodes to.
		mem := f.s.partCache(f.part).peek(ch.LeadKey).st.clone()
		heads, err := f.rdb.HGet(context.Background(), f.s.store.redisKey(ch.LeadKey), headsField).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		parts, err := splitHeads(heads)
		if err != nil {
			t.Fatal(err)
		}
		stored := parts[0]
		if fresh := appendHead(nil, mem); !bytes.Equal(stored, fresh) {
			t.Fatalf("hit %d: the stored head differs from the state's encoding:\n got  %x\n want %x", i, stored, fresh)
		}
		want := wantSessions(st, seqOf(t, ch.SessionKey), cfg.RecentSessions)
		if group = append(group, pending{ch, want}); len(group) == 3 {
			chs := make([]*schemas.LeadChange, len(group))
			for j := range group {
				chs[j] = &group[j].ch
			}
			if missing, err := batched.Complete(context.Background(), chs); err != nil || missing != 0 {
				t.Fatalf("hit %d, batch: missing %d, err %v", i, missing, err)
			}
			for j, p := range group {
				gl, wl := schemas.Lead{RecentSessions: p.ch.Lead.RecentSessions}, schemas.Lead{RecentSessions: p.want}
				if got, exp := gl.AppendJSON(nil), wl.AppendJSON(nil); !bytes.Equal(got, exp) {
					t.Fatalf("hit %d, batch change %d: completed sessions differ:\n got  %s\n want %s", i, j, got, exp)
				}
			}
			group = group[:0]
		}
		for name, store := range map[string]*leadstore.SessionStore{"cached": cached, "small cache": small, "uncached": f.sessions()} {
			c := ch
			c.OlderSessions = append([]schemas.SessionRef(nil), ch.OlderSessions...)
			missing, err := store.Complete(context.Background(), []*schemas.LeadChange{&c, &c})
			if err != nil || missing != 0 {
				t.Fatalf("hit %d, %s: missing %d, err %v", i, name, missing, err)
			}
			gl, wl := schemas.Lead{RecentSessions: c.Lead.RecentSessions}, schemas.Lead{RecentSessions: want}
			got, exp := gl.AppendJSON(nil), wl.AppendJSON(nil)
			if !bytes.Equal(got, exp) {
				t.Fatalf("hit %d, %s: completed sessions differ from the lead's state:\n got  %s\n want %s", i, name, got, exp)
			}
			if c.OlderSessions != nil {
				t.Fatalf("hit %d, %s: OlderSessions not cleared", i, name)
			}
		}
	}
	if refs == 0 {
		t.Fatal("no change carried a session by reference")
	}
}

// TestCompleteMissingParts: a session whose facts are gone is left out, a
// pageview that is gone is left out of its session, and both are counted.
func TestCompleteMissingParts(t *testing.T) {
	f := newFixture(t, testStageConfig())
	f.run(nil, f.rec(pv("a1", "a", 0, 0, "https://acme.io/1")), f.rec(pv("a2", "a", time.Second, 0, "https://acme.io/2")))
	f.run(nil, f.rec(pv("b1", "b", 2*time.Second, 0, "https://acme.io/3")))
	o := f.run(nil, f.rec(pv("c1", "c", 3*time.Second, 0, "https://acme.io/4")))
	var ch schemas.LeadChange
	if err := ch.UnmarshalJSON(o.recs[0].Value); err != nil {
		t.Fatal(err)
	}
	if len(ch.OlderSessions) != 2 || ch.OlderSessions[0].Seq != 2 || ch.OlderSessions[1].Seq != 1 {
		t.Fatalf("older sessions = %+v, want sessions 2 and 1", ch.OlderSessions)
	}
	rkey := f.s.store.redisKey(ch.LeadKey)
	// Session 1 as a lead stored before chunks has it: its facts in a
	// field of their own, its pageviews a field each, one of them gone.
	ctx := context.Background()
	chunk, err := f.rdb.HGet(ctx, rkey, leadstore.ChunkField(1, 0)).Result()
	if err != nil {
		t.Fatal(err)
	}
	pvs, _, facts, err := leadstore.DecodeChunk(chunk)
	if err != nil || len(pvs) != 2 || facts == nil {
		t.Fatalf("session 1's chunk: %v, facts %v, %v", pvs, facts, err)
	}
	if err := f.rdb.HSet(ctx, rkey, pageviewField(1, 1), leadstore.AppendPageview(nil, pvs[1]), metaField(1), leadstore.AppendMeta(nil, facts)).Err(); err != nil {
		t.Fatal(err)
	}
	// Session 2's facts are at the start of its chunk 0: gone with it.
	if err := f.rdb.HDel(ctx, rkey, leadstore.ChunkField(2, 0), leadstore.ChunkField(1, 0)).Err(); err != nil {
		t.Fatal(err)
	}
	missing, err := f.sessions().Complete(ctx, []*schemas.LeadChange{&ch})
	if err != nil {
		t.Fatal(err)
	}
	if missing != 2 {
		t.Fatalf("missing = %d, want 2 (session 2's facts, session 1's first pageview)", missing)
	}
	rs := ch.Lead.RecentSessions
	if len(rs) != 2 || len(rs[1].Pageviews) != 1 || rs[1].Pageviews[0].URL != "https://acme.io/2" {
		t.Fatalf("recent sessions = %+v, want the changed one and session 1 with its second pageview", rs)
	}
}

// TestSessionsSettleHotFrozenCold: after a batch, the lead's most
// recently changed session is whole, the subject's other recent ones are
// frozen (one block), the older ones keep only what the head stores
// (settle); a hit for a cold one reads the lead again, and its change
// shows it whole.
func TestSessionsSettleHotFrozenCold(t *testing.T) {
	cfg := testStageConfig()
	cfg.RecentSessions, cfg.MaxSessions = 2, 5
	f := newFixture(t, cfg)
	var recs []*kgo.Record
	for s := range 4 { // four concurrent sessions, three pageviews each
		for p := range 3 {
			at := time.Duration(s*3+p) * time.Second
			recs = append(recs, f.rec(pv("e"+itoa(s*3+p), "s"+itoa(s), at, 1, "https://acme.io/p"+itoa(p))))
		}
	}
	f.run(nil, recs...)
	// A ping of each recent session encodes its JSON again.
	f.run(nil, f.rec(ping("p2", "s2", 20*time.Second, 4, "https://acme.io/p2")), f.rec(ping("p3", "s3", 21*time.Second, 4, "https://acme.io/p2")))
	e := f.s.partCache(f.part).peek("ws_1|acme.com")
	if e == nil || len(e.st.sessions) != 4 {
		t.Fatalf("want the lead cached with 4 sessions, got %v", e)
	}
	for i, s := range e.st.sessions {
		decoded := s.pvs != nil && s.meta != nil
		var ok bool
		switch {
		case i == 0:
			ok = decoded && s.frozen == nil && !s.cold && s.pvCache.json != nil
		case i < cfg.RecentSessions:
			// The stored chunk is the block's last group, not a copy.
			ok = !decoded && s.frozen != nil && !s.cold && s.pvCache.json == nil && s.chunk == nil && s.chunkInBlock
		default:
			ok = !decoded && s.frozen == nil && s.cold && s.pvCache.json == nil && s.ref == nil && s.chunk == nil
		}
		if !ok || s.kept() != 3 {
			t.Fatalf("session %d of 4 (seq %d): decoded %v, frozen %d bytes, cold %v, JSON %v, chunk %v, %d kept; want sessions[0] whole, the other %d recent frozen, the rest cold, 3 kept each",
				i, s.seq, decoded, len(s.frozen), s.cold, s.pvCache.json != nil, s.chunk != nil, s.kept(), cfg.RecentSessions-1)
		}
	}
	// The frozen session comes back: decoded in place, no read.
	o := f.run(nil, f.rec(pv("e-frozen", "s2", 31*time.Second, 1, "https://acme.io/again")))
	if got := testutilCount(f.s.m.cacheReloads); got != 0 || len(o.recs) != 1 {
		t.Fatalf("%v reloads, %d changes; want 0 and 1", got, len(o.recs))
	}
	if s := e.st.sessions[0]; s.frozen != nil || s.kept() != 4 || s.pvs[3].URL != "https://acme.io/again" || s.pvs[0].URL != "https://acme.io/p0" || s.chunk == nil || s.chunkInBlock {
		t.Fatalf("the frozen session is not whole again: %+v", s)
	}
	// The oldest session comes back: the lead is read again, and its
	// change shows it whole.
	o = f.run(nil, f.rec(pv("e-back", "s0", 32*time.Second, 1, "https://acme.io/back")))
	if got := testutilCount(f.s.m.cacheReloads); got != 1 {
		t.Fatalf("%v reloads, want 1", got)
	}
	if len(o.recs) != 1 {
		t.Fatalf("%d changes, want 1", len(o.recs))
	}
	var ch schemas.LeadChange
	if err := ch.UnmarshalJSON(o.recs[0].Value); err != nil {
		t.Fatal(err)
	}
	want := wantSessions(f.state(ch.LeadKey), seqOf(t, ch.SessionKey), cfg.RecentSessions)
	got, exp := schemas.Lead{RecentSessions: ch.Lead.RecentSessions}, schemas.Lead{RecentSessions: want[:1]}
	if g, w := got.AppendJSON(nil), exp.AppendJSON(nil); !bytes.Equal(g, w) || len(ch.Lead.RecentSessions[0].Pageviews) != 4 {
		t.Fatalf("the session that came back encodes as\n %s\nwant\n %s", g, w)
	}
}

// TestColdSessionsChangeNothingEmitted: a stage whose cached leads have
// frozen and cold sessions emits, batch by batch, exactly what a stage without a
// cache (every lead read from Redis for every batch, all of it decoded)
// emits, for random traffic of many concurrent sessions in batches of
// random sizes, with hits for cold sessions after hits for recent ones in
// one batch, sessions of more pageviews than a chunk holds, and replays.
// It fails if a frozen or cold session misses a part a change needs, if a
// batch goes on with the state it had before it was read again, or if a
// session's kept part of the head is stale.
func TestColdSessionsChangeNothingEmitted(t *testing.T) {
	cfg := testStageConfig()
	cfg.RecentSessions, cfg.MaxSessions, cfg.MaxPageviews = 3, 8, 11
	cached := newFixture(t, cfg)
	cfg.CacheSize = 0
	uncached := newFixture(t, cfg)
	hits, rng := newRandomHits(11, 6), rand.New(rand.NewPCG(3, 4))
	var prev []schemas.Hit
	frozenHits := 0
	for batch := range 120 {
		var hs []schemas.Hit
		if batch%17 == 16 {
			hs = prev // a replay: the records of the batch before, again
			cached.off -= int64(len(hs))
			uncached.off -= int64(len(hs))
		} else {
			for range 1 + rng.IntN(6) {
				hs = append(hs, hits.next())
			}
		}
		var a, b []*kgo.Record
		for _, h := range hs {
			a, b = append(a, cached.rec(h)), append(b, uncached.rec(h))
			if e := cached.s.partCache(cached.part).peek("ws_1|acme.com"); e != nil && e.st != nil {
				for _, s := range e.st.sessions {
					if s.frozen != nil && s.sessionID == h.SessionID {
						frozenHits++
					}
				}
			}
		}
		oa, ob := cached.run(nil, a...), uncached.run(nil, b...)
		if len(oa.recs) != len(ob.recs) {
			t.Fatalf("batch %d: %d changes with cold sessions, %d without a cache", batch, len(oa.recs), len(ob.recs))
		}
		for i := range oa.recs {
			if !bytes.Equal(oa.recs[i].Value, ob.recs[i].Value) {
				t.Fatalf("batch %d, change %d:\n%s\nwithout a cache:\n%s", batch, i, oa.recs[i].Value, ob.recs[i].Value)
			}
		}
		// The records' buffers are lent to the next fetch once the batch
		// is finished (the stage is a pipeline.RecordRecycler): a state
		// that kept any of their bytes shows it in the batches after.
		for _, r := range a {
			for _, buf := range [][]byte{r.Value, r.Key} {
				for i := range buf {
					buf[i] = 'x'
				}
			}
		}
		if e := cached.s.partCache(cached.part).peek("ws_1|acme.com"); e != nil && e.st != nil && len(e.st.sessions) > 0 {
			hot := e.st.sessions[0]
			stored := uncached.state("ws_1|acme.com").sessionBySeq(hot.seq)
			g, w := schemas.Lead{RecentSessions: []schemas.Session{sessionOf(hot)}}, schemas.Lead{RecentSessions: []schemas.Session{sessionOf(stored)}}
			if a, b := g.AppendJSON(nil), w.AppendJSON(nil); !bytes.Equal(a, b) {
				t.Fatalf("batch %d: the cached session after its records' buffers were reused:\n%s\nstored:\n%s", batch, a, b)
			}
		}
		// What the two wrote to Redis is the same too: a chunk the cache
		// keeps (or takes back from a frozen block) is the stored one.
		ka, kb := leadstore.LeadRedisKey(cached.prefix, "ws_1|acme.com"), leadstore.LeadRedisKey(uncached.prefix, "ws_1|acme.com")
		ha, err := cached.rdb.HGetAll(t.Context(), ka).Result()
		if err != nil {
			t.Fatal(err)
		}
		hb, err := uncached.rdb.HGetAll(t.Context(), kb).Result()
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(ha, hb) {
			t.Fatalf("batch %d: the lead's hash differs from the one written without a cache:\n%q\n%q", batch, ha, hb)
		}
		if e := cached.s.partCache(cached.part).peek("ws_1|acme.com"); e != nil && e.st != nil {
			got := appendHead(nil, e.st)
			kept := make([][]byte, len(e.st.sessions))
			for i, s := range e.st.sessions {
				kept[i], s.headEnc = s.headEnc, nil
			}
			want := appendHead(nil, e.st)
			for i, s := range e.st.sessions {
				s.headEnc = kept[i]
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("batch %d: the head from the sessions' kept parts differs from the one encoded again", batch)
			}
		}
		prev = hs
	}
	if got := testutilCount(cached.s.m.cacheReloads); got < 10 {
		t.Fatalf("%v reloads: the traffic hardly reached cold sessions", got)
	}
	if frozenHits < 10 {
		t.Fatalf("%d hits for frozen sessions: the traffic hardly reached them", frozenHits)
	}
	if got := testutilCount(cached.s.m.cacheHits); got < 30 {
		t.Fatalf("%v cache hits: the cache was hardly used", got)
	}
}
