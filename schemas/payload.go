package schemas

import "github.com/goccy/go-json"

// Event names of webhook payloads (the "event" key).
const (
	// EventNewLead is sent the first time a lead matches an automation's
	// segment; subjects are Leads.
	EventNewLead = "new_lead"
	// EventNewSession is sent the first time a session (with its lead)
	// matches an automation's segment; subjects are Leads.
	EventNewSession = "new_session"
	// EventContactRevealed is sent for revealed contacts; subjects are
	// Contacts.
	EventContactRevealed = "contact_revealed"
	// LegacyContactRevealed is the name the guide's sample shows for
	// EventContactRevealed; it is sent instead to endpoints with
	// legacy_event_names: true.
	LegacyContactRevealed = "contacts.revealed"
)

// KnownEvent reports whether event is one of EventNewLead, EventNewSession
// and EventContactRevealed (the internal names; LegacyContactRevealed is only
// a wire name).
func KnownEvent(event string) bool {
	switch event {
	case EventNewLead, EventNewSession, EventContactRevealed:
		return true
	}
	return false
}

// WireEvent returns the "event" value to send for event: with legacy set
// (an endpoint's legacy_event_names), EventContactRevealed becomes
// LegacyContactRevealed; every other name is returned unchanged.
func WireEvent(event string, legacy bool) string {
	if legacy && event == EventContactRevealed {
		return LegacyContactRevealed
	}
	return event
}

// Payload is a webhook request body: {"event": ..., "subjects": [...]}.
// Subjects hold each subject's encoded JSON. It is mainly for receivers and
// tests; senders build bodies with AppendPayload.
type Payload struct {
	Event    string            `json:"event"`
	Subjects []json.RawMessage `json:"subjects"`
}

// MarshalJSON implements json.Marshaler with AppendPayload. A nil Subjects
// encodes as [].
func (p Payload) MarshalJSON() ([]byte, error) {
	return AppendPayload(nil, p.Event, p.Subjects), nil
}

// AppendPayload appends the body {"event":EVENT,"subjects":[S1,S2,...]} to
// dst, copying each pre-encoded subject as it is: subjects must each be one
// valid JSON value (as the encoders of this package produce), and are not
// checked. It accepts [][]byte and []json.RawMessage alike.
func AppendPayload[S ~[]byte](dst []byte, event string, subjects []S) []byte {
	dst = append(dst, `{"event":`...)
	dst = appendString(dst, event)
	dst = append(dst, `,"subjects":[`...)
	for i, s := range subjects {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, s...)
	}
	return append(dst, "]}"...)
}

// PayloadSize returns the exact length of the body AppendPayload builds for
// event and n subjects whose encodings total subjectBytes bytes, so a
// batcher can respect a byte limit before building the body.
func PayloadSize(event string, n, subjectBytes int) int {
	var buf [64]byte
	size := len(`{"event":`) + len(appendString(buf[:0], event)) + len(`,"subjects":[`) + len("]}")
	if n > 1 {
		size += n - 1
	}
	return size + subjectBytes
}
