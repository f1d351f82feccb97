package schemas_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/leadflow/leadflow/schemas"
)

// baseFields is a valid raw event as ordered key/raw-value pairs.
var baseFields = [][2]string{
	{"event_id", `"e-1"`},
	{"workspace_id", `"ws_123"`},
	{"session_id", `"s_9f1c"`},
	{"visitor_id", `"v_77"`},
	{"type", `"pageview"`},
	{"ip", `"198.51.100.23"`},
	{"user_agent", `"Mozilla/5.0"`},
	{"url", `"https://www.example.com/pricing?utm_source=google"`},
	{"referrer", `"https://www.google.com/"`},
	{"time_spent", `14`},
	{"timestamp", `"2024-05-15T10:55:50Z"`},
}

// rawEvent builds an event from baseFields with overrides given as key,
// raw value pairs; an empty raw value removes the key, an unknown key is
// appended.
func rawEvent(overrides ...string) string {
	fields := append([][2]string(nil), baseFields...)
	for i := 0; i+1 < len(overrides); i += 2 {
		k, v := overrides[i], overrides[i+1]
		found := false
		for j := range fields {
			if fields[j][0] == k {
				fields[j][1] = v
				found = true
			}
		}
		if !found {
			fields = append(fields, [2]string{k, v})
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	for _, f := range fields {
		if f[1] == "" {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(`"` + f[0] + `":` + f[1])
	}
	b.WriteByte('}')
	return b.String()
}

// badEventCases are rejected inputs with the field the error must name ("" for
// a document-level SyntaxError) and a phrase its message must contain.
var badEventCases = []struct {
	name, input, field, reason string
}{
	{"empty input", ``, "", "empty input"},
	{"whitespace only", " \n", "", "empty input"},
	{"array", `[1,2]`, "", "not a JSON object"},
	{"null", `null`, "", "not a JSON object"},
	{"string", `"x"`, "", "not a JSON object"},
	{"unterminated object", `{"event_id":"e-1"`, "", "expected ',' or '}'"},
	{"trailing comma", strings.TrimSuffix(rawEvent(), "}") + ",}", "", "expected a string key"},
	{"missing colon", `{"event_id" "e-1"}`, "", "expected ':'"},
	{"trailing data", rawEvent() + " {}", "", "unexpected data after the object"},
	{"two objects", rawEvent() + rawEvent(), "", "unexpected data"},
	{"bad key string", "{\"event\x01id\":1}", "", "control character"},
	{"invalid JSON in value", rawEvent("url", `"https://x.com/\q"`), "url", "invalid escape"},
	{"unterminated value", `{"url":"https://x.com`, "url", "unterminated string"},
	{"raw newline in string", rawEvent("user_agent", "\"a\nb\""), "user_agent", "control character"},
	{"invalid UTF-8", rawEvent("referrer", "\"\xff\xfe\""), "referrer", "invalid UTF-8"},
	{"bad unicode escape", rawEvent("user_agent", `"\u12G4"`), "user_agent", `invalid \u escape`},

	{"missing event_id", rawEvent("event_id", ""), "event_id", "is required"},
	{"missing workspace_id", rawEvent("workspace_id", ""), "workspace_id", "is required"},
	{"missing session_id", rawEvent("session_id", ""), "session_id", "is required"},
	{"missing type", rawEvent("type", ""), "type", "is required"},
	{"missing ip", rawEvent("ip", ""), "ip", "is required"},
	{"missing url", rawEvent("url", ""), "url", "is required"},
	{"missing timestamp", rawEvent("timestamp", ""), "timestamp", "is required"},
	{"null event_id", rawEvent("event_id", "null"), "event_id", "is required"},
	{"empty event_id", rawEvent("event_id", `""`), "event_id", "must not be empty"},
	{"empty workspace_id", rawEvent("workspace_id", `""`), "workspace_id", "must not be empty"},
	{"empty url", rawEvent("url", `""`), "url", "must not be empty"},

	{"event_id number", rawEvent("event_id", `123`), "event_id", "must be a string"},
	{"ip bool", rawEvent("ip", `true`), "ip", "must be a string"},
	{"url object", rawEvent("url", `{"href":"https://x.com"}`), "url", "must be a string"},
	{"visitor_id array", rawEvent("visitor_id", `["v"]`), "visitor_id", "must be a string"},
	{"time_spent string", rawEvent("time_spent", `"14"`), "time_spent", "must be a number"},
	{"time_spent bool", rawEvent("time_spent", `false`), "time_spent", "must be a number"},
	{"bad null literal", rawEvent("visitor_id", `nul`), "visitor_id", "invalid literal"},

	{"type click", rawEvent("type", `"click"`), "type", `must be "pageview" or "ping"`},
	{"type upper case", rawEvent("type", `"PAGEVIEW"`), "type", `must be "pageview" or "ping"`},
	{"ip out of range", rawEvent("ip", `"999.1.1.1"`), "ip", "not an IPv4 or IPv6 address"},
	{"ip short", rawEvent("ip", `"1.2.3"`), "ip", "not an IPv4 or IPv6 address"},
	{"ip leading zero", rawEvent("ip", `"01.2.3.4"`), "ip", "not an IPv4 or IPv6 address"},
	{"ip hostname", rawEvent("ip", `"example.com"`), "ip", "not an IPv4 or IPv6 address"},
	{"ip with port", rawEvent("ip", `"1.2.3.4:80"`), "ip", "not an IPv4 or IPv6 address"},
	{"ip zone", rawEvent("ip", `"fe80::1%eth0"`), "ip", "zone"},
	{"ip too long", rawEvent("ip", `"`+strings.Repeat("1", 65)+`"`), "ip", "too long"},
	{"url ftp", rawEvent("url", `"ftp://example.com/x"`), "url", "absolute http(s) URL"},
	{"url relative", rawEvent("url", `"/pricing"`), "url", "absolute http(s) URL"},
	{"url no host", rawEvent("url", `"https://"`), "url", "absolute http(s) URL"},
	{"url port only", rawEvent("url", `"https://:80/"`), "url", "absolute http(s) URL"},
	{"url opaque", rawEvent("url", `"http:example.com"`), "url", "absolute http(s) URL"},
	{"url javascript", rawEvent("url", `"javascript:alert(1)"`), "url", "absolute http(s) URL"},
	{"url space in host", rawEvent("url", `"https://exa mple.com/"`), "url", "not a valid URL"},
	{"url control char", rawEvent("url", `"https://example.com/\u0000"`), "url", "not a valid URL"},
	{"timestamp space", rawEvent("timestamp", `"2024-05-15 10:55:50"`), "timestamp", "RFC 3339"},
	{"timestamp no zone", rawEvent("timestamp", `"2024-05-15T10:55:50"`), "timestamp", "RFC 3339"},
	{"timestamp words", rawEvent("timestamp", `"yesterday"`), "timestamp", "RFC 3339"},
	{"timestamp unix", rawEvent("timestamp", `"1715770550"`), "timestamp", "RFC 3339"},
	{"timestamp bad day", rawEvent("timestamp", `"2024-02-30T10:55:50Z"`), "timestamp", "RFC 3339"},
	{"time_spent negative", rawEvent("time_spent", `-1`), "time_spent", "must not be negative"},
	{"time_spent fraction", rawEvent("time_spent", `1.5`), "time_spent", "whole number"},
	{"time_spent exponent", rawEvent("time_spent", `1e3`), "time_spent", "whole number"},
	{"time_spent over 7 days", rawEvent("time_spent", `604801`), "time_spent", "at most 604800"},
	{"time_spent huge", rawEvent("time_spent", `99999999999999999999999`), "time_spent", "at most 604800"},
	{"time_spent huge negative", rawEvent("time_spent", `-99999999999999999999999`), "time_spent", "must not be negative"},
	{"time_spent leading zero", rawEvent("time_spent", `014`), "", "expected ',' or '}'"},
	{"time_spent bare minus", rawEvent("time_spent", `-`), "time_spent", "invalid number"},

	{"unknown field", rawEvent("page_title", `"Pricing"`), "page_title", "unknown field"},
	{"camel case typo", rawEvent("timeSpent", `14`), "timeSpent", "unknown field"},
	{"key case differs", rawEvent("ip", "", "IP", `"198.51.100.23"`), "IP", "unknown field"},
	{"duplicate key", strings.TrimSuffix(rawEvent(), "}") + `,"ip":"203.0.113.9"}`, "ip", "appears more than once"},
	{"duplicate null key", strings.TrimSuffix(rawEvent("visitor_id", "null"), "}") + `,"visitor_id":"v"}`, "visitor_id", "appears more than once"},

	{"event_id too long", rawEvent("event_id", `"`+strings.Repeat("e", schemas.MaxIDBytes+1)+`"`), "event_id", "too long"},
	{"visitor_id too long", rawEvent("visitor_id", `"`+strings.Repeat("v", schemas.MaxIDBytes+1)+`"`), "visitor_id", "too long"},
	{"url too long", rawEvent("url", `"https://x.com/`+strings.Repeat("p", schemas.MaxURLBytes)+`"`), "url", "too long"},
	{"referrer too long", rawEvent("referrer", `"https://x.com/`+strings.Repeat("p", schemas.MaxURLBytes)+`"`), "referrer", "too long"},
	{"user_agent too long", rawEvent("user_agent", `"`+strings.Repeat("u", schemas.MaxUserAgentBytes+1)+`"`), "user_agent", "too long"},
	{"control char in session_id", rawEvent("session_id", `"s\u0001x"`), "session_id", "control characters"},
	{"newline in workspace_id", rawEvent("workspace_id", `"ws\n1"`), "workspace_id", "control characters"},
}

func TestDecodeRawEventRejectsBadInput(t *testing.T) {
	for _, tc := range badEventCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := schemas.DecodeRawEvent([]byte(tc.input), 0)
			if err == nil {
				t.Fatalf("accepted %s", tc.input)
			}
			if !errors.Is(err, schemas.ErrBadEvent) {
				t.Errorf("error %v does not wrap ErrBadEvent", err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q does not contain %q", err, tc.reason)
			}
			var fe *schemas.FieldError
			var se *schemas.SyntaxError
			switch {
			case tc.field == "":
				if !errors.As(err, &se) {
					t.Errorf("error %v (%T) is not a *SyntaxError", err, err)
				}
			case !errors.As(err, &fe):
				t.Errorf("error %v (%T) is not a *FieldError", err, err)
			case fe.Field != tc.field:
				t.Errorf("error names field %q, want %q", fe.Field, tc.field)
			case !strings.HasPrefix(err.Error(), `field "`+tc.field+`": `):
				t.Errorf("error %q does not start with the field", err)
			}
		})
	}
}

func TestDecodeRawEventSizeLimit(t *testing.T) {
	ev := []byte(rawEvent())
	if _, err := schemas.DecodeRawEvent(ev, len(ev)); err != nil {
		t.Fatalf("event of exactly the limit rejected: %v", err)
	}
	_, err := schemas.DecodeRawEvent(ev, len(ev)-1)
	if !errors.Is(err, schemas.ErrTooLarge) || !errors.Is(err, schemas.ErrBadEvent) {
		t.Fatalf("over the limit: err = %v, want ErrTooLarge wrapping ErrBadEvent", err)
	}
	// The default limit applies for maxBytes <= 0, before any parsing: the
	// oversize input here is not even JSON.
	big := make([]byte, schemas.DefaultMaxEventBytes+1)
	if _, err := schemas.DecodeRawEvent(big, 0); !errors.Is(err, schemas.ErrTooLarge) {
		t.Fatalf("default limit: err = %v", err)
	}
	if err := (schemas.RawDecoder{}).Decode(big, new(schemas.RawEvent)); !errors.Is(err, schemas.ErrTooLarge) {
		t.Fatalf("zero RawDecoder: err = %v", err)
	}
}

func TestDecodeRawEventAcceptsDesignExample(t *testing.T) {
	ev, err := schemas.DecodeRawEvent(readFixture(t, "raw_event.json"), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := schemas.RawEvent{
		EventID: "0b7c6f0e-...", WorkspaceID: "ws_123", SessionID: "s_9f1c", VisitorID: "v_77",
		Type: "pageview", IP: "198.51.100.23",
		UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		URL:       "https://www.example.com/pricing?utm_source=google", Referrer: "https://www.google.com/",
		TimeSpent: 14, Timestamp: "2024-05-15T10:55:50Z",
	}
	got := ev
	got.Time, got.Addr, got.PageURL = time.Time{}, netip.Addr{}, schemas.PageURL{}
	if got != want {
		t.Errorf("decoded\n %+v\nwant\n %+v", got, want)
	}
	if !ev.Time.Equal(time.Date(2024, 5, 15, 10, 55, 50, 0, time.UTC)) || ev.Time.Location() != time.UTC {
		t.Errorf("Time = %v", ev.Time)
	}
	if ev.Addr != netip.MustParseAddr("198.51.100.23") {
		t.Errorf("Addr = %v", ev.Addr)
	}
	if ev.PageURL != (schemas.PageURL{Host: "www.example.com", Path: "/pricing?utm_source=google", RawQuery: "utm_source=google"}) {
		t.Errorf("PageURL = %v", ev.PageURL)
	}
}

func TestDecodeRawEventAcceptsVariants(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		check       func(t *testing.T, ev schemas.RawEvent)
	}{
		{"minimal", `{"event_id":"e","workspace_id":"w","session_id":"s","type":"ping","ip":"::1","url":"http://a.b","timestamp":"2024-05-15T10:55:50Z"}`,
			func(t *testing.T, ev schemas.RawEvent) {
				if ev.VisitorID != "" || ev.TimeSpent != 0 || ev.Type != schemas.TypePing {
					t.Errorf("%+v", ev)
				}
			}},
		{"optional nulls", rawEvent("visitor_id", "null", "user_agent", "null", "referrer", "null", "time_spent", "null"),
			func(t *testing.T, ev schemas.RawEvent) {
				if ev.VisitorID != "" || ev.UserAgent != "" || ev.Referrer != "" || ev.TimeSpent != 0 {
					t.Errorf("%+v", ev)
				}
			}},
		{"empty optional strings", rawEvent("visitor_id", `""`, "referrer", `""`), nil},
		{"ipv6", rawEvent("ip", `"2001:db8::1"`), func(t *testing.T, ev schemas.RawEvent) {
			if !ev.Addr.Is6() || ev.Addr.String() != "2001:db8::1" {
				t.Errorf("Addr = %v", ev.Addr)
			}
		}},
		{"ipv4-mapped ipv6 is unmapped", rawEvent("ip", `"::ffff:198.51.100.7"`), func(t *testing.T, ev schemas.RawEvent) {
			if !ev.Addr.Is4() || ev.Addr.String() != "198.51.100.7" || ev.IP != "::ffff:198.51.100.7" {
				t.Errorf("Addr = %v, IP = %q", ev.Addr, ev.IP)
			}
		}},
		{"offset timestamp becomes UTC", rawEvent("timestamp", `"2024-05-15T12:55:50.123+02:00"`), func(t *testing.T, ev schemas.RawEvent) {
			if ev.Time.Location() != time.UTC || ev.Time.Hour() != 10 || ev.Time.Nanosecond() != 123e6 {
				t.Errorf("Time = %v", ev.Time)
			}
		}},
		{"escaped slashes (PHP producers)", rawEvent("url", `"https:\/\/www.example.com\/a\u00e9?x=1"`), func(t *testing.T, ev schemas.RawEvent) {
			if ev.URL != "https://www.example.com/aé?x=1" || ev.PageURL.Path != "/a%C3%A9?x=1" {
				t.Errorf("URL = %q, path %q", ev.URL, ev.PageURL.Path)
			}
		}},
		{"surrogate pair and lone surrogate", rawEvent("user_agent", `"\ud83d\ude00 \ud800x"`), func(t *testing.T, ev schemas.RawEvent) {
			if ev.UserAgent != "😀 \uFFFDx" {
				t.Errorf("UserAgent = %q", ev.UserAgent)
			}
		}},
		{"upper case scheme", rawEvent("url", `"HTTPS://Example.COM/"`), nil},
		{"whitespace everywhere", " \t\r\n{ \"event_id\" : \"e\" , \"workspace_id\":\"w\",\"session_id\":\"s\",\"type\":\"pageview\",\"ip\":\"1.2.3.4\",\"url\":\"https://a.b/\",\"timestamp\":\"2024-05-15T10:55:50Z\" } \n", nil},
		{"time_spent zero and max", rawEvent("time_spent", `604800`), func(t *testing.T, ev schemas.RawEvent) {
			if ev.TimeSpent != schemas.MaxTimeSpent {
				t.Errorf("TimeSpent = %d", ev.TimeSpent)
			}
		}},
		{"negative zero time_spent", rawEvent("time_spent", `-0`), nil},
		{"ids at the limit", rawEvent("event_id", `"`+strings.Repeat("e", schemas.MaxIDBytes)+`"`), nil},
		{"referrer not a URL", rawEvent("referrer", `"android-app://com.google.android.gm/"`), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := schemas.DecodeRawEvent([]byte(tc.input), 0)
			if err != nil {
				t.Fatalf("rejected %s: %v", tc.input, err)
			}
			if tc.check != nil {
				tc.check(t, ev)
			}
		})
	}
}

