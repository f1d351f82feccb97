package schemas

import (
	"errors"
	"strconv"
)

// ErrBadEvent is wrapped by every error the raw-event decoder returns, so a
// stage can route the record to the dead-letter topic with
// errors.Is(err, ErrBadEvent) and use err.Error() as the reason header.
var ErrBadEvent = errors.New("bad event")

// ErrTooLarge is returned (wrapped) when a raw event is longer than the
// decoder's byte limit. It wraps ErrBadEvent, so errors.Is(err, ErrBadEvent)
// also holds.
var ErrTooLarge error = &sentinelError{msg: "event too large", parent: ErrBadEvent}

// sentinelError is a sentinel that itself wraps a parent sentinel.
type sentinelError struct {
	msg    string
	parent error
}

// Error returns the sentinel's message.
func (e *sentinelError) Error() string { return e.msg }

// Unwrap returns the parent sentinel.
func (e *sentinelError) Unwrap() error { return e.parent }

// FieldError describes why one field of a raw event is bad input. It wraps
// ErrBadEvent. Field is the JSON key as sent (truncated to 64 bytes for
// unknown keys); Reason is a short human-readable phrase.
type FieldError struct {
	Field  string
	Reason string
}

// Error returns e.g. `field "ip": not an IPv4 or IPv6 address`.
func (e *FieldError) Error() string {
	return "field " + strconv.Quote(e.Field) + ": " + e.Reason
}

// Unwrap returns ErrBadEvent.
func (e *FieldError) Unwrap() error { return ErrBadEvent }

// SyntaxError reports input that is not a single well-formed JSON object,
// outside of any particular field. It wraps ErrBadEvent.
type SyntaxError struct {
	// Offset is the byte offset in the input where the problem was found.
	Offset int
	Reason string
}

// Error returns e.g. `invalid JSON at offset 17: unexpected end of input`.
func (e *SyntaxError) Error() string {
	return "invalid JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// Unwrap returns ErrBadEvent.
func (e *SyntaxError) Unwrap() error { return ErrBadEvent }

// TooLarge returns the decoder's error for an input of size bytes over
// limit, for callers that measured the input without keeping it.
func TooLarge(size, limit int) error { return &tooLargeError{size: size, limit: limit} }

// tooLargeError is the error for input over the byte limit.
type tooLargeError struct {
	size, limit int
}

// Error says how large the event was and which limit it broke.
func (e *tooLargeError) Error() string {
	return "event too large: " + strconv.Itoa(e.size) + " bytes, limit " + strconv.Itoa(e.limit) +
		" (raise stages.enrich.max_event_bytes if such events are legitimate)"
}

// Unwrap returns ErrTooLarge.
func (e *tooLargeError) Unwrap() error { return ErrTooLarge }
