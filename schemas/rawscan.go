package schemas

// rawScanner scans the flat raw event object (RawDecoder) with the
// package's JSON primitives (scanner, scanner.go). All field values are
// substrings of src (one copy of the input) unless they contain escapes.
type rawScanner struct {
	scanner
	keys         uint16 // bit per known key present (duplicate detection)
	seen         uint16 // bit per known key present with a non-null value
	allowUnknown bool
}

// maxKeyInError is how much of an unknown key a FieldError repeats.
const maxKeyInError = 64

// Scanner reasons.
const (
	reasonUnknown        = "unknown field"
	reasonDuplicate      = "appears more than once"
	reasonNotString      = "must be a string"
	reasonNotNumber      = "must be a number"
	reasonNotWhole       = "must be a whole number of seconds"
	reasonNegative       = "must not be negative"
	reasonTimeSpentRange = "must be at most 604800 (7 days, in seconds)"
)

// syntax returns a SyntaxError at the current position.
func (s *rawScanner) syntax(reason string) error {
	return &SyntaxError{Offset: s.pos, Reason: reason}
}

// rawFieldIndex maps a key to its f* index, or -1.
func rawFieldIndex(key string) int {
	switch key {
	case "event_id":
		return fEventID
	case "workspace_id":
		return fWorkspaceID
	case "session_id":
		return fSessionID
	case "visitor_id":
		return fVisitorID
	case "type":
		return fType
	case "ip":
		return fIP
	case "user_agent":
		return fUserAgent
	case "url":
		return fURL
	case "referrer":
		return fReferrer
	case "timestamp":
		return fTimestamp
	case "time_spent":
		return fTimeSpent
	}
	return -1
}

// scanEvent scans the whole input into ev's raw fields.
func (s *rawScanner) scanEvent(ev *RawEvent) error {
	s.skipWS()
	switch s.peek() {
	case '{':
		s.pos++
	case 0:
		if s.pos >= len(s.src) {
			return s.syntax("empty input")
		}
		return s.syntax("not a JSON object")
	default:
		return s.syntax("not a JSON object")
	}
	fields := ev.stringFields()
	s.skipWS()
	if s.peek() == '}' {
		s.pos++
	} else {
		for {
			s.skipWS()
			if s.peek() != '"' {
				return s.syntax("expected a string key")
			}
			key, reason := s.scanString()
			if reason != "" {
				return s.syntax(reason)
			}
			s.skipWS()
			if s.peek() != ':' {
				return s.syntax("expected ':' after key")
			}
			s.pos++
			s.skipWS()
			if err := s.scanMember(key, ev, &fields); err != nil {
				return err
			}
			s.skipWS()
			c := s.peek()
			s.pos++
			if c == '}' {
				break
			}
			if c != ',' {
				s.pos--
				return s.syntax("expected ',' or '}'")
			}
		}
	}
	s.skipWS()
	if s.pos != len(s.src) {
		return s.syntax("unexpected data after the object")
	}
	return nil
}

// scanMember scans the value of key (pos at the value) into ev.
func (s *rawScanner) scanMember(key string, ev *RawEvent, fields *[fTimeSpent]*string) error {
	idx := rawFieldIndex(key)
	if idx < 0 {
		if !s.allowUnknown {
			if len(key) > maxKeyInError {
				key = key[:maxKeyInError]
			}
			return &FieldError{Field: key, Reason: reasonUnknown}
		}
		if reason := s.skipValue(); reason != "" {
			return s.syntax(reason)
		}
		return nil
	}
	name := rawFieldName(idx)
	bit := uint16(1) << idx
	if s.keys&bit != 0 {
		return &FieldError{Field: name, Reason: reasonDuplicate}
	}
	s.keys |= bit
	c := s.peek()
	if c == 'n' {
		if reason := s.scanLiteral("null"); reason != "" {
			return &FieldError{Field: name, Reason: "invalid JSON: " + reason}
		}
		return nil // null is the same as absent
	}
	if idx == fTimeSpent {
		if c == '"' || c == 't' || c == 'f' || c == '{' || c == '[' {
			return &FieldError{Field: name, Reason: reasonNotNumber}
		}
		v, reason := s.scanTimeSpent()
		if reason != "" {
			return &FieldError{Field: name, Reason: reason}
		}
		ev.TimeSpent = v
		s.seen |= bit
		return nil
	}
	if c != '"' {
		return &FieldError{Field: name, Reason: reasonNotString}
	}
	v, reason := s.scanString()
	if reason != "" {
		return &FieldError{Field: name, Reason: "invalid JSON: " + reason}
	}
	*fields[idx] = v
	s.seen |= bit
	return nil
}

// scanTimeSpent scans time_spent: a whole, non-negative number of seconds
// up to MaxTimeSpent.
func (s *rawScanner) scanTimeSpent() (int64, string) {
	text, fractional, reason := s.scanNumber()
	switch {
	case reason != "":
		return 0, "invalid JSON: " + reason
	case fractional:
		return 0, reasonNotWhole
	}
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	if len(text) > 7 { // more than 9,999,999: certainly out of range
		if neg {
			return 0, reasonNegative
		}
		return 0, reasonTimeSpentRange
	}
	var v int64
	for _, c := range []byte(text) {
		v = v*10 + int64(c-'0')
	}
	switch {
	case neg && v != 0:
		return 0, reasonNegative
	case v > MaxTimeSpent:
		return 0, reasonTimeSpentRange
	}
	return v, ""
}
