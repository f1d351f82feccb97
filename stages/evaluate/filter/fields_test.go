package filter

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadflow/leadflow/schemas"
)

// fieldValues holds every field's value in fullChange, typed by hand from
// the guide's new_lead sample (and fullChange's additions), so that the
// accessors are checked against the payload rather than against themselves.
func fieldValues() map[string]any {
	guideTime := time.Date(2024, 5, 15, 10, 55, 50, 0, time.UTC)
	path := "/snitcher-vs-leadforensics?utm_source=google&utm_medium=cpc&utm_campaign=20933837881" +
		"&utm_content=158349409355&utm_term=leadforensics&utm_term=leadforensics" +
		"&utm_campaign=global_eng_search_prospecting_comp_web_all_theme_exact_broader&utm_source=adwords&utm_"
	return map[string]any{
		"company.name":                       "Netcontrol Group",
		"company.domain":                     "netcontrol.com",
		"company.website":                    "https://netcontrol.com",
		"company.industry":                   "Machinery",
		"company.founded_year":               "1991",
		"company.employee_range":             "51-200 employees",
		"company.annual_revenue":             7867000.0,
		"company.total_funding":              2500000.0,
		"company.location":                   "Karvaamokuja 3, 00380 Helsinki, Finland",
		"company.description":                *schemas.GuideNetcontrol().Description,
		"company.geo.country":                "Finland",
		"company.geo.country_code":           "FI",
		"company.geo.state":                  "Uusimaa",
		"company.geo.state_code":             "Uusimaa",
		"company.geo.postal_code":            "00380",
		"company.geo.city":                   "Helsinki",
		"company.geo.street":                 "Karvaamokuja",
		"company.geo.street_number":          "3",
		"company.profiles.crunchbase.handle": "netcontrol",
		"company.profiles.crunchbase.url":    "https://crunchbase.com/organization/netcontrol",
		"company.profiles.linkedin.handle":   "netcontrol-oy",
		"company.profiles.linkedin.url":      "https://linkedin.com/companies/netcontrol-oy",
		"company.profiles.facebook.handle":   "netcontrolgroup",
		"company.profiles.facebook.url":      "https://facebook.com/netcontrolgroup",
		"company.profiles.twitter.handle":    "NetcontrolGroup",
		"company.profiles.twitter.url":       "https://twitter.com/NetcontrolGroup",
		"company.profiles.instagram.handle":  "netcontrol.group",
		"company.profiles.instagram.url":     "https://instagram.com/netcontrol.group",
		"company.profiles.youtube.handle":    "NetcontrolTV",
		"company.profiles.youtube.url":       "https://youtube.com/@NetcontrolTV",
		"lead.id":                            31519477.0,
		"lead.first_seen":                    guideTime,
		"lead.last_seen":                     guideTime,
		"lead.sessions_count":                3.0,
		"lead.pageviews_count":               12.0,
		"lead.total_duration":                420.0,
		"session.started_at":                 guideTime,
		"session.source":                     "https://www.google.com/",
		"session.browser":                    "Safari",
		"session.device_type":                "desktop",
		"session.operating_system":           "Mac OS",
		"session.total_duration":             14.0,
		"session.pageviews_count":            1.0,
		"session.location.city":              "Lahti",
		"session.location.country_code":      "FI",
		"session.location.region":            "Etela-Pohjanmaa",
		"session.location.latitude":          63.216671,
		"session.location.longitude":         22.85,
		"session.utm_source":                 "google",
		"session.utm_medium":                 "cpc",
		"session.utm_campaign":               "20933837881",
		"session.utm_term":                   "leadforensics",
		"session.utm_content":                "158349409355",
		"session.pageviews.path":             path,
		"session.pageviews.url":              "https://www.snitcher.com" + path,
		"session.pageviews.host":             "www.snitcher.com",
	}
}

// guideNulls are the fields that are null in the guide's new_lead sample.
var guideNulls = []string{
	"company.annual_revenue", "company.total_funding",
	"company.profiles.facebook.handle", "company.profiles.facebook.url",
	"company.profiles.instagram.handle", "company.profiles.instagram.url",
	"company.profiles.youtube.handle", "company.profiles.youtube.url",
}

// genRow is one generated condition with its expected result on a change
// where the field has the value it was generated from.
type genRow struct {
	op, desc, filter string
	want             bool
}

