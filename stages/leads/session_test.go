package leads

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/leadstore"
)

const lead1 = "ws_1|acme.com"

func kinds(chs []schemas.LeadChange) string {
	var ks []string
	for _, c := range chs {
		ks = append(ks, c.Kind)
	}
	return strings.Join(ks, ",")
}

func TestFirstHitIsNewLeadLaterHitsUpdateTheSession(t *testing.T) {
	f := newFixture(t, testStageConfig())
	o := f.run(nil,
		f.rec(pv("e1", "s1", 0, 5, "https://acme.io/")),
		f.rec(pv("e2", "s1", 10*time.Second, 7, "https://acme.io/pricing?plan=pro")),
	)
	chs := o.changes(t)
	if got := kinds(chs); got != "new_lead,session_updated" {
		t.Fatalf("kinds = %s", got)
	}
	c := chs[1]
	if c.LeadKey != lead1 || c.WorkspaceID != "ws_1" || c.EventID != "e2" || !c.EventTime.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("envelope = %+v", c)
	}
	if c.SessionKey != chs[0].SessionKey || c.SessionKey == "" {
		t.Fatalf("session keys %q, %q: want the same session", chs[0].SessionKey, c.SessionKey)
	}
	if c.Stats != (schemas.LeadStats{Sessions: 1, Pageviews: 2, TotalDuration: 12}) {
		t.Fatalf("stats = %+v", c.Stats)
	}
	s := c.Lead.RecentSessions[0]
	if len(s.Pageviews) != 2 || s.Pageviews[1].Path != "/pricing?plan=pro" || s.Pageviews[1].Host != "acme.io" || s.TotalDuration != 12 {
		t.Fatalf("session = %+v", s)
	}
	if !c.Lead.FirstSeen.Equal(t0) || !c.Lead.LastSeen.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("first/last seen = %v / %v", c.Lead.FirstSeen, c.Lead.LastSeen)
	}
}

func TestPingsSetTimeSpentAndNeverAddPageviews(t *testing.T) {
	f := newFixture(t, testStageConfig())
	page := "https://acme.io/docs"
	o := f.run(nil,
		f.rec(pv("e1", "s1", 0, 10, page)),
		f.rec(ping("e2", "s1", 15*time.Second, 20, page)),
		f.rec(ping("e3", "s1", 20*time.Second, 15, page)), // smaller: never decreases
		f.rec(ping("e4", "s1", 30*time.Second, 30, page)),
	)
	chs := o.changes(t)
	last := chs[len(chs)-1]
	s := last.Lead.RecentSessions[0]
	if len(s.Pageviews) != 1 || s.Pageviews[0].TimeSpent != 30 || s.TotalDuration != 30 {
		t.Fatalf("session after pings = %+v; want one pageview with time_spent 30 and total_duration 30", s)
	}
	if last.Stats != (schemas.LeadStats{Sessions: 1, Pageviews: 1, TotalDuration: 30}) {
		t.Fatalf("stats = %+v", last.Stats)
	}
	// The smaller ping moved last_seen, so it still changed the lead, but
	// not the time spent.
	if got := chs[2].Lead.RecentSessions[0].Pageviews[0].TimeSpent; got != 20 {
		t.Fatalf("time_spent after a smaller ping = %d, want 20", got)
	}
	// A ping with nothing new (not later, not more time) changes nothing.
	o = f.run(nil, f.rec(ping("e5", "s1", 30*time.Second, 30, page)))
	if len(o.recs) != 0 {
		t.Fatalf("a ping that changes nothing emitted %d changes", len(o.recs))
	}
	if st := f.state(lead1); st.stats.Pageviews != 1 || st.stats.TotalDuration != 30 {
		t.Fatalf("stored stats = %+v", st.stats)
	}
}

