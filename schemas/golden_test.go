package schemas_test

import (
	"bytes"
	encjson "encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/leadflow/leadflow/schemas"
)

// jsonTokens flattens a JSON document into an ordered token list: keys,
// delimiters and typed values (numbers canonicalised). Two documents with
// equal lists have the same keys in the same order, the same values and the
// same types.
func jsonTokens(t *testing.T, data []byte) []string {
	t.Helper()
	dec := encjson.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []string
	var walk func()
	walk = func() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("token walk: %v\n%s", err, data)
		}
		switch v := tok.(type) {
		case encjson.Delim:
			out = append(out, v.String())
			for dec.More() {
				if v == '{' {
					k, err := dec.Token()
					if err != nil {
						t.Fatalf("token walk: %v", err)
					}
					out = append(out, "key:"+k.(string))
				}
				walk()
			}
			end, err := dec.Token()
			if err != nil {
				t.Fatalf("token walk: %v", err)
			}
			out = append(out, end.(encjson.Delim).String())
		case string:
			out = append(out, "string:"+v)
		case encjson.Number:
			f, err := strconv.ParseFloat(v.String(), 64)
			if err != nil {
				t.Fatalf("number %s: %v", v, err)
			}
			out = append(out, "number:"+strconv.FormatFloat(f, 'g', -1, 64))
		case bool:
			out = append(out, "bool:"+strconv.FormatBool(v))
		case nil:
			out = append(out, "null")
		}
	}
	walk()
	if dec.More() {
		t.Fatalf("trailing data after JSON document")
	}
	return out
}

// assertSameJSON fails unless got and want are the same JSON document in
// keys, key order, values and types (whitespace and escaping may differ).
func assertSameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	g, w := jsonTokens(t, got), jsonTokens(t, want)
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			t.Fatalf("token %d differs:\n got  %q\n want %q\n(got body: %s)", i, g[i], w[i], got)
		}
	}
	if len(g) != len(w) {
		t.Fatalf("got %d tokens, want %d\n(got body: %s)", len(g), len(w), got)
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// guideBodies are the bodies our encoders build from the guide's data, by
// fixture name, with the schema each must match.
func guideBodies() []struct {
	fixture, schema string
	body            []byte
} {
	lead := schemas.GuideNetcontrolLead()
	contact := schemas.GuideJohnDoe()
	leadJSON := [][]byte{lead.AppendJSON(nil)}
	contactJSON := [][]byte{contact.AppendJSON(nil)}
	return []struct {
		fixture, schema string
		body            []byte
	}{
		{"new_lead.json", schemas.SchemaNewLead, schemas.AppendPayload(nil, schemas.EventNewLead, leadJSON)},
		{"new_session.json", schemas.SchemaNewSession, schemas.AppendPayload(nil, schemas.EventNewSession, leadJSON)},
		{"contact_revealed.json", schemas.SchemaContactRevealed,
			schemas.AppendPayload(nil, schemas.WireEvent(schemas.EventContactRevealed, true), contactJSON)},
		{"contact_revealed_default.json", schemas.SchemaContactRevealed,
			schemas.AppendPayload(nil, schemas.WireEvent(schemas.EventContactRevealed, false), contactJSON)},
	}
}

func TestEncodersReproduceGuideFixtures(t *testing.T) {
	for _, tc := range guideBodies() {
		t.Run(tc.fixture, func(t *testing.T) {
			want := readFixture(t, tc.fixture)
			assertSameJSON(t, tc.body, want)
			// Canonical comparison as well, independent of the token walk.
			var g, w any
			if err := encjson.Unmarshal(tc.body, &g); err != nil {
				t.Fatalf("our body is not JSON: %v", err)
			}
			if err := encjson.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("canonical mismatch:\n got  %s\n want %s", tc.body, want)
			}
			if !encjson.Valid(tc.body) || bytes.ContainsAny(tc.body, "\n\t") {
				t.Fatalf("body is not compact valid JSON: %s", tc.body)
			}
		})
	}
}

func TestFixturesAndBodiesMatchSchemas(t *testing.T) {
	for _, tc := range guideBodies() {
		t.Run(tc.fixture, func(t *testing.T) {
			v, err := schemas.NewValidator(tc.schema)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Validate(readFixture(t, tc.fixture)); err != nil {
				t.Errorf("fixture: %v", err)
			}
			if err := v.Validate(tc.body); err != nil {
				t.Errorf("encoded body: %v", err)
			}
		})
	}
	v, err := schemas.NewValidator(schemas.SchemaRawEvent)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(readFixture(t, "raw_event.json")); err != nil {
		t.Errorf("raw_event.json: %v", err)
	}
	guide := schemas.GuideNetcontrolEvent()
	if err := v.Validate(guide.AppendJSON(nil)); err != nil {
		t.Errorf("GuideNetcontrolEvent: %v", err)
	}
}

