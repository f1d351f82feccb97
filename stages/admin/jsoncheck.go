package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// checkStrict returns, for a body that is valid JSON, the fields whose
// strings are not valid UTF-8 (raw bytes, or a \u escape of a lone
// surrogate) and the object keys sent more than once, by path ("name",
// "filter.all[0].value"), as the raw events refuse them: encoding/json
// would replace the bytes with U+FFFD and keep the last of repeated keys
// silently. A nil map means the body is clean.
func checkStrict(data []byte) map[string]string {
	c := strictChecker{data: data, fields: map[string]string{}}
	c.value("")
	if len(c.fields) == 0 {
		return nil
	}
	return c.fields
}

// strictError is the 400 naming every field checkStrict found.
func strictError(fields map[string]string) *Error {
	names := sortedKeys(fields)
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Fields: fields,
		Message: fmt.Sprintf("field %s: %s", strconv.Quote(names[0]), fields[names[0]])}
}

// strictChecker walks a valid JSON document once.
type strictChecker struct {
	data   []byte
	i      int
	fields map[string]string
}

func (c *strictChecker) fail(path, msg string) {
	if path == "" {
		path = "(body)"
	}
	if _, ok := c.fields[path]; !ok {
		c.fields[path] = msg
	}
}

func (c *strictChecker) space() {
	for c.i < len(c.data) && (c.data[c.i] == ' ' || c.data[c.i] == '\t' || c.data[c.i] == '\n' || c.data[c.i] == '\r') {
		c.i++
	}
}

// value checks the value at c.i, found at path.
func (c *strictChecker) value(path string) {
	c.space()
	if c.i >= len(c.data) {
		return
	}
	switch c.data[c.i] {
	case '{':
		c.i++
		seen := map[string]bool{}
		for {
			c.space()
			if c.i >= len(c.data) || c.data[c.i] == '}' {
				c.i++
				return
			}
			if c.data[c.i] == ',' {
				c.i++
				continue
			}
			key, ok := c.str()
			name := key
			if path != "" {
				name = path + "." + key
			}
			if !ok {
				c.fail(name, "is not valid UTF-8")
			} else if seen[key] {
				c.fail(name, "is repeated: send each field once")
			}
			seen[key] = true
			c.space()
			c.i++ // ':'
			c.value(name)
		}
	case '[':
		c.i++
		for n := 0; ; {
			c.space()
			if c.i >= len(c.data) || c.data[c.i] == ']' {
				c.i++
				return
			}
			if c.data[c.i] == ',' {
				c.i++
				continue
			}
			c.value(path + "[" + strconv.Itoa(n) + "]")
			n++
		}
	case '"':
		if _, ok := c.str(); !ok {
			c.fail(path, "is not valid UTF-8")
		}
	default: // number, true, false, null
		start := c.i
		for c.i < len(c.data) && !isDelim(c.data[c.i]) {
			c.i++
		}
		if c.i == start { // not JSON: move on, so that every input ends
			c.i++
		}
	}
}

func isDelim(b byte) bool {
	return b == ',' || b == '}' || b == ']' || b == ' ' || b == '\t' || b == '\n' || b == '\r'
}

// str reads the string at c.i and returns it decoded; ok is false when it
// has bytes that are not UTF-8 or an escaped lone surrogate.
func (c *strictChecker) str() (s string, ok bool) {
	c.i++ // opening quote
	ok = true
	var out []byte
	for c.i < len(c.data) {
		b := c.data[c.i]
		switch {
		case b == '"':
			c.i++
			return string(out), ok
		case b == '\\':
			if c.i+1 < len(c.data) && c.data[c.i+1] == 'u' {
				r, n, valid := c.escapedRune()
				ok = ok && valid
				out = utf8.AppendRune(out, r)
				c.i += n
				continue
			}
			if c.i+1 < len(c.data) {
				out = append(out, c.data[c.i+1])
			}
			c.i += 2
		case b < utf8.RuneSelf:
			out = append(out, b)
			c.i++
		default:
			r, n := utf8.DecodeRune(c.data[c.i:])
			if r == utf8.RuneError && n <= 1 {
				ok = false
			}
			out = append(out, c.data[c.i:c.i+n]...)
			c.i += n
		}
	}
	return string(out), ok
}

// escapedRune decodes the \uXXXX escape (or surrogate pair) at c.i and
// returns the rune, its length, and false for a lone surrogate.
func (c *strictChecker) escapedRune() (rune, int, bool) {
	hex := func(at int) (rune, bool) {
		if at+6 > len(c.data) || c.data[at] != '\\' || c.data[at+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(c.data[at+2:at+6]), 16, 16)
		return rune(v), err == nil
	}
	r, ok := hex(c.i)
	if !ok {
		return utf8.RuneError, 2, false
	}
	if !utf16.IsSurrogate(r) {
		return r, 6, true
	}
	if r2, ok := hex(c.i + 6); ok {
		if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
			return p, 12, true
		}
	}
	return utf8.RuneError, 6, false
}
