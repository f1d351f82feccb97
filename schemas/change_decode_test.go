package schemas_test

import (
	"bytes"
	encjson "encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	gojson "github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
)

// changeDocs are valid lead changes in the shapes the decoder must read as
// goccy/go-json read them before: as the leads stage writes them, and
// edited (escapes, nulls, empty arrays, unknown keys at every level, other
// key orders, white space, other time zones, both company shapes).
func changeDocs(t testing.TB) map[string][]byte {
	guide := schemas.LeadChange{Kind: schemas.ChangeNewLead, WorkspaceID: "ws_123",
		LeadKey: schemas.LeadKey("ws_123", "netcontrol.com"), SessionKey: "31519477:1",
		EventID: "e-1", EventTime: schemas.GuideHitTime(), Lead: schemas.GuideNetcontrolLead()}
	five := sampleChange(5, 5)
	esc := escapeChange()
	refs := sampleChange(1, 3)
	refs.OlderSessions = []schemas.SessionRef{
		{Seq: 4, StartedAt: 1715770550123456, TotalDuration: 95, Pageviews: 61, TimeSpent: []int64{10, 0, 85}},
		{Seq: 1, StartedAt: -1, Pageviews: 0, TimeSpent: []int64{}},
		{Seq: 9223372036854775807, TimeSpent: nil},
	}
	byRef := sampleChange(1, 1)
	byRef.Lead.Company = schemas.Company{Name: "Acme", Domain: "acme.example"}
	byRef.CompanyRef = true
	docs := map[string][]byte{
		"guide":                encodeChange(t, &guide),
		"5x5":                  encodeChange(t, &five),
		"escapes":              encodeChange(t, &esc),
		"older sessions":       encodeChange(t, &refs),
		"company by reference": encodeChange(t, &byRef),
	}
	// encoding/json escapes <, > and & as \u003c etc. and writes its own
	// key order for the envelope.
	std, err := encjson.Marshal(&esc)
	if err != nil {
		t.Fatal(err)
	}
	docs["encoding/json"] = std

	// Sorted keys: "lead" and "event_time" come before the head's
	// lead_key, session_key and workspace_id.
	tree := jsonTree(t, docs["5x5"])
	docs["sorted keys"] = marshalTree(t, tree)

	addUnknown(tree)
	docs["unknown keys everywhere"] = marshalTree(t, tree)

	var ind bytes.Buffer
	if err := encjson.Indent(&ind, docs["escapes"], "\n", "\t "); err != nil {
		t.Fatal(err)
	}
	docs["indented"] = ind.Bytes()

	tree = jsonTree(t, docs["5x5"])
	lead := at(tree, "lead")
	co := at(tree, "lead.company")
	co["website"], co["annual_revenue"], co["total_funding"] = nil, encjson.Number("1e21"), encjson.Number("-0.000001234")
	co["phone"] = "+358 10 123"
	at(tree, "lead.company.profiles")["linkedin"] = map[string]any{"handle": nil}
	at(tree, "lead.company.geo")["city"] = nil
	sessions := lead["recent_sessions"].([]any)
	sessions[0].(map[string]any)["pageviews"] = []any{}
	sessions[1].(map[string]any)["pageviews"] = nil
	sessions[2].(map[string]any)["location"] = nil
	sessions[2].(map[string]any)["started_at"] = nil
	sessions[3] = nil
	at(tree, "lead.recent_sessions.4.location")["latitude"] = encjson.Number("-90")
	at(tree, "lead.recent_sessions.4.pageviews.0")["time_spent"] = encjson.Number("-9223372036854775808")
	lead["id"] = encjson.Number("9223372036854775807")
	lead["first_seen"] = "2024-05-15T12:55:50.5+02:00"
	lead["last_seen"] = "2024-05-15T10:55:50Z"
	tree.(map[string]any)["event_time"] = "2024-05-15T16:25:50.000000001+05:30"
	tree.(map[string]any)["stats"] = nil
	tree.(map[string]any)["kind"] = nil
	docs["nulls, empties, zones, extremes"] = marshalTree(t, tree)

	tree = jsonTree(t, docs["older sessions"])
	older := at(tree, "")["older_sessions"].([]any)
	older[0].(map[string]any)["time_spent"] = nil
	older[1] = nil
	older[2].(map[string]any)["unknown"] = []any{1, map[string]any{"x": nil}}
	docs["older sessions with nulls"] = marshalTree(t, tree)
	at(tree, "")["older_sessions"] = []any{}
	docs["older sessions empty"] = marshalTree(t, tree)
	at(tree, "")["older_sessions"] = nil
	docs["older sessions null"] = marshalTree(t, tree)

	tree = jsonTree(t, docs["guide"])
	at(tree, "")["lead"] = nil
	docs["null lead"] = marshalTree(t, tree)
	tree = jsonTree(t, docs["guide"])
	at(tree, "lead")["recent_sessions"] = nil
	docs["null sessions"] = marshalTree(t, tree)
	docs["empty object"] = []byte(` { } `)
	docs["null"] = []byte(`null`)
	return docs
}

