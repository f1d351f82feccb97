package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/leadflow/leadflow/stages/control"
)

const token = "test-token-5b1d"

// fakeResolver resolves the hosts it lists; others do not resolve.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

var resolver = fakeResolver{
	"hooks.example.com":   {netip.MustParseAddr("93.184.215.14")},
	"crm.example.com":     {netip.MustParseAddr("2606:4700::6810:84e5")},
	"localhost":           {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
	"intranet.corp":       {netip.MustParseAddr("10.20.30.40")},
	"mixed.example.com":   {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("192.168.1.10")},
	"metadata.internal":   {netip.MustParseAddr("169.254.169.254")},
	"carrier.example.com": {netip.MustParseAddr("100.64.1.1")},
}

// filterError is what the filter compiler's *filter.Error looks like.
type filterError struct{ path, msg string }

func (e *filterError) Error() string     { return e.path + ": " + e.msg }
func (e *filterError) FieldPath() string { return e.path }

var filterOps = []string{"eq", "neq", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with",
	"matches", "gt", "gte", "lt", "lte", "between", "exists", "not_exists"}

// fakeFilter is a small stand-in for filter.Compile: it checks the tree's
// shape, field prefixes, operators, and that in/not_in take a list.
func fakeFilter(raw json.RawMessage) error {
	var node any
	if err := json.Unmarshal(raw, &node); err != nil {
		return &filterError{"filter", "is not JSON"}
	}
	var errs []error
	var walk func(path string, n any)
	walk = func(path string, n any) {
		m, ok := n.(map[string]any)
		if !ok {
			errs = append(errs, &filterError{path, "must be an object"})
			return
		}
		for _, k := range []string{"all", "any"} {
			if l, ok := m[k].([]any); ok {
				for i, c := range l {
					walk(fmt.Sprintf("%s.%s[%d]", path, k, i), c)
				}
				return
			}
		}
		if c, ok := m["not"]; ok {
			walk(path+".not", c)
			return
		}
		f, _ := m["field"].(string)
		if !strings.HasPrefix(f, "company.") && !strings.HasPrefix(f, "lead.") && !strings.HasPrefix(f, "session.") {
			errs = append(errs, &filterError{path + ".field", fmt.Sprintf("unknown field %q", f)})
		}
		op, _ := m["op"].(string)
		if !slices.Contains(filterOps, op) {
			errs = append(errs, &filterError{path + ".op", fmt.Sprintf("unknown operator %q", op)})
		}
		if op == "in" || op == "not_in" {
			if _, ok := m["value"].([]any); !ok {
				errs = append(errs, &filterError{path + ".value", "must be a list for " + op})
			}
		}
	}
	walk("filter", node)
	return errors.Join(errs...)
}

type fakeDeliveries struct{ attempts []Attempt }

func (f *fakeDeliveries) Recent(_ context.Context, _, _ string, n int) ([]Attempt, error) {
	return f.attempts[:min(n, len(f.attempts))], nil
}

func (f *fakeDeliveries) Detail(_ context.Context, _, _, id string) (AttemptDetail, bool, error) {
	for _, a := range f.attempts {
		if a.Key() == id {
			return AttemptDetail{Attempt: a, Body: []byte(`{"event":"new_lead","subjects":[]}`)}, true, nil
		}
	}
	return AttemptDetail{}, false, nil
}

type fakeTester struct {
	got      control.Webhook
	event    string
	resentID string
	err      error
}

func (f *fakeTester) Resend(_ context.Context, w control.Webhook, id string) (Attempt, error) {
	f.got, f.resentID = w, id
	return Attempt{MessageID: "msg_1", Event: "new_lead", Attempt: 2, Outcome: "success", Resend: true}, f.err
}

func (f *fakeTester) SendTest(_ context.Context, w control.Webhook, event string) (Attempt, error) {
	f.got, f.event = w, event
	return Attempt{Time: time.Date(2024, 5, 15, 10, 55, 50, 0, time.UTC), MessageID: "msg_1", Event: "new_lead",
		Subjects: 1, StatusCode: 200, LatencyMS: 12.5, Attempt: 1, Outcome: "success", Test: true}, f.err
}

// testAPI is an admin API on an in-memory control store.
type testAPI struct {
	t     *testing.T
	store *control.Store
	h     http.Handler
	logs  *observer.ObservedLogs
	json  *bytes.Buffer // every log line, JSON-encoded
	// bodies holds every response body, to check for leaks.
	mu     sync.Mutex
	bodies []string
}

func newAPI(t *testing.T, edit ...func(*Deps)) *testAPI {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	var buf bytes.Buffer
	jsonCore := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.Lock(zapcore.AddSync(&buf)), zapcore.DebugLevel)
	log := zap.New(zapcore.NewTee(core, jsonCore))
	store, err := control.NewInMemory(control.WithLogger(log), control.WithSecretKey(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Store: store, Token: token, Logger: log, FilterValidator: fakeFilter,
		URLPolicy: URLPolicy{Resolver: resolver}}
	for _, e := range edit {
		e(&d)
	}
	h, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	return &testAPI{t: t, store: store, h: h, logs: logs, json: &buf}
}

// resp is an answer: status, headers and the body decoded.
type resp struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (r resp) str(key string) string { s, _ := r.body[key].(string); return s }

// errField returns the error's fields map.
func (r resp) fields() map[string]any {
	e, _ := r.body["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	return f
}

func (r resp) code() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r resp) message() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["message"].(string)
	return c
}

