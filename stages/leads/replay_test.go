package leads

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/schemas"
)

// headBytes is the stored current head of a lead, for comparing states.
func (f *fixture) headBytes(leadKey string) []byte {
	f.t.Helper()
	st := f.state(leadKey)
	if st == nil {
		f.t.Fatalf("lead %s not stored", leadKey)
	}
	return appendHead(nil, st)
}

func sameOutputs(t *testing.T, what string, got, want []*kgo.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d changes, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].Value, want[i].Value) || !bytes.Equal(got[i].Key, want[i].Key) {
			t.Fatalf("%s: change %d differs:\n got  %s\n want %s", what, i, got[i].Value, want[i].Value)
		}
	}
}

func TestDuplicateEventIDAtANewOffsetChangesNothing(t *testing.T) {
	f := newFixture(t, testStageConfig())
	a := pv("e1", "s1", 0, 5, "https://acme.io/")
	b := ping("e2", "s1", 10*time.Second, 9, "https://acme.io/")
	f.run(nil, f.rec(a), f.rec(b), f.rec(a)) // a duplicate in the same batch too
	before := f.headBytes(lead1)
	o := f.run(nil, f.rec(b), f.rec(a)) // upstream sends them again, at new offsets
	if len(o.recs) != 0 {
		t.Fatalf("duplicates emitted %d changes", len(o.recs))
	}
	// Also after a restart (from Redis, not the cache).
	o = f.run(f.newStage(), f.rec(a))
	if len(o.recs) != 0 {
		t.Fatalf("a duplicate after a restart emitted %d changes", len(o.recs))
	}
	st := f.state(lead1)
	if st.stats != (schemas.LeadStats{Sessions: 1, Pageviews: 1, TotalDuration: 9}) {
		t.Fatalf("stats = %+v after duplicates", st.stats)
	}
	// Only the position moved (duplicates are not written at all).
	if !bytes.Equal(before, f.headBytes(lead1)) {
		t.Fatalf("duplicates changed the stored state")
	}
}

func TestReplayAfterACrashReEmitsTheSameChangesAndCountsOnce(t *testing.T) {
	f := newFixture(t, testStageConfig())
	other := schemas.GuideNetcontrolHit()
	batch := []*kgo.Record{
		f.rec(pv("e1", "s1", 0, 5, "https://acme.io/")),
		f.rec(other),
		f.rec(ping("e2", "s1", 10*time.Second, 8, "https://acme.io/")),
		f.rec(pv("e3", "s2", 11*time.Second, 2, "https://acme.io/b")),
		f.rec(pv("e4", "s1", 20*time.Second, 1, "https://acme.io/c")),
	}
	orig := f.run(nil, batch...)
	stored := f.headBytes(lead1)

	// The process died before its outputs were acknowledged: a new owner
	// gets the same records again.
	s2 := f.newStage()
	again := f.run(s2, batch...)
	sameOutputs(t, "replay", again.recs, orig.recs)
	if !bytes.Equal(stored, f.headBytes(lead1)) {
		t.Fatalf("the replay changed the stored state")
	}
	if got := testutilCount(s2.m.replays[replayExact]); got != 5 {
		t.Fatalf("exact replays = %v, want 5", got)
	}
	if got := testutilCount(s2.m.replayMismatch); got != 0 {
		t.Fatalf("replay mismatches = %v", got)
	}
	// Replayed in smaller batches (the runtime cuts batches anew): the same.
	s3 := f.newStage()
	var split []*kgo.Record
	for _, r := range batch {
		split = append(split, f.run(s3, r).recs...)
	}
	sameOutputs(t, "replay in single-record batches", split, orig.recs)

	// What comes next is applied once, and is no new lead.
	o := f.run(s2, f.rec(ping("e5", "s1", 30*time.Second, 4, "https://acme.io/c")))
	chs := o.changes(t)
	if len(chs) != 1 || chs[0].Kind != schemas.ChangeSessionUpdated || chs[0].Stats != (schemas.LeadStats{Sessions: 2, Pageviews: 3, TotalDuration: 5 + 3 + 2 + 1 + 3}) {
		t.Fatalf("after the replay: %+v", chs)
	}
}

