package schemas

import (
	"strconv"
	"strings"
	"unsafe"
)

// This file holds the hand-written decoder of the lead change and its parts
// (LeadChange, Lead, Company and what they hold), and DecodeChangeHead. The
// shape is fixed, so it is decoded by one function per type, without
// reflection, on shapeDecoder (shapedecode.go), which reads JSON with the
// package's scanner (scanner.go). Calls nest only as deep as the shape;
// unknown values are skipped iteratively.
//
// Semantics, the same for every entry point:
//
//   - Keys match exactly (encoding/json and goccy/go-json also match keys
//     case-insensitively; the leads stage never writes such keys).
//   - Unknown keys are skipped; their values must still be valid JSON,
//     nested at most 64 deep.
//   - Missing keys leave zero values. null leaves a non-pointer member as
//     it is (zero), sets a pointer member and a slice to nil; [] is an
//     empty, non-nil slice. So values are what encoding/json gives.
//   - A key that appears twice: the last value replaces the earlier one
//     (objects and arrays as a whole; encoding/json would merge objects).
//   - Strings share one copy of the input, except those with escapes.
//     Strings with invalid UTF-8 are rejected (encoding/json replaces the
//     bytes with U+FFFD); lone surrogates in \u escapes become U+FFFD.
//   - Times are parsed from the bytes between the quotes, as the time types'
//     UnmarshalJSON methods do: Timestamp accepts RFC 3339 and yields UTC,
//     SessionTime needs SessionTimeLayout, LeadChange.EventTime is parsed
//     as time.Time.UnmarshalJSON parses (RFC 3339, zone kept).
//   - Every other problem, including a value of the wrong type or a number
//     out of range, is a *DecodeError, and nothing may follow the
//     top-level value but white space.

// DecodeError is the error of LeadChange.UnmarshalJSON, Lead.UnmarshalJSON,
// Company.UnmarshalJSON, Hit.UnmarshalJSON and DecodeChangeHead: the input is
// not JSON, or a member has the wrong type or a value that does not parse.
type DecodeError struct {
	// Offset is the byte offset in the input where the problem was found
	// (for a wrong or unparsable value: where the value starts).
	Offset int
	// Path is the member being decoded when the problem was found, from the
	// top-level object down, e.g. "lead.recent_sessions[0].visited_at"; it
	// is empty at the top level. Keys are cut to 64 bytes.
	Path string
	// Reason is a short phrase, e.g. "must be a string".
	Reason string
	// Err is the value parser's error (*time.ParseError or
	// *strconv.NumError), or nil.
	Err error
}

