package enrich

import (
	"errors"

	"github.com/leadflow/leadflow/schemas"
)

// Dead-letter reasons of the enrich stage: the leadflow-reason header and
// the reason label of leadflow_dead_letters_total.
const (
	// ReasonBadJSON: the value is not one well-formed JSON object.
	ReasonBadJSON = "bad_json"
	// ReasonTooLarge: the value is over max_event_bytes.
	ReasonTooLarge = "too_large"
	// ReasonInvalidField: a field is missing, of the wrong type, out of
	// range, unknown, or repeated; the error names it.
	ReasonInvalidField = "invalid_field"
)

// BadEventError is why a raw event was dead-lettered. Error is the
// decoder's message, which names the field (`field "ip": not an IPv4 or
// IPv6 address`); Reason is a short code for the leadflow-reason header
// (pipeline.Reasoned). It unwraps to the decoder's error, so
// errors.Is(err, schemas.ErrBadEvent) holds.
type BadEventError struct {
	Err error
}

// Error returns the decoder's message.
func (e *BadEventError) Error() string { return e.Err.Error() }

// Unwrap returns the decoder's error.
func (e *BadEventError) Unwrap() error { return e.Err }

// Reason returns ReasonTooLarge, ReasonBadJSON or ReasonInvalidField.
func (e *BadEventError) Reason() string {
	var fe *schemas.FieldError
	switch {
	case errors.Is(e.Err, schemas.ErrTooLarge):
		return ReasonTooLarge
	case errors.As(e.Err, &fe):
		return ReasonInvalidField
	}
	return ReasonBadJSON // *schemas.SyntaxError, and anything else not a field
}