func TestRawDecoderAllowUnknownFields(t *testing.T) {
	d := schemas.RawDecoder{AllowUnknownFields: true}
	in := strings.TrimSuffix(rawEvent(), "}") +
		`,"extra":{"a":[1,-2.5e3,true,false,null,"x",{"b":[]},{}]},"more":[],"n":0}`
	var ev schemas.RawEvent
	if err := d.Decode([]byte(in), &ev); err != nil {
		t.Fatalf("unknown fields not skipped: %v", err)
	}
	if ev.EventID != "e-1" || ev.Timestamp == "" {
		t.Errorf("%+v", ev)
	}
	for _, bad := range []string{
		`,"extra":{"a":1,}}`,
		`,"extra":[1 2]}`,
		`,"extra":{"a"}}`,
		`,"extra":[}`,
		`,"extra":01}`,
		`,"extra":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`,
	} {
		in := strings.TrimSuffix(rawEvent(), "}") + bad
		if err := d.Decode([]byte(in), &ev); !errors.Is(err, schemas.ErrBadEvent) {
			t.Errorf("%s: err = %v, want a bad event", bad, err)
		}
	}
	deep := strings.TrimSuffix(rawEvent(), "}") + `,"extra":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`
	if err := d.Decode([]byte(deep), &ev); err != nil {
		t.Errorf("64 levels rejected: %v", err)
	}
}

