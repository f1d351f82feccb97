package filter

import (
	"fmt"
	"strings"
	"testing"

	"github.com/leadflow/leadflow/schemas"
)

type matchCase struct {
	name   string
	ch     func() *schemas.LeadChange
	filter string
	want   bool
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := guideChange
			if tc.ch != nil {
				ch = tc.ch
			}
			if got := mustCompile(t, tc.filter).Match(ch()); got != tc.want {
				t.Errorf("%s = %v, want %v", tc.filter, got, tc.want)
			}
		})
	}
}

func withCompany(mod func(c *schemas.Company)) func() *schemas.LeadChange {
	return func() *schemas.LeadChange {
		ch := guideChange()
		mod(&ch.Lead.Company)
		return ch
	}
}

// TestPageviewsAnyAndNone checks the "any pageview" fields: positive
// operators hold when some pageview of the triggering session matches,
// negative ones when none does; older sessions do not count.
func TestPageviewsAnyAndNone(t *testing.T) {
	path := func(op string, v any) string { return condJSON("session.pageviews.path", op, v) }
	runMatchCases(t, []matchCase{
		{"visited careers", browsingChange, path("starts_with", "/careers"), true},
		{"did not visit careers: false, one page is careers", browsingChange, path("not_contains", "/careers"), false},
		{"did not visit jobs", browsingChange, path("not_contains", "/jobs"), true},
		{"eq one of the pages, case-insensitive", browsingChange, path("eq", "/contact"), true},
		{"neq: false when some page equals", browsingChange, path("neq", "/pricing"), false},
		{"neq: true when no page equals", browsingChange, path("neq", "/pricing/enterprise"), true},
		{"in: some page is in the list", browsingChange, path("in", []string{"/demo", "/PRICING"}), true},
		{"not_in: some page is in the list", browsingChange, path("not_in", []string{"/demo", "/pricing"}), false},
		{"not_in: no page is in the list", browsingChange, path("not_in", []string{"/demo", "/signup"}), true},
		{"ends_with on the query string", browsingChange, path("ends_with", "?REF=NAV"), true},
		{"matches some page", browsingChange, path("matches", `^/careers/[a-z-]+`), true},
		{"path includes the query: eq without it is false", browsingChange, path("eq", "/careers/senior-engineer"), false},
		{"an older session's page does not count", browsingChange, path("eq", "/post"), false},
		{"an older session's host does not count", browsingChange,
			condJSON("session.pageviews.host", "eq", "blog.snitcher.com"), false},
		{"url contains", browsingChange, condJSON("session.pageviews.url", "contains", "snitcher.com/pricing"), true},
		{"no pageviews: contains is false", noPageviewsChange, path("contains", "/"), false},
		{"no pageviews: not_contains is true", noPageviewsChange, path("not_contains", "/careers"), true},
		{"no pageviews: exists is false", noPageviewsChange, path("exists", nil), false},
		{"no pageviews: not_exists is true", noPageviewsChange, path("not_exists", nil), true},
		{"no pageviews: session.pageviews_count is 0", noPageviewsChange,
			condJSON("session.pageviews_count", "eq", 0), true},
		{"no session: neq is true", bareChange, path("neq", "/"), true},
		{"no session: in is false", bareChange, path("in", []string{"/"}), false},
	})
}