func TestSessionWithoutPageviewCountsPingTime(t *testing.T) {
	f := newFixture(t, testStageConfig())
	o := f.run(nil,
		f.rec(ping("e1", "s1", 0, 10, "https://acme.io/a")),
		f.rec(ping("e2", "s1", 5*time.Second, 25, "https://acme.io/a")),
		f.rec(pv("e3", "s1", 10*time.Second, 3, "https://acme.io/b")),
		f.rec(ping("e4", "s1", 20*time.Second, 9, "https://acme.io/b")),
	)
	chs := o.changes(t)
	if chs[0].Kind != schemas.ChangeNewLead || len(chs[0].Lead.RecentSessions[0].Pageviews) != 0 {
		t.Fatalf("a ping first: %s with %d pageviews; want new_lead with none", chs[0].Kind, len(chs[0].Lead.RecentSessions[0].Pageviews))
	}
	s := chs[3].Lead.RecentSessions[0]
	if len(s.Pageviews) != 1 || s.Pageviews[0].TimeSpent != 9 || s.TotalDuration != 25+9 {
		t.Fatalf("session = %+v; want one pageview (9s) and total 34s", s)
	}
}

func TestSessionTimeoutStartsANewSessionWithTheSameSessionID(t *testing.T) {
	cfg := testStageConfig()
	cfg.SessionTimeout = 30 * time.Minute
	f := newFixture(t, cfg)
	o := f.run(nil,
		f.rec(pv("e1", "s1", 0, 5, "https://acme.io/")),
		f.rec(pv("e2", "s1", 29*time.Minute, 5, "https://acme.io/a")),   // within the timeout
		f.rec(pv("e3", "s1", 60*time.Minute, 5, "https://acme.io/b")),   // 31 min after the last hit
		f.rec(ping("e4", "s1", 61*time.Minute, 8, "https://acme.io/b")), // same new session
	)
	chs := o.changes(t)
	if got := kinds(chs); got != "new_lead,session_updated,new_session,session_updated" {
		t.Fatalf("kinds = %s", got)
	}
	if chs[2].SessionKey == chs[0].SessionKey || chs[3].SessionKey != chs[2].SessionKey {
		t.Fatalf("session keys = %s %s %s %s", chs[0].SessionKey, chs[1].SessionKey, chs[2].SessionKey, chs[3].SessionKey)
	}
	l := chs[3].Lead
	if len(l.RecentSessions) != 2 || len(l.RecentSessions[0].Pageviews) != 1 || len(l.RecentSessions[1].Pageviews) != 2 {
		t.Fatalf("recent sessions = %+v; want the new one (1 pageview) first, then the old (2)", l.RecentSessions)
	}
	if !l.RecentSessions[0].StartedAt.Equal(t0.Add(60 * time.Minute)) {
		t.Fatalf("new session started_at = %v", l.RecentSessions[0].StartedAt)
	}
	if chs[3].Stats != (schemas.LeadStats{Sessions: 2, Pageviews: 3, TotalDuration: 18}) {
		t.Fatalf("stats = %+v", chs[3].Stats)
	}
}

func TestPageviewsInVisitOrderBoundedToTheLast(t *testing.T) {
	cfg := testStageConfig()
	cfg.MaxPageviews = 3
	f := newFixture(t, cfg)
	for i := 0; i < 5; i++ {
		f.run(nil, f.rec(pv("e"+itoa(i), "s1", time.Duration(i)*time.Minute, int64(i+1), "https://acme.io/p"+itoa(i))))
	}
	o := f.run(nil, f.rec(ping("e9", "s1", 5*time.Minute, 100, "https://acme.io/p4")))
	c := o.changes(t)[0]
	s := c.Lead.RecentSessions[0]
	var paths []string
	for _, p := range s.Pageviews {
		paths = append(paths, p.Path)
	}
	if got := strings.Join(paths, " "); got != "/p2 /p3 /p4" {
		t.Fatalf("pageviews = %s; want the last 3 in visit order", got)
	}
	if s.Pageviews[2].TimeSpent != 100 {
		t.Fatalf("the ping did not update the current page: %+v", s.Pageviews[2])
	}
	// total_duration counts every pageview, also those no longer shown.
	if want := int64(1 + 2 + 3 + 4 + 100); s.TotalDuration != want || c.Stats.TotalDuration != want || c.Stats.Pageviews != 5 {
		t.Fatalf("total_duration %d, stats %+v; want %d over 5 pageviews", s.TotalDuration, c.Stats, want)
	}
	// The pageviews that slid out are deleted from Redis once none of the
	// four stored heads (the current one and the three before it) shows
	// them: a chunk of 8 pageviews (leadstore.PageviewChunk) once none
	// shows any of its pageviews.
	for i := 5; i <= 13; i++ {
		f.run(nil, f.rec(pv("e1"+itoa(i), "s1", time.Duration(i+1)*time.Minute, 1, "https://acme.io/p"+itoa(i))))
		if i == 11 { // heads: windows p6-p8, p7-p9, p8-p10, p9-p11
			keys, err := f.rdb.HKeys(t.Context(), f.s.store.redisKey(lead1)).Result()
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(keys)
			if got, want := strings.Join(keys, " "), "h q1.0 q1.1"; got != want {
				t.Fatalf("lead hash fields = %s, want %s", got, want)
			}
		}
	}
	keys, err := f.rdb.HKeys(t.Context(), f.s.store.redisKey(lead1)).Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	// Heads: windows p8-p10 .. p11-p13, none in chunk 0 (p0-p7); chunk 0
	// stays, since it holds the session's facts.
	if got, want := strings.Join(keys, " "), "h q1.0 q1.1"; got != want {
		t.Fatalf("lead hash fields = %s, want %s", got, want)
	}
}

