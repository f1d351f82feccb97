package filter

import (
	"strings"
	"time"

	"github.com/leadflow/leadflow/schemas"
)

// FieldType is the type of a filter field, which decides the operators and
// values it takes.
type FieldType string

// Field types.
const (
	// TypeString fields compare case-insensitively with eq, neq, in,
	// not_in, contains, not_contains, starts_with, ends_with; matches takes
	// a Go (RE2) regexp, case-sensitive unless it starts with (?i).
	TypeString FieldType = "string"
	// TypeNumber fields take numbers: eq, neq, in, not_in, gt, gte, lt,
	// lte, between.
	TypeNumber FieldType = "number"
	// TypeTime fields take RFC 3339 times, dates (YYYY-MM-DD, midnight UTC),
	// the payload's "YYYY-MM-DD hh:mm:ss" (UTC) or numbers of Unix seconds:
	// gt, gte, lt, lte, between.
	TypeTime FieldType = "time"
	// TypeYear is a string holding a year (company.founded_year): the
	// string operators with string values, and numeric comparison (eq, neq,
	// in, not_in with numbers; gt, gte, lt, lte, between) on its value read
	// as an integer.
	TypeYear FieldType = "year"
)

// Field describes one field a condition can test, for the admin API's
// documentation. See Fields.
type Field struct {
	// Name is the dotted path, e.g. "company.industry".
	Name string `json:"name"`
	// Type decides the operators and values.
	Type FieldType `json:"type"`
	// Nullable is set when the value can be missing (null, or an empty
	// string); lead.sessions_count and the like are never missing.
	Nullable bool `json:"nullable"`
	// Many is set for session.pageviews.*: the condition holds when any
	// pageview of the triggering session matches (negative operators: when
	// none does).
	Many bool `json:"many"`
	// Operators are the operators the field accepts.
	Operators []string `json:"operators"`
	// Doc says where the value comes from.
	Doc string `json:"doc"`
}

// Fields returns every field a condition can name, in a stable order. The
// caller owns the returned slice.
func Fields() []Field {
	out := make([]Field, len(fieldTable))
	for i := range fieldTable {
		f := &fieldTable[i]
		out[i] = Field{
			Name: f.name, Type: f.typ, Nullable: f.nullable, Many: f.pv != nil,
			Operators: operatorsFor(f), Doc: f.doc,
		}
	}
	return out
}

// fieldSpec is a field with its accessors; exactly the accessors its type
// needs are set.
type fieldSpec struct {
	name     string
	typ      FieldType
	nullable bool
	doc      string
	// str reads a string value; ok is false when it is missing.
	str func(*schemas.LeadChange) (string, bool)
	// num reads a number value (for TypeYear: the string read as an integer).
	num func(*schemas.LeadChange) (float64, bool)
	// tim reads a time value.
	tim func(*schemas.LeadChange) (time.Time, bool)
	// pv reads one pageview's value, for the "any pageview" fields.
	pv func(*schemas.Pageview) string
}

// readsSessions reports whether the field reads the lead's recent sessions
// (the triggering session is the newest): every session.* field but the
// UTM ones, which come from LeadChange.Session. TestReadsSessions checks
// this against the accessors.
func (f *fieldSpec) readsSessions() bool {
	return strings.HasPrefix(f.name, "session.") && !strings.HasPrefix(f.name, "session.utm_")
}

// readsOnlyCompany reports whether the field reads nothing but the lead's
// company (ch.Lead.Company): every company.* field. TestReadsOnlyCompany
// checks this against the accessors.
func (f *fieldSpec) readsOnlyCompany() bool { return strings.HasPrefix(f.name, "company.") }

// lookupField returns the spec of name, or nil.
func lookupField(name string) *fieldSpec {
	for i := range fieldTable {
		if fieldTable[i].name == name {
			return &fieldTable[i]
		}
	}
	return nil
}

// trigger returns the session that triggered the change: the newest of the
// lead's recent sessions (LeadChange documents recent_sessions as newest
// first), or nil when there is none.
func trigger(ch *schemas.LeadChange) *schemas.Session {
	if len(ch.Lead.RecentSessions) == 0 {
		return nil
	}
	return &ch.Lead.RecentSessions[0]
}

