package admin

import (
	"encoding/json"
	"net/http"
	"testing"
	"unicode/utf8"
)

// Regression (issue 12): the admin API accepted invalid UTF-8 (replaced
// with U+FFFD silently) and repeated JSON keys (the last one won), which
// raw events refuse. Both are now a 400 naming the field.
func TestBodiesWithInvalidUTF8OrRepeatedKeysAreRefused(t *testing.T) {
	a := newAPI(t)
	const path = "/v1/workspaces/ws_1/segments"
	for _, tc := range []struct {
		name, body, field string
	}{
		{"raw invalid byte in a value", "{\"name\":\"caf\xe9\",\"filter\":{\"field\":\"company.industry\",\"op\":\"eq\",\"value\":\"x\"}}", "name"},
		{"lone surrogate escape", `{"name":"a\ud800b","filter":{"field":"company.industry","op":"eq","value":"x"}}`, "name"},
		{"invalid byte deep in the filter", "{\"name\":\"n\",\"filter\":{\"all\":[{\"field\":\"company.industry\",\"op\":\"in\",\"value\":[\"ok\",\"\xff\"]}]}}", "filter.all[0].value[1]"},
		{"invalid byte in a key", "{\"name\":\"n\",\"filter\":{\"field\":\"company.industry\",\"op\":\"eq\",\"value\":\"x\"},\"\xff\":1}", "\ufffd"},
		{"repeated top-level key", `{"name":"a","name":"b","filter":{"field":"company.industry","op":"eq","value":"x"}}`, "name"},
		{"repeated nested key", `{"name":"a","filter":{"field":"company.industry","op":"eq","op":"neq","value":"x"}}`, "filter.op"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do(http.MethodPost, path, tc.body)
			if r.status != http.StatusBadRequest || r.code() != CodeBadRequest {
				t.Fatalf("status %d code %q, want 400 bad_request: %s", r.status, r.code(), r.raw)
			}
			if _, ok := r.fields()[tc.field]; !ok {
				t.Fatalf("fields %v do not name %q: %s", r.fields(), tc.field, r.raw)
			}
		})
	}
	// Clean bodies with escapes (a valid pair, U+FFFD itself) still pass.
	a.must(a.do(http.MethodPost, path, `{"name":"ok \ud83d\ude00 \ufffd é","filter":{"field":"company.industry","op":"eq","value":"x"}}`), http.StatusCreated)
}

// FuzzCheckStrict: any input ends, and a body checkStrict passes is
// valid UTF-8.
func FuzzCheckStrict(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":"\ud800"}`, `{"a":[{"b":"c","b":1}]}`, "{\"a\":\"\xff\"}", `[}`, `{"a":}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkStrict(data) == nil && json.Valid(data) && !utf8.Valid(data) {
			t.Fatalf("checkStrict passed invalid UTF-8: %q", data)
		}
	})
}

// Regression (issue 12): the OpenAPI document says max_subjects is an
// "integer", which JSON Schema takes 302.0 to be, but the server refused
// it. Integral numbers are now accepted in any JSON form; fractions are
// still a 422 naming the field.
func TestIntegersAsJSONSchemaCountsThem(t *testing.T) {
	a := newAPI(t)
	const path = "/v1/workspaces/ws_1/webhooks"
	r := a.must(a.do(http.MethodPost, path, `{"url":"https://hooks.example.com/a","name":"n","max_subjects":302.0}`), http.StatusCreated)
	if n, _ := r.body["max_subjects"].(float64); n != 302 {
		t.Fatalf("max_subjects = %v, want 302", r.body["max_subjects"])
	}
	a.must(a.do(http.MethodPost, path, `{"url":"https://hooks.example.com/a","name":"n","max_subjects":3.02e2}`), http.StatusCreated)
	r = a.must(a.do(http.MethodPost, path, `{"url":"https://hooks.example.com/a","name":"n","max_subjects":302.5}`), http.StatusUnprocessableEntity)
	if _, ok := r.fields()["max_subjects"]; !ok {
		t.Fatalf("fields %v do not name max_subjects", r.fields())
	}
}
