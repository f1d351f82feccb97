package bench

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/bench/report"
	"github.com/leadflow/leadflow/bench/traffic"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
)

// revealRule is the index of the reveal rule in DefaultRules(5): new_lead
// on [Software, Information Technology & Services, Financial Services],
// revealing sales leaders, at most 2 per company.
const revealRule = 4

// revealFixture is a checker fixture with DefaultRules(5) and the test
// data set's contacts, with the expected reveals worked out independently
// of traffic.Reveals.
type revealFixture struct {
	*checkerFixture
	contacts map[string][]dataset.ContactRecord // by company domain
	// want[lead] is the number of contacts expected for a lead of the
	// segment (absent: none expected).
	want map[int]int
	sum  int
}

// salesLeader is DefaultReveal's persona, written out independently:
// seniority vp, director or c_level, department sales or executive.
func salesLeader(c *dataset.ContactRecord) bool {
	return (c.Seniority == "vp" || c.Seniority == "director" || c.Seniority == "c_level") &&
		(c.Department == "sales" || c.Department == "executive")
}

// inSegmentA reports whether an industry is in the reveal rule's segment.
func inSegmentA(industry string) bool {
	return industry == "Software" || industry == "Information Technology & Services" || industry == "Financial Services"
}

func newRevealFixture(t *testing.T) *revealFixture {
	t.Helper()
	f := &revealFixture{checkerFixture: newCheckerFixtureRules(t, DefaultRules(5), nil), want: map[int]int{}}
	var err error
	if f.contacts, err = dataset.LoadContacts(filepath.Join(testDataDir(t), dataset.ContactsFile)); err != nil {
		t.Fatal(err)
	}
	l := f.gen.Ledger()
	_, leads := l.Len()
	for li := range leads {
		lead := l.Lead(li)
		co := f.data.Companies[lead.Company]
		if !inSegmentA(co.Industry) {
			continue
		}
		if n := min(len(f.fitting(co.Domain, true)), 2); n > 0 {
			f.want[li] = n
			f.sum += n
		}
	}
	return f
}

// fitting returns the contacts of domain that fit the persona (fit true)
// or do not (fit false).
func (f *revealFixture) fitting(domain string, fit bool) []dataset.ContactRecord {
	var out []dataset.ContactRecord
	for i := range f.contacts[domain] {
		if salesLeader(&f.contacts[domain][i]) == fit {
			out = append(out, f.contacts[domain][i])
		}
	}
	return out
}

// contactSubject encodes c as a contact_revealed subject at company domain.
func contactSubject(c dataset.ContactRecord, domain string) json.RawMessage {
	subj := c.Contact(schemas.Company{Name: domain, Domain: domain})
	return subj.AppendJSON(nil)
}

// reveal sends contact c as a subject for company domain to rule's webhook
// in ws, 300ms after the start of lead li's first session.
func (f *revealFixture) reveal(ws, rule, li int, c dataset.ContactRecord, domain, msgID string) {
	l := f.gen.Ledger()
	arrived := l.Session(int(l.Lead(li).FirstSession)).StartTime().Add(300 * time.Millisecond)
	f.chk.record(fakeDelivery(ws, rule, schemas.EventContactRevealed, msgID, arrived, contactSubject(c, domain)))
}

// deliverAll delivers every expected lead and session trigger, and for
// every lead of the segment its expected number of fitting contacts,
// taken from the end of the company's list (the checker must accept any
// fitting contact, not only those evaluate would pick first), except for
// lead skip (-1: none), which gets one contact less.
func (f *revealFixture) deliverAll(skip int) {
	for i, tr := range f.expected {
		f.deliver(tr, leadID(tr), "msg_"+strconv.Itoa(i))
	}
	l := f.gen.Ledger()
	for li, n := range f.want {
		lead := l.Lead(li)
		domain := f.data.Companies[lead.Company].Domain
		fit := f.fitting(domain, true)
		if li == skip {
			n--
		}
		for k, c := range fit[len(fit)-n:] {
			f.reveal(int(lead.Workspace), revealRule, li, c, domain, "rv_"+strconv.Itoa(li)+"_"+strconv.Itoa(k))
		}
	}
}