func (r resp) data() []map[string]any {
	l, _ := r.body["data"].([]any)
	out := make([]map[string]any, len(l))
	for i, v := range l {
		out[i], _ = v.(map[string]any)
	}
	return out
}

// do sends a request with the token. body may be a string (sent as is) or
// anything else (JSON-encoded); nil sends none.
func (a *testAPI) do(method, path string, body any) resp {
	a.t.Helper()
	return a.doAuth(method, path, body, "Bearer "+token)
}

func (a *testAPI) doAuth(method, path string, body any, auth string) resp {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	r := resp{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	a.mu.Lock()
	a.bodies = append(a.bodies, r.raw)
	a.mu.Unlock()
	if r.raw != "" {
		if err := json.Unmarshal(rec.Body.Bytes(), &r.body); err != nil {
			a.t.Fatalf("%s %s: answer is not a JSON object: %q", method, path, r.raw)
		}
		if r.status >= 400 && r.code() == "" {
			a.t.Fatalf("%s %s: error answer without error.code: %s", method, path, r.raw)
		}
	}
	return r
}

// must checks the status of r.
func (a *testAPI) must(r resp, status int) resp {
	a.t.Helper()
	if r.status != status {
		a.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// invalid checks that r is a 422 naming exactly the fields in want, each
// message containing the text given.
func (a *testAPI) invalid(r resp, want map[string]string) {
	a.t.Helper()
	if r.status != http.StatusUnprocessableEntity || r.code() != CodeValidation {
		a.t.Fatalf("status %d code %q, want 422 validation_failed: %s", r.status, r.code(), r.raw)
	}
	got := r.fields()
	for f, msg := range want {
		s, _ := got[f].(string)
		if s == "" || !strings.Contains(s, msg) {
			a.t.Errorf("field %q = %q, want it to say %q (all: %v)", f, s, msg, got)
		}
	}
	if len(got) != len(want) {
		a.t.Errorf("fields %v, want exactly %v", got, want)
	}
}

func (a *testAPI) createWebhook(ws string, body map[string]any) string {
	a.t.Helper()
	if body == nil {
		body = map[string]any{"url": "https://hooks.example.com/lf", "name": "CRM"}
	}
	return a.must(a.do("POST", "/v1/workspaces/"+ws+"/webhooks", body), 201).str("id")
}

func TestAuth(t *testing.T) {
	a := newAPI(t)
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "Basic " + token, token, "Bearer " + token + "x"} {
		r := a.doAuth("GET", "/v1/workspaces/ws_1/webhooks", nil, auth)
		if r.status != 401 || r.code() != CodeUnauthorized || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: status %d code %q, want 401 unauthorized with WWW-Authenticate", auth, r.status, r.code())
		}
	}
	a.must(a.doAuth("GET", "/v1/workspaces/ws_1/webhooks", nil, "bearer "+token), 200)
	// Unknown routes and the document need the token too.
	a.must(a.doAuth("GET", "/v1/nowhere", nil, ""), 401)
	a.must(a.doAuth("GET", "/v1/openapi.json", nil, ""), 401)
	if strings.Contains(strings.Join(a.bodies, " "), token) {
		t.Fatal("an answer holds the token")
	}

	off := newAPI(t, func(d *Deps) { d.Token = "" })
	for _, auth := range []string{"", "Bearer ", "Bearer anything"} {
		r := off.doAuth("GET", "/v1/workspaces/ws_1/webhooks", nil, auth)
		if r.status != 401 || !strings.Contains(r.message(), "admin.token") || !strings.Contains(r.message(), "LEADFLOW_ADMIN_TOKEN") {
			t.Fatalf("with no token configured: %d %s, want 401 naming admin.token and LEADFLOW_ADMIN_TOKEN", r.status, r.raw)
		}
	}
}

func TestRoutingErrors(t *testing.T) {
	a := newAPI(t)
	r := a.must(a.do("GET", "/v1/nowhere", nil), 404)
	if r.code() != CodeNotFound {
		t.Fatalf("unknown route: %s", r.raw)
	}
	r = a.must(a.do("PUT", "/v1/workspaces/ws_1/webhooks", nil), 405)
	if r.code() != CodeMethod || r.header.Get("Allow") != "POST, GET" {
		t.Fatalf("wrong method: %s, Allow %q", r.raw, r.header.Get("Allow"))
	}
	r = a.must(a.do("GET", "/v1/workspaces/bad%2Fws/webhooks", nil), 400)
	if r.code() != CodeBadRequest || !strings.Contains(r.message(), "workspace id") {
		t.Fatalf("bad workspace id: %s", r.raw)
	}
	for _, path := range []string{"/v1/workspaces/ws_1/webhooks/wh_nope", "/v1/workspaces/ws_1/segments/seg_nope",
		"/v1/workspaces/ws_1/personas/per_nope", "/v1/workspaces/ws_1/automations/aut_nope"} {
		for _, m := range []string{"GET", "PATCH", "DELETE"} {
			r := a.do(m, path, `{}`)
			if r.status != 404 || r.code() != CodeNotFound || !strings.Contains(r.message(), "nope") {
				t.Errorf("%s %s = %d %s, want 404 naming the id", m, path, r.status, r.raw)
			}
		}
	}
	a.must(a.do("GET", "/v1/workspaces/ws_1/webhooks/wh_nope/deliveries", nil), 404)
	a.must(a.do("POST", "/v1/workspaces/ws_1/webhooks/wh_nope/test", nil), 404)
	// Lists of unknown workspaces are empty, not null.
	for _, kind := range []string{"webhooks", "segments", "personas", "automations"} {
		r := a.must(a.do("GET", "/v1/workspaces/ws_empty/"+kind, nil), 200)
		if !strings.Contains(r.raw, `"data":[]`) {
			t.Errorf("empty %s list = %s", kind, r.raw)
		}
	}
}

func TestBodyLimits(t *testing.T) {
	a := newAPI(t)
	big := `{"name": "x", "url": "https://hooks.example.com/` + strings.Repeat("a", 1<<20) + `"}`
	r := a.must(a.do("POST", "/v1/workspaces/ws_1/webhooks", big), 413)
	if r.code() != CodeTooLarge || !strings.Contains(r.message(), "1048576") {
		t.Fatalf("1 MiB body: %s", r.raw)
	}
	small := newAPI(t, func(d *Deps) { d.MaxBodyBytes = 2048 })
	seg := map[string]any{"name": "s", "filter": map[string]any{"all": []any{map[string]any{"field": "company.name", "op": "eq", "value": strings.Repeat("x", 3000)}}}}
	small.must(small.do("POST", "/v1/workspaces/ws_1/segments", seg), 413)
	if _, err := New(Deps{Store: a.store, MaxBodyBytes: 1}); err == nil || !strings.Contains(err.Error(), "admin.max_body_bytes") {
		t.Fatalf("New with a 1-byte limit = %v, want an error naming admin.max_body_bytes", err)
	}
	if _, err := New(Deps{}); err == nil {
		t.Fatal("New without a store succeeded")
	}
}

func TestMalformedBodies(t *testing.T) {
	a := newAPI(t)
	for body, want := range map[string]string{
		``:                          "empty",
		`{"url": `:                  "not valid JSON",
		`[1, 2]`:                    "must be a JSON object",
		`"text"`:                    "must be a JSON object",
		`{"url": "x"} trailing`:     "not valid JSON",
		`not json`:                  "not valid JSON",
		`{"name": "a", "name2": 1}`: "unknown field",
	} {
		r := a.do("POST", "/v1/workspaces/ws_1/webhooks", body)
		if r.status != 400 || !strings.Contains(r.message(), want) {
			t.Errorf("body %q: %d %s, want 400 saying %q", body, r.status, r.raw, want)
		}
	}
	r := a.must(a.do("POST", "/v1/workspaces/ws_1/webhooks", `{"url": "https://hooks.example.com/", "name": "a", "colour": "red", "sekret": "x"}`), 400)
	if r.code() != CodeUnknownField || len(r.fields()) != 2 || r.fields()["colour"] != "unknown field" || r.fields()["sekret"] != "unknown field" {
		t.Fatalf("unknown fields: %s", r.raw)
	}
}

// TestOpenAPIMatchesRoutes walks the route table: every route and method
// is in the document and answers, and every documented one is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	a := newAPI(t)
	r := a.must(a.do("GET", "/v1/openapi.json", nil), 200)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
		Comps   struct {
			Schemas map[string]struct {
				Required   []string       `json:"required"`
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(r.raw), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for m := range ops {
			if m != "parameters" {
				documented[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	inMux := map[string]bool{}
	for _, rt := range (&api{}).routes() {
		key := rt.method + " " + rt.pattern
		inMux[key] = true
		if !documented[key] {
			t.Errorf("route %s is not in openapi.json", key)
		}
		// The route answers through the handler (not the 404/405 fallbacks).
		path := strings.NewReplacer("{ws}", "ws_1", "{id}", "x_1").Replace(rt.pattern)
		got := a.do(rt.method, path, `{}`)
		if got.code() == CodeMethod || got.code() == CodeNotFound && strings.Contains(got.message(), "no route") {
			t.Errorf("route %s is not served: %s", key, got.raw)
		}
	}
	for key := range documented {
		if !inMux[key] {
			t.Errorf("openapi.json documents %s, which is not a route", key)
		}
	}

	// Answer schemas list exactly the keys the API writes; request schemas
	// exactly the fields it reads.
	at := time.Now()
	samples := map[string]any{
		"Webhook":       control.Webhook{ID: "wh_1", Secret: control.NewSecret("x")},
		"Segment":       control.Segment{ID: "seg_1", Filter: json.RawMessage(`{}`)},
		"Persona":       control.Persona{ID: "per_1"},
		"Automation":    control.Automation{ID: "aut_1", Action: control.Action{Type: control.ActionWebhook}},
		"Attempt":       Attempt{ID: "msg.1.1", Time: at, Test: true, Resend: true, HasDetail: true},
		"AttemptDetail": AttemptDetail{Body: json.RawMessage(`{}`)},
	}
	for name, v := range samples {
		j, _ := json.Marshal(v)
		var m map[string]any
		_ = json.Unmarshal(j, &m)
		s := doc.Comps.Schemas[name]
		if got, want := sortedKeys(m), sortedKeys(s.Properties); !slices.Equal(got, want) {
			t.Errorf("schema %s has %v, the API writes %v", name, want, got)
		}
		omitempty := map[string]bool{"Attempt.test": true, "Attempt.resend": true, "Attempt.has_detail": true, "Attempt.id": true, "AttemptDetail.body": true}
		always := slices.DeleteFunc(sortedKeys(m), func(k string) bool { return omitempty[name+"."+k] })
		if got, want := always, slices.Sorted(slices.Values(s.Required)); !slices.Equal(got, want) {
			t.Errorf("schema %s requires %v, the API always writes %v", name, want, got)
		}
	}
	for name, fields := range map[string][]string{
		"WebhookCreate": webhookFields, "WebhookPatch": webhookFields, "SegmentCreate": segmentFields, "SegmentPatch": segmentFields,
		"PersonaCreate": personaFields, "PersonaPatch": personaFields, "AutomationCreate": automationFields, "AutomationPatch": automationFields,
	} {
		if got, want := sortedKeys(doc.Comps.Schemas[name].Properties), slices.Sorted(slices.Values(fields)); !slices.Equal(got, want) {
			t.Errorf("schema %s has %v, the API reads %v", name, got, want)
		}
	}
	var actionProps []string
	for _, n := range []string{"WebhookAction", "RevealContactsAction"} {
		actionProps = append(actionProps, sortedKeys(doc.Comps.Schemas[n].Properties)...)
	}
	slices.Sort(actionProps)
	if got, want := slices.Compact(actionProps), slices.Sorted(slices.Values(actionFields)); !slices.Equal(got, want) {
		t.Errorf("action schemas have %v, the API reads %v", got, want)
	}
	if !bytes.Equal(OpenAPI(), openAPIDoc) {
		t.Fatal("OpenAPI() differs from the served document")
	}
}