// decodeChange is the new decoder as a function.
func decodeChange(data []byte) (schemas.LeadChange, error) {
	var c schemas.LeadChange
	err := c.UnmarshalJSON(data)
	return c, err
}

func TestLeadChangeDecodeMatchesGoccyAndStd(t *testing.T) {
	for name, data := range changeDocs(t) {
		t.Run(name, func(t *testing.T) {
			got, err := decodeChange(data)
			if err != nil {
				t.Fatalf("decode: %v\n%s", err, data)
			}
			want, err := goccyChange(data)
			if err != nil {
				t.Fatalf("goccy: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("differs from goccy:\n got  %+v\n want %+v", got, want)
			}
			std, err := stdChange(data)
			if err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			if !reflect.DeepEqual(got, std) {
				t.Fatalf("differs from encoding/json:\n got  %+v\n want %+v", got, std)
			}
			var h schemas.ChangeHead
			if err := schemas.DecodeChangeHead(data, &h); err != nil {
				t.Fatalf("head: %v", err)
			}
			if wantH := (schemas.ChangeHead{WorkspaceID: got.WorkspaceID, LeadKey: got.LeadKey,
				SessionKey: got.SessionKey, EventID: got.EventID}); h != wantH {
				t.Fatalf("head = %+v, want %+v", h, wantH)
			}
		})
	}
}

func TestLeadChangeRoundTrip(t *testing.T) {
	refs := sampleChange(2, 2)
	refs.OlderSessions = []schemas.SessionRef{{Seq: 3, StartedAt: 1715770550000000, TotalDuration: 7, Pageviews: 2, TimeSpent: []int64{3, 4}}}
	for _, c := range []schemas.LeadChange{sampleChange(1, 1), sampleChange(5, 5), sampleChange(3, 40), escapeChange(), refs} {
		data := encodeChange(t, &c)
		got, err := decodeChange(data)
		if err != nil {
			t.Fatal(err)
		}
		if again := encodeChange(t, &got); !bytes.Equal(again, data) {
			t.Fatalf("re-encoded change differs:\n got  %s\n want %s", again, data)
		}
		// The pageviews of different sessions share a slab: appending to
		// one must not overwrite the next.
		pvs := got.Lead.RecentSessions[0].Pageviews
		if cap(pvs) != len(pvs) {
			t.Fatalf("pageviews cap %d, len %d", cap(pvs), len(pvs))
		}
	}
}

func TestLeadAndCompanyUnmarshalMatchGoccy(t *testing.T) {
	var p schemas.Payload
	if err := encjson.Unmarshal(readFixture(t, "new_lead.json"), &p); err != nil {
		t.Fatal(err)
	}
	five := sampleChange(5, 5)
	mdx := schemas.GuideMDX()
	nc := schemas.GuideNetcontrol()
	leads := [][]byte{p.Subjects[0], five.Lead.AppendJSON(nil), []byte(`{}`), []byte(`null`)}
	for i, data := range leads {
		var got schemas.Lead
		got.ID = 7 // reset first
		if err := got.UnmarshalJSON(data); err != nil {
			t.Fatalf("lead %d: %v", i, err)
		}
		var ref refLead
		if err := gojson.Unmarshal(data, &ref); err != nil {
			t.Fatal(err)
		}
		if want := ref.value(); !reflect.DeepEqual(got, want) {
			t.Errorf("lead %d:\n got  %+v\n want %+v", i, got, want)
		}
	}
	for name, tc := range map[string]struct {
		data []byte
		want schemas.Company
	}{
		"contact shape": {mdx.AppendJSON(nil), mdx},
		"lead shape":    {mdx.AppendLeadJSON(nil), func() schemas.Company { c := schemas.GuideMDX(); c.Phone = nil; return c }()},
		"guide lead":    {nc.AppendLeadJSON(nil), nc},
	} {
		var got schemas.Company
		got.Phone = new("stale")
		if err := got.UnmarshalJSON(tc.data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var ref refCompany
		if err := gojson.Unmarshal(tc.data, &ref); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, schemas.Company(ref)) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got  %+v\n want %+v", name, got, tc.want)
		}
	}
	// Contact decodes its company through Company.UnmarshalJSON (goccy
	// calls it with the company's bytes).
	var contact schemas.Contact
	john := schemas.GuideJohnDoe()
	if err := contact.UnmarshalJSON(john.AppendJSON(nil)); err != nil || !reflect.DeepEqual(contact, john) {
		t.Errorf("contact: %v\n got  %+v\n want %+v", err, contact, john)
	}
}