// TestCheckerRevealsExactCount: the expected contact_revealed subjects are,
// per lead of the segment, its company's contacts fitting the persona, at
// most the limit of 2; delivering exactly those passes, and they are in
// the totals and the latency.
func TestCheckerRevealsExactCount(t *testing.T) {
	f := newRevealFixture(t)
	// The data must make the limit and the segment matter.
	l := f.gen.Ledger()
	_, leads := l.Len()
	var capped, outside bool
	for li := range leads {
		co := f.data.Companies[l.Lead(li).Company]
		capped = capped || inSegmentA(co.Industry) && len(f.fitting(co.Domain, true)) > 2
		outside = outside || !inSegmentA(co.Industry) && len(f.fitting(co.Domain, true)) > 0
	}
	if !capped || !outside || f.sum == 0 {
		t.Fatalf("fixture: a lead over the limit %v, a lead with fitting contacts outside the segment %v, %d reveals", capped, outside, f.sum)
	}
	f.deliverAll(-1)
	r := f.chk.result()
	want := report.Counts{Expected: uint64(f.sum), Delivered: uint64(f.sum)}
	if got := r.ByEvent[schemas.EventContactRevealed]; got != want {
		t.Fatalf("contact_revealed %+v, want %+v", got, want)
	}
	if !r.Pass || r.Total.Expected != uint64(len(f.expected)+f.sum) || r.Total.Missing != 0 || r.Total.Unexpected != 0 {
		t.Fatalf("correctness %+v", r)
	}
	if lat := f.chk.latency(); lat.Count != uint64(len(f.expected)+f.sum) || lat.MaxMs < 299 || lat.MaxMs > 302 {
		t.Fatalf("latency %+v: want every lead and session at 250ms and every contact at 300ms", lat)
	}
}

// TestCheckerRevealMissing: a contact less than expected for one lead is
// one missing subject, with the lead's company in the sample.
func TestCheckerRevealMissing(t *testing.T) {
	f := newRevealFixture(t)
	skip := -1
	for li, n := range f.want {
		if n == 2 {
			skip = li
			break
		}
	}
	if skip < 0 {
		t.Fatal("no lead with 2 expected contacts")
	}
	f.deliverAll(skip)
	r := f.chk.result()
	domain := f.data.Companies[f.gen.Ledger().Lead(skip).Company].Domain
	if got := r.ByEvent[schemas.EventContactRevealed]; got.Missing != 1 || got.Delivered != uint64(f.sum-1) || got.Expected != uint64(f.sum) {
		t.Fatalf("contact_revealed %+v, want 1 of %d missing", got, f.sum)
	}
	if r.Pass || r.Total.Missing != 1 || len(r.MissingSample) != 1 || !strings.Contains(r.MissingSample[0], domain) ||
		!strings.Contains(r.MissingSample[0], "1 of 2") {
		t.Fatalf("pass %v missing %d %q", r.Pass, r.Total.Missing, r.MissingSample)
	}
	if f.chk.missingHealthy() != 1 {
		t.Fatal("the drain would not wait for the missing contact")
	}
}

// leadWhere returns the workspace, index and company domain of the first
// lead whose company satisfies ok.
func (f *revealFixture) leadWhere(t *testing.T, what string, ok func(co traffic.Company, li int) bool) (ws, li int, domain string) {
	t.Helper()
	l := f.gen.Ledger()
	_, leads := l.Len()
	for li := range leads {
		lead := l.Lead(li)
		if co := f.data.Companies[lead.Company]; ok(co, li) {
			return int(lead.Workspace), li, co.Domain
		}
	}
	t.Fatalf("no lead %s", what)
	return 0, 0, ""
}

