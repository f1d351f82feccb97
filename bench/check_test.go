package bench

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/bench/traffic"
	"github.com/leadflow/leadflow/schemas"
)

// leadSubject encodes a lead subject the way the pipeline does, whose
// newest session's pageview carries the session's marker URL.
func leadSubject(id int64, domain, sessionID string) json.RawMessage {
	url := "https://www.example.com/pricing?lf_sid=" + sessionID
	l := schemas.Lead{ID: id, Company: schemas.Company{Name: domain, Domain: domain},
		RecentSessions: []schemas.Session{{Pageviews: []schemas.Pageview{{URL: url, Host: "www.example.com", Path: "/pricing?lf_sid=" + sessionID}}}}}
	return l.AppendJSON(nil)
}

// fakeDelivery is one request as a receiver reports it.
func fakeDelivery(ws, rule int, event, msgID string, arrived time.Time, subjects ...json.RawMessage) Delivery {
	h := http.Header{}
	h.Set(EndpointHeader, strconv.Itoa(ws)+"/"+strconv.Itoa(rule))
	h.Set(headerWebhookID, msgID)
	return Delivery{Event: event, Subjects: subjects, Header: h, Arrived: arrived}
}

// checkerFixture generates tracked traffic and a checker over it.
type checkerFixture struct {
	gen      *traffic.Generator
	data     *traffic.Data
	rules    []traffic.Rule
	classes  []uint8
	chk      *checker
	expected []traffic.Trigger
	isp      string // a session id of an ISP visitor
}

func newCheckerFixture(t *testing.T, classes func(n int) []uint8) *checkerFixture {
	return newCheckerFixtureRules(t, DefaultRules(4), classes)
}

// newCheckerFixtureRules is newCheckerFixture with the given rules.
func newCheckerFixtureRules(t *testing.T, rules []traffic.Rule, classes func(n int) []uint8) *checkerFixture {
	t.Helper()
	d := testData(t)
	gen, err := traffic.New(traffic.Config{Seed: 4, RunID: "chk", Workspaces: 3, Marker: true, Track: true, ActiveSessions: 50}, d)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := traffic.LoadReveals(d, rules)
	if err != nil {
		t.Fatal(err)
	}
	f := &checkerFixture{gen: gen, data: d, rules: rules}
	start := time.Now()
	for i := range 3000 {
		_, ev := gen.Next(nil, start.Add(time.Duration(i)*time.Millisecond))
		if ev.Kind == traffic.KindISP && f.isp == "" {
			f.isp = string(ev.Key)
		}
	}
	n := 3 * len(f.rules)
	f.classes = make([]uint8, n)
	if classes != nil {
		f.classes = classes(n)
	}
	f.chk = newChecker(gen.Ledger(), d, rv, f.rules, f.classes, 3, gen.WorkspaceID)
	f.expected = gen.Ledger().Expected(f.rules, d)
	if len(f.expected) < 50 {
		t.Fatalf("only %d expected triggers", len(f.expected))
	}
	return f
}

// deliver sends the subject of trigger tr to the checker, one per request.
func (f *checkerFixture) deliver(tr traffic.Trigger, leadID int64, msgID string) {
	l := f.gen.Ledger()
	sid := l.SessionID(l.Session(tr.Session).Seq)
	arrived := l.Session(tr.Session).StartTime().Add(250 * time.Millisecond)
	f.chk.record(fakeDelivery(tr.Workspace, tr.Rule, tr.Event, msgID, arrived,
		leadSubject(leadID, f.data.Companies[tr.Company].Domain, sid)))
}

func leadID(tr traffic.Trigger) int64 { return int64(1000 + tr.Lead) }

func TestCheckerAllDeliveredOnce(t *testing.T) {
	f := newCheckerFixture(t, nil)
	for i, tr := range f.expected {
		f.deliver(tr, leadID(tr), "msg_"+strconv.Itoa(i))
	}
	r := f.chk.result()
	if !r.Pass || r.Total.Expected != uint64(len(f.expected)) || r.Total.Delivered != r.Total.Expected || r.Total.Missing != 0 ||
		r.Total.Duplicates != 0 || r.Total.Unexpected != 0 {
		t.Fatalf("correctness %+v", r)
	}
	if r.ByEvent[schemas.EventNewLead].Expected == 0 || r.ByEvent[schemas.EventNewSession].Expected == 0 {
		t.Fatalf("by event %+v", r.ByEvent)
	}
	lat := f.chk.latency()
	if lat.Count != uint64(len(f.expected)) || lat.P50Ms < 249 || lat.P50Ms > 252 {
		t.Fatalf("latency %+v, want every subject at 250ms", lat)
	}
}

