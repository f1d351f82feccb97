package schemas

import (
	"net/netip"
	"strconv"
	"time"
	"unsafe"
)

// Limits of the raw-event decoder.
const (
	// DefaultMaxEventBytes is the default size limit of one raw event
	// (64 KiB); larger input fails with ErrTooLarge before it is parsed.
	DefaultMaxEventBytes = 64 << 10
	// MaxIDBytes caps event_id, workspace_id, session_id and visitor_id.
	MaxIDBytes = 128
	// MaxURLBytes caps url and referrer (8 KiB).
	MaxURLBytes = 8 << 10
	// MaxUserAgentBytes caps user_agent (1 KiB).
	MaxUserAgentBytes = 1 << 10
	// MaxTimeSpent caps time_spent: 7 days, in seconds.
	MaxTimeSpent = 7 * 24 * 60 * 60
	// maxShortBytes caps ip and timestamp before they are parsed.
	maxShortBytes = 64
)

// Values of RawEvent.Type.
const (
	// TypePageview means a page was opened.
	TypePageview = "pageview"
	// TypePing means the time spent on the current page grew; TimeSpent is
	// the page's total seconds so far.
	TypePing = "ping"
)

// RawEvent is one tracked hit from topic leadflow.sessions.raw (DESIGN 1.2).
// The string fields hold the values as sent; the decoder also fills Time,
// Addr and PageURL from them so later stages never parse them again.
type RawEvent struct {
	// EventID is unique per hit; replays of it must not double count.
	// Required, at most MaxIDBytes.
	EventID string `json:"event_id"`
	// WorkspaceID is the tracked workspace. Required, at most MaxIDBytes.
	WorkspaceID string `json:"workspace_id"`
	// SessionID is the tracker's session (also the record key). Required,
	// at most MaxIDBytes.
	SessionID string `json:"session_id"`
	// VisitorID is the tracker's visitor cookie. Optional, at most
	// MaxIDBytes.
	VisitorID string `json:"visitor_id"`
	// Type is TypePageview or TypePing. Required.
	Type string `json:"type"`
	// IP is the visitor's IPv4 or IPv6 address as sent. Required.
	IP string `json:"ip"`
	// UserAgent is the browser's User-Agent. Optional, at most
	// MaxUserAgentBytes.
	UserAgent string `json:"user_agent"`
	// URL is the page's absolute http(s) URL. Required, at most MaxURLBytes.
	URL string `json:"url"`
	// Referrer is the page's referrer, not validated beyond its length.
	// Optional, at most MaxURLBytes.
	Referrer string `json:"referrer"`
	// TimeSpent is the seconds spent on the page so far, 0 to
	// MaxTimeSpent. Optional (0).
	TimeSpent int64 `json:"time_spent"`
	// Timestamp is the hit's RFC 3339 time as sent. Required.
	Timestamp string `json:"timestamp"`

	// Time is Timestamp parsed, in UTC.
	Time time.Time `json:"-"`
	// Addr is IP parsed, with IPv4-mapped IPv6 addresses unmapped to IPv4
	// (so an IPv4 database lookup finds them). It never has a zone.
	Addr netip.Addr `json:"-"`
	// PageURL is URL parsed (as url.Parse does): scheme http or https,
	// non-empty host.
	PageURL PageURL `json:"-"`
}

// RawDecoder decodes raw events. The zero value is ready to use with the
// defaults below; a RawDecoder is immutable and safe for concurrent use.
//
// Unknown top-level keys are rejected by default: DESIGN 1.2 says anything
// else is bad input, and a producer's typo ("timeSpent") would otherwise lose
// data silently. Keys match exactly (no case folding) and may not repeat.
// Upstream must therefore add new fields to leadflow before sending them; set
// AllowUnknownFields during such a rollout to skip unknown keys instead.
type RawDecoder struct {
	// MaxBytes is the largest accepted input in bytes; larger input fails
	// with ErrTooLarge before parsing. Default (<= 0): DefaultMaxEventBytes.
	MaxBytes int
	// AllowUnknownFields skips unknown top-level keys (their values must
	// still be valid JSON, nested at most 64 deep) instead of rejecting the
	// event. Default false.
	AllowUnknownFields bool
	// ShareInput makes the decoded strings (and PageURL's) share data's
	// bytes instead of a copy of them: for a caller that is done with
	// the event before anything writes to data again, and copies what
	// it keeps (the enrich stage, whose records' buffers are lent again
	// once their batch is finished: pipeline.RecordRecycler). Default
	// false: one copy of data per event.
	ShareInput bool
}

