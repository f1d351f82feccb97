package filter

import (
	"fmt"
	"strings"
	"testing"

	"github.com/leadflow/leadflow/schemas"
)

// realisticFilter has 8 conditions of the kinds segments use: firmographics,
// geo, lead totals, UTM, pageview paths and a regexp, with a negation.
const realisticFilter = `{"all": [
	{"field": "company.industry", "op": "in", "value": ["Machinery", "Industrial Automation", "Electrical Equipment"]},
	{"field": "company.geo.country_code", "op": "in", "value": ["FI", "SE", "NO", "DK", "EE"]},
	{"field": "company.employee_range", "op": "neq", "value": "1-10 employees"},
	{"field": "lead.sessions_count", "op": "gte", "value": 2},
	{"field": "session.utm_medium", "op": "eq", "value": "CPC"},
	{"field": "session.pageviews.path", "op": "contains", "value": "leadforensics"},
	{"field": "session.pageviews.url", "op": "matches", "value": "^https://www\\.snitcher\\.com/"},
	{"not": {"field": "session.pageviews.path", "op": "starts_with", "value": "/careers"}}
]}`

// TestMatchDoesNotAllocate checks that Match allocates nothing on a
// realistic 8-condition filter, whether it matches or not.
func TestMatchDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool makes regexp allocate")
	}
	f := mustCompile(t, realisticFilter)
	if !f.Match(guideChange()) {
		t.Fatal("the realistic filter does not match the guide's lead")
	}
	for name, ch := range map[string]*schemas.LeadChange{
		"match": guideChange(), "no match": browsingChange(), "missing": bareChange(),
	} {
		if n := testing.AllocsPerRun(1000, func() { f.Match(ch) }); n != 0 {
			t.Errorf("%s: Match allocates %v times per run", name, n)
		}
	}
	// Every kind of node, including hashed in lists and times.
	every := mustCompile(t, `{"any": [
		{"field": "company.name", "op": "in", "value": ["a","b","c","d","e","f","g","h","i","Netcontrol group x"]},
		{"field": "lead.id", "op": "in", "value": [1,2,3,4,5,6,7,8,9,10]},
		{"field": "lead.first_seen", "op": "between", "value": ["2024-01-01", "2024-02-01"]},
		{"field": "company.geo.city", "op": "ends_with", "value": "\u212aI"},
		{"field": "company.founded_year", "op": "gt", "value": 2000},
		{"not": {"any": [{"field": "company.description", "op": "contains", "value": "SCADA"}]}}
	]}`)
	for name, ch := range map[string]*schemas.LeadChange{"full": fullChange(), "missing": bareChange()} {
		if n := testing.AllocsPerRun(1000, func() { every.Match(ch) }); n != 0 {
			t.Errorf("every kind, %s: Match allocates %v times per run", name, n)
		}
	}
}