// TestSchemasRejectShapeErrors makes sure the schemas are strict: a missing
// key, an extra key and a wrong type each fail.
func TestSchemasRejectShapeErrors(t *testing.T) {
	v, err := schemas.NewValidator(schemas.SchemaNewLead)
	if err != nil {
		t.Fatal(err)
	}
	fixture := readFixture(t, "new_lead.json")
	for name, edit := range map[string]func(lead map[string]any){
		"missing key":      func(l map[string]any) { delete(l["company"].(map[string]any), "industry") },
		"extra key":        func(l map[string]any) { l["company"].(map[string]any)["phone"] = nil },
		"founded_year int": func(l map[string]any) { l["company"].(map[string]any)["founded_year"] = 1991 },
		"bad first_seen":   func(l map[string]any) { l["first_seen"] = "2024-05-15T10:55:50Z" },
		"bad visited_at": func(l map[string]any) {
			l["recent_sessions"].([]any)[0].(map[string]any)["pageviews"].([]any)[0].(map[string]any)["visited_at"] = "2024-05-15T10:55:50Z"
		},
		"null location obj": func(l map[string]any) { l["recent_sessions"].([]any)[0].(map[string]any)["location"] = nil },
	} {
		var doc map[string]any
		if err := encjson.Unmarshal(fixture, &doc); err != nil {
			t.Fatal(err)
		}
		edit(doc["subjects"].([]any)[0].(map[string]any))
		data, _ := encjson.Marshal(doc)
		if err := v.Validate(data); err == nil {
			t.Errorf("%s: schema accepted %s", name, data)
		}
	}
}

// TestSchemaDefinitionsAgree guards against drift between the self-contained
// schema files: new_session repeats new_lead's definitions, and the contact's
// company is the lead's company plus phone.
func TestSchemaDefinitionsAgree(t *testing.T) {
	load := func(name string) map[string]any {
		data, err := schemas.JSONSchema(name)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := encjson.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return doc["$defs"].(map[string]any)
	}
	lead, session, contact := load(schemas.SchemaNewLead), load(schemas.SchemaNewSession), load(schemas.SchemaContactRevealed)
	if !reflect.DeepEqual(lead, session) {
		t.Error("new_session.schema.json $defs differ from new_lead.schema.json")
	}
	for _, def := range []string{"geo", "profiles", "profile"} {
		if !reflect.DeepEqual(lead[def], contact[def]) {
			t.Errorf("$defs/%s differs between new_lead and contact_revealed", def)
		}
	}
	lc := lead["company"].(map[string]any)["properties"].(map[string]any)
	cc := contact["company"].(map[string]any)["properties"].(map[string]any)
	if _, ok := cc["phone"]; !ok {
		t.Fatal("contact company has no phone")
	}
	delete(cc, "phone")
	if !reflect.DeepEqual(lc, cc) {
		t.Error("contact company properties are not the lead company's plus phone")
	}
}

func TestSubjectsDecodeBackToGuideValues(t *testing.T) {
	var p schemas.Payload
	if err := encjson.Unmarshal(readFixture(t, "new_lead.json"), &p); err != nil {
		t.Fatal(err)
	}
	if p.Event != schemas.EventNewLead || len(p.Subjects) != 1 {
		t.Fatalf("payload = %q with %d subjects", p.Event, len(p.Subjects))
	}
	var lead schemas.Lead
	if err := lead.UnmarshalJSON(p.Subjects[0]); err != nil {
		t.Fatal(err)
	}
	want := schemas.GuideNetcontrolLead()
	if got, w := lead.AppendJSON(nil), want.AppendJSON(nil); !bytes.Equal(got, w) {
		t.Errorf("decoded lead re-encodes differently:\n got  %s\n want %s", got, w)
	}

	if err := encjson.Unmarshal(readFixture(t, "contact_revealed.json"), &p); err != nil {
		t.Fatal(err)
	}
	var c schemas.Contact
	if err := c.UnmarshalJSON(p.Subjects[0]); err != nil {
		t.Fatal(err)
	}
	wantC := schemas.GuideJohnDoe()
	if got, w := c.AppendJSON(nil), wantC.AppendJSON(nil); !bytes.Equal(got, w) {
		t.Errorf("decoded contact re-encodes differently:\n got  %s\n want %s", got, w)
	}
}

func TestLeadCompanyHasNoPhoneContactCompanyHas(t *testing.T) {
	mdx := schemas.GuideMDX()
	lead := schemas.GuideNetcontrolLead()
	lead.Company = mdx // phone set, but the lead shape must not show it
	if bytes.Contains(lead.AppendJSON(nil), []byte(`"phone"`)) {
		t.Error("lead subject contains phone")
	}
	nc := schemas.GuideNetcontrol()
	contact := schemas.Contact{FirstName: "A", LastName: "B", Email: "a@netcontrol.com", Company: nc}
	if !bytes.Contains(contact.AppendJSON(nil), []byte(`"description":`+quote(*nc.Description)+`,"phone":null,"geo":`)) {
		t.Errorf("contact company lacks phone:null after description: %s", contact.AppendJSON(nil))
	}
	// The encoding/json path goes through MarshalJSON and must agree (with
	// HTML escaping off: encoding/json re-escapes &<> in Marshaler output).
	var buf bytes.Buffer
	enc := encjson.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(schemas.Payload{Event: schemas.EventNewLead, Subjects: []encjson.RawMessage{lead.AppendJSON(nil)}}); err != nil {
		t.Fatal(err)
	}
	viaStd := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if direct := schemas.AppendPayload(nil, schemas.EventNewLead, [][]byte{lead.AppendJSON(nil)}); !bytes.Equal(viaStd, direct) {
		t.Errorf("Payload.MarshalJSON differs from AppendPayload:\n%s\n%s", viaStd, direct)
	}
}

func quote(s string) string {
	var buf bytes.Buffer
	enc := encjson.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func TestGuideValuesAreFresh(t *testing.T) {
	a := schemas.GuideNetcontrolLead()
	*a.Company.Industry = "changed"
	a.RecentSessions[0].Pageviews[0].TimeSpent = 99
	b := schemas.GuideNetcontrolLead()
	if *b.Company.Industry != "Machinery" || b.RecentSessions[0].Pageviews[0].TimeSpent != 14 {
		t.Error("GuideNetcontrolLead shares state between calls")
	}
}
