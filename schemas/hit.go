package schemas

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Network types of an IP address, as the IP database's network_type.
const (
	// NetworkBusiness is a company's own network; only it makes leads.
	NetworkBusiness = "business"
	// NetworkISP is a consumer or mobile access network.
	NetworkISP = "isp"
	// NetworkHosting is a data centre or cloud network.
	NetworkHosting = "hosting"
	// NetworkEducation is a school or university network.
	NetworkEducation = "education"
)

// Hit is an enriched hit: the enrich stage's output to topic leadflow.hits,
// keyed by LeadKey(WorkspaceID, CompanyDomain). It is internal, plain
// snake_case JSON; empty optional strings, a zero TimeSpent and a nil
// Location are left out.
type Hit struct {
	// EventID, WorkspaceID, SessionID, VisitorID, Type, Referrer and
	// TimeSpent are copied from the RawEvent.
	EventID     string `json:"event_id"`
	WorkspaceID string `json:"workspace_id"`
	SessionID   string `json:"session_id"`
	VisitorID   string `json:"visitor_id,omitempty"`
	Type        string `json:"type"`
	// Timestamp is the RawEvent's Time (UTC); it encodes as RFC 3339 with
	// nanoseconds.
	Timestamp time.Time `json:"timestamp"`
	// URL is the page URL as tracked.
	URL string `json:"url"`
	// Host is the URL's host (with port, if any), e.g. "www.snitcher.com".
	Host string `json:"host"`
	// Path is the URL's escaped path ("/" if empty) plus "?" and the raw
	// query when there is one, as the guide's pageview path shows.
	Path      string `json:"path"`
	Referrer  string `json:"referrer,omitempty"`
	TimeSpent int64  `json:"time_spent,omitempty"`
	// UTMSource, UTMMedium, UTMCampaign, UTMTerm and UTMContent are the
	// URL's utm_* parameters (see RawEvent.Hit).
	UTMSource   string `json:"utm_source,omitempty"`
	UTMMedium   string `json:"utm_medium,omitempty"`
	UTMCampaign string `json:"utm_campaign,omitempty"`
	UTMTerm     string `json:"utm_term,omitempty"`
	UTMContent  string `json:"utm_content,omitempty"`
	// Browser, OperatingSystem and DeviceType read as in the guide
	// ("Safari", "Mac OS", "desktop"); empty when unknown.
	Browser         string `json:"browser,omitempty"`
	OperatingSystem string `json:"operating_system,omitempty"`
	DeviceType      string `json:"device_type,omitempty"`
	// Location is the visitor's geolocation, nil when unknown.
	Location *Location `json:"location,omitempty"`
	// CompanyDomain is the company the IP belongs to.
	CompanyDomain string `json:"company_domain"`
	// NetworkType is one of the Network* constants, empty when the IP is
	// unknown.
	NetworkType string `json:"network_type,omitempty"`
}

// LeadKey returns the record key of a hit: workspaceID + "|" + domain.
// Domains never contain '|', so the key splits at its last '|'.
func LeadKey(workspaceID, domain string) string {
	return workspaceID + "|" + domain
}

// AppendLeadKey appends LeadKey(workspaceID, domain) to dst.
func AppendLeadKey(dst []byte, workspaceID, domain string) []byte {
	dst = append(dst, workspaceID...)
	dst = append(dst, '|')
	return append(dst, domain...)
}

// AppendKey appends the hit's record key to dst (see LeadKey).
func (h *Hit) AppendKey(dst []byte) []byte {
	return AppendLeadKey(dst, h.WorkspaceID, h.CompanyDomain)
}