func TestCheckerFindsMissingDuplicatesAndUnexpected(t *testing.T) {
	f := newCheckerFixture(t, nil)
	var dropped traffic.Trigger
	for i, tr := range f.expected {
		if tr.Event == schemas.EventNewSession && dropped.Event == "" {
			dropped = tr // lost
			continue
		}
		f.deliver(tr, leadID(tr), "msg_"+strconv.Itoa(i))
	}
	first := f.expected[0]
	f.deliver(first, leadID(first), "msg_0")   // the same batch again: a flagged redelivery
	f.deliver(first, leadID(first), "msg_x")   // again in another batch
	f.deliver(first, leadID(first)+1, "msg_y") // another lead id for the same lead
	// A new_session for an ISP visitor's session: nothing should cause it.
	f.chk.record(fakeDelivery(0, 1, schemas.EventNewSession, "msg_isp", time.Now(), leadSubject(7, f.data.Companies[0].Domain, f.isp)))
	// A new_lead at the webhook of a new_session automation.
	f.chk.record(fakeDelivery(0, 1, schemas.EventNewLead, "msg_wrong", time.Now(), leadSubject(7, f.data.Companies[0].Domain, f.isp)))
	// An unknown endpoint.
	f.chk.record(fakeDelivery(99, 0, schemas.EventNewLead, "msg_99", time.Now(), leadSubject(7, "x.example", "s_1")))

	r := f.chk.result()
	if r.Pass {
		t.Fatal("pass with a missing webhook")
	}
	if r.Total.Missing != 1 || len(r.MissingSample) != 1 || !strings.Contains(r.MissingSample[0], f.gen.Ledger().SessionID(f.gen.Ledger().Session(dropped.Session).Seq)) {
		t.Fatalf("missing %d %v", r.Total.Missing, r.MissingSample)
	}
	if r.Total.Duplicates != 3 || r.Total.Redelivered != 1 {
		t.Fatalf("duplicates %d redelivered %d, want 3 and 1", r.Total.Duplicates, r.Total.Redelivered)
	}
	if r.LeadIDConflicts != 1 {
		t.Fatalf("lead id conflicts %d", r.LeadIDConflicts)
	}
	if r.Total.Unexpected != 3 || len(r.UnexpectedSample) != 3 || !strings.Contains(r.UnexpectedSample[0], "not a company session") {
		t.Fatalf("unexpected %d %v", r.Total.Unexpected, r.UnexpectedSample)
	}
}

func TestCheckerSegmentsAndFailingEndpoints(t *testing.T) {
	// Every webhook of rule 3 (new_session on segment B) is a failing endpoint.
	f := newCheckerFixture(t, func(n int) []uint8 {
		c := make([]uint8, n)
		for i := 3; i < n; i += 4 {
			c[i] = classFailing
		}
		return c
	})
	var segB, other int
	for i, tr := range f.expected {
		if tr.Rule == 3 {
			segB++
			if !DefaultRules(4)[3].Matches(&f.data.Companies[tr.Company]) {
				t.Fatalf("segment trigger for a %s company", f.data.Companies[tr.Company].Industry)
			}
			continue // the failing endpoint never accepted them
		}
		other++
		f.deliver(tr, leadID(tr), "msg_"+strconv.Itoa(i))
	}
	r := f.chk.result()
	if segB == 0 || other == 0 {
		t.Fatalf("%d segment triggers, %d others", segB, other)
	}
	if !r.Pass || r.ByEndpoint["failing"].Missing != uint64(segB) || r.Note == "" {
		t.Fatalf("failing endpoints' missing subjects must not fail the check: %+v", r)
	}
	// A segment-B company's lead delivered to the segment-A rule is outside that segment.
	for _, tr := range f.expected {
		if tr.Rule == 3 && !DefaultRules(4)[2].Matches(&f.data.Companies[tr.Company]) {
			l := f.gen.Ledger()
			f.chk.record(fakeDelivery(tr.Workspace, 2, schemas.EventNewLead, "m", time.Now(),
				leadSubject(leadID(tr), f.data.Companies[tr.Company].Domain, l.SessionID(l.Session(tr.Session).Seq))))
			break
		}
	}
	if r := f.chk.result(); r.Total.Unexpected != 1 || !strings.Contains(r.UnexpectedSample[0], "outside the automation's segment") {
		t.Fatalf("segment violation not caught: %+v", r.UnexpectedSample)
	}
}

func TestParseLeadSubject(t *testing.T) {
	subj := leadSubject(31519477, "netcontrol.com", "s_ab_1f")
	id, domain, marker, ok := parseLeadSubject(subj)
	if !ok || id != 31519477 || domain != "netcontrol.com" || string(marker) != "s_ab_1f" {
		t.Fatalf("fast path: %d %q %q %v", id, domain, marker, ok)
	}
	// Keys in another order: the decoding fallback.
	other := []byte(`{"company":{"domain":"a.example","name":"A"},"recent_sessions":[{"pageviews":[{"url":"https://x/?lf_sid=s_9"}]}],"id":5}`)
	id, domain, marker, ok = parseLeadSubject(other)
	if !ok || id != 5 || domain != "a.example" || string(marker) != "s_9" {
		t.Fatalf("fallback: %d %q %q %v", id, domain, marker, ok)
	}
	if _, _, _, ok := parseLeadSubject([]byte(`{"id":1,"company":{"domain":"a"},"recent_sessions":[]}`)); ok {
		t.Fatal("a subject without a marker parsed")
	}
}