// inside reports whether s's bytes lie within base[0:n].
func inside(s string, base uintptr, n int) bool {
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	return p >= base && p+uintptr(len(s)) <= base+uintptr(n)
}

func TestLeadChangeStringsShareOneCopy(t *testing.T) {
	c := sampleChange(2, 3)
	data := encodeChange(t, &c)
	got, err := decodeChange(data)
	if err != nil {
		t.Fatal(err)
	}
	off := bytes.Index(data, []byte(`"`+got.Kind+`"`)) + 1
	base := uintptr(unsafe.Pointer(unsafe.StringData(got.Kind))) - uintptr(off)
	if base == uintptr(unsafe.Pointer(&data[0])) {
		t.Fatal("strings point into the caller's data, not a copy")
	}
	s := got.Lead.RecentSessions[1]
	for _, v := range []string{got.EventID, got.Session.UTMSource, got.Lead.Company.Name, *got.Lead.Company.Description,
		*got.Lead.Company.Profiles.Twitter.URL, *s.Browser, s.Pageviews[2].URL, s.Pageviews[2].Path} {
		if !inside(v, base, len(data)) {
			t.Errorf("%q is not a substring of the one copy of the input", v)
		}
	}
	esc := escapeChange()
	got, err = decodeChange(encodeChange(t, &esc))
	if err != nil || got.WorkspaceID != esc.WorkspaceID || got.Lead.Company.Name != esc.Lead.Company.Name {
		t.Fatalf("escaped strings: %v %q %q", err, got.WorkspaceID, got.Lead.Company.Name)
	}
}

func TestLeadChangeDecodeAllocations(t *testing.T) {
	c := sampleChange(5, 5)
	data := encodeChange(t, &c)
	var got schemas.LeadChange
	// The copy of the input, two string slabs, a float slab, two pageview
	// slabs, the sessions; goccy needs 124.
	if n := testing.AllocsPerRun(50, func() { _ = got.UnmarshalJSON(data) }); n > 8 {
		t.Errorf("UnmarshalJSON: %v allocations, want at most 8", n)
	}
	var h schemas.ChangeHead
	if n := testing.AllocsPerRun(50, func() { _ = schemas.DecodeChangeHead(data, &h) }); n > 1 {
		t.Errorf("DecodeChangeHead: %v allocations, want at most 1", n)
	}
}