func TestRecentSessionsNewestFirstAndBounded(t *testing.T) {
	cfg := testStageConfig()
	cfg.RecentSessions = 2
	cfg.MaxSessions = 3
	f := newFixture(t, cfg)
	var o *outputs
	for i := 0; i < 4; i++ { // 4 sessions, one hour apart (each closed when the next starts)
		o = f.run(nil, f.rec(pv("e"+itoa(i), "s"+itoa(i), time.Duration(i)*time.Hour, 1, "https://acme.io/"+itoa(i))))
	}
	c := o.changes(t)[0]
	if c.Kind != schemas.ChangeNewSession || c.Stats.Sessions != 4 {
		t.Fatalf("kind %s stats %+v", c.Kind, c.Stats)
	}
	rs := c.Lead.RecentSessions
	if len(rs) != 2 || rs[0].Pageviews[0].Path != "/3" || rs[1].Pageviews[0].Path != "/2" {
		t.Fatalf("recent sessions = %+v; want /3 then /2", rs)
	}
	if st := f.state(lead1); len(st.sessions) != 2 {
		t.Fatalf("kept %d sessions; closed sessions beyond recent_sessions are let go", len(st.sessions))
	}
}

func TestConcurrentSessionsTheChangedOneComesFirst(t *testing.T) {
	cfg := testStageConfig()
	cfg.RecentSessions = 2
	cfg.MaxSessions = 4
	f := newFixture(t, cfg)
	// Three visitors of one company at once; only two sessions are shown,
	// but the third is still open and must not be taken for a new one.
	o := f.run(nil,
		f.rec(pv("a1", "sa", 0, 1, "https://acme.io/a")),
		f.rec(pv("b1", "sb", time.Second, 1, "https://acme.io/b")),
		f.rec(pv("c1", "sc", 2*time.Second, 1, "https://acme.io/c")),
		f.rec(ping("a2", "sa", 3*time.Second, 5, "https://acme.io/a")),
	)
	chs := o.changes(t)
	if got := kinds(chs); got != "new_lead,new_session,new_session,session_updated" {
		t.Fatalf("kinds = %s", got)
	}
	for i, c := range chs {
		if c.Lead.RecentSessions[0].Pageviews[0].Path != []string{"/a", "/b", "/c", "/a"}[i] {
			t.Fatalf("change %d: recent_sessions[0] is %s, not the changed session", i, c.Lead.RecentSessions[0].Pageviews[0].Path)
		}
	}
	last := chs[3].Lead.RecentSessions
	if len(last) != 2 || last[1].Pageviews[0].Path != "/c" {
		t.Fatalf("recent sessions = %+v; want /a then /c", last)
	}
	if chs[3].SessionKey != chs[0].SessionKey {
		t.Fatalf("session a's key changed: %s then %s", chs[0].SessionKey, chs[3].SessionKey)
	}
}

