package schemas_test

import (
	"bytes"
	encjson "encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/leadflow/leadflow/schemas"
)

// scanRequest reads a delivery-request-like document with a Scanner as the
// deliver stage does: the string members by Bytes, the rest by Skip.
func scanRequest(data []byte) (map[string]string, error) {
	got := map[string]string{}
	var sc schemas.Scanner
	sc.Reset(data)
	if sc.Object() {
		for key, ok := sc.Member(); ok; key, ok = sc.Member() {
			var v []byte
			if key == "id" || key == "event" {
				v, _ = sc.Bytes()
			} else {
				v, _ = sc.Skip()
			}
			got[key] = string(v)
		}
	}
	return got, sc.Finish()
}

func TestScannerReadsInPlace(t *testing.T) {
	data := []byte(` {"id" : "r1", "event":"new\u005flead", "subject" : {"a":[1,2.5e3,{"b":null}],"c":"é\"}"} ,"x":true}  `)
	got, err := scanRequest(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"id": "r1", "event": "new_lead", "subject": `{"a":[1,2.5e3,{"b":null}],"c":"é\"}"}`, "x": "true"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// A string without escapes and a skipped value are slices of the input.
	var sc schemas.Scanner
	sc.Reset(data)
	sc.Object()
	sc.Member()
	id, _ := sc.Bytes()
	sc.Member()
	sc.Bytes()
	sc.Member()
	subject, _ := sc.Skip()
	if &id[0] != &data[bytes.Index(data, []byte("r1"))] || &subject[0] != &data[bytes.Index(data, []byte(`{"a"`))] {
		t.Error("Bytes or Skip copied a value that has no escapes")
	}
	if cap(id) != len(id) || cap(subject) != len(subject) {
		t.Error("a returned slice's capacity reaches into the rest of the input")
	}
}

func TestScannerArray(t *testing.T) {
	var sc schemas.Scanner
	sc.Reset([]byte(`{"requests":[{"id":"a"}, {"id":"b"} ,[]]}`))
	var got []string
	if sc.Object() {
		if key, ok := sc.Member(); ok && key == "requests" && sc.Array() {
			for sc.Element() {
				v, _ := sc.Skip()
				got = append(got, string(v))
			}
		}
		if _, more := sc.Member(); more {
			t.Error("Member found a second member")
		}
	}
	if err := sc.Finish(); err != nil || strings.Join(got, "|") != `{"id":"a"}|{"id":"b"}|[]` {
		t.Fatalf("elements %q, error %v", got, err)
	}
}

func TestScannerErrors(t *testing.T) {
	for _, c := range []struct{ in, reason, path string }{
		{``, "unexpected end of input", ""},
		{`null`, "must be an object, not null", ""},
		{`[]`, "must be an object", ""},
		{`{"id":null}`, "must be a string, not null", "id"},
		{`{"id":1}`, "must be a string", "id"},
		{`{"id":"a` + "\x01" + `"}`, "control character in string", "id"},
		{`{"id":"a` + "\xff" + `"}`, "invalid UTF-8 in string", "id"},
		{`{"subject":{"a":01}}`, "expected ',' or a closing bracket", "subject"},
		{`{"subject":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`, "nested too deep", "subject"},
		{`{"id":"a"`, "expected ',' or '}'", ""},
		{`{"id":"a"} x`, "unexpected data after the top-level value", ""},
		{`{"id":"a",}`, "expected a string key", ""},
		{`{"id" "a"}`, "expected ':' after key", "id"},
	} {
		_, err := scanRequest([]byte(c.in))
		var de *schemas.DecodeError
		if !errors.As(err, &de) || de.Reason != c.reason || de.Path != c.path {
			t.Errorf("%q: error %v, want reason %q at %q", c.in, err, c.reason, c.path)
		}
	}
	var sc schemas.Scanner
	sc.Reset([]byte(`["a"]`))
	if _, ok := sc.Member(); ok || sc.Err() == nil {
		t.Error("Member outside an object is not a problem")
	}
	sc.Reset([]byte(`{"a":1}`))
	if sc.Element() || sc.Err() == nil {
		t.Error("Element outside an array is not a problem")
	}
	if sc.Reset([]byte(`{}`)); !sc.Object() || sc.Err() != nil {
		t.Error("Reset did not forget the problem")
	}
}

// FuzzScanner: Skip accepts exactly the valid JSON values (strings valid
// UTF-8, nested at most 64 deep), and returns the whole value; reading
// object members with Bytes never panics and agrees with encoding/json.
func FuzzScanner(f *testing.F) {
	f.Add([]byte(`{"id":"r\"1","event":"new_lead","subject":{"a":[1,-2.5e+3,true,false,null,"\ud83d\ude00"]}}`))
	f.Add([]byte(` [ {} , [] , "" , 0 ] `))
	f.Add([]byte(`{"id":"\ud800","x":[}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var sc schemas.Scanner
		sc.Reset(data)
		v, ok := sc.Skip()
		err := sc.Finish()
		if utf8.Valid(data) && maxDepth(data) <= 64 {
			if valid := encjson.Valid(data); (ok && err == nil) != valid {
				t.Fatalf("Skip: ok %v, error %v; encoding/json valid: %v", ok, err, valid)
			}
		}
		if ok && err == nil && !bytes.Equal(v, bytes.TrimSpace(data)) {
			t.Fatalf("Skip returned %q of %q", v, data)
		}
		got, err := scanRequest(data)
		if err != nil {
			var de *schemas.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DecodeError", err)
			}
			return
		}
		var want struct {
			ID    *string `json:"id"`
			Event *string `json:"event"`
		}
		if encjson.Unmarshal(data, &want) != nil || hasFoldedKey(data) {
			return
		}
		if want.ID != nil && got["id"] != *want.ID || want.Event != nil && got["event"] != *want.Event {
			t.Fatalf("Scanner %q, encoding/json id %v event %v", got, want.ID, want.Event)
		}
	})
}

// hasFoldedKey reports whether data has a top-level key that encoding/json
// matches to "id" or "event" case-insensitively but the Scanner's caller
// does not.
func hasFoldedKey(data []byte) bool {
	var m map[string]encjson.RawMessage
	if encjson.Unmarshal(data, &m) != nil {
		return false
	}
	for k := range m {
		if (strings.EqualFold(k, "id") && k != "id") || (strings.EqualFold(k, "event") && k != "event") {
			return true
		}
	}
	return false
}
