package schemas

import "strconv"

// Lead is the subject of new_lead and new_session payloads, field for field
// as the guide's new_lead sample. Its company is written without "phone".
type Lead struct {
	// ID is the lead's numeric id, stable for a (workspace, company).
	ID int64 `json:"id"`
	// FirstSeen is the time of the lead's first hit.
	FirstSeen Timestamp `json:"first_seen"`
	// LastSeen is the time of the lead's latest hit.
	LastSeen Timestamp `json:"last_seen"`
	// Company is the visiting company.
	Company Company `json:"company"`
	// RecentSessions are the lead's most recent sessions, newest first (the
	// leads stage's order, see LeadChange). A nil slice encodes as [].
	RecentSessions []Session `json:"recent_sessions"`
}

// Session is one visit session of a lead.
type Session struct {
	// StartedAt is the time of the session's first hit.
	StartedAt SessionTime `json:"started_at"`
	// Source is the referrer of the session's first hit, or null (direct).
	Source *string `json:"source"`
	// Browser reads as in the guide, e.g. "Safari", "Chrome".
	Browser *string `json:"browser"`
	// DeviceType is "desktop", "mobile" or "tablet".
	DeviceType *string `json:"device_type"`
	// OperatingSystem reads as in the guide, e.g. "Mac OS", "Windows".
	OperatingSystem *string `json:"operating_system"`
	// Pageviews are the session's page views in visit order. A nil slice
	// encodes as [].
	Pageviews []Pageview `json:"pageviews"`
	// TotalDuration is the sum of the pageviews' time_spent, in seconds.
	TotalDuration int64 `json:"total_duration"`
	// Location is where the visitor was (from the IP), with null members
	// when unknown; the object itself is always present.
	Location Location `json:"location"`
}

// Pageview is one page view of a session.
type Pageview struct {
	// URL is the full page URL as tracked.
	URL string `json:"url"`
	// Host is the URL's host, e.g. "www.snitcher.com".
	Host string `json:"host"`
	// Path is the URL's path plus "?" and the raw query when there is one.
	Path string `json:"path"`
	// TimeSpent is the seconds spent on the page so far.
	TimeSpent int64 `json:"time_spent"`
	// VisitedAt is the time the page was opened.
	VisitedAt SessionTime `json:"visited_at"`
}

// Location is a visitor's geolocation (from the IP address): city, ISO
// country code, region and coordinates in degrees, e.g. Lahti / FI /
// Etela-Pohjanmaa / 63.216671 / 22.85. Every member is nullable: nil encodes
// as null.
type Location struct {
	City        *string  `json:"city"`
	CountryCode *string  `json:"country_code"`
	Region      *string  `json:"region"`
	Latitude    *float64 `json:"latitude"`
	Longitude   *float64 `json:"longitude"`
}

// AppendJSON appends the lead subject to dst.
func (l *Lead) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, l.ID, 10)
	dst = append(dst, `,"first_seen":`...)
	dst = l.FirstSeen.AppendJSON(dst)
	dst = append(dst, `,"last_seen":`...)
	dst = l.LastSeen.AppendJSON(dst)
	dst = append(dst, `,"company":`...)
	dst = l.Company.AppendLeadJSON(dst)
	dst = append(dst, `,"recent_sessions":[`...)
	for i := range l.RecentSessions {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = l.RecentSessions[i].AppendJSON(dst)
	}
	return append(dst, "]}"...)
}

// MarshalJSON implements json.Marshaler (AppendJSON).
func (l Lead) MarshalJSON() ([]byte, error) { return l.AppendJSON(make([]byte, 0, 2048)), nil }

// UnmarshalJSON implements json.Unmarshaler with the package's hand-written
// decoder (change_decode.go): it resets l; missing keys leave zero values,
// unknown keys are skipped (but must be valid JSON), and l's strings share
// one copy of data. Errors are *DecodeError.
func (l *Lead) UnmarshalJSON(data []byte) error { return decodeLead(data, l) }

// AppendJSON appends the session object to dst.
func (s *Session) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"started_at":`...)
	dst = s.StartedAt.AppendJSON(dst)
	dst = append(dst, `,"source":`...)
	dst = appendNullString(dst, s.Source)
	dst = append(dst, `,"browser":`...)
	dst = appendNullString(dst, s.Browser)
	dst = append(dst, `,"device_type":`...)
	dst = appendNullString(dst, s.DeviceType)
	dst = append(dst, `,"operating_system":`...)
	dst = appendNullString(dst, s.OperatingSystem)
	dst = append(dst, `,"pageviews":[`...)
	for i := range s.Pageviews {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = s.Pageviews[i].AppendJSON(dst)
	}
	dst = append(dst, `],"total_duration":`...)
	dst = strconv.AppendInt(dst, s.TotalDuration, 10)
	dst = append(dst, `,"location":`...)
	dst = s.Location.AppendJSON(dst)
	return append(dst, '}')
}

// MarshalJSON implements json.Marshaler (AppendJSON).
func (s Session) MarshalJSON() ([]byte, error) { return s.AppendJSON(nil), nil }

// AppendJSON appends the pageview object to dst.
func (p *Pageview) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"url":`...)
	dst = appendString(dst, p.URL)
	dst = append(dst, `,"host":`...)
	dst = appendString(dst, p.Host)
	dst = append(dst, `,"path":`...)
	dst = appendString(dst, p.Path)
	dst = append(dst, `,"time_spent":`...)
	dst = strconv.AppendInt(dst, p.TimeSpent, 10)
	dst = append(dst, `,"visited_at":`...)
	dst = p.VisitedAt.AppendJSON(dst)
	return append(dst, '}')
}

// AppendJSON appends the location object to dst.
func (l *Location) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"city":`...)
	dst = appendNullString(dst, l.City)
	dst = append(dst, `,"country_code":`...)
	dst = appendNullString(dst, l.CountryCode)
	dst = append(dst, `,"region":`...)
	dst = appendNullString(dst, l.Region)
	dst = append(dst, `,"latitude":`...)
	dst = appendNullFloat(dst, l.Latitude)
	dst = append(dst, `,"longitude":`...)
	dst = appendNullFloat(dst, l.Longitude)
	return append(dst, '}')
}