// TestCheckerRevealUnexpected: each contact_revealed subject nothing
// should have caused is one unexpected subject, named in the sample.
func TestCheckerRevealUnexpected(t *testing.T) {
	var f *revealFixture // the subtest's
	inSeg := func(co traffic.Company, _ int) bool {
		return inSegmentA(co.Industry) && len(f.fitting(co.Domain, true)) > 0
	}
	for _, tc := range []struct {
		name, sample string
		send         func(t *testing.T, f *revealFixture)
	}{
		{"contact of another company", "a contact of", func(t *testing.T, f *revealFixture) {
			ws, li, a := f.leadWhere(t, "in the segment with fitting contacts", inSeg)
			_, _, b := f.leadWhere(t, "in the segment, of another company with fitting contacts", func(co traffic.Company, _ int) bool {
				return inSegmentA(co.Industry) && co.Domain != a && len(f.fitting(co.Domain, true)) > 0
			})
			f.reveal(ws, revealRule, li, f.fitting(b, true)[0], a, "m1")
		}},
		{"contact not fitting the persona", "fits the persona", func(t *testing.T, f *revealFixture) {
			ws, li, a := f.leadWhere(t, "in the segment with a contact outside the persona", func(co traffic.Company, _ int) bool {
				return inSegmentA(co.Industry) && len(f.fitting(co.Domain, false)) > 0
			})
			f.reveal(ws, revealRule, li, f.fitting(a, false)[0], a, "m1")
		}},
		{"lead outside the segment", "outside the automation's segment", func(t *testing.T, f *revealFixture) {
			ws, li, a := f.leadWhere(t, "outside the segment with fitting contacts", func(co traffic.Company, _ int) bool {
				return !inSegmentA(co.Industry) && len(f.fitting(co.Domain, true)) > 0
			})
			f.reveal(ws, revealRule, li, f.fitting(a, true)[0], a, "m1")
		}},
		{"company without a lead in the workspace", "has no lead", func(t *testing.T, f *revealFixture) {
			l := f.gen.Ledger()
			for ci, co := range f.data.Companies {
				if _, ok := l.LeadFor(0, ci); !ok && inSegmentA(co.Industry) && len(f.fitting(co.Domain, true)) > 0 {
					f.chk.record(fakeDelivery(0, revealRule, schemas.EventContactRevealed, "m1", time.Now(), contactSubject(f.fitting(co.Domain, true)[0], co.Domain)))
					return
				}
			}
			t.Fatal("every company of the segment has a lead in workspace 0")
		}},
		{"unknown company", "not a company of the data set", func(t *testing.T, f *revealFixture) {
			_, _, a := f.leadWhere(t, "in the segment with fitting contacts", inSeg)
			f.chk.record(fakeDelivery(0, revealRule, schemas.EventContactRevealed, "m1", time.Now(), contactSubject(f.fitting(a, true)[0], "nowhere.example")))
		}},
		{"webhook of an automation without reveal", "at the webhook of a new_lead", func(t *testing.T, f *revealFixture) {
			ws, li, a := f.leadWhere(t, "in the segment with fitting contacts", inSeg)
			f.reveal(ws, 2, li, f.fitting(a, true)[0], a, "m1")
		}},
		{"more than the limit", "more than the reveal limit of 2", func(t *testing.T, f *revealFixture) {
			ws, li, a := f.leadWhere(t, "in the segment with 3 fitting contacts", func(co traffic.Company, _ int) bool {
				return inSegmentA(co.Industry) && len(f.fitting(co.Domain, true)) >= 3
			})
			for k, c := range f.fitting(a, true)[:3] {
				f.reveal(ws, revealRule, li, c, a, "m"+strconv.Itoa(k))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f = newRevealFixture(t)
			tc.send(t, f)
			r := f.chk.result()
			if got := r.ByEvent[schemas.EventContactRevealed].Unexpected; got != 1 || r.Total.Unexpected != 1 || r.Pass {
				t.Fatalf("unexpected contact_revealed %d, total %d, pass %v; want 1, 1, false", got, r.Total.Unexpected, r.Pass)
			}
			if len(r.UnexpectedSample) != 1 || !strings.Contains(r.UnexpectedSample[0], tc.sample) {
				t.Fatalf("sample %q, want it to say %q", r.UnexpectedSample, tc.sample)
			}
		})
	}
}

// TestCheckerRevealDuplicate: a contact sent twice to the same webhook is
// delivered once and a duplicate (and a repeated contact, which fails the
// check); in a request whose webhook-id was seen, also redelivered.
func TestCheckerRevealDuplicate(t *testing.T) {
	f := newRevealFixture(t)
	ws, li, a := f.leadWhere(t, "in the segment", func(co traffic.Company, li int) bool { return f.want[li] > 0 })
	c := f.fitting(a, true)[0]
	f.reveal(ws, revealRule, li, c, a, "m1")
	f.reveal(ws, revealRule, li, c, a, "m2") // another request
	f.reveal(ws, revealRule, li, c, a, "m1") // the first request again
	r := f.chk.result()
	got := r.ByEvent[schemas.EventContactRevealed]
	if got.Delivered != 1 || got.Duplicates != 2 || got.Redelivered != 1 || got.Unexpected != 0 {
		t.Fatalf("contact_revealed %+v: want 1 delivered, 2 duplicates, 1 redelivered", got)
	}
	if r.Contacts != 3 || r.ContactDuplicates != 2 || r.Pass {
		t.Fatalf("contacts %d, repeated %d, pass %v", r.Contacts, r.ContactDuplicates, r.Pass)
	}
	if lat := f.chk.latency(); lat.Count != 1 {
		t.Fatalf("%d latencies measured, want the first copy only", lat.Count)
	}
}