// TestCaseFolding checks case-insensitive comparison, also beyond ASCII and
// with long in lists, and that matches is case-sensitive unless (?i).
func TestCaseFolding(t *testing.T) {
	munich := withCompany(func(c *schemas.Company) { c.Geo.City = new("München") })
	kelvin := withCompany(func(c *schemas.Company) { c.Name = "\u212aarlsruhe Sensor GmbH" }) // KELVIN SIGN
	longS := withCompany(func(c *schemas.Company) { c.Industry = new("Ma\u017Fchinery") })    // LATIN SMALL LETTER LONG S
	many := make([]string, 0, 40)
	for i := range 39 {
		many = append(many, fmt.Sprintf("industry %d", i))
	}
	manyHit := append(many[:39:39], "MACHINERY")
	geo := func(op string, v any) string { return condJSON("company.geo.city", op, v) }
	name := func(op string, v any) string { return condJSON("company.name", op, v) }
	runMatchCases(t, []matchCase{
		{"eq lower", nil, condJSON("company.industry", "eq", "machinery"), true},
		{"in upper", nil, condJSON("company.industry", "in", []string{"MACHINERY"}), true},
		{"in long list, hashed", nil, condJSON("company.industry", "in", manyHit), true},
		{"in long list, miss", nil, condJSON("company.industry", "in", many), false},
		{"not_in long list", nil, condJSON("company.industry", "not_in", manyHit), false},
		{"matches is case-sensitive", nil, condJSON("company.industry", "matches", "^machinery$"), false},
		{"matches (?i)", nil, condJSON("company.industry", "matches", "(?i)^machinery$"), true},
		{"unicode eq", munich, geo("eq", "MÜNCHEN"), true},
		{"unicode starts_with", munich, geo("starts_with", "mÜn"), true},
		{"unicode ends_with", munich, geo("ends_with", "ÜNCHEN"), true},
		{"unicode contains", munich, geo("contains", "ÜNC"), true},
		{"unicode contains miss", munich, geo("contains", "UNC"), false},
		{"unicode in long list", munich, geo("in", append(many[:39:39], "MÜNCHEN")), true},
		{"kelvin sign eq k", kelvin, name("eq", "karlsruhe sensor gmbh"), true},
		{"kelvin sign starts_with k", kelvin, name("starts_with", "KARL"), true},
		{"kelvin sign contains k", kelvin, name("contains", "karls"), true},
		{"kelvin sign in long list", kelvin, name("in", append(many[:39:39], "KARLSRUHE SENSOR GMBH")), true},
		{"long s contains s", longS, condJSON("company.industry", "contains", "aschin"), true},
		{"long s ends_with", longS, condJSON("company.industry", "ends_with", "SCHINERY"), true},
		{"ascii needle, non-ascii subject, no match", longS, condJSON("company.industry", "contains", "machinery"), false},
	})
}

// TestMissingValues checks null and empty values beyond the generated cases.
func TestMissingValues(t *testing.T) {
	emptyIndustry := withCompany(func(c *schemas.Company) { c.Industry = new("") })
	runMatchCases(t, []matchCase{
		{"empty string is missing: exists", emptyIndustry, condJSON("company.industry", "exists", nil), false},
		{"empty string is missing: not_in", emptyIndustry, condJSON("company.industry", "not_in", []string{"x"}), true},
		{"null revenue: gt is false", nil, condJSON("company.annual_revenue", "gt", 0), false},
		{"null revenue: lte is false", nil, condJSON("company.annual_revenue", "lte", 1e12), false},
		{"null revenue: neq is true", nil, condJSON("company.annual_revenue", "neq", 1), true},
		{"null revenue: not between", nil, `{"not": ` + condJSON("company.annual_revenue", "between", []int{0, 1}) + `}`, true},
		{"exists with value null", nil, `{"field": "company.annual_revenue", "op": "exists", "value": null}`, false},
		{"no session: session.browser neq", bareChange, condJSON("session.browser", "neq", "Safari"), true},
		{"no session: session.total_duration gte 0", bareChange, condJSON("session.total_duration", "gte", 0), false},
		{"no session: started_at not_exists", bareChange, condJSON("session.started_at", "not_exists", nil), true},
		{"direct traffic: source not_exists", func() *schemas.LeadChange {
			ch := guideChange()
			ch.Lead.RecentSessions[0].Source = nil
			return ch
		}, condJSON("session.source", "not_exists", nil), true},
	})
}

// TestFoundedYear checks founded_year as text and as a number.
func TestFoundedYear(t *testing.T) {
	odd := withCompany(func(c *schemas.Company) { c.FoundedYear = new("circa 1990") })
	padded := withCompany(func(c *schemas.Company) { c.FoundedYear = new(" 2001 ") })
	fy := func(op string, v any) string { return condJSON("company.founded_year", op, v) }
	runMatchCases(t, []matchCase{
		{"text eq", nil, fy("eq", "1991"), true},
		{"text starts_with decade", nil, fy("starts_with", "199"), true},
		{"number in", nil, fy("in", []int{1990, 1991, 1992}), true},
		{"text in", nil, fy("in", []string{"1990", "1991"}), true},
		{"gte string digits", nil, fy("gte", "1991"), true},
		{"not a number: gt is false", odd, fy("gt", 1000), false},
		{"not a number: neq number is true", odd, fy("neq", 1990), true},
		{"not a number: text contains", odd, fy("contains", "1990"), true},
		{"padded: numeric eq", padded, fy("eq", 2001), true},
	})
}