// automations are 10 segment filters of 5 to 10 conditions, mixing in, eq,
// gte, contains on pageview paths, matches and not, as customers write them.
var automations = []string{
	// 1. Nordic manufacturing that looked at a comparison page.
	`{"all": [
		{"field": "company.industry", "op": "in", "value": ["Machinery", "Industrial Automation", "Electrical Equipment"]},
		{"field": "company.geo.country_code", "op": "in", "value": ["FI", "SE", "NO", "DK"]},
		{"field": "lead.sessions_count", "op": "gte", "value": 2},
		{"field": "session.pageviews.path", "op": "contains", "value": "-vs-"},
		{"not": {"field": "session.pageviews.path", "op": "starts_with", "value": "/careers"}}
	]}`,
	// 2. Paid search visitors from mid-size companies.
	`{"all": [
		{"field": "session.utm_medium", "op": "in", "value": ["cpc", "ppc", "paid"]},
		{"field": "session.utm_source", "op": "eq", "value": "google"},
		{"field": "company.employee_range", "op": "in", "value": ["51-200 employees", "201-500 employees", "501-1000 employees"]},
		{"field": "session.total_duration", "op": "gte", "value": 10},
		{"field": "company.domain", "op": "not_contains", "value": "snitcher"},
		{"field": "session.device_type", "op": "eq", "value": "desktop"}
	]}`,
	// 3. Pricing intent (does not match the guide's lead).
	`{"all": [
		{"field": "session.pageviews.path", "op": "matches", "value": "^/(pricing|plans|demo)"},
		{"field": "lead.pageviews_count", "op": "gte", "value": 3},
		{"field": "company.annual_revenue", "op": "gte", "value": 1000000},
		{"any": [
			{"field": "company.geo.country_code", "op": "in", "value": ["US", "CA", "GB"]},
			{"field": "session.location.country_code", "op": "in", "value": ["US", "CA", "GB"]}
		]},
		{"not": {"field": "company.industry", "op": "in", "value": ["Education", "Government Administration"]}}
	]}`,
	// 4. Competitor research from Europe, long list of countries (hashed).
	`{"all": [
		{"field": "company.geo.country_code", "op": "in", "value": ["AT","BE","BG","HR","CY","CZ","DK","EE","FI","FR","DE","GR","HU","IE","IT","LV","LT","LU","MT","NL","PL","PT","RO","SK","SI","ES","SE"]},
		{"field": "session.pageviews.url", "op": "contains", "value": "leadforensics"},
		{"field": "session.utm_term", "op": "eq", "value": "leadforensics"},
		{"field": "company.founded_year", "op": "lte", "value": 2015},
		{"field": "lead.total_duration", "op": "gte", "value": 60},
		{"field": "session.browser", "op": "neq", "value": "HeadlessChrome"},
		{"field": "company.website", "op": "exists"}
	]}`,
	// 5. Returning visitors seen recently.
	`{"all": [
		{"field": "lead.sessions_count", "op": "gte", "value": 3},
		{"field": "lead.last_seen", "op": "gte", "value": "2024-05-01T00:00:00Z"},
		{"field": "lead.first_seen", "op": "lt", "value": "2024-05-15T10:55:51Z"},
		{"field": "company.industry", "op": "exists"},
		{"field": "session.source", "op": "contains", "value": "google"}
	]}`,
	// 6. Careers visitors, to exclude from sales (a negated any).
	`{"all": [
		{"not": {"any": [
			{"field": "session.pageviews.path", "op": "starts_with", "value": "/careers"},
			{"field": "session.pageviews.path", "op": "starts_with", "value": "/jobs"},
			{"field": "session.pageviews.host", "op": "eq", "value": "jobs.snitcher.com"}
		]}},
		{"field": "company.name", "op": "not_in", "value": ["Snitcher", "Snitcher B.V."]},
		{"field": "company.employee_range", "op": "neq", "value": "1-10 employees"},
		{"field": "session.operating_system", "op": "in", "value": ["Mac OS", "Windows", "Linux"]},
		{"field": "lead.id", "op": "gt", "value": 0}
	]}`,
	// 7. Enterprise description keywords.
	`{"all": [
		{"field": "company.description", "op": "matches", "value": "(?i)\\b(scada|energy management|utilities)\\b"},
		{"field": "company.geo.country", "op": "eq", "value": "finland"},
		{"field": "company.profiles.linkedin.handle", "op": "exists"},
		{"field": "session.pageviews_count", "op": "between", "value": [1, 50]},
		{"field": "session.location.city", "op": "in", "value": ["Lahti", "Helsinki", "Tampere", "Espoo"]},
		{"field": "company.total_funding", "op": "not_exists"}
	]}`,
	// 8. Paid social (does not match: utm_source is google).
	`{"all": [
		{"field": "session.utm_source", "op": "in", "value": ["linkedin", "facebook", "twitter"]},
		{"field": "session.utm_medium", "op": "eq", "value": "paid_social"},
		{"field": "company.industry", "op": "in", "value": ["Software", "Information Technology", "Internet"]},
		{"field": "lead.sessions_count", "op": "gte", "value": 1},
		{"field": "session.pageviews.path", "op": "contains", "value": "/blog/"}
	]}`,
	// 9. A wide net of 10 conditions in an any.
	`{"any": [
		{"field": "company.industry", "op": "eq", "value": "Financial Services"},
		{"field": "company.annual_revenue", "op": "gte", "value": 50000000},
		{"field": "company.total_funding", "op": "gte", "value": 10000000},
		{"field": "company.geo.state", "op": "in", "value": ["California", "New York", "Texas"]},
		{"field": "session.pageviews.path", "op": "contains", "value": "/enterprise"},
		{"field": "session.pageviews.path", "op": "matches", "value": "^/(security|sso|soc2)"},
		{"field": "company.employee_range", "op": "in", "value": ["1001-5000 employees", "5001-10000 employees", "10001+ employees"]},
		{"field": "lead.pageviews_count", "op": "gte", "value": 50},
		{"field": "session.utm_campaign", "op": "contains", "value": "enterprise"},
		{"field": "company.domain", "op": "ends_with", "value": ".gov"}
	]}`,
	// 10. Engaged session on the comparison page from a desktop.
	`{"all": [
		{"field": "session.pageviews.path", "op": "starts_with", "value": "/snitcher-vs-"},
		{"field": "session.total_duration", "op": "gte", "value": 5},
		{"field": "session.device_type", "op": "neq", "value": "mobile"},
		{"field": "company.geo.country_code", "op": "eq", "value": "fi"},
		{"field": "company.founded_year", "op": "between", "value": [1950, 2020]},
		{"field": "session.started_at", "op": "gte", "value": "2024-01-01"},
		{"not": {"field": "session.pageviews.url", "op": "matches", "value": "[?&]gclid="}},
		{"field": "lead.sessions_count", "op": "lt", "value": 100}
	]}`,
}