func TestReplayOfSeveralBatchesIsExactForTheLastThreeWrites(t *testing.T) {
	f := newFixture(t, testStageConfig())
	var batches [][]*kgo.Record
	var orig []*outputs
	for b := 0; b < 6; b++ {
		at := time.Duration(b) * 20 * time.Second
		if b >= 4 { // batch 4 starts a new session
			at += 2 * time.Hour
		}
		recs := []*kgo.Record{
			f.rec(pv("e"+itoa(b), "s1", at, 5, "https://acme.io/"+itoa(b))),
			f.rec(ping("p"+itoa(b), "s1", at+10*time.Second, 8, "https://acme.io/"+itoa(b))),
		}
		batches = append(batches, recs)
		orig = append(orig, f.run(nil, recs...))
	}
	// None of the six batches was committed: they all come again, cut
	// differently. The last three writes replay exactly; the three before
	// them re-emit their kinds and session keys with the latest state.
	s2 := f.newStage()
	var all []*kgo.Record
	for _, b := range batches {
		all = append(all, b...)
	}
	again := f.run(s2, all...)
	var want []*kgo.Record
	for _, o := range orig {
		want = append(want, o.recs...)
	}
	sameOutputs(t, "last three writes", again.recs[6:], want[6:])
	got, wantCh := again.changes(t), (&outputs{sessions: f.sessions(), recs: want}).changes(t)
	for i := range got {
		if got[i].Kind != wantCh[i].Kind || got[i].SessionKey != wantCh[i].SessionKey || got[i].EventID != wantCh[i].EventID || got[i].Lead.ID != wantCh[i].Lead.ID {
			t.Fatalf("change %d: %s %s %s, want %s %s %s", i, got[i].Kind, got[i].SessionKey, got[i].EventID, wantCh[i].Kind, wantCh[i].SessionKey, wantCh[i].EventID)
		}
		if got[i].Lead.RecentSessions[0].StartedAt != wantCh[i].Lead.RecentSessions[0].StartedAt {
			t.Fatalf("change %d: recent_sessions[0] is not the changed session", i)
		}
	}
	if got[0].Kind != schemas.ChangeNewLead || got[8].Kind != schemas.ChangeNewSession {
		t.Fatalf("kinds %s, %s; want new_lead first and new_session for batch 4", got[0].Kind, got[8].Kind)
	}
	if n := testutilCount(s2.m.replays[replayLatest]); n != 6 {
		t.Fatalf("latest-state replays = %v, want 6", n)
	}
	if n := testutilCount(s2.m.replays[replayExact]); n != 6 {
		t.Fatalf("exact replays = %v, want 6", n)
	}
	if st := f.state(lead1); st.stats != (schemas.LeadStats{Sessions: 2, Pageviews: 6, TotalDuration: 48}) {
		t.Fatalf("stats after the replay = %+v", st.stats)
	}
	// Two batches of a new lead replay exactly, from its genesis.
	g := newFixture(t, testStageConfig())
	b1 := []*kgo.Record{g.rec(pv("e1", "s1", 0, 5, "https://acme.io/")), g.rec(ping("e2", "s1", time.Second, 9, "https://acme.io/"))}
	b2 := []*kgo.Record{g.rec(pv("e3", "s1", 2*time.Second, 5, "https://acme.io/b"))}
	first := append(g.run(nil, b1...).recs, g.run(nil, b2...).recs...)
	sameOutputs(t, "a new lead's two batches", g.run(g.newStage(), append(b1, b2...)...).recs, first)
}