// TestTimes checks the time formats and precision.
func TestTimes(t *testing.T) {
	micro := func() *schemas.LeadChange {
		ch := guideChange()
		ch.Lead.FirstSeen.Time = ch.Lead.FirstSeen.Add(1500) // 1.5 µs later
		return ch
	}
	fs := func(op string, v any) string { return condJSON("lead.first_seen", op, v) }
	runMatchCases(t, []matchCase{
		{"gt the whole second", micro, fs("gt", "2024-05-15T10:55:50Z"), true},
		{"lt a nanosecond-precise time", micro, fs("lt", "2024-05-15T10:55:50.000001501Z"), true},
		{"zone offset", nil, fs("lt", "2024-05-15T12:55:51+02:00"), true},
		{"date is midnight UTC", nil, fs("gte", "2024-05-15"), true},
		{"fractional Unix seconds", nil, fs("gt", 1715770549.75), true},
		{"started_at between dates", nil, condJSON("session.started_at", "between", []string{"2024-05-01", "2024-06-01"}), true},
		{"last_seen before 2024", nil, condJSON("lead.last_seen", "lt", "2024-01-01"), false},
	})
}

// TestNesting checks all, any and not, their empty forms, nesting to
// MaxDepth and the reordering of conditions.
func TestNesting(t *testing.T) {
	const (
		yes = `{"field": "company.industry", "op": "eq", "value": "Machinery"}`
		no  = `{"field": "company.industry", "op": "eq", "value": "Software"}`
	)
	deep := func(levels int, leaf string) string {
		return strings.Repeat(`{"not": `, levels-1) + leaf + strings.Repeat("}", levels-1)
	}
	runMatchCases(t, []matchCase{
		{"bare condition at the root", nil, yes, true},
		{"all true", nil, `{"all": [` + yes + `, ` + yes + `]}`, true},
		{"all with one false", nil, `{"all": [` + yes + `, ` + no + `]}`, false},
		{"any with one true", nil, `{"any": [` + no + `, ` + yes + `]}`, true},
		{"any all false", nil, `{"any": [` + no + `, ` + no + `]}`, false},
		{"empty all is true", nil, `{"all": []}`, true},
		{"empty any is false", nil, `{"any": []}`, false},
		{"not empty all", nil, `{"not": {"all": []}}`, false},
		{"not empty any", nil, `{"not": {"any": []}}`, true},
		{"not condition", nil, `{"not": ` + no + `}`, true},
		{"not not condition", nil, `{"not": {"not": ` + yes + `}}`, true},
		{"not group", nil, `{"not": {"all": [` + yes + `, ` + no + `]}}`, true},
		{"not neq is eq", nil, `{"not": {"field": "company.industry", "op": "neq", "value": "machinery"}}`, true},
		{"not not_exists on null", nil, `{"not": {"field": "company.annual_revenue", "op": "not_exists"}}`, false},
		{"any inside all", nil, `{"all": [` + yes + `, {"any": [` + no + `, ` + yes + `]}]}`, true},
		{"all inside any", nil, `{"any": [` + no + `, {"all": [` + yes + `, ` + no + `]}]}`, false},
		{"all inside all, flattened", nil, `{"all": [{"all": [` + yes + `, {"all": []}]}, {"all": [` + yes + `]}]}`, true},
		{"any inside any, flattened", nil, `{"any": [{"any": [` + no + `]}, {"any": []}, {"any": [` + yes + `]}]}`, true},
		{"not inside any inside not", nil, `{"not": {"any": [{"not": ` + yes + `}, ` + no + `]}}`, true},
		{"depth 16: 14 nots, all, condition", nil, deep(15, `{"all": [`+yes+`]}`), true},
		{"depth 16: 15 nots, condition", nil, deep(16, no), true},
		{"cheap false after a costly regexp", nil, `{"all": [` +
			`{"field": "session.pageviews.url", "op": "matches", "value": "leadforensics"}, ` +
			`{"field": "lead.sessions_count", "op": "gt", "value": 100}]}`, false},
		{"costly true after cheap false in any", nil, `{"any": [` +
			`{"field": "session.pageviews.url", "op": "matches", "value": "leadforensics"}, ` +
			`{"field": "lead.sessions_count", "op": "gt", "value": 100}]}`, true},
	})
}

func TestNilFilterMatchesEverything(t *testing.T) {
	var f *Filter
	if !f.Match(bareChange()) {
		t.Error("nil filter does not match")
	}
}

func TestMustCompilePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustCompile of a bad filter did not panic")
		}
	}()
	MustCompile(`{"all": 1}`)
}

// TestConcurrentMatch evaluates one Filter from many goroutines (run with
// -race): Match only reads.
func TestConcurrentMatch(t *testing.T) {
	f := mustCompile(t, realisticFilter)
	changes := []*schemas.LeadChange{guideChange(), browsingChange(), bareChange()}
	want := make([]bool, len(changes))
	for i, ch := range changes {
		want[i] = f.Match(ch)
	}
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				k := (g + i) % len(changes)
				if f.Match(changes[k]) != want[k] {
					t.Errorf("goroutine %d: Match(change %d) changed its answer", g, k)
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}
