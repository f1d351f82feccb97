package schemas

import (
	"errors"
	"time"
)

// Layouts of the two time formats in the webhook payloads.
const (
	// TimestampLayout is the lead's first_seen/last_seen format: UTC, always
	// six fractional digits, literal Z, e.g. 2024-05-15T10:55:50.000000Z.
	TimestampLayout = "2006-01-02T15:04:05.000000Z"
	// SessionTimeLayout is the session's started_at and the pageview's
	// visited_at format: UTC, whole seconds, a space, no zone, e.g.
	// 2024-05-15 10:55:50.
	SessionTimeLayout = "2006-01-02 15:04:05"
)

// errTimeSyntax is returned when a JSON time value is not a string.
var errTimeSyntax = errors.New("schemas: time value is not a JSON string")

// Timestamp is a time.Time that encodes as the lead's first_seen/last_seen
// format (TimestampLayout). Encoding converts to UTC and truncates to
// microseconds. Decoding accepts that format and any RFC 3339 time, and
// yields UTC. The zero value encodes as 0001-01-01T00:00:00.000000Z.
type Timestamp struct{ time.Time }

// NewTimestamp returns t in UTC as a Timestamp.
func NewTimestamp(t time.Time) Timestamp { return Timestamp{t.UTC()} }

// AppendJSON appends the quoted timestamp to dst.
func (t Timestamp) AppendJSON(dst []byte) []byte {
	dst = append(dst, '"')
	dst = t.appendText(dst)
	return append(dst, '"')
}

// AppendText implements encoding.TextAppender: it appends the unquoted
// timestamp to dst and never fails.
func (t Timestamp) AppendText(dst []byte) ([]byte, error) { return t.appendText(dst), nil }

func (t Timestamp) appendText(dst []byte) []byte {
	u := t.UTC()
	dst = appendDateTime(dst, u, 'T')
	dst = append(dst, '.')
	dst = appendDigits(dst, u.Nanosecond()/1000, 6)
	return append(dst, 'Z')
}

// String returns the timestamp in TimestampLayout.
func (t Timestamp) String() string { return string(t.appendText(nil)) }

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) { return t.AppendJSON(nil), nil }

// MarshalText implements encoding.TextMarshaler.
func (t Timestamp) MarshalText() ([]byte, error) { return t.appendText(nil), nil }

// UnmarshalJSON implements json.Unmarshaler; null leaves t unchanged.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	s, null, err := unquoteTime(data)
	if err != nil || null {
		return err
	}
	return t.UnmarshalText([]byte(s))
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Timestamp) UnmarshalText(text []byte) error {
	v, err := time.Parse(time.RFC3339Nano, string(text))
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

// SessionTime is a time.Time that encodes as the session's started_at and the
// pageview's visited_at format (SessionTimeLayout): UTC, truncated to whole
// seconds. Decoding expects that format and yields UTC.
type SessionTime struct{ time.Time }

// NewSessionTime returns t in UTC as a SessionTime.
func NewSessionTime(t time.Time) SessionTime { return SessionTime{t.UTC()} }

// AppendJSON appends the quoted session time to dst.
func (t SessionTime) AppendJSON(dst []byte) []byte {
	dst = append(dst, '"')
	dst = t.appendText(dst)
	return append(dst, '"')
}

// AppendText implements encoding.TextAppender: it appends the unquoted
// session time to dst and never fails.
func (t SessionTime) AppendText(dst []byte) ([]byte, error) { return t.appendText(dst), nil }

func (t SessionTime) appendText(dst []byte) []byte {
	return appendDateTime(dst, t.UTC(), ' ')
}

// String returns the time in SessionTimeLayout.
func (t SessionTime) String() string { return string(t.appendText(nil)) }

// MarshalJSON implements json.Marshaler.
func (t SessionTime) MarshalJSON() ([]byte, error) { return t.AppendJSON(nil), nil }

// MarshalText implements encoding.TextMarshaler.
func (t SessionTime) MarshalText() ([]byte, error) { return t.appendText(nil), nil }

// UnmarshalJSON implements json.Unmarshaler; null leaves t unchanged.
func (t *SessionTime) UnmarshalJSON(data []byte) error {
	s, null, err := unquoteTime(data)
	if err != nil || null {
		return err
	}
	return t.UnmarshalText([]byte(s))
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *SessionTime) UnmarshalText(text []byte) error {
	v, err := time.ParseInLocation(SessionTimeLayout, string(text), time.UTC)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// unquoteTime returns the contents of a JSON string holding a time. Times
// never need escapes, so a string with a backslash is rejected by the parser
// that follows.
func unquoteTime(data []byte) (s string, null bool, err error) {
	if string(data) == "null" {
		return "", true, nil
	}
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return "", false, errTimeSyntax
	}
	return string(data[1 : len(data)-1]), false, nil
}

// appendDateTime appends u (already UTC) as YYYY-MM-DD<sep>hh:mm:ss. Years
// outside 0000-9999 fall back to time.AppendFormat.
func appendDateTime(dst []byte, u time.Time, sep byte) []byte {
	year, month, day := u.Date()
	if year < 0 || year > 9999 {
		dst = u.AppendFormat(dst, "2006-01-02")
	} else {
		dst = appendDigits(dst, year, 4)
		dst = append(dst, '-')
		dst = appendDigits(dst, int(month), 2)
		dst = append(dst, '-')
		dst = appendDigits(dst, day, 2)
	}
	hour, minute, sec := u.Clock()
	dst = append(dst, sep)
	dst = appendDigits(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, minute, 2)
	dst = append(dst, ':')
	return appendDigits(dst, sec, 2)
}

// appendDigits appends the non-negative v zero-padded to width digits.
func appendDigits(dst []byte, v, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for v >= 10 || width > 1 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	i--
	buf[i] = byte('0' + v)
	return append(dst, buf[i:]...)
}
