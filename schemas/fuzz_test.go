package schemas_test

import (
	"bytes"
	encjson "encoding/json"
	"errors"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/leadflow/leadflow/schemas"
)

// FuzzDecodeRawEvent checks that no input panics the raw-event decoder, that
// every error is a bad event, that oversize input is rejected, and that an
// accepted event satisfies the contract, survives a re-encode, and is read the
// same way by encoding/json.
func FuzzDecodeRawEvent(f *testing.F) {
	if data, err := os.ReadFile("testdata/raw_event.json"); err == nil {
		f.Add(data)
	}
	guide := schemas.GuideNetcontrolEvent()
	f.Add(guide.AppendJSON(nil))
	f.Add([]byte(rawEvent()))
	f.Add([]byte(rawEvent("ip", `"2001:db8::1"`, "url", `"https:\/\/a.b\/\u00e9"`, "time_spent", "null")))
	f.Add([]byte(rawEvent("extra", `{"a":[1,{"b":null}]}`)))
	for _, tc := range badEventCases {
		if len(tc.input) < 1024 {
			f.Add([]byte(tc.input))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := schemas.DecodeRawEvent(data, 0)
		if len(data) > schemas.DefaultMaxEventBytes && !errors.Is(err, schemas.ErrTooLarge) {
			t.Fatalf("oversize input: err = %v", err)
		}
		if len(data) > 1 {
			if _, err := schemas.DecodeRawEvent(data, len(data)-1); !errors.Is(err, schemas.ErrTooLarge) {
				t.Fatalf("input over a %d-byte limit: err = %v", len(data)-1, err)
			}
		}
		var lenient schemas.RawEvent
		lenientErr := schemas.RawDecoder{AllowUnknownFields: true}.Decode(data, &lenient)
		if err != nil {
			var fe *schemas.FieldError
			var se *schemas.SyntaxError
			if !errors.Is(err, schemas.ErrBadEvent) || err.Error() == "" ||
				(!errors.As(err, &fe) && !errors.As(err, &se) && !errors.Is(err, schemas.ErrTooLarge)) {
				t.Fatalf("error %v (%T) is not a typed bad-event error", err, err)
			}
			return
		}
		if lenientErr != nil {
			t.Fatalf("accepted strictly but not leniently: %v", lenientErr)
		}
		checkAccepted(t, &ev)

		// Re-encoding and decoding again gives the same event.
		again, err := schemas.DecodeRawEvent(ev.AppendJSON(nil), 0)
		if err != nil {
			t.Fatalf("re-encoded event rejected: %v\ninput %q\nencoded %s", err, data, ev.AppendJSON(nil))
		}
		if !sameEvent(&ev, &again) || !sameEvent(&ev, &lenient) {
			t.Fatalf("re-decoded event differs:\n%+v\n%+v", ev, again)
		}

		// encoding/json reads the same values.
		var std schemas.RawEvent
		dec := encjson.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&std); err != nil {
			t.Fatalf("encoding/json rejects an accepted event: %v\n%q", err, data)
		}
		std.Time, std.Addr, std.PageURL = ev.Time, ev.Addr, ev.PageURL
		if !sameEvent(&ev, &std) {
			t.Fatalf("encoding/json reads differently:\nours %+v\nstd  %+v", ev, std)
		}
	})
}

// checkAccepted asserts the contract of DESIGN 1.2 on an accepted event.
func checkAccepted(t *testing.T, ev *schemas.RawEvent) {
	t.Helper()
	for name, v := range map[string]string{"event_id": ev.EventID, "workspace_id": ev.WorkspaceID,
		"session_id": ev.SessionID, "ip": ev.IP, "url": ev.URL, "timestamp": ev.Timestamp} {
		if v == "" {
			t.Fatalf("accepted with empty %s", name)
		}
	}
	if ev.Type != schemas.TypePageview && ev.Type != schemas.TypePing {
		t.Fatalf("accepted type %q", ev.Type)
	}
	if !ev.Addr.IsValid() || ev.Addr.Zone() != "" || ev.Addr.Is4In6() {
		t.Fatalf("accepted Addr %v", ev.Addr)
	}
	if ev.Time.IsZero() && ev.Timestamp != "0001-01-01T00:00:00Z" || ev.Time.Location() != time.UTC {
		t.Fatalf("accepted Time %v from %q", ev.Time, ev.Timestamp)
	}
	if ev.TimeSpent < 0 || ev.TimeSpent > schemas.MaxTimeSpent {
		t.Fatalf("accepted time_spent %d", ev.TimeSpent)
	}
	if u, err := url.Parse(ev.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" ||
		ev.PageURL != (schemas.PageURL{Host: u.Host, Path: schemas.PagePath(u), RawQuery: u.RawQuery}) {
		t.Fatalf("accepted url %q as %+v", ev.URL, ev.PageURL)
	}
	if len(ev.EventID) > schemas.MaxIDBytes || len(ev.VisitorID) > schemas.MaxIDBytes ||
		len(ev.URL) > schemas.MaxURLBytes || len(ev.Referrer) > schemas.MaxURLBytes ||
		len(ev.UserAgent) > schemas.MaxUserAgentBytes {
		t.Fatal("accepted an over-long field")
	}
}

func sameEvent(a, b *schemas.RawEvent) bool {
	return a.EventID == b.EventID && a.WorkspaceID == b.WorkspaceID && a.SessionID == b.SessionID &&
		a.VisitorID == b.VisitorID && a.Type == b.Type && a.IP == b.IP && a.UserAgent == b.UserAgent &&
		a.URL == b.URL && a.Referrer == b.Referrer && a.TimeSpent == b.TimeSpent &&
		a.Timestamp == b.Timestamp && a.Time.Equal(b.Time) && a.Addr == b.Addr &&
		a.PageURL == b.PageURL
}
