package filter

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadflow/leadflow/schemas"
)

// condBuilder checks a condition's "value" and builds the condition.
type condBuilder struct {
	f    *fieldSpec
	op   *opSpec
	path string // the path of "value"
}

func (b *condBuilder) wrong(path string, got *jsonValue) error {
	return errorf(path, fmt.Sprintf("%s on %q needs %s, got %s", b.op.name, b.f.name, wantValue(b.op, b.f), got.describe()))
}

func (b *condBuilder) elemPath(i int) string { return b.path + "[" + strconv.Itoa(i) + "]" }

// list checks that v is an array of 1 to MaxListValues elements.
func (b *condBuilder) list(v *jsonValue) error {
	if v.kind != jsonArray {
		return b.wrong(b.path, v)
	}
	if len(v.arr) == 0 {
		return errorf(b.path, b.op.name+" needs at least one value (an empty list matches nothing; remove the condition instead)")
	}
	if len(v.arr) > MaxListValues {
		return errorf(b.path, fmt.Sprintf("%s has %d values; the limit is %d (MaxListValues)", b.op.name, len(v.arr), MaxListValues))
	}
	return nil
}

// pair checks that v is an array of exactly two elements, for between.
func (b *condBuilder) pair(v *jsonValue) error {
	if v.kind != jsonArray || len(v.arr) != 2 {
		return errorf(b.path, fmt.Sprintf("between on %q needs %s, got %s", b.f.name, wantValue(b.op, b.f), describeLen(v)))
	}
	return nil
}

func describeLen(v *jsonValue) string {
	switch {
	case v.kind == jsonArray && len(v.arr) == 1:
		return "an array of 1 value"
	case v.kind == jsonArray:
		return fmt.Sprintf("an array of %d values", len(v.arr))
	}
	return v.describe()
}

// yearIsNumeric decides whether a founded_year condition compares numbers:
// always for the ordering operators, and for eq/in (and their negations)
// when the value, or the list's first element, is a number.
func (b *condBuilder) yearIsNumeric(v *jsonValue) bool {
	switch b.op.code {
	case opGt, opGte, opLt, opLte, opBetween:
		return true
	case opEq:
		return v.kind == jsonNumber
	case opIn:
		return v.kind == jsonArray && len(v.arr) > 0 && v.arr[0].kind == jsonNumber
	}
	return false
}

// numberAt reads one numeric value: a JSON number, or for founded_year's
// ordering operators also a string of digits.
func (b *condBuilder) numberAt(v *jsonValue, path string) (float64, error) {
	s := v.str
	switch {
	case v.kind == jsonNumber:
	case v.kind == jsonString && b.f.typ == TypeYear && b.op.types&tString == 0:
		y, ok := parseYear(&v.str)
		if !ok {
			return 0, errorf(path, fmt.Sprintf("%q is not a year", v.str))
		}
		return y, nil
	case v.kind == jsonString && b.f.typ == TypeYear:
		return 0, errorf(path, mixedYears)
	default:
		return 0, b.wrong(path, v)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errorf(path, fmt.Sprintf("number %s is out of range", s))
	}
	return f, nil
}

