package leads

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/leadflow/leadflow/schemas"
)

// scanHit decodes the JSON of a schemas.Hit into h, as Hit.UnmarshalJSON
// does (unknown keys are skipped, null leaves a field empty, the last of
// repeated keys wins; keys match exactly, as Hit.AppendJSON writes them,
// not case-insensitively) but with one allocation: every string is a
// substring of one copy of the input, unless it has escapes. Strings the
// stage keeps beyond the batch (pageviews, session facts) are cloned by
// apply, so a kept value never pins a whole record.
//
// It runs once per hit on the hot path; FuzzScanHit checks it against
// Hit.UnmarshalJSON.
func scanHit(data []byte, h *schemas.Hit) error {
	*h = schemas.Hit{}
	s := hitScanner{src: string(data)}
	s.ws()
	if !s.eat('{') {
		return errNotObject
	}
	s.ws()
	if s.eat('}') {
		return s.end()
	}
	for {
		s.ws()
		key, ok := s.str()
		if !ok {
			return s.fail("a key")
		}
		s.ws()
		if !s.eat(':') {
			return s.fail("':'")
		}
		s.ws()
		if err := s.member(key, h); err != nil {
			return err
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return s.end()
		}
		return s.fail("',' or '}'")
	}
}

var errNotObject = errors.New("not a JSON object")

type hitScanner struct {
	src string
	pos int
}

// maxDepth bounds nesting in skipped values.
const maxDepth = 64

func (s *hitScanner) fail(want string) error {
	return errors.New("invalid JSON at offset " + strconv.Itoa(s.pos) + ": want " + want)
}

func (s *hitScanner) end() error {
	s.ws()
	if s.pos != len(s.src) {
		return s.fail("the end")
	}
	return nil
}

