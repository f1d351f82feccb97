package traffic

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/sampledata"
)

var (
	testDataOnce sync.Once
	testData     *Data
	testDataErr  error
)

// loadTestData generates a small sample set once per test binary.
func loadTestData(t testing.TB) *Data {
	t.Helper()
	testDataOnce.Do(func() {
		dir, err := sampledata.Ensure(context.Background(), t.TempDir(), 1, 200)
		if err != nil {
			testDataErr = err
			return
		}
		testData, testDataErr = LoadData(dir)
	})
	if testDataErr != nil {
		t.Fatal(testDataErr)
	}
	return testData
}

// fixedClock returns a clock that advances 1ms per call from a fixed time.
func fixedClock() func() time.Time {
	t := time.Date(2024, 5, 15, 10, 55, 50, 123456789, time.UTC)
	return func() time.Time { t = t.Add(time.Millisecond); return t }
}

func generate(t testing.TB, cfg Config, n int) ([][]byte, []Event, *Generator) {
	t.Helper()
	g, err := New(cfg, loadTestData(t))
	if err != nil {
		t.Fatal(err)
	}
	clock := fixedClock()
	vals := make([][]byte, 0, n)
	evs := make([]Event, 0, n)
	for range n {
		v, ev := g.Next(nil, clock())
		ev.Key = bytes.Clone(ev.Key)
		vals = append(vals, v)
		evs = append(evs, ev)
	}
	return vals, evs, g
}

func TestDeterministicBySeed(t *testing.T) {
	cfg := Config{Seed: 42, RunID: "r1", MalformedShare: 0.01, Marker: true}
	a, _, _ := generate(t, cfg, 5000)
	b, _, _ := generate(t, cfg, 5000)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("event %d differs with the same seed:\n%s\n%s", i, a[i], b[i])
		}
	}
	cfg.Seed = 43
	c, _, _ := generate(t, cfg, 5000)
	same := 0
	for i := range a {
		if bytes.Equal(a[i], c[i]) {
			same++
		}
	}
	if same > 10 {
		t.Fatalf("%d of 5000 events are the same with another seed", same)
	}
}