func TestLateAndOutOfOrderHits(t *testing.T) {
	f := newFixture(t, testStageConfig())
	o := f.run(nil,
		f.rec(pv("e1", "s1", time.Hour, 1, "https://acme.io/a")),
		f.rec(pv("e2", "s2", 50*time.Minute, 1, "https://acme.io/b")), // another visitor, earlier clock: applied
		f.rec(pv("e3", "s1", 0, 1, "https://acme.io/c")),              // an hour before s1's last hit: late
	)
	chs := o.changes(t)
	if got := kinds(chs); got != "new_lead,new_session" {
		t.Fatalf("kinds = %s; the late hit must change nothing", got)
	}
	l := chs[1].Lead
	if !l.FirstSeen.Equal(t0.Add(50*time.Minute)) || !l.LastSeen.Equal(t0.Add(time.Hour)) {
		t.Fatalf("first/last seen = %v/%v; first_seen moves back, last_seen never does", l.FirstSeen, l.LastSeen)
	}
	if st := f.state(lead1); st.stats.Pageviews != 2 {
		t.Fatalf("stored pageviews = %d, want 2", st.stats.Pageviews)
	}
	if got := testutilCount(f.s.m.skipped[skipLate]); got != 1 {
		t.Fatalf("late hits counted = %v", got)
	}
}

func TestHitsOfOtherNetworksMakeNoLead(t *testing.T) {
	f := newFixture(t, testStageConfig())
	h := pv("e1", "s1", 0, 1, "https://acme.io/")
	h.NetworkType = schemas.NetworkISP
	o := f.run(nil, f.rec(h))
	if len(o.recs)+len(o.dead) != 0 || f.state(lead1) != nil {
		t.Fatalf("an ISP hit made %d changes, %d dead letters", len(o.recs), len(o.dead))
	}
}

// A session's facts are at the start of its chunk 0
// (leadstore.ChunkWithFacts), not in a field of their own, so chunk 0
// stays as long as the session: while the session has no pageview (a
// ping started it), after its kept pageviews moved past chunk 0, and
// until the session itself is let go. A fresh process reads them back.
func TestSessionFactsLiveInChunkZero(t *testing.T) {
	cfg := testStageConfig()
	cfg.MaxPageviews, cfg.MaxSessions, cfg.RecentSessions = 3, 2, 2
	f := newFixture(t, cfg)
	ctx := context.Background()
	f.run(nil, f.rec(ping("e0", "a", 0, 3, "https://acme.io/")))
	rkey := f.s.store.redisKey(lead1)
	fields := func(when string, want string) {
		t.Helper()
		names, err := f.rdb.HKeys(ctx, rkey).Result()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(names)
		if got := strings.Join(names, " "); got != want {
			t.Fatalf("%s: fields %s, want %s", when, got, want)
		}
	}
	fields("a session without pageviews", "h q1.0")
	for i := 1; i <= 12; i++ {
		f.run(nil, f.rec(pv("e"+itoa(i), "a", time.Duration(i)*time.Second, 1, "https://acme.io/"+itoa(i))))
	}
	// Pageviews 10..12 are kept (chunk 1); chunk 0 holds the facts.
	fields("the kept pageviews past chunk 0", "h q1.0 q1.1")
	raw, err := f.rdb.HGet(ctx, rkey, leadstore.ChunkField(1, 0)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, facts, err := leadstore.DecodeChunk(raw); err != nil || facts == nil || facts.Browser == nil || *facts.Browser != "Chrome" {
		t.Fatalf("chunk 0: facts %+v, %v", facts, err)
	}
	s2 := f.newStage()
	o := f.run(s2, f.rec(pv("e13", "a", 13*time.Second, 1, "https://acme.io/13")))
	chs := o.changes(t)
	if len(chs) != 1 {
		t.Fatalf("%d changes", len(chs))
	}
	if s := chs[0].Lead.RecentSessions[0]; s.Browser == nil || *s.Browser != "Chrome" || s.OperatingSystem == nil || *s.OperatingSystem != "Windows" || len(s.Pageviews) != 3 {
		t.Fatalf("session read back by a fresh process: %+v", s)
	}
	// Two later sessions: session 1 is let go, chunk 0 with it (once no
	// head refers to it: four writes).
	for i := range 4 {
		at := 2*time.Hour + time.Duration(i)*time.Second
		f.run(s2, f.rec(pv("b"+itoa(i), "b", at, 1, "https://acme.io/b")), f.rec(pv("c"+itoa(i), "c", at, 1, "https://acme.io/c")))
	}
	fields("session 1 let go", "h q2.0 q3.0")
}
