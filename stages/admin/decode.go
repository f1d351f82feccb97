package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// object is a JSON object of a request body, read field by field so that
// unknown fields are a 400, type errors and validation are a 422 naming
// each field, and PATCH knows which fields were sent.
type object struct {
	path string                     // "" or the parent's path and "." ("action.")
	raw  map[string]json.RawMessage // the fields as sent
	errs map[string]string          // shared by an object and its children
}

// readObject reads r's body (at most limit bytes) as a JSON object.
func readObject(w http.ResponseWriter, r *http.Request, limit int64) (*object, *Error) {
	body, aerr := readBody(w, r, limit)
	if aerr != nil {
		return nil, aerr
	}
	o := &object{errs: map[string]string{}}
	if aerr := o.parse(body, "the body"); aerr != nil {
		return nil, aerr
	}
	// Invalid UTF-8 and repeated keys are refused, as in raw events,
	// rather than replaced with U+FFFD or decided by the last key.
	if fields := checkStrict(body); fields != nil {
		return nil, strictError(fields)
	}
	return o, nil
}

// readOptionalObject is readObject where an empty body is an empty object.
func readOptionalObject(w http.ResponseWriter, r *http.Request, limit int64) (*object, *Error) {
	body, aerr := readBody(w, r, limit)
	if aerr != nil {
		return nil, aerr
	}
	o := &object{raw: map[string]json.RawMessage{}, errs: map[string]string{}}
	if len(bytes.TrimSpace(body)) == 0 {
		return o, nil
	}
	if aerr := o.parse(body, "the body"); aerr != nil {
		return nil, aerr
	}
	return o, nil
}

// readBody reads r's body, at most limit bytes (413 beyond).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "the body is larger than %d bytes", limit)
		}
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "reading the body: %v", err)
	}
	return body, nil
}

func (o *object) parse(data []byte, what string) *Error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return errorf(http.StatusBadRequest, CodeBadRequest, "%s is empty: send a JSON object", what)
	}
	if data[0] != '{' {
		if !json.Valid(data) {
			return errorf(http.StatusBadRequest, CodeBadRequest, "%s is not valid JSON", what)
		}
		return errorf(http.StatusBadRequest, CodeBadRequest, "%s must be a JSON object", what)
	}
	if err := json.Unmarshal(data, &o.raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return errorf(http.StatusBadRequest, CodeBadRequest, "%s is not valid JSON: %v (at byte %d)", what, se, se.Offset)
		}
		return errorf(http.StatusBadRequest, CodeBadRequest, "%s is not valid JSON: %v", what, err)
	}
	return nil
}

// only returns a 400 naming every field of o that is not in allowed.
func (o *object) only(allowed ...string) *Error {
	fields := map[string]string{}
	for name := range o.raw {
		if !slices.Contains(allowed, name) {
			fields[o.path+name] = "unknown field"
		}
	}
	if len(fields) == 0 {
		return nil
	}
	names := sortedKeys(fields)
	allowed = slices.Sorted(slices.Values(allowed))
	return &Error{Status: http.StatusBadRequest, Code: CodeUnknownField, Fields: fields,
		Message: fmt.Sprintf("unknown field %s; the fields are %s", strings.Join(quoteAll(names), ", "), strings.Join(allowed, ", "))}
}

// has reports whether the field was sent (null included).
func (o *object) has(name string) bool { _, ok := o.raw[name]; return ok }

// isNull reports whether the field was sent as null.
func (o *object) isNull(name string) bool {
	v, ok := o.raw[name]
	return ok && bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// fail records a problem with a field (the first problem of a field wins).
func (o *object) fail(name, msg string) {
	if _, ok := o.errs[o.path+name]; !ok {
		o.errs[o.path+name] = msg
	}
}

// required records "is required" for each name that was not sent or is null.
func (o *object) required(names ...string) {
	for _, n := range names {
		if !o.has(n) || o.isNull(n) {
			o.fail(n, "is required")
		}
	}
}

// field decodes the field name into T. ok is false when the field was not
// sent, is null (nullable: the caller decides what null means), or has the
// wrong type (then the error "must be WANT" is recorded).
func field[T any](o *object, name, want string) (v T, ok bool) {
	raw, sent := o.raw[name]
	if !sent || o.isNull(name) {
		return v, false
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		o.fail(name, "must be "+want)
		return v, false
	}
	return v, true
}

// integer decodes the field name as an integer as JSON Schema counts
// them (302, 302.0 and 3.02e2 are the same integer), so that the served
// OpenAPI document's "type": "integer" is exactly what is accepted. ok is
// false as for field (the error "must be WANT" is recorded for a
// fraction, another type, or a number beyond ±2^53).
func integer(o *object, name, want string) (v int, ok bool) {
	f, ok := field[float64](o, name, want)
	if !ok {
		return 0, false
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		o.fail(name, "must be "+want)
		return 0, false
	}
	return int(f), true
}

// notNull records "must not be null" for each name sent as null.
func (o *object) notNull(names ...string) {
	for _, n := range names {
		if o.isNull(n) {
			o.fail(n, "must not be null")
		}
	}
}

// child returns the field name as a nested object, or nil (after
// recording why) when it is not an object.
func (o *object) child(name string) (*object, *Error) {
	raw, sent := o.raw[name]
	if !sent || o.isNull(name) {
		return nil, nil
	}
	c := &object{path: o.path + name + ".", errs: o.errs}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		if aerr := c.parse(raw, o.path+name); aerr != nil {
			return nil, aerr
		}
		return c, nil
	}
	o.fail(name, "must be an object")
	return nil, nil
}

// merge adds field errors from validation to o (earlier errors win).
func (o *object) merge(fields map[string]string) {
	for k, v := range fields {
		if _, ok := o.errs[k]; !ok {
			o.errs[k] = v
		}
	}
}

// err is the 422 of every recorded field error, or nil.
func (o *object) err() *Error {
	if len(o.errs) == 0 {
		return nil
	}
	return invalid(o.errs)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