// number builds a numCond reading get.
func (b *condBuilder) number(v *jsonValue, get func(*schemas.LeadChange) (float64, bool)) (node, error) {
	c := &numCond{get: get, op: b.op.code, negate: b.op.negate}
	var err error
	switch b.op.code {
	case opIn:
		if err := b.list(v); err != nil {
			return nil, err
		}
		seen := make(map[float64]struct{}, len(v.arr))
		for i := range v.arr {
			x, err := b.numberAt(&v.arr[i], b.elemPath(i))
			if err != nil {
				return nil, err
			}
			if _, dup := seen[x]; !dup {
				seen[x] = struct{}{}
				c.list = append(c.list, x)
			}
		}
		if len(c.list) > shortList {
			c.set, c.list = seen, nil
		}
	case opBetween:
		if err := b.pair(v); err != nil {
			return nil, err
		}
		if c.lo, err = b.numberAt(&v.arr[0], b.elemPath(0)); err != nil {
			return nil, err
		}
		if c.hi, err = b.numberAt(&v.arr[1], b.elemPath(1)); err != nil {
			return nil, err
		}
		if c.lo > c.hi {
			return nil, errorf(b.path, fmt.Sprintf("between needs lo <= hi, got [%v, %v]", c.lo, c.hi))
		}
	default:
		if c.lo, err = b.numberAt(v, b.path); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// mixedYears is the message for a founded_year list of numbers and strings.
const mixedYears = "the list mixes numbers and strings: use all numbers (compare years as numbers) or all strings (compare text)"

// stringAt reads one non-empty string value.
func (b *condBuilder) stringAt(v *jsonValue, path string, list bool) (string, error) {
	if list && v.kind == jsonNumber && b.f.typ == TypeYear {
		return "", errorf(path, mixedYears)
	}
	if v.kind != jsonString {
		return "", b.wrong(path, v)
	}
	if v.str == "" {
		return "", errorf(path, "empty string: use exists or not_exists to test for a missing value")
	}
	return v.str, nil
}

// strMatcher builds the positive string test of a condition.
func (b *condBuilder) strMatcher(v *jsonValue) (strMatcher, error) {
	m := strMatcher{op: b.op.code}
	switch b.op.code {
	case opIn:
		if err := b.list(v); err != nil {
			return m, err
		}
		for i := range v.arr {
			s, err := b.stringAt(&v.arr[i], b.elemPath(i), true)
			if err != nil {
				return m, err
			}
			if !slices.ContainsFunc(m.list, func(x string) bool { return strings.EqualFold(x, s) }) {
				m.list = append(m.list, s)
			}
		}
		if len(m.list) > shortList {
			m.set = make(map[uint64][]string, len(m.list))
			for _, s := range m.list {
				h := foldHash(s)
				m.set[h] = append(m.set[h], s)
			}
			m.list = nil
		}
	case opMatches:
		if v.kind != jsonString {
			return m, b.wrong(b.path, v)
		}
		if len(v.str) > MaxRegexpBytes {
			return m, errorf(b.path, fmt.Sprintf("the regexp is %d bytes; the limit is %d (MaxRegexpBytes)", len(v.str), MaxRegexpBytes))
		}
		if v.str == "" {
			return m, errorf(b.path, "empty regexp: it would match every value; use exists instead")
		}
		re, err := regexp.Compile(v.str)
		if err != nil {
			return m, errorf(b.path, "invalid regexp: "+strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		m.re = re
		m.pf, m.exact = newPrefilter(v.str)
	default: // eq, contains, starts_with, ends_with
		s, err := b.stringAt(v, b.path, false)
		if err != nil {
			return m, err
		}
		m.n = newNeedle(s)
	}
	return m, nil
}

// timeAt reads one time value: an RFC 3339 time, a date (midnight UTC), the
// payload's session time "YYYY-MM-DD hh:mm:ss" (UTC), or a number of Unix
// seconds (fractions allowed), within years 0001 to 9999.
func (b *condBuilder) timeAt(v *jsonValue, path string) (time.Time, error) {
	switch v.kind {
	case jsonNumber:
		f, err := strconv.ParseFloat(v.str, 64)
		if err != nil || f < minUnix || f > maxUnix {
			return time.Time{}, errorf(path, fmt.Sprintf("%s Unix seconds is outside the years 0001 to 9999", v.str))
		}
		sec := math.Floor(f)
		ns := math.Round((f - sec) * 1e9)
		return time.Unix(int64(sec), int64(ns)).UTC(), nil
	case jsonString:
		for _, layout := range [...]string{time.RFC3339Nano, dateLayout, schemas.SessionTimeLayout} {
			if t, err := time.Parse(layout, v.str); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, errorf(path, fmt.Sprintf("%q is not a time: want %s", v.str, wantValue(b.op, b.f)))
	}
	return time.Time{}, b.wrong(path, v)
}

const (
	dateLayout = "2006-01-02"
	// minUnix and maxUnix are 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
	minUnix = -62135596800
	maxUnix = 253402300799
)

// time builds a timeCond.
func (b *condBuilder) time(v *jsonValue) (node, error) {
	c := &timeCond{get: b.f.tim, op: b.op.code, negate: b.op.negate}
	var err error
	if b.op.code != opBetween {
		if c.lo, err = b.timeAt(v, b.path); err != nil {
			return nil, err
		}
		return c, nil
	}
	if err := b.pair(v); err != nil {
		return nil, err
	}
	if c.lo, err = b.timeAt(&v.arr[0], b.elemPath(0)); err != nil {
		return nil, err
	}
	if c.hi, err = b.timeAt(&v.arr[1], b.elemPath(1)); err != nil {
		return nil, err
	}
	if c.lo.After(c.hi) {
		return nil, errorf(b.path, fmt.Sprintf("between needs lo <= hi, got [%s, %s]",
			c.lo.Format(time.RFC3339Nano), c.hi.Format(time.RFC3339Nano)))
	}
	return c, nil
}