func TestLeadIDsAreUniqueStableAndNotBurnedByReplays(t *testing.T) {
	f := newFixture(t, testStageConfig())
	var batches [][]*kgo.Record
	for b := 0; b < 5; b++ {
		var recs []*kgo.Record
		for i := 0; i < 20; i++ {
			h := pv("e"+itoa(b)+"-"+itoa(i), "s", time.Duration(b)*time.Minute, 1, "https://acme.io/")
			h.CompanyDomain = "c" + itoa(i*7%13+b*13) + ".com" // 13 leads per batch, some seen before
			recs = append(recs, f.rec(h))
		}
		batches = append(batches, recs)
	}
	ids := map[string]int64{}
	check := func(o *outputs) {
		for _, c := range o.changes(t) {
			if c.Lead.ID <= 0 || c.Lead.ID >= 1<<53 {
				t.Fatalf("id %d is not a JSON-safe positive number", c.Lead.ID)
			}
			if id, ok := ids[c.LeadKey]; ok && id != c.Lead.ID {
				t.Fatalf("lead %s has ids %d and %d", c.LeadKey, id, c.Lead.ID)
			}
			ids[c.LeadKey] = c.Lead.ID
		}
	}
	for _, b := range batches {
		check(f.run(nil, b...))
	}
	seen := map[int64]string{}
	for k, id := range ids {
		if other, ok := seen[id]; ok {
			t.Fatalf("leads %s and %s share id %d", k, other, id)
		}
		seen[id] = k
	}
	counter := func() int64 {
		n, err := f.rdb.Get(context.Background(), f.s.store.counterKey).Int64()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := counter()
	if n != int64(len(ids)) {
		t.Fatalf("counter at %d for %d leads", n, len(ids))
	}
	// A new process replays everything: same ids, no number used up.
	s2 := f.newStage()
	for _, b := range batches {
		check(f.run(s2, b...))
	}
	if counter() != n {
		t.Fatalf("replays moved the id counter from %d to %d", n, counter())
	}
}

// faultHook makes the stage's Redis write (the pipeline that starts with
// HSET) fail: before it reaches Redis, or after (the reply is lost), or
// by panicking.
type faultHook struct {
	failBefore, failAfter atomic.Int32
	panics                atomic.Bool
}

func (h *faultHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *faultHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *faultHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) == 0 || cmds[0].Name() != "hset" {
			return next(ctx, cmds)
		}
		if h.panics.Load() {
			panic("injected")
		}
		lost := errors.New("injected: connection reset")
		if h.failBefore.Add(-1) >= 0 {
			for _, c := range cmds {
				c.SetErr(lost)
			}
			return lost
		}
		err := next(ctx, cmds)
		if h.failAfter.Add(-1) >= 0 {
			for _, c := range cmds {
				c.SetErr(lost)
			}
			return lost
		}
		return err
	}
}

func TestFailedWriteLeavesNoTraceAndTheRetryCountsOnce(t *testing.T) {
	for _, mode := range []string{"before", "after", "panic"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t, testStageConfig())
			hook := &faultHook{}
			f.rdb.AddHook(hook)
			f.run(nil, f.rec(pv("e1", "s1", 0, 5, "https://acme.io/")))
			batch := []*kgo.Record{
				f.rec(ping("e2", "s1", 10*time.Second, 8, "https://acme.io/")),
				f.rec(pv("e3", "s1", 20*time.Second, 1, "https://acme.io/c")),
				f.rec(pv("n1", "s9", 20*time.Second, 1, "https://other.io/")),
			}
			batch[2].Key, batch[2].Value = []byte("ws_1|new.com"), func() []byte {
				h := pv("n1", "s9", 20*time.Second, 1, "https://other.io/")
				h.CompanyDomain = "new.com"
				return h.AppendJSON(nil)
			}()
			// Reference: the same batch on a stage that does not fail.
			ref := newFixture(t, testStageConfig())
			ref.run(nil, ref.rec(pv("e1", "s1", 0, 5, "https://acme.io/")))
			want := ref.run(nil, batch...).changes(t)

			switch mode {
			case "before":
				hook.failBefore.Store(1)
			case "after":
				hook.failAfter.Store(1)
			case "panic":
				hook.panics.Store(true)
			}
			func() {
				defer func() {
					if v := recover(); v != nil && mode != "panic" {
						panic(v)
					}
				}()
				if _, err := f.try(nil, batch...); !errors.Is(err, ErrRedis) {
					t.Fatalf("process = %v, want an ErrRedis", err)
				}
			}()
			hook.panics.Store(false)
			if n := f.s.cached.entries.Load(); n != 0 {
				t.Fatalf("%d leads still cached after the failed batch; they may hold its half-applied changes", n)
			}
			got := f.run(nil, batch...).changes(t)
			if len(got) != len(want) {
				t.Fatalf("retry emitted %d changes, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i].Kind != want[i].Kind || got[i].Stats != want[i].Stats || got[i].EventID != want[i].EventID {
					t.Fatalf("retry change %d = %s %+v, want %s %+v", i, got[i].Kind, got[i].Stats, want[i].Kind, want[i].Stats)
				}
			}
			if st := f.state(lead1); st.stats != (schemas.LeadStats{Sessions: 1, Pageviews: 2, TotalDuration: 9}) {
				t.Fatalf("stats after the retry = %+v", st.stats)
			}
		})
	}
}