func (s *hitScanner) ws() {
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *hitScanner) eat(c byte) bool {
	if s.pos < len(s.src) && s.src[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

func (s *hitScanner) lit(l string) bool {
	if strings.HasPrefix(s.src[s.pos:], l) {
		s.pos += len(l)
		return true
	}
	return false
}

// member decodes the value of key into h.
func (s *hitScanner) member(key string, h *schemas.Hit) error {
	var dst *string
	switch key {
	case "event_id":
		dst = &h.EventID
	case "workspace_id":
		dst = &h.WorkspaceID
	case "session_id":
		dst = &h.SessionID
	case "visitor_id":
		dst = &h.VisitorID
	case "type":
		dst = &h.Type
	case "url":
		dst = &h.URL
	case "host":
		dst = &h.Host
	case "path":
		dst = &h.Path
	case "referrer":
		dst = &h.Referrer
	case "utm_source":
		dst = &h.UTMSource
	case "utm_medium":
		dst = &h.UTMMedium
	case "utm_campaign":
		dst = &h.UTMCampaign
	case "utm_term":
		dst = &h.UTMTerm
	case "utm_content":
		dst = &h.UTMContent
	case "browser":
		dst = &h.Browser
	case "operating_system":
		dst = &h.OperatingSystem
	case "device_type":
		dst = &h.DeviceType
	case "company_domain":
		dst = &h.CompanyDomain
	case "network_type":
		dst = &h.NetworkType
	case "timestamp":
		if s.lit("null") {
			return nil
		}
		v, ok := s.str()
		if !ok {
			return s.fail("a time string")
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return errors.New("timestamp: " + err.Error())
		}
		h.Timestamp = t
		return nil
	case "time_spent":
		if s.lit("null") {
			return nil
		}
		v, ok := s.number()
		if !ok {
			return s.fail("a number")
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errors.New("time_spent: " + err.Error())
		}
		h.TimeSpent = n
		return nil
	case "location":
		if s.lit("null") {
			h.Location = nil
			return nil
		}
		box := &locationBox{}
		if err := s.location(box); err != nil {
			return err
		}
		h.Location = &box.loc
		return nil
	default:
		return s.skip()
	}
	if s.lit("null") {
		return nil
	}
	v, ok := s.str()
	if !ok {
		return s.fail("a string")
	}
	*dst = v
	return nil
}

// locationBox holds a Location and what its pointers point to, in one
// allocation.
type locationBox struct {
	loc                   schemas.Location
	city, country, region string
	lat, lon              float64
}

// location decodes a schemas.Location object into box.
func (s *hitScanner) location(box *locationBox) error {
	loc := &box.loc
	if !s.eat('{') {
		return s.fail("an object")
	}
	s.ws()
	if s.eat('}') {
		return nil
	}
	for {
		s.ws()
		key, ok := s.str()
		if !ok {
			return s.fail("a key")
		}
		s.ws()
		if !s.eat(':') {
			return s.fail("':'")
		}
		s.ws()
		var err error
		switch key {
		case "city":
			loc.City, err = s.nullStr(&box.city)
		case "country_code":
			loc.CountryCode, err = s.nullStr(&box.country)
		case "region":
			loc.Region, err = s.nullStr(&box.region)
		case "latitude":
			loc.Latitude, err = s.nullFloat(&box.lat)
		case "longitude":
			loc.Longitude, err = s.nullFloat(&box.lon)
		default:
			err = s.skip()
		}
		if err != nil {
			return err
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return nil
		}
		return s.fail("',' or '}'")
	}
}

// nullStr decodes a string into *dst and returns dst, or nil for null.
func (s *hitScanner) nullStr(dst *string) (*string, error) {
	if s.lit("null") {
		return nil, nil
	}
	v, ok := s.str()
	if !ok {
		return nil, s.fail("a string")
	}
	*dst = v
	return dst, nil
}

// nullFloat decodes a number into *dst and returns dst, or nil for null.
func (s *hitScanner) nullFloat(dst *float64) (*float64, error) {
	if s.lit("null") {
		return nil, nil
	}
	v, ok := s.number()
	if !ok {
		return nil, s.fail("a number")
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return nil, errors.New("location: " + err.Error())
	}
	*dst = f
	return dst, nil
}

// number returns the text of a JSON number.
func (s *hitScanner) number() (string, bool) {
	start := s.pos
	s.eat('-')
	digits := s.pos
	for s.pos < len(s.src) && s.src[s.pos] >= '0' && s.src[s.pos] <= '9' {
		s.pos++
	}
	if s.pos == digits || (s.src[digits] == '0' && s.pos-digits > 1) {
		return "", false
	}
	if s.eat('.') {
		d := s.pos
		for s.pos < len(s.src) && s.src[s.pos] >= '0' && s.src[s.pos] <= '9' {
			s.pos++
		}
		if s.pos == d {
			return "", false
		}
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		d := s.pos
		for s.pos < len(s.src) && s.src[s.pos] >= '0' && s.src[s.pos] <= '9' {
			s.pos++
		}
		if s.pos == d {
			return "", false
		}
	}
	return s.src[start:s.pos], true
}

// str decodes a JSON string: a substring of the input, or a new string
// when it has escapes.
func (s *hitScanner) str() (string, bool) {
	if !s.eat('"') {
		return "", false
	}
	start := s.pos
	for i := start; i < len(s.src); i++ {
		switch c := s.src[i]; {
		case c == '"':
			s.pos = i + 1
			return s.src[start:i], true
		case c == '\\':
			return s.escaped(start, i)
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// escaped decodes a string with escapes; src[start:i] has none.
func (s *hitScanner) escaped(start, i int) (string, bool) {
	var b strings.Builder
	b.Grow(i - start + 16)
	b.WriteString(s.src[start:i])
	for i < len(s.src) {
		c := s.src[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return b.String(), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s.src) {
			return "", false
		}
		switch e := s.src[i+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(s.src, i+2)
			if !ok {
				return "", false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(s.src, i+2); ok && i+1 < len(s.src) && s.src[i] == '\\' && s.src[i+1] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						b.WriteRune(d)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			b.WriteRune(r)
			continue
		default:
			return "", false
		}
		i += 2
	}
	return "", false
}

func hex4(src string, i int) (rune, bool) {
	if i+4 > len(src) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(src[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skip skips one JSON value of any shape, without recursion (nesting up
// to maxDepth).
func (s *hitScanner) skip() error {
	var stack [maxDepth]byte // the open containers' closing brackets
	depth := 0
	for {
		// A value.
		s.ws()
		if s.pos >= len(s.src) {
			return s.fail("a value")
		}
		closed := true
		switch c := s.src[s.pos]; {
		case c == '{' || c == '[':
			if depth == maxDepth {
				return s.fail("less nesting")
			}
			s.pos++
			stack[depth] = ']'
			if c == '{' {
				stack[depth] = '}'
			}
			depth++
			s.ws()
			if s.eat(stack[depth-1]) {
				depth--
			} else {
				closed = false
				if c == '{' && !s.key() {
					return s.fail("a key")
				}
			}
		case c == '"':
			if _, ok := s.str(); !ok {
				return s.fail("a string")
			}
		case s.lit("true") || s.lit("false") || s.lit("null"):
		default:
			if _, ok := s.number(); !ok {
				return s.fail("a value")
			}
		}
		if !closed {
			continue // the container's first value
		}
		// After a value: the next one of its container, or its end.
		for {
			if depth == 0 {
				return nil
			}
			s.ws()
			if s.eat(',') {
				if stack[depth-1] == '}' && !s.key() {
					return s.fail("a key")
				}
				break
			}
			if !s.eat(stack[depth-1]) {
				return s.fail("',' or a closing bracket")
			}
			depth--
		}
	}
}

// key reads an object key and its ':'.
func (s *hitScanner) key() bool {
	s.ws()
	if _, ok := s.str(); !ok {
		return false
	}
	s.ws()
	return s.eat(':')
}