// DecodeRawEvent decodes and validates one raw event with a RawDecoder whose
// MaxBytes is maxBytes (<= 0 means DefaultMaxEventBytes). Every error wraps
// ErrBadEvent and is a *FieldError, a *SyntaxError or, for oversize input,
// wraps ErrTooLarge.
func DecodeRawEvent(data []byte, maxBytes int) (RawEvent, error) {
	var ev RawEvent
	err := RawDecoder{MaxBytes: maxBytes}.Decode(data, &ev)
	return ev, err
}

// Decode decodes and validates data into ev, overwriting all of ev. On error
// ev holds partial data and must not be used. See DecodeRawEvent for errors.
//
// The decoder is a purpose-built scanner for the flat raw-event object rather
// than reflection: it costs one allocation for all strings (they share one
// copy of data, or data itself with ShareInput), plus a url.URL for a page
// URL of an uncommon shape (parsePageURL).
func (d RawDecoder) Decode(data []byte, ev *RawEvent) error {
	limit := d.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxEventBytes
	}
	if len(data) > limit {
		return &tooLargeError{size: len(data), limit: limit}
	}
	*ev = RawEvent{}
	var src string
	if d.ShareInput {
		src = unsafe.String(unsafe.SliceData(data), len(data)) // only read; see ShareInput
	} else {
		src = string(data)
	}
	sc := rawScanner{scanner: scanner{src: src}, allowUnknown: d.AllowUnknownFields}
	if err := sc.scanEvent(ev); err != nil {
		return err
	}
	return ev.validate(sc.seen)
}

// Validate checks a RawEvent built in Go (for example by a traffic
// generator) against the same rules as the decoder, and fills Time, Addr and
// PageURL. Empty optional strings and a zero TimeSpent count as absent.
func (e *RawEvent) Validate() error {
	var seen uint16
	for i, v := range e.stringFields() {
		if *v != "" {
			seen |= 1 << i
		}
	}
	return e.validate(seen)
}