// benchChange is the guide's lead with a longer triggering session: five
// pageviews after the guide's landing page.
func benchChange() *schemas.LeadChange {
	ch := guideChange()
	s := &ch.Lead.RecentSessions[0]
	for _, p := range []string{"/", "/features/lead-identification", "/integrations/hubspot", "/customers", "/blog/b2b-intent-data?ref=home"} {
		s.Pageviews = append(s.Pageviews, schemas.Pageview{URL: "https://www.snitcher.com" + p, Host: "www.snitcher.com", Path: p})
	}
	return ch
}

// BenchmarkMatch10Automations evaluates one lead change against 10
// compiled segment filters, as the evaluate stage does for a workspace with
// 10 automations. ns/op is for all 10; ns/filter is per filter.
func BenchmarkMatch10Automations(b *testing.B) {
	fs := make([]*Filter, len(automations))
	for i, raw := range automations {
		fs[i] = mustCompile(b, raw)
	}
	ch := benchChange()
	want := []bool{true, true, false, true, true, true, true, false, false, true}
	for i, f := range fs {
		if got := f.Match(ch); got != want[i] {
			b.Fatalf("automation %d: Match = %v, want %v", i+1, got, want[i])
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for _, f := range fs {
			if f.Match(ch) {
				n++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(fs)), "ns/filter")
	if n == 0 {
		b.Fatal("nothing matched")
	}
}

// BenchmarkMatchEachAutomation evaluates each automation alone, to find a
// slow one.
func BenchmarkMatchEachAutomation(b *testing.B) {
	ch := benchChange()
	for i, raw := range automations {
		f := mustCompile(b, raw)
		b.Run(fmt.Sprint(i+1), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f.Match(ch)
			}
		})
	}
}

// BenchmarkIn compares the linear scan of a short in list with the hashed
// set of a long one, to place shortList.
func BenchmarkIn(b *testing.B) {
	ch := guideChange()
	for _, n := range []int{2, 4, 8, 9, 16, 100, 1000} {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprintf("%q", fmt.Sprintf("Industry number %d", i))
		}
		raw := `{"field": "company.industry", "op": "in", "value": [` + strings.Join(vals, ",") + `]}`
		f := mustCompile(b, raw)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f.Match(ch)
			}
		})
	}
}

// BenchmarkCompile measures compiling the 10 automations (not hot: once per
// segment change).
func BenchmarkCompile(b *testing.B) {
	raws := make([][]byte, len(automations))
	for i, a := range automations {
		raws[i] = []byte(a)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, raw := range raws {
			if _, err := Compile(raw); err != nil {
				b.Fatal(err)
			}
		}
	}
}
