package schemas

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Limits and slab sizes of shapeDecoder.
const (
	// maxDecodeDepth bounds the containers the decoder is in (not counting
	// skipped values); the shape needs six
	// (lead.recent_sessions[i].pageviews[j].url).
	maxDecodeDepth = 8
	// strSlab is how many *string targets one allocation holds.
	strSlab = 32
	// floatSlab is how many *float64 targets one allocation holds.
	floatSlab = 8
	// pageviewSlabBytes is how many bytes of input make room for a
	// pageview in the first pageview slab (a pageview takes at least 80),
	// which holds 4 to 64.
	pageviewSlabBytes = 256
	// sessionBuf is how many sessions are decoded before a heap allocation.
	sessionBuf = 8
)

// pathSeg is one container the decoder is in.
type pathSeg struct {
	// key is where the key of the member being decoded is in src (as
	// written, between the quotes); key[0] < 0 between members. No strings
	// here: writes of pointers cost write barriers.
	key   [2]int
	index int // array: the element being decoded, -1 between elements
	n     int // members or elements started so far
	array bool
}

// shapeDecoder decodes the lead change's shape. Its methods are called with
// pos at a value (white space skipped) and only while err is nil; the first
// error sticks and ends every member and element loop. Pointer targets are
// carved out of slabs (one allocation for many values), and all sessions'
// pageviews share slabs too. Not safe for concurrent use.
type shapeDecoder struct {
	scanner
	err   *DecodeError
	depth int
	path  [maxDecodeDepth]pathSeg
	strs  []string
	nums  []float64
	pvs   []Pageview
	// skipSessions skips a lead's recent_sessions (DecodeChangeWithoutSessions).
	skipSessions bool
}

// finish checks that only white space follows the top-level value and
// returns the first error.
func (d *shapeDecoder) finish() error {
	if d.err == nil {
		d.skipWS()
		if d.pos < len(d.src) {
			d.fail("unexpected data after the top-level value")
		}
	}
	if d.err != nil {
		return d.err
	}
	return nil
}

// fail records the first error, at pos and the current path.
func (d *shapeDecoder) fail(reason string) { d.failAt(d.pos, reason, nil) }

// failAt records the first error, at offset and the current path, with the
// value parser's error err (or nil).
func (d *shapeDecoder) failAt(offset int, reason string, err error) {
	if d.err == nil {
		d.pos = offset
		d.err = &DecodeError{Offset: offset, Path: d.pathString(), Reason: reason, Err: err}
	}
}

// pathString formats the path of the member being decoded.
func (d *shapeDecoder) pathString() string {
	var b []byte
	for _, seg := range d.path[:d.depth] {
		switch {
		case seg.array && seg.index >= 0:
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(seg.index), 10)
			b = append(b, ']')
		case !seg.array && seg.key[0] >= 0:
			if len(b) > 0 {
				b = append(b, '.')
			}
			key := d.src[seg.key[0]:seg.key[1]]
			if len(key) > maxKeyInError {
				n := maxKeyInError
				for n > 0 && !utf8.RuneStart(key[n]) {
					n--
				}
				key = key[:n]
			}
			b = append(b, key...)
		default:
			return string(b)
		}
	}
	return string(b)
}

// wrongType fails for the value at pos, which is not the JSON type the
// member needs (want says which), or not a value at all.
func (d *shapeDecoder) wrongType(want string) {
	switch c := d.peek(); {
	case d.pos >= len(d.src):
		d.fail("unexpected end of input")
	case c == '"' || c == '{' || c == '[' || c == 't' || c == 'f' || c == '-' || ('0' <= c && c <= '9'):
		d.fail(want)
	default:
		d.fail("invalid value")
	}
}

// null scans the literal null (the caller saw its 'n').
func (d *shapeDecoder) null() {
	if reason := d.scanLiteral("null"); reason != "" {
		d.fail(reason)
	}
}

// boolean decodes true, false or null (false).
func (d *shapeDecoder) boolean(p *bool) {
	lit := "null"
	switch d.peek() {
	case 't':
		lit = "true"
	case 'f':
		lit = "false"
	case 'n':
	default:
		d.wrongType("must be a boolean")
		return
	}
	if reason := d.scanLiteral(lit); reason != "" {
		d.fail(reason)
		return
	}
	*p = lit == "true"
}

// skip skips the value of an unknown member.
func (d *shapeDecoder) skip() {
	if reason := d.skipValue(); reason != "" {
		d.fail(reason)
	}
}