// AppendJSON appends the hit as JSON to dst.
func (h *Hit) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"event_id":`...)
	dst = appendString(dst, h.EventID)
	dst = append(dst, `,"workspace_id":`...)
	dst = appendString(dst, h.WorkspaceID)
	dst = append(dst, `,"session_id":`...)
	dst = appendString(dst, h.SessionID)
	dst = appendOptional(dst, `,"visitor_id":`, h.VisitorID)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, h.Type)
	dst = append(dst, `,"timestamp":"`...)
	dst = h.Timestamp.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","url":`...)
	dst = appendString(dst, h.URL)
	dst = append(dst, `,"host":`...)
	dst = appendString(dst, h.Host)
	dst = append(dst, `,"path":`...)
	dst = appendString(dst, h.Path)
	dst = appendOptional(dst, `,"referrer":`, h.Referrer)
	if h.TimeSpent != 0 {
		dst = append(dst, `,"time_spent":`...)
		dst = strconv.AppendInt(dst, h.TimeSpent, 10)
	}
	dst = appendOptional(dst, `,"utm_source":`, h.UTMSource)
	dst = appendOptional(dst, `,"utm_medium":`, h.UTMMedium)
	dst = appendOptional(dst, `,"utm_campaign":`, h.UTMCampaign)
	dst = appendOptional(dst, `,"utm_term":`, h.UTMTerm)
	dst = appendOptional(dst, `,"utm_content":`, h.UTMContent)
	dst = appendOptional(dst, `,"browser":`, h.Browser)
	dst = appendOptional(dst, `,"operating_system":`, h.OperatingSystem)
	dst = appendOptional(dst, `,"device_type":`, h.DeviceType)
	if h.Location != nil {
		dst = append(dst, `,"location":`...)
		dst = h.Location.AppendJSON(dst)
	}
	dst = append(dst, `,"company_domain":`...)
	dst = appendString(dst, h.CompanyDomain)
	dst = appendOptional(dst, `,"network_type":`, h.NetworkType)
	return append(dst, '}')
}

// appendOptional appends key and the quoted v unless v is empty.
func appendOptional(dst []byte, key, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, key...)
	return appendString(dst, v)
}

// MarshalJSON implements json.Marshaler (AppendJSON).
func (h Hit) MarshalJSON() ([]byte, error) { return h.AppendJSON(nil), nil }

// UnmarshalJSON implements json.Unmarshaler with the package's hand-written
// decoder (semantics at decodeHit in hit_decode.go): it resets h, and h's
// strings share one copy of data. Errors are *DecodeError.
func (h *Hit) UnmarshalJSON(data []byte) error { return decodeHit(data, h, false) }

// DecodeShared decodes data into h as UnmarshalJSON does, but h's strings
// share data's bytes instead of a copy of them: for a caller that copies
// what it keeps of h and is done with h before anything writes to data
// again (the leads stage, whose records' buffers are lent again once
// their batch is finished: pipeline.RecordRecycler).
func (h *Hit) DecodeShared(data []byte) error { return decodeHit(data, h, true) }

// Hit returns a Hit with the event's own fields and the ones derived from
// its URL (Host, Path, UTM*) filled in. The enrich stage adds the rest:
// Browser, OperatingSystem, DeviceType, Location, CompanyDomain and
// NetworkType. The event should have been decoded or validated, so that
// PageURL is set; otherwise URL is parsed here (and left out if invalid).
func (e *RawEvent) Hit() Hit {
	h := Hit{
		EventID:     e.EventID,
		WorkspaceID: e.WorkspaceID,
		SessionID:   e.SessionID,
		VisitorID:   e.VisitorID,
		Type:        e.Type,
		Timestamp:   e.Time,
		URL:         e.URL,
		Referrer:    e.Referrer,
		TimeSpent:   e.TimeSpent,
	}
	page := e.PageURL
	if page.Host == "" {
		u, err := url.Parse(e.URL)
		if err != nil {
			return h
		}
		page = pageURLOf(u)
	}
	h.Host = page.Host
	h.Path = page.Path
	h.UTMSource, h.UTMMedium, h.UTMCampaign, h.UTMTerm, h.UTMContent = utmParams(page.RawQuery)
	return h
}

// PagePath returns a pageview's path as the guide shows it: the escaped path
// ("/" when empty) plus "?" and the raw query when there is one.
func PagePath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery == "" && !u.ForceQuery {
		return p
	}
	return p + "?" + u.RawQuery
}

// utmParams returns the first non-empty value of each utm_* parameter in a
// raw query (the guide's sample URL repeats utm_source; the first wins, as
// with url.Values.Get), without building a url.Values map. Values that fail
// to unescape are used raw.
func utmParams(rawQuery string) (source, medium, campaign, term, content string) {
	for rawQuery != "" {
		var kv string
		kv, rawQuery, _ = strings.Cut(rawQuery, "&")
		if !strings.HasPrefix(kv, "utm_") {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		var dst *string
		switch k {
		case "utm_source":
			dst = &source
		case "utm_medium":
			dst = &medium
		case "utm_campaign":
			dst = &campaign
		case "utm_term":
			dst = &term
		case "utm_content":
			dst = &content
		default:
			continue
		}
		if *dst != "" {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			if uv, err := url.QueryUnescape(v); err == nil {
				v = uv
			}
		}
		*dst = v
	}
	return source, medium, campaign, term, content
}