func TestRedisDownFailsTheBatch(t *testing.T) {
	f := newFixture(t, testStageConfig())
	// A client on a port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	down := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer down.Close()
	s, err := New(f.cfg, Deps{Topics: f.s.topics, Redis: down, KeyPrefix: f.prefix, Companies: testCompanies()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.try(s, f.rec(pv("e1", "s1", 0, 5, "https://acme.io/"))); !errors.Is(err, ErrRedis) {
		t.Fatalf("process with Redis down = %v, want ErrRedis", err)
	}
	if s.cached.entries.Load() != 0 {
		t.Fatal("a lead stays cached after a failed batch")
	}
}

func TestUnusableStoredStateIsDeadLetteredAndTheRestGoesOn(t *testing.T) {
	f := newFixture(t, testStageConfig())
	ctx := context.Background()
	if err := f.rdb.HSet(ctx, f.s.store.redisKey(lead1), "h0", "garbage").Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.Set(ctx, f.s.store.redisKey("ws_1|str.com"), "a string", 0).Err(); err != nil {
		t.Fatal(err)
	}
	ok := pv("g1", "s1", 0, 1, "https://acme.io/")
	ok.CompanyDomain = "good.com"
	str := pv("x1", "s1", 0, 1, "https://acme.io/")
	str.CompanyDomain = "str.com"
	o := f.run(nil, f.rec(pv("e1", "s1", 0, 5, "https://acme.io/")), f.rec(ok), f.rec(str))
	if len(o.dead) != 2 || !errors.Is(o.reasons[0], ErrBadState) || !errors.Is(o.reasons[1], ErrBadState) {
		t.Fatalf("dead letters %d (%v); want the two hits of unusable leads", len(o.dead), o.reasons)
	}
	if len(o.recs) != 1 || o.changes(t)[0].LeadKey != "ws_1|good.com" {
		t.Fatalf("changes = %d; want the good lead's", len(o.recs))
	}
}

func TestBadHitsAreDeadLettered(t *testing.T) {
	f := newFixture(t, testStageConfig())
	good := f.rec(pv("e1", "s1", 0, 5, "https://acme.io/"))
	noSession := pv("e2", "", 0, 5, "https://acme.io/")
	badType := pv("e3", "s1", 0, 5, "https://acme.io/")
	badType.Type = "click"
	wrongKey := f.rec(pv("e4", "s1", 0, 5, "https://acme.io/"))
	wrongKey.Key = []byte("ws_1|other.com")
	recs := []*kgo.Record{
		{Key: []byte(lead1), Value: []byte(`{not json`), Offset: 100},
		f.rec(noSession), f.rec(badType), wrongKey, good,
	}
	o := f.run(nil, recs...)
	if len(o.dead) != 4 || len(o.recs) != 1 {
		t.Fatalf("dead %d, changes %d; want 4 and 1", len(o.dead), len(o.recs))
	}
	for _, err := range o.reasons {
		var r interface{ Reason() string }
		if !errors.Is(err, ErrBadHit) || !errors.As(err, &r) || r.Reason() != "bad_hit" {
			t.Fatalf("reason %v", err)
		}
	}
}