// Error returns e.g. `JSON at offset 17 (lead.id): must be a number`.
func (e *DecodeError) Error() string {
	msg := "JSON at offset " + strconv.Itoa(e.Offset)
	if e.Path != "" {
		msg += " (" + e.Path + ")"
	}
	msg += ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns Err.
func (e *DecodeError) Unwrap() error { return e.Err }

// ChangeHead is the head of a lead change: the members of LeadChange that
// say which claims the change concerns (see DecodeChangeHead).
type ChangeHead struct {
	// WorkspaceID is LeadChange.WorkspaceID.
	WorkspaceID string
	// LeadKey is LeadChange.LeadKey.
	LeadKey string
	// SessionKey is LeadChange.SessionKey.
	SessionKey string
	// EventID is LeadChange.EventID.
	EventID string
}

// DecodeChangeHead decodes the head of the lead change in data into h,
// overwriting all of h, without decoding the rest: it reads the top-level
// object's members in order, skipping all but workspace_id, lead_key,
// session_key and event_id, and stops as soon as it has seen those four. The
// leads stage writes them right after "kind", so the head costs a small
// fraction of a full decode. What follows is not read, so DecodeChangeHead
// may accept a document that LeadChange.UnmarshalJSON rejects.
//
// A document whose object ends before all four are seen is read to its end
// (the other members' values only need to be JSON, and nothing but white
// space may follow the object), and the members it lacks are left "", as
// are null members and all four for a null document. Every problem up to
// where it stops is a *DecodeError. The four strings in h are one copy (one
// allocation), not sharing data's memory. Safe for concurrent use.
func DecodeChangeHead(data []byte, h *ChangeHead) error {
	*h = ChangeHead{}
	var d shapeDecoder
	// The scanner only reads, and every string kept from it is copied
	// below (and in a DecodeError's path) before data can change: so it
	// may scan data in place instead of a copy of a multi-KB document.
	d.src = unsafe.String(unsafe.SliceData(data), len(data))
	d.skipWS()
	var v [4]string
	var seen uint8
	if d.object() {
		for key, ok := d.member(); ok; key, ok = d.member() {
			var i int
			switch key {
			case "workspace_id":
				i = 0
			case "lead_key":
				i = 1
			case "session_key":
				i = 2
			case "event_id":
				i = 3
			default:
				d.skip()
				continue
			}
			d.str(&v[i])
			if seen |= 1 << i; seen == 0xf {
				break
			}
		}
	}
	if d.err != nil || seen != 0xf {
		if err := d.finish(); err != nil {
			return err
		}
	}
	var b strings.Builder
	b.Grow(len(v[0]) + len(v[1]) + len(v[2]) + len(v[3]))
	for _, s := range v {
		b.WriteString(s)
	}
	all := b.String()
	n0, n1, n2 := len(v[0]), len(v[0])+len(v[1]), len(v[0])+len(v[1])+len(v[2])
	h.WorkspaceID, h.LeadKey, h.SessionKey, h.EventID = all[:n0], all[n0:n1], all[n1:n2], all[n2:]
	return nil
}

// ChangeCompanyJSON returns the JSON of the lead change's lead.company
// member as it stands in data (a subslice of data, nil when the member is
// missing or null), without decoding anything else: it skips the members
// before it (the leads stage writes the company early, before the
// sessions) and stops there. The evaluate stage hashes it to know whether
// a lead's company changed. What follows is not read, so it may accept a
// document that LeadChange.UnmarshalJSON rejects; every problem up to
// where it stops is a *DecodeError. Safe for concurrent use.
func ChangeCompanyJSON(data []byte) ([]byte, error) {
	var d shapeDecoder
	// The scanner only reads; the result is a subslice of data.
	d.src = unsafe.String(unsafe.SliceData(data), len(data))
	d.skipWS()
	if d.object() {
		for key, ok := d.member(); ok; key, ok = d.member() {
			if key != "lead" {
				d.skip()
				continue
			}
			if !d.object() {
				break // null lead; or an error
			}
			for key, ok := d.member(); ok; key, ok = d.member() {
				if key != "company" {
					d.skip()
					continue
				}
				switch d.peek() {
				case 'n':
					d.null()
				case '{':
					start := d.pos
					d.skip()
					if d.err == nil {
						return data[start:d.pos:d.pos], nil
					}
				default:
					d.wrongType("must be an object")
				}
				break
			}
			break
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return nil, nil
}

// UnmarshalJSON implements json.Unmarshaler with the package's hand-written
// decoder (see the top of change_decode.go for its semantics): it resets c,
// and c's strings share one copy of data. Errors are *DecodeError.
func (c *LeadChange) UnmarshalJSON(data []byte) error { return decodeChange(data, c, false, false) }

// DecodeChangeShared is LeadChange.UnmarshalJSON (DecodeChangeWithoutSessions
// with skipSessions) except that c's strings share data's bytes instead of
// a copy of them: for a caller that copies what it keeps of c and is done
// with c before anything writes to data again (the evaluate stage, whose
// records' buffers are lent again once their batch is finished:
// pipeline.RecordRecycler).
func DecodeChangeShared(data []byte, c *LeadChange, skipSessions bool) error {
	return decodeChange(data, c, skipSessions, true)
}

// DecodeChangeWithoutSessions is LeadChange.UnmarshalJSON except that it
// skips lead.recent_sessions (its value must still be JSON) and leaves
// c.Lead.RecentSessions nil: the evaluate stage reads what a segment filter
// that tests no session field needs at a fraction of the cost, and decodes
// the whole change only when an automation fires.
func DecodeChangeWithoutSessions(data []byte, c *LeadChange) error {
	return decodeChange(data, c, true, false)
}

// decodeChange decodes data into c, skipping the lead's recent sessions
// when skipSessions is set; c's strings share data's bytes with share,
// else one copy of them.
func decodeChange(data []byte, c *LeadChange, skipSessions, share bool) error {
	*c = LeadChange{}
	d := shapeDecoder{skipSessions: skipSessions}
	if share {
		d.src = unsafe.String(unsafe.SliceData(data), len(data)) // only read (DecodeChangeShared)
	} else {
		d.src = string(data)
	}
	d.skipWS()
	d.change(c)
	return d.finish()
}

// decodeLead decodes data into l (Lead.UnmarshalJSON).
func decodeLead(data []byte, l *Lead) error {
	*l = Lead{}
	d := shapeDecoder{}
	d.src = string(data)
	d.skipWS()
	d.lead(l)
	return d.finish()
}

// decodeCompany decodes data into c (Company.UnmarshalJSON).
func decodeCompany(data []byte, c *Company) error {
	*c = Company{}
	d := shapeDecoder{}
	d.src = string(data)
	d.skipWS()
	d.company(c)
	return d.finish()
}

// change decodes a LeadChange.
func (d *shapeDecoder) change(c *LeadChange) {
	if !d.object() {
		return
	}
	*c = LeadChange{}
	for key, ok := d.member(); ok; key, ok = d.member() {
		switch key {
		case "kind":
			d.str(&c.Kind)
		case "workspace_id":
			d.str(&c.WorkspaceID)
		case "lead_key":
			d.str(&c.LeadKey)
		case "session_key":
			d.str(&c.SessionKey)
		case "event_id":
			d.str(&c.EventID)
		case "event_time":
			d.rfc3339(&c.EventTime)
		case "stats":
			d.stats(&c.Stats)
		case "session":
			d.sessionFacts(&c.Session)
		case "lead":
			d.lead(&c.Lead)
		case "company_ref":
			d.boolean(&c.CompanyRef)
		case "older_sessions":
			if d.skipSessions {
				d.skip()
				continue
			}
			d.sessionRefs(&c.OlderSessions)
		default:
			d.skip()
		}
	}
}

// sessionRefs decodes a []SessionRef.
func (d *shapeDecoder) sessionRefs(p *[]SessionRef) {
	*p = nil
	if !d.array() {
		return
	}
	*p = []SessionRef{}
	for d.element() {
		*p = append(*p, SessionRef{})
		d.sessionRef(&(*p)[len(*p)-1])
	}
}

// sessionRef decodes a SessionRef into the zero *r.
func (d *shapeDecoder) sessionRef(r *SessionRef) {
	if !d.object() {
		return
	}
	for key, ok := d.member(); ok; key, ok = d.member() {
		switch key {
		case "seq":
			d.int(&r.Seq)
		case "started_at":
			d.int(&r.StartedAt)
		case "total_duration":
			d.int(&r.TotalDuration)
		case "pageviews":
			d.int(&r.Pageviews)
		case "time_spent":
			d.ints(&r.TimeSpent)
		default:
			d.skip()
		}
	}
}

// ints decodes a []int64 (null decodes as nil).
func (d *shapeDecoder) ints(p *[]int64) {
	*p = nil
	if !d.array() {
		return
	}
	*p = []int64{}
	for d.element() {
		var v int64
		d.int(&v)
		*p = append(*p, v)
	}
}

// stats decodes LeadStats.
func (d *shapeDecoder) stats(s *LeadStats) {
	if !d.object() {
		return
	}
	*s = LeadStats{}
	for key, ok := d.member(); ok; key, ok = d.member() {
		switch key {
		case "sessions":
			d.int(&s.Sessions)
		case "pageviews":
			d.int(&s.Pageviews)
		case "total_duration":
			d.int(&s.TotalDuration)
		default:
			d.skip()
		}
	}
}

// sessionFacts decodes SessionFacts.
func (d *shapeDecoder) sessionFacts(f *SessionFacts) {
	if !d.object() {
		return
	}
	*f = SessionFacts{}
	for key, ok := d.member(); ok; key, ok = d.member() {
		switch key {
		case "utm_source":
			d.str(&f.UTMSource)
		case "utm_medium":
			d.str(&f.UTMMedium)
		case "utm_campaign":
			d.str(&f.UTMCampaign)
		case "utm_term":
			d.str(&f.UTMTerm)
		case "utm_content":
			d.str(&f.UTMContent)
		default:
			d.skip()
		}
	}
}

// lead decodes a Lead.
func (d *shapeDecoder) lead(l *Lead) {
	if !d.object() {
		return
	}
	*l = Lead{}
	for key, ok := d.member(); ok; key, ok = d.member() {
		switch key {
		case "id":
			d.int(&l.ID)
		case "first_seen":
			d.timestamp(&l.FirstSeen)
		case "last_seen":
			d.timestamp(&l.LastSeen)
		case "company":
			d.company(&l.Company)
		case "recent_sessions":
			if d.skipSessions {
				d.skip()
				continue
			}
			d.sessions(&l.RecentSessions)
		default:
			d.skip()
		}
	}
}

// sessions decodes a []Session: sessionBuf of them are decoded on the stack
// and then copied into one allocation of the right size.
func (d *shapeDecoder) sessions(p *[]Session) {
	*p = nil
	if !d.array() {
		return
	}
	var buf [sessionBuf]Session
	ss := buf[:0]
	for d.element() {
		ss = append(ss, Session{})
		d.session(&ss[len(ss)-1])
	}
	if len(ss) == 0 {
		*p = []Session{}
		return
	}
	*p = append(make([]Session, 0, len(ss)), ss...)
}

// session decodes a Session into the zero *s.
func (d *shapeDecoder) session(s *Session) {
	if !d.object() {
		return
	}
	for key, ok := d.member(); ok; key, ok = d.member() {
		switch key {
		case "started_at":
			d.sessionTime(&s.StartedAt)
		case "source":
			d.nullStr(&s.Source)
		case "browser":
			d.nullStr(&s.Browser)
		case "device_type":
			d.nullStr(&s.DeviceType)
		case "operating_system":
			d.nullStr(&s.OperatingSystem)
		case "pageviews":
			d.pageviews(&s.Pageviews)
		case "total_duration":
			d.int(&s.TotalDuration)
		case "location":
			d.location(&s.Location)
		default:
			d.skip()
		}
	}
}

// pageviews decodes a []Pageview into the decoder's pageview slab, which
// all sessions share (the first is sized by the input's length): when the
// slab is full, this array's pageviews move to a new one twice as large.
// The result's capacity is its length, so that appending to it never writes
// into the slab.
func (d *shapeDecoder) pageviews(p *[]Pageview) {
	*p = nil
	if !d.array() {
		return
	}
	start := len(d.pvs)
	for d.element() {
		if len(d.pvs) == cap(d.pvs) {
			size := 2 * cap(d.pvs)
			if size == 0 {
				size = min(max(len(d.src)/pageviewSlabBytes, 4), 64)
			}
			slab := make([]Pageview, len(d.pvs)-start, size)
			copy(slab, d.pvs[start:])
			d.pvs, start = slab, 0
		}
		d.pvs = append(d.pvs, Pageview{})
		d.pageview(&d.pvs[len(d.pvs)-1])
	}
	if len(d.pvs) == start {
		*p = []Pageview{}
		return
	}
	*p = d.pvs[start:len(d.pvs):len(d.pvs)]
}

// pageview decodes a Pageview into the zero *v.
func (d *shapeDecoder) pageview(v *Pageview) {
	if !d.object() {
		return
	}
	for key, ok := d.member(); ok; key, ok = d.member() {
		switch key {
		case "url":
			d.str(&v.URL)
		case "host":
			d.str(&v.Host)
		case "path":
			d.str(&v.Path)
		case "time_spent":
			d.int(&v.TimeSpent)
		case "visited_at":
			d.sessionTime(&v.VisitedAt)
		default:
			d.skip()
		}
	}
}

// location decodes a Location.
func (d *shapeDecoder) location(l *Location) {
	if !d.object() {
		return
	}
	*l = Location{}
	for key, ok := d.member(); ok; key, ok = d.member() {
		switch key {
		case "city":
			d.nullStr(&l.City)
		case "country_code":
			d.nullStr(&l.CountryCode)
		case "region":
			d.nullStr(&l.Region)
		case "latitude":
			d.nullFloat(&l.Latitude)
		case "longitude":
			d.nullFloat(&l.Longitude)
		default:
			d.skip()
		}
	}
}