// object enters the object at pos. It returns false for null (the caller
// leaves its target as it is) and on error.
func (d *shapeDecoder) object() bool { return d.enter('{', "must be an object") }

// array enters the array at pos. It returns false for null and on error.
func (d *shapeDecoder) array() bool { return d.enter('[', "must be an array") }

// enter enters the container that open opens at pos (see object).
func (d *shapeDecoder) enter(open byte, want string) bool {
	switch d.peek() {
	case open:
		d.pos++
		if d.depth == len(d.path) {
			d.fail("nested too deep") // the shape's functions never nest this deep
			return false
		}
		d.path[d.depth] = pathSeg{key: [2]int{-1, -1}, index: -1, array: open == '['}
		d.depth++
		return true
	case 'n':
		d.null()
	default:
		d.wrongType(want)
	}
	return false
}

// next moves to the next member or element of the container the decoder is
// in, whose closing bracket is close, past its ',' and white space. At the
// container's end it leaves it and returns false, as on error.
func (d *shapeDecoder) next(seg *pathSeg, close byte, reason string) bool {
	d.skipWS()
	c := d.peek()
	if c == close {
		d.pos++
		d.depth--
		return false
	}
	if seg.n > 0 {
		if c != ',' {
			d.fail(reason)
			return false
		}
		d.pos++
		d.skipWS()
	}
	seg.n++
	return true
}

// member moves to the next member of the object the decoder is in and
// returns its key and true, with pos at its value; at the object's end it
// leaves the object and returns false, as on error.
func (d *shapeDecoder) member() (string, bool) {
	if d.err != nil {
		return "", false
	}
	seg := &d.path[d.depth-1]
	seg.key[0] = -1
	if !d.next(seg, '}', "expected ',' or '}'") {
		return "", false
	}
	if d.peek() != '"' {
		d.fail("expected a string key")
		return "", false
	}
	start := d.pos + 1
	key, reason := d.scanString()
	if reason != "" {
		d.fail(reason)
		return "", false
	}
	seg.key = [2]int{start, d.pos - 1}
	d.skipWS()
	if d.peek() != ':' {
		d.fail("expected ':' after key")
		return "", false
	}
	d.pos++
	d.skipWS()
	return key, true
}

// element moves to the next element of the array the decoder is in and
// returns true with pos at it; at the array's end it leaves the array and
// returns false, as on error.
func (d *shapeDecoder) element() bool {
	if d.err != nil {
		return false
	}
	seg := &d.path[d.depth-1]
	seg.index = -1
	if !d.next(seg, ']', "expected ',' or ']'") {
		return false
	}
	seg.index = seg.n - 1
	return true
}

// stringOrNull scans a string or null at pos; ok is false on error, and
// want says what the member needs when the value is neither.
func (d *shapeDecoder) stringOrNull(want string) (v string, null, ok bool) {
	switch d.peek() {
	case '"':
		v, reason := d.scanString()
		if reason != "" {
			d.fail(reason)
			return "", false, false
		}
		return v, false, true
	case 'n':
		d.null()
		return "", true, d.err == nil
	}
	d.wrongType(want)
	return "", false, false
}

// str decodes a string into *p; null leaves *p as it is.
func (d *shapeDecoder) str(p *string) {
	if v, null, ok := d.stringOrNull("must be a string"); ok && !null {
		*p = v
	}
}

// nullStr decodes a string or null into *p.
func (d *shapeDecoder) nullStr(p **string) {
	v, null, ok := d.stringOrNull("must be a string or null")
	switch {
	case !ok:
	case null:
		*p = nil
	default:
		if len(d.strs) == cap(d.strs) {
			d.strs = make([]string, 0, strSlab)
		}
		d.strs = append(d.strs, v)
		*p = &d.strs[len(d.strs)-1]
	}
}

// number scans a number or null at pos and returns the number's text ("" for
// null) and where it starts; ok is false on error.
func (d *shapeDecoder) number() (text string, start int, fractional, ok bool) {
	start = d.pos
	switch c := d.peek(); {
	case c == 'n':
		d.null()
		return "", start, false, d.err == nil
	case c != '-' && (c < '0' || c > '9'):
		d.wrongType("must be a number")
		return "", start, false, false
	}
	text, fractional, reason := d.scanNumber()
	if reason != "" {
		d.fail(reason)
		return "", start, false, false
	}
	return text, start, fractional, true
}

