package deliver

import (
	"errors"
	"fmt"
	"time"

	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
)

// ErrBadRequest is wrapped by every error about a delivery request record
// that cannot be decoded; such records are dead-lettered to leadflow.dlq.
var ErrBadRequest = errors.New("bad delivery request")

type badRequestError struct{ msg string }

func (e *badRequestError) Error() string  { return ErrBadRequest.Error() + ": " + e.msg }
func (e *badRequestError) Unwrap() error  { return ErrBadRequest }
func (e *badRequestError) Reason() string { return "bad_request" }

func badRequest(format string, args ...any) error {
	return &badRequestError{msg: fmt.Sprintf(format, args...)}
}

// item is one delivery request (one subject) held by the stage. Its byte
// fields point into raw, the record value as received, which stays valid
// while the item's hold is unreleased.
type item struct {
	raw         []byte // the schemas.DeliveryRequest JSON as received
	id          []byte
	workspaceID []byte
	webhookID   []byte
	event       string // one of the schemas.Event* constants
	subject     []byte
	triggeredAt time.Time

	hold      *holdRef  // released once the item is delivered or handed on
	firstSeen time.Time // when the stage first saw it (for max_age)
}

// decodeRequest fills it from raw, a schemas.DeliveryRequest in JSON. It
// copies nothing but strings with escapes: the fields point into raw. It
// reads raw with schemas.Scanner, the scanner of the hot internal formats,
// rather than by reflection because it runs once per subject on the hot path
// (docs/performance.md, "Decoders": 0 allocations and several times faster
// than goccy/go-json into a struct, which copies the subject).
func decodeRequest(raw []byte, it *item) error {
	*it = item{raw: raw}
	var sc schemas.Scanner
	sc.Reset(raw)
	if !sc.Object() {
		return badRequest("not a JSON object: %v", sc.Err())
	}
	for key, ok := sc.Member(); ok; key, ok = sc.Member() {
		switch key {
		case "id":
			it.id, _ = sc.Bytes()
		case "workspace_id":
			it.workspaceID, _ = sc.Bytes()
		case "webhook_id":
			it.webhookID, _ = sc.Bytes()
		case "event":
			v, ok := sc.Bytes()
			if !ok {
				break
			}
			switch string(v) {
			case schemas.EventNewLead:
				it.event = schemas.EventNewLead
			case schemas.EventNewSession:
				it.event = schemas.EventNewSession
			case schemas.EventContactRevealed:
				it.event = schemas.EventContactRevealed
			default:
				return badRequest("event: unknown event %q", v)
			}
		case "triggered_at":
			v, ok := sc.Bytes()
			if !ok {
				break
			}
			t, err := time.Parse(time.RFC3339Nano, string(v))
			if err != nil {
				return badRequest("triggered_at: %v", err)
			}
			it.triggeredAt = t
		case "subject":
			it.subject, _ = sc.Skip()
		default:
			sc.Skip()
		}
	}
	if err := sc.Finish(); err != nil {
		return badRequest("%v", err)
	}
	switch {
	case len(it.id) == 0:
		return badRequest("id is missing")
	case len(it.workspaceID) == 0:
		return badRequest("workspace_id is missing")
	case len(it.webhookID) == 0:
		return badRequest("webhook_id is missing")
	case it.event == "":
		return badRequest("event is missing")
	case len(it.subject) == 0 || string(it.subject) == "null":
		return badRequest("subject is missing")
	}
	return nil
}

// appendEnvelope appends the value of a retry or dead-letter record: the
// requests of one webhook request, each exactly as it was received:
// {"requests":[R1,R2,...]}.
func appendEnvelope(dst []byte, items []*item) []byte {
	dst = append(dst, `{"requests":[`...)
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, it.raw...)
	}
	return append(dst, "]}"...)
}

// envelopeSize is the length appendEnvelope gives items.
func envelopeSize(items []*item) int {
	n := len(`{"requests":[]}`) + max(len(items)-1, 0)
	for _, it := range items {
		n += len(it.raw)
	}
	return n
}

// decodeEnvelope calls fn with each request of an envelope value, in
// order, as a slice of v. It reads v with schemas.Scanner: goccy/go-json
// into a []json.RawMessage copies every request and is about three times
// slower (docs/performance.md, "Decoders").
func decodeEnvelope(v []byte, fn func(raw []byte) error) error {
	var sc schemas.Scanner
	sc.Reset(v)
	if sc.Object() {
		key, ok := sc.Member()
		switch {
		case !ok && sc.Err() == nil, ok && key != "requests":
			return badRequest(`envelope: want key "requests"`)
		case ok && sc.Array():
			for sc.Element() {
				raw, ok := sc.Skip()
				if !ok {
					break
				}
				if err := fn(raw); err != nil {
					return err
				}
			}
			if _, more := sc.Member(); more {
				return badRequest(`envelope: want only key "requests"`)
			}
		}
	}
	if err := sc.Finish(); err != nil {
		return badRequest("envelope: %v", err)
	}
	return nil
}

// DecodeEnvelope returns the delivery requests of a retry or dead-letter
// record value, in order.
func DecodeEnvelope(v []byte) ([]schemas.DeliveryRequest, error) {
	var out []schemas.DeliveryRequest
	err := decodeEnvelope(v, func(raw []byte) error {
		var r schemas.DeliveryRequest
		if err := json.Unmarshal(raw, &r); err != nil {
			return badRequest("envelope: %v", err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}
