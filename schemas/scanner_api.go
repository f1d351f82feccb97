package schemas

import "unsafe"

// Scanner reads JSON in place with the package's scanner (scanner.go), for
// an internal format that another package reads without reflection because
// it keeps slices of the input: the deliver stage's delivery requests and
// retry envelopes. Values are read in document order:
//
//	var sc schemas.Scanner
//	sc.Reset(data)
//	if sc.Object() {
//		for key, ok := sc.Member(); ok; key, ok = sc.Member() {
//			switch key {
//			case "id":
//				id, _ = sc.Bytes()
//			default:
//				sc.Skip()
//			}
//		}
//	}
//	if err := sc.Finish(); err != nil { ... }
//
// It is as strict as the lead change decoder (top of change_decode.go): the
// input must be JSON, strings valid UTF-8 (lone surrogates in \u escapes
// become U+FFFD), containers nested at most 8 deep where Object and Array
// enter them and 64 deep inside a skipped value; keys are matched by the
// caller. The first problem sticks: every later call returns false, and Err
// and Finish return it, a *DecodeError with its offset and member path.
//
// The zero value is ready for Reset. A Scanner copies nothing: it holds no
// memory beyond the input's (a few hundred bytes, on the caller's stack
// when it is a local variable). Not safe for concurrent use.
type Scanner struct {
	d    shapeDecoder
	data []byte
}

// Reset starts reading data at its first value and forgets any earlier
// input and problem. data is read in place: the slices that Bytes and Skip
// return share its memory, so data must not change while they are used.
func (s *Scanner) Reset(data []byte) {
	s.d = shapeDecoder{}
	// The scanner only reads data, and what Scanner returns is a slice of
	// data or a copy, never a string sharing its memory (a DecodeError's
	// path is copied when it is made).
	s.d.src = unsafe.String(unsafe.SliceData(data), len(data))
	s.data = data
	s.d.skipWS()
}

// Object enters the object at the current value and returns true; any
// other value, null included, is a problem ("must be an object").
func (s *Scanner) Object() bool { return s.enter('{', "must be an object") }

// Array enters the array at the current value and returns true; any other
// value, null included, is a problem ("must be an array").
func (s *Scanner) Array() bool { return s.enter('[', "must be an array") }

// enter enters the container that open opens (see Object).
func (s *Scanner) enter(open byte, want string) bool {
	if s.d.err != nil {
		return false
	}
	if s.d.peek() == 'n' {
		s.d.fail(want + ", not null")
		return false
	}
	return s.d.enter(open, want)
}

// Member moves to the next member of the object the Scanner is in and
// returns its key (unescaped) and true, with the Scanner at its value,
// which the caller must read (Bytes) or skip (Skip) before the next call.
// At the object's end it leaves the object and returns false, as on a
// problem. Calling it outside an object is a problem.
func (s *Scanner) Member() (string, bool) {
	if !s.in(false) {
		return "", false
	}
	return s.d.member()
}

// Element moves to the next element of the array the Scanner is in and
// returns true, with the Scanner at it, which the caller must read or skip
// before the next call. At the array's end it leaves the array and returns
// false, as on a problem. Calling it outside an array is a problem.
func (s *Scanner) Element() bool { return s.in(true) && s.d.element() }

// in reports whether no problem has been found and the Scanner is in an
// array (array set) or an object; if not, that is a problem.
func (s *Scanner) in(array bool) bool {
	if s.d.err != nil {
		return false
	}
	if s.d.depth == 0 || s.d.path[s.d.depth-1].array != array {
		s.d.fail("schemas.Scanner: Member outside an object or Element outside an array")
		return false
	}
	return true
}

// Bytes reads the string at the current value and returns its value and
// true: a slice of the input when it has no escapes, else a new slice. Any
// other value, null included, is a problem ("must be a string").
func (s *Scanner) Bytes() ([]byte, bool) {
	if s.d.err != nil {
		return nil, false
	}
	switch s.d.peek() {
	case '"':
	case 'n':
		s.d.fail("must be a string, not null")
		return nil, false
	default:
		s.d.wrongType("must be a string")
		return nil, false
	}
	start := s.d.pos + 1
	v, reason := s.d.scanString()
	if reason != "" {
		s.d.fail(reason)
		return nil, false
	}
	// Escapes always make a string shorter than its text, so a value as
	// long as its text is the text itself.
	if end := s.d.pos - 1; len(v) == end-start {
		return s.data[start:end:end], true
	}
	return []byte(v), true
}

// Skip skips the value at the Scanner and returns its text, a slice of the
// input, and true; it checks that the value is JSON, nested at most 64 deep.
func (s *Scanner) Skip() ([]byte, bool) {
	if s.d.err != nil {
		return nil, false
	}
	start := s.d.pos
	if s.d.skip(); s.d.err != nil {
		return nil, false
	}
	return s.data[start:s.d.pos:s.d.pos], true
}

// Err returns the first problem found so far (a *DecodeError), or nil.
func (s *Scanner) Err() error {
	if s.d.err != nil {
		return s.d.err
	}
	return nil
}

// Finish checks that nothing but white space follows the top-level value
// and returns the first problem (a *DecodeError), or nil.
func (s *Scanner) Finish() error { return s.d.finish() }

// ValidJSON reports whether data is one JSON value with nothing but white
// space around it, as strict as Scanner (strings valid UTF-8, nested at
// most 64 deep). It reads in place and allocates nothing, apart from a
// string with escapes (the scanner unescapes it to check it); the deliver
// stage checks a webhook body with it before the attempt log embeds the
// body as raw JSON.
func ValidJSON(data []byte) bool {
	var s Scanner
	s.Reset(data)
	_, ok := s.Skip()
	return ok && s.Finish() == nil
}