func TestRawEventRoundTrip(t *testing.T) {
	ev := schemas.GuideNetcontrolEvent()
	again, err := schemas.DecodeRawEvent(ev.AppendJSON(nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	if again.URL != ev.URL || !again.Time.Equal(ev.Time) || again.Addr != ev.Addr || again.TimeSpent != 14 {
		t.Errorf("round trip changed the event:\n%+v\n%+v", ev, again)
	}
	for _, tc := range []struct {
		edit func(e *schemas.RawEvent)
		want string
	}{
		{func(e *schemas.RawEvent) { e.IP = "nope" }, `field "ip": not an IPv4 or IPv6 address`},
		{func(e *schemas.RawEvent) { e.TimeSpent = -3 }, `field "time_spent": must not be negative`},
		{func(e *schemas.RawEvent) { e.TimeSpent = 1 << 40 }, `field "time_spent": must be at most 604800`},
		{func(e *schemas.RawEvent) { e.SessionID = "" }, `field "session_id": is required`},
	} {
		bad := schemas.GuideNetcontrolEvent()
		tc.edit(&bad)
		if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want %q", err, tc.want)
		}
	}
}

func TestFieldErrorMessage(t *testing.T) {
	err := error(&schemas.FieldError{Field: "ip", Reason: "not an IPv4 or IPv6 address"})
	if got := err.Error(); got != `field "ip": not an IPv4 or IPv6 address` {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(err, schemas.ErrBadEvent) {
		t.Error("FieldError does not wrap ErrBadEvent")
	}
}

// TestRawEventSchemaAgreesWithDecoder checks raw_event.schema.json against
// the decoder on the same inputs. The schema cannot express everything the
// decoder checks; those cases are listed.
func TestRawEventSchemaAgreesWithDecoder(t *testing.T) {
	v, err := schemas.NewValidator(schemas.SchemaRawEvent)
	if err != nil {
		t.Fatal(err)
	}
	schemaCannot := map[string]string{
		"duplicate key":              "JSON Schema sees one value per key",
		"duplicate null key":         "JSON Schema sees one value per key",
		"time_spent exponent":        "1e3 is an integer to JSON Schema",
		"url port only":              "host syntax is not expressible as a pattern",
		"url space in host":          "host syntax is not expressible as a pattern",
		"url control char":           "host syntax is not expressible as a pattern",
		"control char in session_id": "ids are not restricted beyond length",
		"newline in workspace_id":    "ids are not restricted beyond length",
	}
	for _, tc := range badEventCases {
		if tc.field == "" || strings.Contains(tc.reason, "invalid") || strings.Contains(tc.reason, "control character") {
			continue // not JSON: the schema validator cannot even parse it
		}
		err := v.Validate([]byte(tc.input))
		if why, ok := schemaCannot[tc.name]; ok {
			if err != nil {
				t.Errorf("%s: the schema now rejects it (%s no longer holds): remove it from the list", tc.name, why)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: decoder rejects, schema accepts %.200s", tc.name, tc.input)
		}
	}
	for _, in := range []string{rawEvent(), rawEvent("ip", `"::ffff:198.51.100.7"`), rawEvent("time_spent", "null", "visitor_id", "null"),
		rawEvent("timestamp", `"2024-05-15T12:55:50.123+02:00"`)} {
		if err := v.Validate([]byte(in)); err != nil {
			t.Errorf("schema rejects a good event: %v", err)
		}
	}
}

// TestRawDecoderShareInput: with ShareInput the event decodes the same,
// its strings are data's own bytes (nothing copied), and without it they
// are a copy that data's reuse does not touch.
func TestRawDecoderShareInput(t *testing.T) {
	data := readFixture(t, "raw_event.json")
	var shared, copied schemas.RawEvent
	if err := (schemas.RawDecoder{ShareInput: true}).Decode(data, &shared); err != nil {
		t.Fatal(err)
	}
	if err := (schemas.RawDecoder{}).Decode(data, &copied); err != nil {
		t.Fatal(err)
	}
	a, b := shared, copied
	if a != b {
		t.Fatalf("shared\n %+v\ncopied\n %+v", shared, copied)
	}
	inData := func(s string) bool {
		p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(&data[0]))
		return p >= lo && p < lo+uintptr(len(data))
	}
	if !inData(shared.UserAgent) || !inData(shared.URL) || inData(copied.UserAgent) {
		t.Fatal("ShareInput: the strings are not data's bytes, or without it they are")
	}
	var ev schemas.RawEvent
	sharing := testing.AllocsPerRun(50, func() { _ = (schemas.RawDecoder{ShareInput: true}).Decode(data, &ev) })
	copying := testing.AllocsPerRun(50, func() { _ = (schemas.RawDecoder{}).Decode(data, &ev) })
	if sharing >= copying {
		t.Fatalf("ShareInput: %v allocations per event, %v without it", sharing, copying)
	}
	ua := copied.UserAgent
	clear(data) // the record's buffer lent again
	if copied.UserAgent != ua || shared.UserAgent == ua {
		t.Fatal("a copied event changed with data, or a shared one did not")
	}
}