func ptrStr(p *string) (string, bool) {
	if p == nil {
		return "", false
	}
	return *p, *p != ""
}

func ptrNum(p *float64) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return *p, true
}

func sessStr(ch *schemas.LeadChange, get func(*schemas.Session) *string) (string, bool) {
	s := trigger(ch)
	if s == nil {
		return "", false
	}
	return ptrStr(get(s))
}

// parseYear reads a year string as an integer: optional spaces around
// ASCII digits, at most 9 of them. Anything else is missing.
func parseYear(p *string) (float64, bool) {
	if p == nil {
		return 0, false
	}
	s := *p
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return float64(n), true
}

func profile(name string, get func(*schemas.Profiles) *schemas.Profile) []fieldSpec {
	return []fieldSpec{
		{name: "company.profiles." + name + ".handle", typ: TypeString, nullable: true,
			doc: "the company's " + name + " handle",
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(get(&ch.Lead.Company.Profiles).Handle) }},
		{name: "company.profiles." + name + ".url", typ: TypeString, nullable: true,
			doc: "the company's " + name + " profile URL",
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(get(&ch.Lead.Company.Profiles).URL) }},
	}
}

// fieldTable lists every field. It is read-only after package
// initialisation.
var fieldTable = concatFields(
	[]fieldSpec{
		{name: "company.name", typ: TypeString, doc: "the company's name",
			str: func(ch *schemas.LeadChange) (string, bool) { return ch.Lead.Company.Name, ch.Lead.Company.Name != "" }},
		{name: "company.domain", typ: TypeString, doc: "the company's primary domain, lower case",
			str: func(ch *schemas.LeadChange) (string, bool) {
				return ch.Lead.Company.Domain, ch.Lead.Company.Domain != ""
			}},
		{name: "company.website", typ: TypeString, nullable: true, doc: "the company's site URL",
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.Website) }},
		{name: "company.industry", typ: TypeString, nullable: true, doc: `the industry, e.g. "Machinery"`,
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.Industry) }},
		{name: "company.founded_year", typ: TypeYear, nullable: true,
			doc: `the founding year, a string such as "1991" in the payload; numeric operators read it as an integer`,
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.FoundedYear) },
			num: func(ch *schemas.LeadChange) (float64, bool) { return parseYear(ch.Lead.Company.FoundedYear) }},
		{name: "company.employee_range", typ: TypeString, nullable: true, doc: `e.g. "51-200 employees"`,
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.EmployeeRange) }},
		{name: "company.annual_revenue", typ: TypeNumber, nullable: true, doc: "annual revenue in USD",
			num: func(ch *schemas.LeadChange) (float64, bool) { return ptrNum(ch.Lead.Company.AnnualRevenue) }},
		{name: "company.total_funding", typ: TypeNumber, nullable: true, doc: "total funding in USD",
			num: func(ch *schemas.LeadChange) (float64, bool) { return ptrNum(ch.Lead.Company.TotalFunding) }},
		{name: "company.location", typ: TypeString, nullable: true, doc: "the headquarters address on one line",
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.Location) }},
		{name: "company.description", typ: TypeString, nullable: true, doc: "free-text description",
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.Description) }},
		{name: "company.geo.country", typ: TypeString, nullable: true, doc: "headquarters country name",
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.Geo.Country) }},
		{name: "company.geo.country_code", typ: TypeString, nullable: true, doc: `headquarters ISO country code, e.g. "FI"`,
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.Geo.CountryCode) }},
		{name: "company.geo.state", typ: TypeString, nullable: true, doc: "headquarters state or region",
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.Geo.State) }},
		{name: "company.geo.state_code", typ: TypeString, nullable: true, doc: "headquarters state code",
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.Geo.StateCode) }},
		{name: "company.geo.postal_code", typ: TypeString, nullable: true, doc: "headquarters postal code",
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.Geo.PostalCode) }},
		{name: "company.geo.city", typ: TypeString, nullable: true, doc: "headquarters city",
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.Geo.City) }},
		{name: "company.geo.street", typ: TypeString, nullable: true, doc: "headquarters street",
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.Geo.Street) }},
		{name: "company.geo.street_number", typ: TypeString, nullable: true, doc: "headquarters street number",
			str: func(ch *schemas.LeadChange) (string, bool) { return ptrStr(ch.Lead.Company.Geo.StreetNumber) }},
	},
	profile("crunchbase", func(p *schemas.Profiles) *schemas.Profile { return &p.Crunchbase }),
	profile("linkedin", func(p *schemas.Profiles) *schemas.Profile { return &p.LinkedIn }),
	profile("facebook", func(p *schemas.Profiles) *schemas.Profile { return &p.Facebook }),
	profile("twitter", func(p *schemas.Profiles) *schemas.Profile { return &p.Twitter }),
	profile("instagram", func(p *schemas.Profiles) *schemas.Profile { return &p.Instagram }),
	profile("youtube", func(p *schemas.Profiles) *schemas.Profile { return &p.YouTube }),
	[]fieldSpec{
		{name: "lead.id", typ: TypeNumber, doc: "the lead's numeric id",
			num: func(ch *schemas.LeadChange) (float64, bool) { return float64(ch.Lead.ID), true }},
		{name: "lead.first_seen", typ: TypeTime, nullable: true, doc: "the time of the lead's first hit",
			tim: func(ch *schemas.LeadChange) (time.Time, bool) {
				return ch.Lead.FirstSeen.Time, !ch.Lead.FirstSeen.IsZero()
			}},
		{name: "lead.last_seen", typ: TypeTime, nullable: true, doc: "the time of the lead's latest hit",
			tim: func(ch *schemas.LeadChange) (time.Time, bool) {
				return ch.Lead.LastSeen.Time, !ch.Lead.LastSeen.IsZero()
			}},
		{name: "lead.sessions_count", typ: TypeNumber, doc: "the lead's sessions over its whole history",
			num: func(ch *schemas.LeadChange) (float64, bool) { return float64(ch.Stats.Sessions), true }},
		{name: "lead.pageviews_count", typ: TypeNumber, doc: "the lead's pageviews over its whole history",
			num: func(ch *schemas.LeadChange) (float64, bool) { return float64(ch.Stats.Pageviews), true }},
		{name: "lead.total_duration", typ: TypeNumber, doc: "the lead's seconds on site over its whole history",
			num: func(ch *schemas.LeadChange) (float64, bool) { return float64(ch.Stats.TotalDuration), true }},

		{name: "session.started_at", typ: TypeTime, nullable: true, doc: "the time of the triggering session's first hit",
			tim: func(ch *schemas.LeadChange) (time.Time, bool) {
				if s := trigger(ch); s != nil && !s.StartedAt.IsZero() {
					return s.StartedAt.Time, true
				}
				return time.Time{}, false
			}},
		{name: "session.source", typ: TypeString, nullable: true, doc: "the referrer of the session's first hit; null for direct traffic",
			str: func(ch *schemas.LeadChange) (string, bool) {
				return sessStr(ch, func(s *schemas.Session) *string { return s.Source })
			}},
		{name: "session.browser", typ: TypeString, nullable: true, doc: `e.g. "Safari"`,
			str: func(ch *schemas.LeadChange) (string, bool) {
				return sessStr(ch, func(s *schemas.Session) *string { return s.Browser })
			}},
		{name: "session.device_type", typ: TypeString, nullable: true, doc: `"desktop", "mobile" or "tablet"`,
			str: func(ch *schemas.LeadChange) (string, bool) {
				return sessStr(ch, func(s *schemas.Session) *string { return s.DeviceType })
			}},
		{name: "session.operating_system", typ: TypeString, nullable: true, doc: `e.g. "Mac OS"`,
			str: func(ch *schemas.LeadChange) (string, bool) {
				return sessStr(ch, func(s *schemas.Session) *string { return s.OperatingSystem })
			}},
		{name: "session.total_duration", typ: TypeNumber, nullable: true, doc: "the triggering session's seconds on site",
			num: func(ch *schemas.LeadChange) (float64, bool) {
				if s := trigger(ch); s != nil {
					return float64(s.TotalDuration), true
				}
				return 0, false
			}},
		{name: "session.pageviews_count", typ: TypeNumber, nullable: true, doc: "the triggering session's pageviews",
			num: func(ch *schemas.LeadChange) (float64, bool) {
				if s := trigger(ch); s != nil {
					return float64(len(s.Pageviews)), true
				}
				return 0, false
			}},
		{name: "session.location.city", typ: TypeString, nullable: true, doc: "the visitor's city (from the IP)",
			str: func(ch *schemas.LeadChange) (string, bool) {
				return sessStr(ch, func(s *schemas.Session) *string { return s.Location.City })
			}},
		{name: "session.location.country_code", typ: TypeString, nullable: true, doc: "the visitor's ISO country code (from the IP)",
			str: func(ch *schemas.LeadChange) (string, bool) {
				return sessStr(ch, func(s *schemas.Session) *string { return s.Location.CountryCode })
			}},
		{name: "session.location.region", typ: TypeString, nullable: true, doc: "the visitor's region (from the IP)",
			str: func(ch *schemas.LeadChange) (string, bool) {
				return sessStr(ch, func(s *schemas.Session) *string { return s.Location.Region })
			}},
		{name: "session.location.latitude", typ: TypeNumber, nullable: true, doc: "the visitor's latitude (from the IP)",
			num: func(ch *schemas.LeadChange) (float64, bool) {
				if s := trigger(ch); s != nil {
					return ptrNum(s.Location.Latitude)
				}
				return 0, false
			}},
		{name: "session.location.longitude", typ: TypeNumber, nullable: true, doc: "the visitor's longitude (from the IP)",
			num: func(ch *schemas.LeadChange) (float64, bool) {
				if s := trigger(ch); s != nil {
					return ptrNum(s.Location.Longitude)
				}
				return 0, false
			}},
		{name: "session.utm_source", typ: TypeString, nullable: true, doc: "utm_source of the session's landing page",
			str: func(ch *schemas.LeadChange) (string, bool) { return ch.Session.UTMSource, ch.Session.UTMSource != "" }},
		{name: "session.utm_medium", typ: TypeString, nullable: true, doc: "utm_medium of the session's landing page",
			str: func(ch *schemas.LeadChange) (string, bool) { return ch.Session.UTMMedium, ch.Session.UTMMedium != "" }},
		{name: "session.utm_campaign", typ: TypeString, nullable: true, doc: "utm_campaign of the session's landing page",
			str: func(ch *schemas.LeadChange) (string, bool) {
				return ch.Session.UTMCampaign, ch.Session.UTMCampaign != ""
			}},
		{name: "session.utm_term", typ: TypeString, nullable: true, doc: "utm_term of the session's landing page",
			str: func(ch *schemas.LeadChange) (string, bool) { return ch.Session.UTMTerm, ch.Session.UTMTerm != "" }},
		{name: "session.utm_content", typ: TypeString, nullable: true, doc: "utm_content of the session's landing page",
			str: func(ch *schemas.LeadChange) (string, bool) {
				return ch.Session.UTMContent, ch.Session.UTMContent != ""
			}},
		{name: "session.pageviews.path", typ: TypeString, nullable: true,
			doc: `any pageview's path, including "?" and the query string`,
			pv:  func(p *schemas.Pageview) string { return p.Path }},
		{name: "session.pageviews.url", typ: TypeString, nullable: true, doc: "any pageview's full URL",
			pv: func(p *schemas.Pageview) string { return p.URL }},
		{name: "session.pageviews.host", typ: TypeString, nullable: true, doc: `any pageview's host, e.g. "www.snitcher.com"`,
			pv: func(p *schemas.Pageview) string { return p.Host }},
	},
)

func concatFields(parts ...[]fieldSpec) []fieldSpec {
	var out []fieldSpec
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