// int decodes a whole number into *p; null leaves *p as it is.
func (d *shapeDecoder) int(p *int64) {
	text, start, fractional, ok := d.number()
	switch {
	case !ok || text == "":
	case fractional:
		d.failAt(start, "must be a whole number", nil)
	default:
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			d.failAt(start, "out of range", err)
			return
		}
		*p = v
	}
}

// nullFloat decodes a number or null into *p.
func (d *shapeDecoder) nullFloat(p **float64) {
	text, start, _, ok := d.number()
	switch {
	case !ok:
	case text == "":
		*p = nil
	default:
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			d.failAt(start, "out of range", err)
			return
		}
		if len(d.nums) == cap(d.nums) {
			d.nums = make([]float64, 0, floatSlab)
		}
		d.nums = append(d.nums, v)
		*p = &d.nums[len(d.nums)-1]
	}
}

// timeValue scans a string holding a time and parses the bytes between its
// quotes as they are with parse: times never need escapes, and like the time
// types' UnmarshalJSON methods the parser gets the raw bytes. ok is false
// for null and on error (then reason and parse's error say why).
func (d *shapeDecoder) timeValue(parse func(string) (time.Time, error), reason string) (v time.Time, ok bool) {
	start := d.pos
	switch d.peek() {
	case '"':
		if _, r := d.scanString(); r != "" {
			d.fail(r)
			return v, false
		}
		v, err := parse(d.src[start+1 : d.pos-1])
		if err != nil {
			d.failAt(start, reason, err)
			return v, false
		}
		return v, true
	case 'n':
		d.null()
	default:
		d.wrongType("must be a string")
	}
	return v, false
}

// timestamp decodes a Timestamp (Timestamp.UnmarshalJSON); null leaves it.
func (d *shapeDecoder) timestamp(p *Timestamp) {
	if v, ok := d.timeValue(parseRFC3339Nano, "not an RFC 3339 time"); ok {
		p.Time = v.UTC()
	}
}

// sessionTime decodes a SessionTime (SessionTime.UnmarshalJSON); null
// leaves it.
func (d *shapeDecoder) sessionTime(p *SessionTime) {
	if v, ok := d.timeValue(parseSessionTime, "not a time in the layout "+SessionTimeLayout); ok {
		p.Time = v
	}
}

// rfc3339 decodes a time.Time as time.Time.UnmarshalJSON does; null
// leaves it.
func (d *shapeDecoder) rfc3339(p *time.Time) {
	if v, ok := d.timeValue(parseRFC3339, "not an RFC 3339 time"); ok {
		*p = v
	}
}

// parseRFC3339Nano parses text as Timestamp.UnmarshalText does.
func parseRFC3339Nano(text string) (time.Time, error) { return time.Parse(time.RFC3339Nano, text) }

// parseRFC3339 parses text as time.Time.UnmarshalJSON does (its strict
// checks are switched off in the time package, see go.dev/issue/54580).
func parseRFC3339(text string) (time.Time, error) { return time.Parse(time.RFC3339, text) }

// parseSessionTime is time.ParseInLocation(SessionTimeLayout, text,
// time.UTC), the same result and error, in a fraction of the time for text
// exactly in the layout: that is parsed here, anything else (including
// fields out of range) by the time package.
func parseSessionTime(text string) (time.Time, error) {
	if len(text) == len(SessionTimeLayout) && text[4] == '-' && text[7] == '-' && text[10] == ' ' &&
		text[13] == ':' && text[16] == ':' {
		ok := true
		num := func(s string) int {
			n := 0
			for _, c := range []byte(s) {
				if c < '0' || c > '9' {
					ok = false
				}
				n = n*10 + int(c-'0')
			}
			return n
		}
		year, month, day := num(text[0:4]), num(text[5:7]), num(text[8:10])
		hour, minute, sec := num(text[11:13]), num(text[14:16]), num(text[17:19])
		if ok && 1 <= month && month <= 12 && 1 <= day && day <= daysIn(month, year) &&
			hour < 24 && minute < 60 && sec < 60 {
			return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC), nil
		}
	}
	return time.ParseInLocation(SessionTimeLayout, text, time.UTC)
}

// daysIn returns the number of days of month (1 to 12) in year, in the
// proleptic Gregorian calendar as the time package counts.
func daysIn(month, year int) int {
	if month == 2 {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 30 + (month+month/8)%2
}