func TestEventsDecode(t *testing.T) {
	vals, evs, _ := generate(t, Config{Seed: 1, MalformedShare: 0.05, Marker: true}, 20000)
	ids := map[string]bool{}
	malformed := 0
	for i, v := range vals {
		ev, err := schemas.DecodeRawEvent(v, 0)
		if evs[i].Kind == KindMalformed {
			malformed++
			if err == nil {
				t.Fatalf("malformed event %d decodes: %s", i, v)
			}
			if !errors.Is(err, schemas.ErrBadEvent) {
				t.Fatalf("malformed event %d: error %v does not wrap ErrBadEvent", i, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("event %d: %v\n%s", i, err, v)
		}
		if ids[ev.EventID] {
			t.Fatalf("event_id %s repeats", ev.EventID)
		}
		ids[ev.EventID] = true
		if ev.SessionID != string(evs[i].Key) {
			t.Fatalf("key %s != session_id %s", evs[i].Key, ev.SessionID)
		}
		if ev.Type != evs[i].Type {
			t.Fatalf("type %s, Event says %s", ev.Type, evs[i].Type)
		}
		if !strings.Contains(ev.Timestamp, ".") {
			t.Fatalf("timestamp %s has no sub-second part", ev.Timestamp)
		}
	}
	if share := float64(malformed) / float64(len(vals)); math.Abs(share-0.05) > 0.01 {
		t.Fatalf("malformed share %.3f, want 0.05", share)
	}
}

// sessionLog is what a test sees of one session.
type sessionLog struct {
	kind   Kind
	events []schemas.RawEvent
}

func collectSessions(t *testing.T, vals [][]byte, evs []Event) (map[string]*sessionLog, []string) {
	t.Helper()
	sessions := map[string]*sessionLog{}
	var order []string
	for i, v := range vals {
		if evs[i].Kind == KindMalformed {
			continue
		}
		ev, err := schemas.DecodeRawEvent(v, 0)
		if err != nil {
			t.Fatal(err)
		}
		s := sessions[ev.SessionID]
		if s == nil {
			if !evs[i].NewSession {
				t.Fatalf("first event of %s is not marked NewSession", ev.SessionID)
			}
			s = &sessionLog{kind: evs[i].Kind}
			sessions[ev.SessionID] = s
			order = append(order, ev.SessionID)
		} else if evs[i].NewSession {
			t.Fatalf("session %s marked new twice", ev.SessionID)
		}
		s.events = append(s.events, ev)
	}
	return sessions, order
}

func TestSharesWithinTolerance(t *testing.T) {
	cfg := Config{Seed: 7, IdentifiableShare: 0.3, BotShare: 0.05, PingShare: 0.5, PageviewsPerSession: 4}
	_, evs, _ := generate(t, cfg, 80000)
	var byKind [NumKinds]int
	sessions, humanEvents, pings, pageviews, humanSessions := 0, 0, 0, 0, 0
	for _, e := range evs {
		if e.NewSession {
			sessions++
			byKind[e.Kind]++
		}
		if e.Kind == KindBot {
			continue
		}
		humanEvents++
		if e.NewSession {
			humanSessions++
		}
		if e.Type == schemas.TypePing {
			pings++
		} else {
			pageviews++
		}
	}
	n := float64(sessions)
	check := func(name string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.3f, want %.3f ± %.3f", name, got, want, tol)
		}
	}
	check("company session share", float64(byKind[KindCompany])/n, 0.3, 0.03)
	check("bot session share", float64(byKind[KindBot])/n, 0.05, 0.015)
	for _, k := range []Kind{KindISP, KindHosting, KindEducation, KindUnknown} {
		if byKind[k] == 0 {
			t.Errorf("no %s sessions", k)
		}
	}
	check("ping share", float64(pings)/float64(humanEvents), 0.5, 0.05)
	// Sessions cut off at the end of the run are shorter: a generous band.
	check("pageviews per session", float64(pageviews)/float64(humanSessions), 4, 1)
}

func TestSessionsWellFormed(t *testing.T) {
	vals, evs, _ := generate(t, Config{Seed: 3, Marker: true, SessionsPerVisitor: 2, ActiveSessions: 200}, 20000)
	sessions, _ := collectSessions(t, vals, evs)
	visitorSessions := map[string]int{}
	for id, s := range sessions {
		first := s.events[0]
		if first.Type != schemas.TypePageview {
			t.Fatalf("session %s starts with a %s", id, first.Type)
		}
		if first.VisitorID != "" {
			visitorSessions[first.VisitorID]++
		}
		if s.kind == KindBot && first.VisitorID != "" {
			t.Fatalf("bot session %s has a visitor_id", id)
		}
		var prev schemas.RawEvent
		for i, e := range s.events {
			if e.WorkspaceID != first.WorkspaceID || e.VisitorID != first.VisitorID || e.IP != first.IP || e.UserAgent != first.UserAgent {
				t.Fatalf("session %s event %d changes workspace, visitor, ip or user agent", id, i)
			}
			if got := ParseMarker([]byte(e.URL)); string(got) != id {
				t.Fatalf("session %s: url %s carries marker %q", id, e.URL, got)
			}
			switch e.Type {
			case schemas.TypePageview:
				if e.TimeSpent != 0 {
					t.Fatalf("pageview with time_spent %d", e.TimeSpent)
				}
				if i > 0 && e.Referrer != prev.URL {
					t.Fatalf("session %s pageview %d: referrer %q, previous page %q", id, i, e.Referrer, prev.URL)
				}
			case schemas.TypePing:
				if i == 0 || e.URL != prev.URL || e.TimeSpent <= prev.TimeSpent {
					t.Fatalf("session %s ping %d does not continue the page (%s %d after %s %d)", id, i, e.URL, e.TimeSpent, prev.URL, prev.TimeSpent)
				}
			}
			prev = e
		}
	}
	returning := 0
	for _, n := range visitorSessions {
		if n > 1 {
			returning++
		}
	}
	if returning < len(visitorSessions)/10 {
		t.Fatalf("%d of %d visitors returned; want many with SessionsPerVisitor 2", returning, len(visitorSessions))
	}
}

func TestVisitorAddresses(t *testing.T) {
	d := loadTestData(t)
	vals, evs, _ := generate(t, Config{Seed: 5, BotShare: 0.1}, 12000)
	sawNetcontrol, sawMDX, sawISPGuide := false, false, false
	for i, v := range vals {
		ev, err := schemas.DecodeRawEvent(v, 0)
		if err != nil {
			t.Fatal(err)
		}
		e := evs[i]
		switch e.Kind {
		case KindCompany:
			in := false
			for _, n := range d.Companies[e.Company].Networks {
				in = in || n.Network.Contains(ev.Addr)
			}
			if !in {
				t.Fatalf("company visitor %s not in %s's networks", ev.IP, d.Companies[e.Company].Domain)
			}
			sawNetcontrol = sawNetcontrol || netip.MustParsePrefix("198.51.100.0/24").Contains(ev.Addr)
			sawMDX = sawMDX || netip.MustParsePrefix("203.0.113.0/24").Contains(ev.Addr)
		case KindBot:
			ua := strings.ToLower(ev.UserAgent)
			if !strings.Contains(ua, "bot") && !strings.Contains(ua, "spider") && !strings.Contains(ua, "externalhit") {
				t.Fatalf("bot user agent %q does not say so", ev.UserAgent)
			}
		case KindISP:
			sawISPGuide = sawISPGuide || netip.MustParsePrefix("192.0.2.0/24").Contains(ev.Addr)
		}
	}
	if !sawNetcontrol || !sawMDX || !sawISPGuide {
		t.Fatalf("guide networks seen: Netcontrol %v, MDX %v, ISP 192.0.2.0/24 %v", sawNetcontrol, sawMDX, sawISPGuide)
	}
}

func TestGuideFirst(t *testing.T) {
	vals, _, _ := generate(t, Config{Seed: 9, GuideFirst: true, WorkspaceIDs: []string{"ws_demo"}}, 50)
	var first schemas.RawEvent
	var mdx bool
	for i, v := range vals {
		ev, err := schemas.DecodeRawEvent(v, 0)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = ev
		}
		mdx = mdx || ev.IP == "203.0.113.23"
	}
	want := schemas.GuideNetcontrolEvent()
	if first.IP != want.IP || first.URL != want.URL || first.UserAgent != want.UserAgent || first.Referrer != want.Referrer ||
		first.Type != schemas.TypePageview || first.WorkspaceID != "ws_demo" {
		t.Fatalf("first event is not the guide's visit: %+v", first)
	}
	if !mdx {
		t.Fatal("no visit from MDX (203.0.113.23)")
	}
}

