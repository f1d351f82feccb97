package traffic

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
)

// tinyData has two companies: a.example (Software) and b.example (Retail).
func tinyData(t *testing.T) *Data {
	t.Helper()
	rec := func(cidr, typ, domain string) dataset.NetworkRecord {
		return dataset.NetworkRecord{Network: netip.MustParsePrefix(cidr), NetworkType: typ, CompanyDomain: domain}
	}
	d, err := NewData([]dataset.NetworkRecord{
		rec("198.51.100.0/24", schemas.NetworkBusiness, "a.example"),
		rec("203.0.113.0/24", schemas.NetworkBusiness, "b.example"),
		rec("192.0.2.0/24", schemas.NetworkISP, ""),
		rec("240.0.0.0/24", schemas.NetworkHosting, ""),
		rec("240.0.1.0/24", schemas.NetworkEducation, ""),
	}, map[string]string{"a.example": "Software", "b.example": "Retail"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestExpectedHandChecked works one small example out by hand.
func TestExpectedHandChecked(t *testing.T) {
	d := tinyData(t)
	l := newLedger("")
	at := time.Unix(1700000000, 0)
	l.add(0, 0, 1, at) // session 0: ws 0, a.example: a new lead (lead 0)
	l.add(0, 0, 2, at) // session 1: ws 0, a.example again: a new session of lead 0
	l.add(1, 1, 5, at) // session 2: ws 1, b.example: lead 1
	l.add(0, 1, 7, at) // session 3: ws 0, b.example: lead 2
	rules := []Rule{
		{Trigger: schemas.EventNewLead},
		{Trigger: schemas.EventNewSession},
		{Trigger: schemas.EventNewLead, Industries: []string{"software"}}, // case-insensitive
	}
	nl, ns := schemas.EventNewLead, schemas.EventNewSession
	want := []Trigger{
		{Rule: 0, Event: nl, Workspace: 0, Company: 0, Lead: 0, Session: 0},
		{Rule: 2, Event: nl, Workspace: 0, Company: 0, Lead: 0, Session: 0},
		{Rule: 0, Event: nl, Workspace: 1, Company: 1, Lead: 1, Session: 2},
		{Rule: 0, Event: nl, Workspace: 0, Company: 1, Lead: 2, Session: 3},
		{Rule: 1, Event: ns, Workspace: 0, Company: 0, Lead: 0, Session: 0},
		{Rule: 1, Event: ns, Workspace: 0, Company: 0, Lead: 0, Session: 1},
		{Rule: 1, Event: ns, Workspace: 1, Company: 1, Lead: 1, Session: 2},
		{Rule: 1, Event: ns, Workspace: 0, Company: 1, Lead: 2, Session: 3},
	}
	if got := l.Expected(rules, d); !reflect.DeepEqual(got, want) {
		t.Fatalf("Expected:\n got %+v\nwant %+v", got, want)
	}

	// Session 2 (s_5) failed to produce: lead 1 and its session are no
	// longer expected.
	l.MarkFailed([]byte("s_5"))
	want = append(want[:2:2], want[3], want[4], want[5], want[7])
	if got := l.Expected(rules, d); !reflect.DeepEqual(got, want) {
		t.Fatalf("Expected after a failed produce:\n got %+v\nwant %+v", got, want)
	}
	if i, s, ok := l.SessionByID([]byte("s_7")); !ok || i != 3 || s.Lead != 2 {
		t.Fatalf("SessionByID(s_7) = %d %+v %v", i, s, ok)
	}
	if _, _, ok := l.SessionByID([]byte("s_6")); ok {
		t.Fatal("s_6 is not a company session")
	}
}

// TestExpectedMatchesTraffic derives the expected webhooks from the raw
// events alone (business network and no bot user agent) and compares them
// with the ledger's.
func TestExpectedMatchesTraffic(t *testing.T) {
	d := tinyData(t)
	g, err := New(Config{Seed: 2, Workspaces: 3, Marker: true, Track: true, BotShare: 0.2, ActiveSessions: 20}, d)
	if err != nil {
		t.Fatal(err)
	}
	clock := fixedClock()
	sessions := map[string]bool{} // company sessions by id
	leads := map[string]bool{}    // workspace|domain
	for range 3000 {
		v, _ := g.Next(nil, clock())
		ev, err := schemas.DecodeRawEvent(v, 0)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(ev.UserAgent), "bot") || strings.Contains(ev.UserAgent, "spider") || strings.Contains(ev.UserAgent, "externalhit") {
			continue
		}
		for _, c := range d.Companies {
			if c.Networks[0].Network.Contains(ev.Addr) {
				sessions[ev.SessionID] = true
				leads[ev.WorkspaceID+"|"+c.Domain] = true
			}
		}
	}
	rules := []Rule{{Trigger: schemas.EventNewLead}, {Trigger: schemas.EventNewSession, Industries: []string{"Retail"}}}
	gotLeads, gotSessions := map[string]bool{}, map[string]bool{}
	retail := 0
	for _, tr := range g.Ledger().Expected(rules, d) {
		switch tr.Event {
		case schemas.EventNewLead:
			gotLeads[g.WorkspaceID(tr.Workspace)+"|"+d.Companies[tr.Company].Domain] = true
		case schemas.EventNewSession:
			if d.Companies[tr.Company].Industry != "Retail" {
				t.Fatalf("new_session expected for a %s company", d.Companies[tr.Company].Industry)
			}
			retail++
			gotSessions[g.Ledger().SessionID(g.Ledger().Session(tr.Session).Seq)] = true
		}
	}
	if !reflect.DeepEqual(gotLeads, leads) {
		t.Fatalf("leads: ledger %v, traffic %v", gotLeads, leads)
	}
	wantRetail := 0
	for id := range sessions {
		_, s, ok := g.Ledger().SessionByID([]byte(id))
		if !ok {
			t.Fatalf("company session %s not in the ledger", id)
		}
		if d.Companies[g.Ledger().Lead(int(s.Lead)).Company].Industry == "Retail" {
			wantRetail++
			if !gotSessions[id] {
				t.Fatalf("retail session %s not expected", id)
			}
		}
	}
	if retail != wantRetail || retail == 0 {
		t.Fatalf("%d retail sessions expected, traffic has %d", retail, wantRetail)
	}
}