func TestLeadChangeRepeatedKeyReplaces(t *testing.T) {
	data := `{"kind":"a","kind":"b","stats":{"sessions":1,"pageviews":2},"stats":{"sessions":3},` +
		`"lead":{"company":{"name":"x","geo":{"city":"c"}},"recent_sessions":[{},{}],"recent_sessions":[{"total_duration":4}]},` +
		`"lead":{"id":5,"recent_sessions":[{"total_duration":6}]}}`
	got, err := decodeChange([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := schemas.LeadChange{Kind: "b", Stats: schemas.LeadStats{Sessions: 3},
		Lead: schemas.Lead{ID: 5, RecentSessions: []schemas.Session{{TotalDuration: 6}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestDecodeChangeHead(t *testing.T) {
	five := sampleChange(5, 5)
	full := encodeChange(t, &five)
	want := schemas.ChangeHead{WorkspaceID: five.WorkspaceID, LeadKey: five.LeadKey, SessionKey: five.SessionKey, EventID: five.EventID}
	// Where the head ends: right after event_id's value.
	headEnd := bytes.Index(full, []byte(`,"event_time"`))

	for _, tc := range []struct {
		name, data string
		want       schemas.ChangeHead
	}{
		{"leads stage", string(full), want},
		// The rest is not read: garbage right after the head is fine.
		{"stops after the head", string(full[:headEnd]) + `,"lead":{{{ not JSON` + "\x00\xff", want},
		{"stops in the middle of a string", string(full[:headEnd]) + `,"x":"unterminated`, want},
		{"escapes", `{"workspace_id":"w\"s\\1\u00e9\ud83d\ude00","lead_key":"a\/b","session_key":"\n","event_id":"\u0000"}`,
			schemas.ChangeHead{WorkspaceID: "w\"s\\1é😀", LeadKey: "a/b", SessionKey: "\n", EventID: "\x00"}},
		{"other order after other members", ` { "x" : [1, {"y": null}], "event_id":"e", "kind":"k", "session_key":"s",` +
			`"lead":{"id":1}, "lead_key":"l", "workspace_id":"w" } trailing garbage`,
			schemas.ChangeHead{WorkspaceID: "w", LeadKey: "l", SessionKey: "s", EventID: "e"}},
		{"members missing", `{"kind":"k","workspace_id":"w","event_id":null} `, schemas.ChangeHead{WorkspaceID: "w"}},
		{"empty object", `{}`, schemas.ChangeHead{}},
		{"null", ` null `, schemas.ChangeHead{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.data)
			h := schemas.ChangeHead{EventID: "stale"}
			if err := schemas.DecodeChangeHead(data, &h); err != nil {
				t.Fatal(err)
			}
			if h != tc.want {
				t.Fatalf("got %+v, want %+v", h, tc.want)
			}
			// h does not share data's memory.
			for i := range data {
				data[i] = 'X'
			}
			if h != tc.want {
				t.Fatalf("after overwriting the input: %+v", h)
			}
		})
	}
	if _, err := decodeChange([]byte(string(full[:headEnd]) + `,"lead":{{{`)); err == nil {
		t.Error("UnmarshalJSON accepted garbage after the head")
	}

	for _, tc := range []struct{ name, data, path, reason string }{
		{"empty", ``, "", "unexpected end of input"},
		{"array", `[]`, "", "must be an object"},
		{"number value", `{"workspace_id":1}`, "workspace_id", "must be a string"},
		{"object value", `{"kind":"k","lead_key":{}}`, "lead_key", "must be a string"},
		{"bad literal", `{"workspace_id":nul}`, "workspace_id", "invalid literal"},
		{"bad skipped value", `{"kind":tru,"workspace_id":"w"}`, "kind", "invalid literal"},
		{"control character", "{\"event_id\":\"a\x01\"}", "event_id", "control character"},
		{"invalid UTF-8", "{\"event_id\":\"a\xff\"}", "event_id", "invalid UTF-8"},
		{"bad escape", `{"event_id":"\x"}`, "event_id", "invalid escape"},
		{"missing colon", `{"event_id" "e"}`, "event_id", "expected ':'"},
		{"missing comma", `{"event_id":"e" "kind":"k"}`, "", "expected ',' or '}'"},
		{"truncated", `{"workspace_id":"w","lead_key":"l"`, "", "expected ',' or '}'"},
		{"truncated string", `{"workspace_id":"w`, "workspace_id", "unterminated string"},
		{"data after a short object", `{"workspace_id":"w"}{}`, "", "unexpected data"},
	} {
		var h schemas.ChangeHead
		err := schemas.DecodeChangeHead([]byte(tc.data), &h)
		checkDecodeError(t, tc.name, err, tc.path, tc.reason)
		if h != (schemas.ChangeHead{}) {
			t.Errorf("%s: head %+v on error", tc.name, h)
		}
	}
}

// checkDecodeError fails unless err is a *DecodeError with that path and a
// reason containing reason.
func checkDecodeError(t *testing.T, name string, err error, path, reason string) {
	t.Helper()
	var de *schemas.DecodeError
	if !errors.As(err, &de) {
		t.Errorf("%s: error %v (%T), want a *DecodeError", name, err, err)
		return
	}
	if de.Path != path || !strings.Contains(de.Reason, reason) {
		t.Errorf("%s: error %q: path %q reason %q, want %q, %q", name, err, de.Path, de.Reason, path, reason)
	}
	if msg := err.Error(); !strings.Contains(msg, "offset") || (path != "" && !strings.Contains(msg, path)) {
		t.Errorf("%s: message %q lacks the offset or the path", name, msg)
	}
}

func TestLeadChangeDecodeErrors(t *testing.T) {
	valid := sampleChange(2, 2)
	doc := string(encodeChange(t, &valid))
	// replace edits doc: old must occur in it.
	replace := func(old, new string) string {
		if !strings.Contains(doc, old) {
			t.Fatalf("%q not in the document", old)
		}
		return strings.Replace(doc, old, new, 1)
	}
	deep := strings.Repeat("[", 65) + strings.Repeat("]", 65)
	for _, tc := range []struct{ name, data, path, reason string }{
		{"empty", ``, "", "unexpected end of input"},
		{"white space", " \n\t", "", "unexpected end of input"},
		{"not an object", `"x"`, "", "must be an object"},
		{"garbage", `@`, "", "invalid value"},
		{"trailing data", doc + `x`, "", "unexpected data after the top-level value"},
		{"two objects", doc + doc, "", "unexpected data"},
		{"trailing comma", `{"kind":"k",}`, "", "expected a string key"},
		{"kind number", replace(`"kind":"session_updated"`, `"kind":1`), "kind", "must be a string"},
		{"event_time number", replace(`"event_time":"`, `"event_time":5,"x":"`), "event_time", "must be a string"},
		{"event_time bad", replace(`"event_time":"2024`, `"event_time":"x2024`), "event_time", "not an RFC 3339 time"},
		{"event_time escaped", replace(`"event_time":"2024`, `"event_time":"\u0032024`), "event_time", "not an RFC 3339 time"},
		{"stats array", replace(`"stats":{`, `"stats":[],"x":{`), "stats", "must be an object"},
		{"stats fraction", replace(`"sessions":5`, `"sessions":5.5`), "stats.sessions", "must be a whole number"},
		{"stats exponent", replace(`"sessions":5`, `"sessions":5e0`), "stats.sessions", "must be a whole number"},
		{"stats overflow", replace(`"sessions":5`, `"sessions":9223372036854775808`), "stats.sessions", "out of range"},
		{"stats string", replace(`"sessions":5`, `"sessions":"5"`), "stats.sessions", "must be a number"},
		{"bad number", replace(`"sessions":5`, `"sessions":-`), "stats.sessions", "invalid number"},
		{"leading zero", replace(`"sessions":5`, `"sessions":05`), "stats", "expected ',' or '}'"},
		{"company_ref string", replace(`"lead":{`, `"company_ref":"yes","lead":{`), "company_ref", "must be a boolean"},
		{"company_ref number", replace(`"lead":{`, `"company_ref":1,"lead":{`), "company_ref", "must be a boolean"},
		{"company_ref bad literal", replace(`"lead":{`, `"company_ref":tru,"lead":{`), "company_ref", "invalid literal"},
		{"utm bool", replace(`"utm_source":"google"`, `"utm_source":true`), "session.utm_source", "must be a string"},
		{"lead string", replace(`"lead":{`, `"lead":"x","y":{`), "lead", "must be an object"},
		{"older sessions object", doc[:len(doc)-1] + `,"older_sessions":{}}`, "older_sessions", "must be an array"},
		{"older session number", doc[:len(doc)-1] + `,"older_sessions":[{"seq":1},2]}`, "older_sessions[1]", "must be an object"},
		{"older session seq fraction", doc[:len(doc)-1] + `,"older_sessions":[{"seq":1.5}]}`, "older_sessions[0].seq", "must be a whole number"},
		{"older session time_spent string", doc[:len(doc)-1] + `,"older_sessions":[{"time_spent":[1,"2"]}]}`, "older_sessions[0].time_spent[1]", "must be a number"},
		{"lead id", replace(`"id":31519477`, `"id":"31519477"`), "lead.id", "must be a number"},
		{"first_seen layout", replace(`"first_seen":"2024-05-13T06:55:50.000000Z"`, `"first_seen":"2024-05-13 06:55:50"`),
			"lead.first_seen", "not an RFC 3339 time"},
		{"company name null ok, number not", replace(`"name":"Netcontrol Group"`, `"name":7`), "lead.company.name", "must be a string"},
		{"revenue string", replace(`"annual_revenue":null`, `"annual_revenue":"1"`), "lead.company.annual_revenue", "must be a number"},
		{"revenue overflow", replace(`"annual_revenue":null`, `"annual_revenue":1e400`), "lead.company.annual_revenue", "out of range"},
		{"geo array", replace(`"geo":{`, `"geo":[],"x":{`), "lead.company.geo", "must be an object"},
		{"profile handle number", replace(`"handle":"netcontrol"`, `"handle":1`), "lead.company.profiles.crunchbase.handle", "must be a string or null"},
		{"sessions object", replace(`"recent_sessions":[`, `"recent_sessions":{},"x":[`), "lead.recent_sessions", "must be an array"},
		{"session not object", replace(`"recent_sessions":[`, `"recent_sessions":[1,`), "lead.recent_sessions[0]", "must be an object"},
		{"started_at layout", replace(`"started_at":"2024-05-14 08:55:50"`, `"started_at":"2024-05-14T08:55:50Z"`),
			"lead.recent_sessions[1].started_at", "not a time in the layout"},
		{"visited_at day", replace(`"visited_at":"2024-05-14 08:56:50"`, `"visited_at":"2024-02-30 08:56:50"`),
			"lead.recent_sessions[1].pageviews[1].visited_at", "not a time in the layout"},
		{"pageview url", replace(`"url":"https://www.snitcher.com/blog/post-0-1`, `"url":["https://www.snitcher.com/blog/post-0-1`),
			"lead.recent_sessions[0].pageviews[1].url", "must be a string"},
		{"pageview time_spent", replace(`"time_spent":12`, `"time_spent":1.5`), "lead.recent_sessions[0].pageviews[1].time_spent", "must be a whole number"},
		{"latitude", replace(`"latitude":63.216671`, `"latitude":true`), "lead.recent_sessions[0].location.latitude", "must be a number"},
		{"location array", replace(`"location":{"city":"Lahti"`, `"location":[{"city":"Lahti"`), "lead.recent_sessions[0].location", "must be an object"},
		{"missing comma in array", replace(`},{"started_at"`, `} {"started_at"`), "lead.recent_sessions", "expected ',' or ']'"},
		{"control char", replace(`"Safari"`, "\"Saf\tari\""), "lead.recent_sessions[0].browser", "control character"},
		{"invalid UTF-8", replace(`"Safari"`, "\"Saf\xc3ari\""), "lead.recent_sessions[0].browser", "invalid UTF-8"},
		{"bad unicode escape", replace(`"Safari"`, `"Saf\u00zz"`), "lead.recent_sessions[0].browser", `invalid \u escape`},
		{"unknown too deep", replace(`"kind":`, `"x":`+deep+`,"kind":`), "x", "nested too deep"},
		{"unknown bad", replace(`"kind":`, `"x":[1,]`+`,"kind":`), "x", "invalid value"},
		{"bad key", replace(`"kind":`, "\"k\x00\":1,\"kind\":"), "", "control character"},
	} {
		_, err := decodeChange([]byte(tc.data))
		checkDecodeError(t, tc.name, err, tc.path, tc.reason)
	}
	// 64 levels in an unknown value are fine.
	ok := strings.Replace(doc, `"kind":`, `"x":`+strings.Repeat("[", 64)+strings.Repeat("]", 64)+`,"kind":`, 1)
	if _, err := decodeChange([]byte(ok)); err != nil {
		t.Errorf("64 levels: %v", err)
	}
	// The offset is where the bad value starts.
	var de *schemas.DecodeError
	bad := replace(`"id":31519477`, `"id":"31519477"`)
	if _, err := decodeChange([]byte(bad)); !errors.As(err, &de) || de.Offset != strings.Index(bad, `"31519477"`) {
		t.Errorf("offset of %v, want %d", err, strings.Index(bad, `"31519477"`))
	}
	// A time error wraps the parser's error.
	if _, err := decodeChange([]byte(replace(`"event_time":"2024`, `"event_time":"x2024`))); !errors.As(err, &de) || de.Err == nil {
		t.Errorf("time error %v does not wrap the parser's", err)
	}
}

// TestLeadChangeDecodeTruncated cuts valid documents at every byte: every
// cut must be an error, never a panic, and the head is decoded from every
// cut that holds it.
func TestLeadChangeDecodeTruncated(t *testing.T) {
	esc := escapeChange()
	for _, data := range [][]byte{encodeChange(t, &esc), changeDocs(t)["nulls, empties, zones, extremes"]} {
		var h schemas.ChangeHead
		if err := schemas.DecodeChangeHead(data, &h); err != nil {
			t.Fatal(err)
		}
		want := h
		headEnd := bytes.Index(data, []byte(`,"event_time"`))
		if bytes.HasPrefix(data, []byte(`{"event_id"`)) { // sorted keys: workspace_id is last
			headEnd = len(data) - 1
		}
		for i := range len(data) {
			cut := data[:i:i]
			var c schemas.LeadChange
			if err := c.UnmarshalJSON(cut); err == nil {
				t.Fatalf("accepted the first %d bytes: %s", i, cut)
			} else if _, ok := errors.AsType[*schemas.DecodeError](err); !ok {
				t.Fatalf("cut at %d: %T %v", i, err, err)
			}
			var l schemas.Lead
			_ = l.UnmarshalJSON(cut)
			err := schemas.DecodeChangeHead(cut, &h)
			switch {
			case i < headEnd && err == nil:
				t.Fatalf("head accepted the first %d bytes: %s", i, cut)
			case i >= headEnd && (err != nil || h != want):
				t.Fatalf("head of the first %d bytes: %+v, %v", i, h, err)
			}
		}
	}
}

func TestDecodeChangeWithoutSessions(t *testing.T) {
	for name, data := range changeDocs(t) {
		t.Run(name, func(t *testing.T) {
			want, err := decodeChange(data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			want.Lead.RecentSessions, want.OlderSessions = nil, nil
			var got schemas.LeadChange
			if err := schemas.DecodeChangeWithoutSessions(data, &got); err != nil {
				t.Fatalf("without sessions: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("differs from the full decode without sessions:\n got  %+v\n want %+v", got, want)
			}
		})
	}
	// The skipped sessions must still be JSON.
	bad := []byte(`{"kind":"new_lead","lead":{"id":1,"recent_sessions":[{"started_at":"2024-05-15 10:55:50",]}}`)
	var c schemas.LeadChange
	if err := schemas.DecodeChangeWithoutSessions(bad, &c); err == nil {
		t.Fatal("accepted invalid JSON in the skipped sessions")
	}
}

// TestChangeCompanyJSON: on every document the decoder reads, the company
// JSON decodes to the change's company, and is found without reading
// what follows it; null, missing and wrong-typed members.
func TestChangeCompanyJSON(t *testing.T) {
	for name, data := range changeDocs(t) {
		t.Run(name, func(t *testing.T) {
			want, err := decodeChange(data)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := schemas.ChangeCompanyJSON(data)
			if err != nil {
				t.Fatalf("ChangeCompanyJSON: %v", err)
			}
			if raw == nil {
				if !reflect.DeepEqual(want.Lead.Company, schemas.Company{}) {
					t.Fatalf("no company JSON, but the change has company %+v", want.Lead.Company)
				}
				return
			}
			var got schemas.Company
			if err := got.UnmarshalJSON(raw); err != nil {
				t.Fatalf("company JSON %s: %v", raw, err)
			}
			if !reflect.DeepEqual(got, want.Lead.Company) {
				t.Fatalf("company from its JSON differs:\n got  %+v\n want %+v", got, want.Lead.Company)
			}
		})
	}
	guide := sampleChange(2, 2)
	doc := encodeChange(t, &guide)
	i := bytes.Index(doc, []byte(`"recent_sessions":`))
	truncated := doc[:i+len(`"recent_sessions":[{"started_at`)]
	if raw, err := schemas.ChangeCompanyJSON(truncated); err != nil || !bytes.HasPrefix(raw, []byte(`{"name":`)) {
		t.Fatalf("a document cut in its sessions: %q, %v; want the company (nothing after it is read)", raw, err)
	}
	for _, tc := range []struct{ name, data, path, reason string }{
		{"company string", `{"lead":{"id":1,"company":"x"}}`, "lead.company", "must be an object"},
		{"company cut", `{"lead":{"company":{"name":"x"`, "lead.company", ""},
		{"lead array", `{"lead":[]}`, "lead", "must be an object"},
		{"garbage before", `{"kind":nope,"lead":{}}`, "kind", "invalid literal"},
	} {
		_, err := schemas.ChangeCompanyJSON([]byte(tc.data))
		checkDecodeError(t, tc.name, err, tc.path, tc.reason)
	}
	for _, data := range []string{`{"lead":null}`, `{"lead":{"id":1}}`, `{"lead":{"company":null}}`, `null`, `{}`} {
		if raw, err := schemas.ChangeCompanyJSON([]byte(data)); raw != nil || err != nil {
			t.Errorf("%s: %q, %v; want nil, nil", data, raw, err)
		}
	}
}

// TestDecodeChangeShared: DecodeChangeShared decodes as UnmarshalJSON and
// DecodeChangeWithoutSessions do, with strings that are the input's own
// bytes (one allocation fewer: no copy) and so change with it.
func TestDecodeChangeShared(t *testing.T) {
	c := sampleChange(2, 3)
	data := encodeChange(t, &c)
	for _, skip := range []bool{false, true} {
		var shared, copied schemas.LeadChange
		if err := schemas.DecodeChangeShared(data, &shared, skip); err != nil {
			t.Fatal(err)
		}
		var err error
		if skip {
			err = schemas.DecodeChangeWithoutSessions(data, &copied)
		} else {
			err = copied.UnmarshalJSON(data)
		}
		if err != nil {
			t.Fatal(err)
		}
		if a, b := encodeChange(t, &shared), encodeChange(t, &copied); !bytes.Equal(a, b) {
			t.Fatalf("skipSessions %v: shared\n%s\ncopied\n%s", skip, a, b)
		}
		if !inside(shared.EventID, uintptr(unsafe.Pointer(&data[0])), len(data)) {
			t.Fatalf("skipSessions %v: event_id is not the input's bytes", skip)
		}
	}
	var got schemas.LeadChange
	sharing := testing.AllocsPerRun(50, func() { _ = schemas.DecodeChangeShared(data, &got, false) })
	copying := testing.AllocsPerRun(50, func() { _ = got.UnmarshalJSON(data) })
	if sharing >= copying {
		t.Fatalf("%v allocations sharing, %v copying", sharing, copying)
	}
	_ = schemas.DecodeChangeShared(data, &got, false)
	id := c.EventID
	clear(data)
	if got.EventID == id {
		t.Fatal("the shared event_id did not change with the input")
	}
}

func TestResolveCompany(t *testing.T) {
	m := map[string]schemas.Company{"mdxtechnology.com": schemas.GuideMDX()}
	dir := func(domain string) (schemas.Company, bool) { co, ok := m[domain]; return co, ok }
	mdx := schemas.GuideMDX()
	byRef := schemas.LeadChange{CompanyRef: true, Lead: schemas.Lead{Company: schemas.Company{Name: mdx.Name, Domain: mdx.Domain}}}
	if !byRef.ResolveCompany(dir) || byRef.CompanyRef {
		t.Fatalf("resolved %v", byRef.CompanyRef)
	}
	whole := mdx
	whole.Phone = nil // lead subjects carry no phone
	if got, want := byRef.Lead.Company.AppendJSON(nil), whole.AppendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("company:\n got  %s\n want %s", got, want)
	}

	// A domain the directory lacks keeps the name and domain; a change
	// that carries its company whole is left as it is.
	unknown := schemas.LeadChange{CompanyRef: true, Lead: schemas.Lead{Company: schemas.Company{Name: "x.example", Domain: "x.example"}}}
	if unknown.ResolveCompany(dir) || unknown.Lead.Company.Name != "x.example" || unknown.Lead.Company.Industry != nil {
		t.Fatalf("unknown domain resolved to %+v", unknown.Lead.Company)
	}
	inline := schemas.LeadChange{Lead: schemas.Lead{Company: schemas.Company{Name: "Own", Domain: "mdxtechnology.com"}}}
	if !inline.ResolveCompany(dir) || inline.Lead.Company.Name != "Own" {
		t.Fatalf("a whole company was replaced: %+v", inline.Lead.Company)
	}

	// Decoded from the wire, with false and null too.
	for doc, want := range map[string]bool{
		`{"company_ref":true}`: true, `{"company_ref":false}`: false, `{"company_ref":null}`: false, `{}`: false,
	} {
		var c schemas.LeadChange
		if err := c.UnmarshalJSON([]byte(doc)); err != nil || c.CompanyRef != want {
			t.Fatalf("%s: CompanyRef %v, error %v", doc, c.CompanyRef, err)
		}
	}
}