// AppendJSON appends the event as a raw-event JSON object to dst, leaving out
// empty optional fields. It does not validate.
func (e *RawEvent) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"event_id":`...)
	dst = appendString(dst, e.EventID)
	dst = append(dst, `,"workspace_id":`...)
	dst = appendString(dst, e.WorkspaceID)
	dst = append(dst, `,"session_id":`...)
	dst = appendString(dst, e.SessionID)
	if e.VisitorID != "" {
		dst = append(dst, `,"visitor_id":`...)
		dst = appendString(dst, e.VisitorID)
	}
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, e.Type)
	dst = append(dst, `,"ip":`...)
	dst = appendString(dst, e.IP)
	if e.UserAgent != "" {
		dst = append(dst, `,"user_agent":`...)
		dst = appendString(dst, e.UserAgent)
	}
	dst = append(dst, `,"url":`...)
	dst = appendString(dst, e.URL)
	if e.Referrer != "" {
		dst = append(dst, `,"referrer":`...)
		dst = appendString(dst, e.Referrer)
	}
	dst = append(dst, `,"time_spent":`...)
	dst = strconv.AppendInt(dst, e.TimeSpent, 10)
	dst = append(dst, `,"timestamp":`...)
	dst = appendString(dst, e.Timestamp)
	return append(dst, '}')
}

// Field indexes of the raw event (see rawFieldName); bit i of a seen mask
// is field i.
const (
	fEventID = iota
	fWorkspaceID
	fSessionID
	fVisitorID
	fType
	fIP
	fUserAgent
	fURL
	fReferrer
	fTimestamp
	fTimeSpent
	numRawFields
)

// rawFieldName returns the JSON key of field index i (an f* constant).
func rawFieldName(i int) string {
	switch i {
	case fEventID:
		return "event_id"
	case fWorkspaceID:
		return "workspace_id"
	case fSessionID:
		return "session_id"
	case fVisitorID:
		return "visitor_id"
	case fType:
		return "type"
	case fIP:
		return "ip"
	case fUserAgent:
		return "user_agent"
	case fURL:
		return "url"
	case fReferrer:
		return "referrer"
	case fTimestamp:
		return "timestamp"
	}
	return "time_spent"
}

// requiredRaw is the bit set of required fields.
const requiredRaw = 1<<fEventID | 1<<fWorkspaceID | 1<<fSessionID | 1<<fType |
	1<<fIP | 1<<fURL | 1<<fTimestamp

// stringFields returns pointers to the string fields, indexed by the f*
// constants (all but fTimeSpent).
func (e *RawEvent) stringFields() [fTimeSpent]*string {
	return [fTimeSpent]*string{
		&e.EventID, &e.WorkspaceID, &e.SessionID, &e.VisitorID, &e.Type, &e.IP,
		&e.UserAgent, &e.URL, &e.Referrer, &e.Timestamp,
	}
}

// Validation reasons, kept as constants so errors cost no formatting.
const (
	reasonRequired    = "is required"
	reasonEmpty       = "must not be empty"
	reasonTooLong     = "is too long"
	reasonControl     = "contains control characters"
	reasonType        = `must be "pageview" or "ping"`
	reasonIP          = "not an IPv4 or IPv6 address"
	reasonIPZone      = "IPv6 zone not allowed"
	reasonURL         = "not a valid URL"
	reasonURLAbsolute = "must be an absolute http(s) URL"
	reasonTimestamp   = "not an RFC 3339 time"
)

// validate checks the decoded fields; seen has a bit per key present with a
// non-null value.
func (e *RawEvent) validate(seen uint16) error {
	fields := e.stringFields()
	for i := range fTimeSpent {
		name := rawFieldName(i)
		v := *fields[i]
		if seen&(1<<i) == 0 {
			if requiredRaw&(1<<i) != 0 {
				return &FieldError{Field: name, Reason: reasonRequired}
			}
			continue
		}
		if v == "" {
			if requiredRaw&(1<<i) != 0 {
				return &FieldError{Field: name, Reason: reasonEmpty}
			}
			continue
		}
		limit := maxShortBytes
		switch i {
		case fEventID, fWorkspaceID, fSessionID, fVisitorID:
			limit = MaxIDBytes
		case fURL, fReferrer:
			limit = MaxURLBytes
		case fUserAgent:
			limit = MaxUserAgentBytes
		}
		if len(v) > limit {
			return &FieldError{Field: name, Reason: reasonTooLong}
		}
		if i <= fVisitorID && hasControl(v) {
			return &FieldError{Field: name, Reason: reasonControl}
		}
	}
	switch {
	case e.TimeSpent < 0:
		return &FieldError{Field: "time_spent", Reason: reasonNegative}
	case e.TimeSpent > MaxTimeSpent:
		return &FieldError{Field: "time_spent", Reason: reasonTimeSpentRange}
	}
	if e.Type != TypePageview && e.Type != TypePing {
		return &FieldError{Field: "type", Reason: reasonType}
	}
	addr, err := netip.ParseAddr(e.IP)
	if err != nil {
		return &FieldError{Field: "ip", Reason: reasonIP}
	}
	if addr.Zone() != "" {
		return &FieldError{Field: "ip", Reason: reasonIPZone}
	}
	e.Addr = addr.Unmap()
	page, reason := parsePageURL(e.URL)
	if reason != "" {
		return &FieldError{Field: "url", Reason: reason}
	}
	e.PageURL = page
	t, err := time.Parse(time.RFC3339, e.Timestamp)
	if err != nil {
		return &FieldError{Field: "timestamp", Reason: reasonTimestamp}
	}
	e.Time = t.UTC()
	return nil
}

// hasControl reports whether s has an ASCII control character (below
// 0x20, or 0x7f), testing eight bytes at once as one word: a byte below
// 0x20, or a zero byte in w^0x7f..., sets a high bit (exact for whether
// there is one, see scanString).
func hasControl(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		b := s[i : i+8]
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		del := w ^ (swarOnes * 0x7f)
		if ((w-swarOnes*0x20)&^w|(del-swarOnes)&^del)&swarHighs != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
