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
// copies nothing: the fields point into raw. It is a small scanner rather
// than reflection because it runs once per subject on the hot path.
func decodeRequest(raw []byte, it *item) error {
	*it = item{raw: raw}
	s := scanner{b: raw}
	s.ws()
	if !s.eat('{') {
		return badRequest("not a JSON object")
	}
	s.ws()
	if s.eat('}') {
		return badRequest("empty object")
	}
	for {
		s.ws()
		key, ok := s.str()
		if !ok {
			return badRequest("bad key at byte %d", s.i)
		}
		s.ws()
		if !s.eat(':') {
			return badRequest("missing ':' at byte %d", s.i)
		}
		s.ws()
		switch string(key) {
		case "id", "workspace_id", "webhook_id", "event", "triggered_at":
			v, ok := s.str()
			if !ok {
				return badRequest("%s: not a string", key)
			}
			switch string(key) {
			case "id":
				it.id = v
			case "workspace_id":
				it.workspaceID = v
			case "webhook_id":
				it.webhookID = v
			case "event":
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
				t, err := time.Parse(time.RFC3339Nano, string(v))
				if err != nil {
					return badRequest("triggered_at: %v", err)
				}
				it.triggeredAt = t
			}
		case "subject":
			start := s.i
			if !s.skip() {
				return badRequest("subject: malformed JSON at byte %d", s.i)
			}
			it.subject = raw[start:s.i]
		default:
			if !s.skip() {
				return badRequest("%s: malformed JSON at byte %d", key, s.i)
			}
		}
		s.ws()
		if s.eat('}') {
			break
		}
		if !s.eat(',') {
			return badRequest("expected ',' or '}' at byte %d", s.i)
		}
	}
	s.ws()
	if s.i != len(raw) {
		return badRequest("trailing data at byte %d", s.i)
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

// decodeEnvelope calls fn with each request of an envelope value, in order.
func decodeEnvelope(v []byte, fn func(raw []byte) error) error {
	s := scanner{b: v}
	s.ws()
	if !s.eat('{') {
		return badRequest("envelope: not a JSON object")
	}
	s.ws()
	key, ok := s.str()
	if !ok || string(key) != "requests" {
		return badRequest(`envelope: want key "requests"`)
	}
	s.ws()
	if !s.eat(':') {
		return badRequest("envelope: missing ':'")
	}
	s.ws()
	if !s.eat('[') {
		return badRequest("envelope: requests is not an array")
	}
	s.ws()
	if !s.eat(']') {
		for {
			s.ws()
			start := s.i
			if !s.skip() {
				return badRequest("envelope: malformed request at byte %d", s.i)
			}
			if err := fn(v[start:s.i]); err != nil {
				return err
			}
			s.ws()
			if s.eat(']') {
				break
			}
			if !s.eat(',') {
				return badRequest("envelope: expected ',' or ']' at byte %d", s.i)
			}
		}
	}
	s.ws()
	if !s.eat('}') {
		return badRequest("envelope: expected '}'")
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

// scanner walks JSON text. It checks structure (balanced brackets, closed
// strings, plausible literals), not every detail of number syntax.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string and returns its contents. A string with escapes is
// unescaped into a new slice; one without is returned in place.
func (s *scanner) str() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	escaped := false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			if escaped {
				var out string
				if err := json.Unmarshal(s.b[start-1:s.i], &out); err != nil {
					return nil, false
				}
				return []byte(out), true
			}
			return v, true
		case c == '\\':
			escaped = true
			s.i += 2
		case c < 0x20:
			return nil, false
		default:
			s.i++
		}
	}
	return nil, false
}

// skip moves past one JSON value.
func (s *scanner) skip() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		_, ok := s.skipStr()
		return ok
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, ok := s.skipStr(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	default:
		start := s.i
		for s.i < len(s.b) {
			c := s.b[s.i]
			if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E' {
				s.i++
				continue
			}
			break
		}
		return s.i > start
	}
}

// skipStr moves past a string without unescaping it.
func (s *scanner) skipStr() (int, bool) {
	start := s.i
	s.i++
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return start, true
		case c == '\\':
			s.i += 2
		case c < 0x20:
			return start, false
		default:
			s.i++
		}
	}
	return start, false
}
