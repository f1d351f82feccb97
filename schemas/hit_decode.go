package schemas

import (
	"time"
	"unsafe"
)

// decodeHit decodes the JSON of a Hit into h (Hit.UnmarshalJSON), on
// shapeDecoder like the lead change, with one allocation for a hit without
// escapes (the copy of data that every string is a substring of) plus one for
// its Location, if any. The leads stage decodes every hit with it, so it keeps
// the semantics of the stage's former scanner (stages/leads/hitscan.go),
// which differ from the lead change's (top of change_decode.go) in these
// points:
//
//   - The top-level value must be an object: null is an error, not an empty
//     hit.
//   - Strings may hold invalid UTF-8, kept byte for byte (the lead change
//     decoder rejects it; Hit.AppendJSON never writes it).
//   - timestamp is a JSON string whose decoded value (escapes allowed) is
//     parsed as time.Parse(time.RFC3339, ...) parses, zone kept (not made
//     UTC); null leaves it zero.
//
// The rest is as for the lead change: keys match exactly; unknown keys are
// skipped, their values valid JSON nested at most 64 deep; missing keys and
// null leave zero values, except that null sets Location to nil; the last of
// repeated keys wins (a repeated location replaces the earlier one as a
// whole); time_spent must be a whole number in int64's range; a value of the
// wrong type is an error; nothing but white space may follow the object.
// Errors are *DecodeError.
func decodeHit(data []byte, h *Hit, share bool) error {
	*h = Hit{}
	var d shapeDecoder
	if share {
		d.src = unsafe.String(unsafe.SliceData(data), len(data)) // only read (Hit.DecodeShared)
	} else {
		d.src = string(data)
	}
	d.rawUTF8 = true
	d.skipWS()
	d.hit(h)
	return d.finish()
}

// hit decodes a Hit into the zero *h.
func (d *shapeDecoder) hit(h *Hit) {
	switch d.peek() {
	case '{':
	case 'n':
		d.fail("must be an object, not null")
		return
	default:
		d.wrongType("must be an object")
		return
	}
	d.object()
	for key, ok := d.member(); ok; key, ok = d.member() {
		switch key {
		case "event_id":
			d.str(&h.EventID)
		case "workspace_id":
			d.str(&h.WorkspaceID)
		case "session_id":
			d.str(&h.SessionID)
		case "visitor_id":
			d.str(&h.VisitorID)
		case "type":
			d.str(&h.Type)
		case "timestamp":
			d.hitTime(&h.Timestamp)
		case "url":
			d.str(&h.URL)
		case "host":
			d.str(&h.Host)
		case "path":
			d.str(&h.Path)
		case "referrer":
			d.str(&h.Referrer)
		case "time_spent":
			d.int(&h.TimeSpent)
		case "utm_source":
			d.str(&h.UTMSource)
		case "utm_medium":
			d.str(&h.UTMMedium)
		case "utm_campaign":
			d.str(&h.UTMCampaign)
		case "utm_term":
			d.str(&h.UTMTerm)
		case "utm_content":
			d.str(&h.UTMContent)
		case "browser":
			d.str(&h.Browser)
		case "operating_system":
			d.str(&h.OperatingSystem)
		case "device_type":
			d.str(&h.DeviceType)
		case "location":
			d.hitLocation(&h.Location)
		case "company_domain":
			d.str(&h.CompanyDomain)
		case "network_type":
			d.str(&h.NetworkType)
		default:
			d.skip()
		}
	}
}

// hitTime decodes Hit.Timestamp: a string, escapes decoded, parsed as RFC
// 3339 with its zone kept; null leaves *p as it is.
func (d *shapeDecoder) hitTime(p *time.Time) {
	start := d.pos
	v, null, ok := d.stringOrNull("must be a string")
	if !ok || null {
		return
	}
	t, err := parseRFC3339(v)
	if err != nil {
		d.failAt(start, "not an RFC 3339 time", err)
		return
	}
	*p = t
}

// locationBox holds a hit's Location and what its pointers point to, in one
// allocation.
type locationBox struct {
	loc  Location
	strs [3]string
	nums [2]float64
}

// hitLocation decodes Hit.Location: an object into a new locationBox, or
// null (nil).
func (d *shapeDecoder) hitLocation(p **Location) {
	switch d.peek() {
	case '{':
	case 'n':
		if d.null(); d.err == nil {
			*p = nil
		}
		return
	default:
		d.wrongType("must be an object or null")
		return
	}
	box := &locationBox{}
	// location's nullStr and nullFloat take their targets from these; only
	// a key repeated inside the object outgrows them (into a new slab).
	d.strs, d.nums = box.strs[:0], box.nums[:0]
	d.location(&box.loc)
	*p = &box.loc
}