func condJSON(field, op string, value any) string {
	m := map[string]any{"field": field, "op": op}
	if op != "exists" && op != "not_exists" {
		m["value"] = value
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// genRows generates conditions on field f for every operator it takes,
// each true or false on a change where f's value is v.
func genRows(f Field, v any) []genRow {
	var rows []genRow
	add := func(op, desc string, value any, want bool) {
		rows = append(rows, genRow{op: op, desc: desc, filter: condJSON(f.Name, op, value), want: want})
	}
	add("exists", "", nil, true)
	add("not_exists", "", nil, false)
	switch x := v.(type) {
	case string:
		up, other := strings.ToUpper(x), x+"zzq"
		mid := x
		if len(x) >= 3 {
			mid = x[1 : len(x)-1]
		}
		prefix, suffix := x[:max(1, len(x)/2)], x[len(x)/2:]
		add("eq", "same", x, true)
		add("eq", "upper case", up, true)
		add("eq", "other", other, false)
		add("neq", "same", strings.ToLower(x), false)
		add("neq", "other", other, true)
		add("in", "hit", []string{"zzq", up}, true)
		add("in", "miss", []string{"zzq", other}, false)
		add("not_in", "hit", []string{x}, false)
		add("not_in", "miss", []string{other}, true)
		add("contains", "middle", strings.ToUpper(mid), true)
		add("contains", "other", "zzq", false)
		add("not_contains", "middle", mid, false)
		add("not_contains", "other", "zzq", true)
		add("starts_with", "prefix", strings.ToUpper(prefix), true)
		add("starts_with", "suffix", "zzq"+prefix, false)
		add("ends_with", "suffix", strings.ToUpper(suffix), true)
		add("ends_with", "prefix", suffix+"zzq", false)
		add("matches", "whole", "^"+regexp.QuoteMeta(x)+"$", true)
		add("matches", "part", regexp.QuoteMeta(mid), true)
		add("matches", "other", "^zzq", false)
		if f.Type == TypeYear {
			rows = append(rows, yearRows(f, x)...)
		}
	case float64:
		add("eq", "same", x, true)
		add("eq", "other", x+1, false)
		add("neq", "same", x, false)
		add("neq", "other", x+1, true)
		add("in", "hit", []float64{x + 1, x}, true)
		add("in", "miss", []float64{x + 1, x + 2}, false)
		add("not_in", "hit", []float64{x}, false)
		add("not_in", "miss", []float64{x + 1}, true)
		add("gt", "below", x-1, true)
		add("gt", "same", x, false)
		add("gte", "same", x, true)
		add("gte", "above", x+0.5, false)
		add("lt", "above", x+1, true)
		add("lt", "same", x, false)
		add("lte", "same", x, true)
		add("lte", "below", x-0.5, false)
		add("between", "around", []float64{x - 1, x + 1}, true)
		add("between", "exactly", []float64{x, x}, true)
		add("between", "above", []float64{x + 1, x + 2}, false)
	case time.Time:
		add("gt", "a second before", x.Add(-time.Second).Format(time.RFC3339), true)
		add("gt", "same", x.Format(time.RFC3339), false)
		add("gte", "same, Unix seconds", x.Unix(), true)
		add("gte", "same, other zone", x.In(time.FixedZone("", 3*3600)).Format(time.RFC3339Nano), true)
		add("gte", "next day, date", x.AddDate(0, 0, 1).Format("2006-01-02"), false)
		add("lt", "a millisecond after", x.Add(time.Millisecond).Format(time.RFC3339Nano), true)
		add("lt", "same, session format", x.Format(schemas.SessionTimeLayout), false)
		add("lte", "same", x.Format(time.RFC3339), true)
		add("lte", "fractional second before", float64(x.Unix())-0.5, false)
		add("between", "its day", []string{x.Format("2006-01-02"), x.AddDate(0, 0, 1).Format("2006-01-02")}, true)
		add("between", "exactly", []string{x.Format(time.RFC3339), x.Format(time.RFC3339)}, true)
		add("between", "later", []int64{x.Unix() + 1, x.Unix() + 3600}, false)
	default:
		panic("no generator for " + f.Name)
	}
	return rows
}

// yearRows are founded_year's numeric comparisons.
func yearRows(f Field, v string) []genRow {
	var rows []genRow
	add := func(op, desc string, value any, want bool) {
		rows = append(rows, genRow{op: op, desc: desc, filter: condJSON(f.Name, op, value), want: want})
	}
	y := 0.0
	for _, c := range v {
		y = y*10 + float64(c-'0')
	}
	add("eq", "number", y, true)
	add("eq", "other number", y+1, false)
	add("neq", "number", y, false)
	add("in", "numbers", []float64{y - 1, y}, true)
	add("not_in", "numbers", []float64{y}, false)
	add("not_in", "other numbers", []float64{y + 1}, true)
	add("gt", "below", y-1, true)
	add("gt", "below, as a string", "1990", true)
	add("gt", "same", y, false)
	add("gte", "same", y, true)
	add("lt", "above", y+1, true)
	add("lte", "below", y-1, false)
	add("between", "around", []float64{y - 10, y + 10}, true)
	add("between", "strings, before", []string{"1900", "1990"}, false)
	return rows
}

func isNegative(op string) bool {
	return op == "neq" || op == "not_in" || op == "not_contains" || op == "not_exists"
}

// TestEveryFieldEveryOperator checks every field with every operator it
// takes: on fullChange, where it has a value (true and false cases, case
// folding, all value formats), and where it is missing (bareChange, and the
// guide's own nulls), where only the negative operators hold.
func TestEveryFieldEveryOperator(t *testing.T) {
	values := fieldValues()
	full, bare, guide := fullChange(), bareChange(), guideChange()
	opsSeen := map[string]bool{}
	for _, f := range Fields() {
		v, ok := values[f.Name]
		if !ok {
			t.Errorf("%s: no test value; add it to fieldValues", f.Name)
			continue
		}
		rows := genRows(f, v)
		covered := map[string]bool{}
		for _, r := range rows {
			covered[r.op], opsSeen[r.op] = true, true
		}
		for _, op := range f.Operators {
			if !covered[op] {
				t.Errorf("%s: operator %s is not covered", f.Name, op)
			}
		}
		t.Run(f.Name, func(t *testing.T) {
			for _, r := range rows {
				flt := mustCompile(t, r.filter)
				if got := flt.Match(full); got != r.want {
					t.Errorf("%s %s (%s) = %v, want %v", r.op, r.desc, r.filter, got, r.want)
				}
				if !f.Nullable {
					continue
				}
				// Missing: only the negative operators hold.
				if got := flt.Match(bare); got != isNegative(r.op) {
					t.Errorf("missing: %s %s (%s) = %v, want %v", r.op, r.desc, r.filter, got, isNegative(r.op))
				}
				if slices.Contains(guideNulls, f.Name) {
					if got := flt.Match(guide); got != isNegative(r.op) {
						t.Errorf("guide null: %s %s (%s) = %v, want %v", r.op, r.desc, r.filter, got, isNegative(r.op))
					}
				}
			}
		})
	}
	for _, op := range Operators() {
		if !opsSeen[op.Name] {
			t.Errorf("operator %s is not covered", op.Name)
		}
	}
	if len(values) != len(Fields()) {
		t.Errorf("fieldValues has %d fields, Fields() %d", len(values), len(Fields()))
	}
}

// TestNeverMissing checks that the lead's totals and id are 0, not missing,
// on an empty change, and that Nullable says so.
func TestNeverMissing(t *testing.T) {
	for _, name := range []string{"lead.id", "lead.sessions_count", "lead.pageviews_count", "lead.total_duration"} {
		if !mustCompile(t, condJSON(name, "eq", 0)).Match(bareChange()) {
			t.Errorf("%s eq 0 is false on an empty change", name)
		}
		for _, f := range Fields() {
			if f.Name == name && f.Nullable {
				t.Errorf("%s is documented as nullable", name)
			}
		}
	}
}

func TestFieldsAndOperatorsDocs(t *testing.T) {
	names := map[string]bool{}
	for _, f := range Fields() {
		if names[f.Name] {
			t.Errorf("field %s listed twice", f.Name)
		}
		names[f.Name] = true
		if f.Doc == "" || len(f.Operators) == 0 {
			t.Errorf("field %s has no doc or no operators", f.Name)
		}
		if f.Many != strings.HasPrefix(f.Name, "session.pageviews.") {
			t.Errorf("field %s: Many = %v", f.Name, f.Many)
		}
	}
	if names["company.phone"] {
		t.Error("company.phone is not on leads")
	}
	want := []string{"eq", "neq", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with",
		"matches", "gt", "gte", "lt", "lte", "between", "exists", "not_exists"}
	var got []string
	for _, o := range Operators() {
		got = append(got, o.Name)
		if o.Doc == "" || o.Value == "" || len(o.Types) == 0 {
			t.Errorf("operator %s is not fully documented", o.Name)
		}
		if isNegative(o.Name) != (o.Negates != "") {
			t.Errorf("operator %s: Negates = %q", o.Name, o.Negates)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("Operators() = %v, want %v", got, want)
	}
	// The result is the caller's: changing it does not change the package.
	fs := Fields()
	fs[0].Operators[0] = "changed"
	if Fields()[0].Operators[0] == "changed" {
		t.Error("Fields() shares its slices")
	}
}

// TestReadsSessions checks readsSessions against the accessors: a filter
// that does not read sessions gives the same result without them, and
// every field that does is reported.
func TestReadsSessions(t *testing.T) {
	values := fieldValues()
	full := fullChange()
	noSessions := fullChange()
	noSessions.Lead.RecentSessions = nil
	for _, f := range Fields() {
		differs := false
		for _, r := range genRows(f, values[f.Name]) {
			flt := mustCompile(t, r.filter)
			if flt.ReadsSessions() != lookupField(f.Name).readsSessions() {
				t.Errorf("%s: ReadsSessions() = %v for %s", f.Name, flt.ReadsSessions(), r.filter)
			}
			if flt.Match(full) != flt.Match(noSessions) {
				differs = true
				if !flt.ReadsSessions() {
					t.Errorf("%s: %s matches differently without sessions but ReadsSessions() is false", f.Name, r.filter)
				}
			}
		}
		if lookupField(f.Name).readsSessions() && !differs {
			t.Errorf("%s: reported as reading sessions, but no test filter on it changes without them", f.Name)
		}
	}
	var nilFilter *Filter
	if nilFilter.ReadsSessions() {
		t.Error("a nil filter reads sessions")
	}
	both := mustCompile(t, `{"all":[`+condJSON("company.industry", "eq", "Machinery")+`,`+condJSON("session.browser", "eq", "Safari")+`]}`)
	if !both.ReadsSessions() {
		t.Error("a group with a session condition does not read sessions")
	}
}

// TestReadsOnlyCompany: a filter reports ReadsOnlyCompany exactly when all
// its fields are company.* fields, and such a filter matches the same on a
// change that keeps only the lead's company (every other member empty).
func TestReadsOnlyCompany(t *testing.T) {
	values := fieldValues()
	full := fullChange()
	companyOnly := bareChange()
	companyOnly.Kind = ""
	companyOnly.Lead.Company = full.Lead.Company
	for _, f := range Fields() {
		differs := false
		for _, r := range genRows(f, values[f.Name]) {
			flt := mustCompile(t, r.filter)
			if flt.ReadsOnlyCompany() != lookupField(f.Name).readsOnlyCompany() {
				t.Errorf("%s: ReadsOnlyCompany() = %v for %s", f.Name, flt.ReadsOnlyCompany(), r.filter)
			}
			if flt.Match(full) != flt.Match(companyOnly) {
				differs = true
				if flt.ReadsOnlyCompany() {
					t.Errorf("%s: %s matches differently on the company alone but ReadsOnlyCompany() is true", f.Name, r.filter)
				}
			}
		}
		if !lookupField(f.Name).readsOnlyCompany() && !differs {
			t.Errorf("%s: reported as reading more than the company, but no test filter on it changes without the rest", f.Name)
		}
	}
	var nilFilter *Filter
	if nilFilter.ReadsOnlyCompany() {
		t.Error("a nil filter reports ReadsOnlyCompany")
	}
	mixed := mustCompile(t, `{"any":[`+condJSON("company.industry", "eq", "Machinery")+`,`+condJSON("lead.pageviews_count", "gte", 3)+`]}`)
	if mixed.ReadsOnlyCompany() {
		t.Error("a group with a lead condition reports ReadsOnlyCompany")
	}
}
