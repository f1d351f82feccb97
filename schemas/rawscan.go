package schemas

import (
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// rawScanner is a strict, allocation-light JSON scanner for the flat raw
// event object. All field values are substrings of src (one copy of the
// input) unless they contain escapes. It never recurses, so no input can
// exhaust the stack.
//
// Its JSON primitives (skipWS, peek, scanString, scanNumber, scanLiteral,
// skipValue) know nothing of the raw event: shapeDecoder (shapedecode.go)
// embeds a rawScanner for them, leaving keys, seen and allowUnknown unused.
// They report a problem as a non-empty reason and leave pos where it is.
type rawScanner struct {
	src          string
	pos          int
	keys         uint16 // bit per known key present (duplicate detection)
	seen         uint16 // bit per known key present with a non-null value
	allowUnknown bool
	// rawUTF8 lets scanString accept invalid UTF-8 and keep its bytes as
	// they are, instead of rejecting it (the Hit decoder, hit_decode.go).
	rawUTF8 bool
}

// maxSkipDepth bounds nesting inside skipped unknown values.
const maxSkipDepth = 64

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

func (s *rawScanner) skipWS() {
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the byte at pos, or 0 at the end of input.
func (s *rawScanner) peek() byte {
	if s.pos < len(s.src) {
		return s.src[s.pos]
	}
	return 0
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

// Byte-wise constants of scanString's word-at-a-time test.
const swarOnes, swarHighs = 0x0101010101010101, 0x8080808080808080

// scanString scans the string at pos (an opening quote) and returns its
// value, or a non-empty reason when it is not a valid JSON string (or, unless
// rawUTF8 is set, not valid UTF-8).
func (s *rawScanner) scanString() (string, string) {
	src := s.src
	start := s.pos + 1
	for i := start; i < len(src); {
		// Test eight bytes at once as one word: a byte below 0x20, a zero
		// byte in w^'"' or w^'\\' (the byte was '"' or '\\'), or a byte
		// with its high bit set (not ASCII) sets the byte's high bit in
		// special. Bytes above a special byte may be set too (a borrow), the
		// lowest set one is exact: skip to it.
		if i+8 <= len(src) {
			b := src[i : i+8]
			w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
				uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
			q, bs := w^(swarOnes*'"'), w^(swarOnes*'\\')
			special := ((w-swarOnes*0x20)&^w | (q-swarOnes)&^q | (bs-swarOnes)&^bs | w) & swarHighs
			if special == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(special) >> 3
		}
		c := src[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				s.pos = i + 1
				return src[start:i], ""
			case c == '\\':
				return s.scanEscaped(start, i)
			case c < 0x20:
				s.pos = i
				return "", "control character in string"
			}
			i++
			continue
		}
		if s.rawUTF8 {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(src[i:])
		if r == utf8.RuneError && size == 1 {
			s.pos = i
			return "", "invalid UTF-8 in string"
		}
		i += size
	}
	s.pos = len(src)
	return "", "unterminated string"
}

// scanEscaped finishes a string that has escapes; src[start:i] is its plain
// prefix and src[i] is the first backslash. Lone surrogates in \u escapes
// become U+FFFD, as in encoding/json.
func (s *rawScanner) scanEscaped(start, i int) (string, string) {
	src := s.src
	buf := make([]byte, 0, len(src)-start)
	buf = append(buf, src[start:i]...)
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return string(buf), ""
		case c == '\\':
			if i+1 >= len(src) {
				s.pos = len(src)
				return "", "unterminated string"
			}
			switch e := src[i+1]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(src, i+2)
				if !ok {
					s.pos = i
					return "", `invalid \u escape`
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok2 := rune(0), false
					if i+1 < len(src) && src[i] == '\\' && src[i+1] == 'u' {
						r2, ok2 = hex4(src, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				buf = utf8.AppendRune(buf, r)
				continue
			default:
				s.pos = i
				return "", "invalid escape in string"
			}
			i += 2
		case c < 0x20:
			s.pos = i
			return "", "control character in string"
		case c < utf8.RuneSelf || s.rawUTF8:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && size == 1 {
				s.pos = i
				return "", "invalid UTF-8 in string"
			}
			buf = append(buf, src[i:i+size]...)
			i += size
		}
	}
	s.pos = len(src)
	return "", "unterminated string"
}

// hex4 parses the four hex digits at src[i:i+4].
func hex4(src string, i int) (rune, bool) {
	if i+4 > len(src) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(src[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// scanNumber scans a JSON number at pos and reports whether it has a
// fraction or exponent; reason is non-empty if it is not a valid number.
func (s *rawScanner) scanNumber() (text string, fractional bool, reason string) {
	src, start, i := s.src, s.pos, s.pos
	if i < len(src) && src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case i < len(src) && '1' <= src[i] && src[i] <= '9':
		for i < len(src) && '0' <= src[i] && src[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		return "", false, "invalid number"
	}
	if i < len(src) && src[i] == '.' {
		fractional = true
		i++
		if i >= len(src) || src[i] < '0' || src[i] > '9' {
			s.pos = i
			return "", false, "invalid number"
		}
		for i < len(src) && '0' <= src[i] && src[i] <= '9' {
			i++
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		fractional = true
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if i >= len(src) || src[i] < '0' || src[i] > '9' {
			s.pos = i
			return "", false, "invalid number"
		}
		for i < len(src) && '0' <= src[i] && src[i] <= '9' {
			i++
		}
	}
	s.pos = i
	return src[start:i], fractional, ""
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

// scanLiteral scans the literal lit (true, false or null) at pos.
func (s *rawScanner) scanLiteral(lit string) string {
	if len(s.src)-s.pos < len(lit) || s.src[s.pos:s.pos+len(lit)] != lit {
		return "invalid literal"
	}
	s.pos += len(lit)
	return ""
}

// skipValue skips one JSON value of any kind at pos, iteratively, allowing
// at most maxSkipDepth levels of nesting.
func (s *rawScanner) skipValue() string {
	var stack [maxSkipDepth]byte
	depth := 0
	for {
		// Scan one value (or open a container).
		s.skipWS()
		switch c := s.peek(); {
		case c == '{' || c == '[':
			if depth == maxSkipDepth {
				return "nested too deep"
			}
			stack[depth] = c
			depth++
			s.pos++
			s.skipWS()
			if (c == '{' && s.peek() == '}') || (c == '[' && s.peek() == ']') {
				s.pos++
				depth-- // an empty container is a whole value
				break
			}
			if c == '{' {
				if reason := s.skipKey(); reason != "" {
					return reason
				}
			}
			continue
		case c == '"':
			if _, reason := s.scanString(); reason != "" {
				return reason
			}
		case c == 't':
			if reason := s.scanLiteral("true"); reason != "" {
				return reason
			}
		case c == 'f':
			if reason := s.scanLiteral("false"); reason != "" {
				return reason
			}
		case c == 'n':
			if reason := s.scanLiteral("null"); reason != "" {
				return reason
			}
		case c == '-' || ('0' <= c && c <= '9'):
			if _, _, reason := s.scanNumber(); reason != "" {
				return reason
			}
		case c == 0 && s.pos >= len(s.src):
			return "unexpected end of input"
		default:
			return "invalid value"
		}
		// After a value: close containers until one continues with ','.
		for {
			if depth == 0 {
				return ""
			}
			s.skipWS()
			c, open := s.peek(), stack[depth-1]
			if c == ',' {
				s.pos++
				if open == '{' {
					if reason := s.skipKey(); reason != "" {
						return reason
					}
				}
				break
			}
			if (open == '{' && c == '}') || (open == '[' && c == ']') {
				s.pos++
				depth--
				continue
			}
			return "expected ',' or a closing bracket"
		}
	}
}

// skipKey skips `"key" :` inside an object being skipped.
func (s *rawScanner) skipKey() string {
	s.skipWS()
	if s.peek() != '"' {
		return "expected a string key"
	}
	if _, reason := s.scanString(); reason != "" {
		return reason
	}
	s.skipWS()
	if s.peek() != ':' {
		return "expected ':' after key"
	}
	s.pos++
	return ""
}