func TestMarkerAndLedger(t *testing.T) {
	_, evs, g := generate(t, Config{Seed: 11, RunID: "abc", Marker: true, Track: true}, 20000)
	l := g.Ledger()
	companySessions := map[uint64]bool{}
	for _, e := range evs {
		if e.Kind == KindCompany {
			companySessions[e.SessionSeq] = true
		}
		_, s, ok := l.SessionByID(e.Key)
		if ok != (e.Kind == KindCompany) {
			t.Fatalf("%s (%s): in ledger %v", e.Key, e.Kind, ok)
		}
		if ok {
			lead := l.Lead(int(s.Lead))
			if int(lead.Workspace) != e.Workspace || int(lead.Company) != e.Company {
				t.Fatalf("ledger lead %+v for event %+v", lead, e)
			}
		}
	}
	if n, _ := l.Len(); n != len(companySessions) {
		t.Fatalf("ledger has %d sessions, traffic had %d company sessions", n, len(companySessions))
	}
	if _, _, ok := l.SessionByID([]byte("s_other_1")); ok {
		t.Fatal("another run's id found")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{IdentifiableShare: 0.9, BotShare: 0.2},
		{PingShare: 0.99},
		{RunID: "Bad-ID"},
		{MalformedShare: 0.6},
		{SessionsPerVisitor: 0.5},
	} {
		if err := c.Defaults().Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", c, err)
		}
	}
	if err := (Config{}).Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestVocabularyNeedsNoEscaping(t *testing.T) {
	var all []string
	for _, a := range humanAgents {
		all = append(all, a.ua)
	}
	all = append(all, botAgents...)
	all = append(all, siteFirst...)
	all = append(all, siteSecond...)
	all = append(all, siteTLD...)
	all = append(all, paths...)
	for _, s := range newSources() {
		all = append(all, s.referrers...)
		all = append(all, s.queries...)
		all = append(all, s.clickID)
	}
	for _, s := range all {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
				t.Fatalf("%q needs escaping", s)
			}
		}
	}
}

func BenchmarkNext(b *testing.B) {
	g, err := New(Config{Seed: 1, Marker: true, Track: true, RunID: "bench"}, loadTestData(b))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	buf := make([]byte, 0, 1024)
	var size int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		v, _ := g.Next(buf[:0], now)
		size += len(v)
	}
	b.ReportMetric(float64(size)/float64(b.N), "bytes/event")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
