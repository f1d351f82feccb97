package schemas

import (
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner holds the package's JSON primitives, the one JSON scanner of the
// hot internal formats: the raw-event decoder (rawScanner, rawscan.go), the
// lead change, company and hit decoders (shapeDecoder, shapedecode.go) and,
// through Scanner (scanner_api.go), the deliver stage's delivery requests
// and retry envelopes. It is strict (invalid JSON is rejected, strings
// must be valid UTF-8 unless rawUTF8 is set) and allocation-light: it reads
// src in place and returns substrings of it, copying only strings with
// escapes. It never recurses, so no input can exhaust the stack.
//
// Its methods (skipWS, peek, scanString, scanNumber, scanLiteral,
// skipValue) know nothing of the formats. They report a problem as a
// non-empty reason and leave pos where it is. Not safe for concurrent use.
type scanner struct {
	src string
	pos int
	// rawUTF8 lets scanString accept invalid UTF-8 and keep its bytes as
	// they are, instead of rejecting it (the Hit decoder, hit_decode.go).
	rawUTF8 bool
}

// maxSkipDepth bounds nesting inside skipped unknown values.
const maxSkipDepth = 64

func (s *scanner) skipWS() {
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
func (s *scanner) peek() byte {
	if s.pos < len(s.src) {
		return s.src[s.pos]
	}
	return 0
}

// Byte-wise constants of scanString's word-at-a-time test.
const swarOnes, swarHighs = 0x0101010101010101, 0x8080808080808080

// scanString scans the string at pos (an opening quote) and returns its
// value, or a non-empty reason when it is not a valid JSON string (or, unless
// rawUTF8 is set, not valid UTF-8).
func (s *scanner) scanString() (string, string) {
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
func (s *scanner) scanEscaped(start, i int) (string, string) {
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
func (s *scanner) scanNumber() (text string, fractional bool, reason string) {
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

// scanLiteral scans the literal lit (true, false or null) at pos.
func (s *scanner) scanLiteral(lit string) string {
	if len(s.src)-s.pos < len(lit) || s.src[s.pos:s.pos+len(lit)] != lit {
		return "invalid literal"
	}
	s.pos += len(lit)
	return ""
}

// skipValue skips one JSON value of any kind at pos, iteratively, allowing
// at most maxSkipDepth levels of nesting.
func (s *scanner) skipValue() string {
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
func (s *scanner) skipKey() string {
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
