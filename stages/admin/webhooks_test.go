package admin

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestWebhookCRUD(t *testing.T) {
	a := newAPI(t)
	const base = "/v1/workspaces/ws_1/webhooks"
	r := a.must(a.do("POST", base, map[string]any{
		"url": "https://hooks.example.com/lf?x=1&y=2", "name": "  CRM  ", "secret": "s3cret", "max_subjects": 25, "legacy_event_names": true,
	}), http.StatusCreated)
	id := r.str("id")
	if !strings.HasPrefix(id, "wh_") || r.str("workspace_id") != "ws_1" || r.str("name") != "CRM" ||
		r.body["has_secret"] != true || r.body["max_subjects"] != 25.0 || r.body["legacy_event_names"] != true ||
		r.body["enabled"] != true || r.body["disabled_reason"] != nil || r.str("created_at") == "" {
		t.Fatalf("created webhook = %s", r.raw)
	}
	if !strings.Contains(r.raw, `"url":"https://hooks.example.com/lf?x=1&y=2"`) {
		t.Fatalf("URL is escaped or changed: %s", r.raw)
	}
	if _, ok := r.body["secret"]; ok {
		t.Fatal("the answer has a secret field")
	}
	// Read-your-writes: the GET right after sees it.
	got := a.must(a.do("GET", base+"/"+id, nil), 200)
	if got.raw != r.raw {
		t.Fatalf("GET after create = %s, want %s", got.raw, r.raw)
	}
	if wh, _ := a.store.Webhook("ws_1", id); wh.Secret.Reveal() != "s3cret" {
		t.Fatal("the store does not hold the secret")
	}

	// Defaults.
	id2 := a.createWebhook("ws_1", map[string]any{"url": "http://crm.example.com:8080/in", "name": "second"})
	d := a.must(a.do("GET", base+"/"+id2, nil), 200)
	if d.body["has_secret"] != false || d.body["max_subjects"] != 100.0 || d.body["legacy_event_names"] != false || d.body["enabled"] != true {
		t.Fatalf("defaults: %s", d.raw)
	}
	l := a.must(a.do("GET", base, nil), 200).data()
	if len(l) != 2 || l[0]["id"] != id || l[1]["id"] != id2 {
		t.Fatalf("list = %v, want [%s %s] oldest first", l, id, id2)
	}

	// PATCH changes only what is sent.
	time.Sleep(2 * time.Microsecond)
	p := a.must(a.do("PATCH", base+"/"+id, map[string]any{"name": "Renamed"}), 200)
	if p.str("name") != "Renamed" || p.str("url") != r.str("url") || p.body["has_secret"] != true || p.str("updated_at") == r.str("updated_at") ||
		p.str("created_at") != r.str("created_at") {
		t.Fatalf("after PATCH name: %s", p.raw)
	}
	same := a.must(a.do("PATCH", base+"/"+id, map[string]any{"name": "Renamed"}), 200)
	if same.str("updated_at") != p.str("updated_at") {
		t.Fatal("a PATCH that changes nothing wrote a new version")
	}
	p = a.must(a.do("PATCH", base+"/"+id, map[string]any{"secret": nil}), 200)
	if p.body["has_secret"] != false {
		t.Fatalf("secret null did not remove it: %s", p.raw)
	}
	p = a.must(a.do("PATCH", base+"/"+id, map[string]any{"secret": "new-secret", "max_subjects": 1000}), 200)
	if wh, _ := a.store.Webhook("ws_1", id); p.body["has_secret"] != true || wh.Secret.Reveal() != "new-secret" || wh.MaxSubjects != 1000 {
		t.Fatalf("after PATCH secret: %s", p.raw)
	}

	// Disabled by the deliver stage (410), then re-enabled by the user.
	if err := a.store.DisableWebhook(t.Context(), "ws_1", id, "endpoint answered 410 Gone"); err != nil {
		t.Fatal(err)
	}
	g := a.must(a.do("GET", base+"/"+id, nil), 200)
	if g.body["enabled"] != false || g.str("disabled_reason") != "endpoint answered 410 Gone" {
		t.Fatalf("disabled webhook: %s", g.raw)
	}
	g = a.must(a.do("PATCH", base+"/"+id, map[string]any{"enabled": true}), 200)
	if g.body["enabled"] != true || g.body["disabled_reason"] != nil {
		t.Fatalf("re-enabled webhook: %s", g.raw)
	}
	g = a.must(a.do("PATCH", base+"/"+id, map[string]any{"enabled": false}), 200)
	if g.body["enabled"] != false || g.body["disabled_reason"] != nil {
		t.Fatalf("paused webhook: %s", g.raw)
	}

	a.must(a.do("DELETE", base+"/"+id, nil), http.StatusNoContent)
	a.must(a.do("GET", base+"/"+id, nil), 404)
	a.must(a.do("DELETE", base+"/"+id, nil), 404)
	if l := a.must(a.do("GET", base, nil), 200).data(); len(l) != 1 {
		t.Fatalf("list after delete has %d", len(l))
	}
	// Another workspace sees none of it.
	a.must(a.do("GET", "/v1/workspaces/ws_2/webhooks/"+id2, nil), 404)
}

// TestWebhookDeliveryLimits: a webhook's own max_in_flight and rate_limit
// (issue 15) are stored, returned, patched, and 0 by default (the deliver
// stage's settings).
func TestWebhookDeliveryLimits(t *testing.T) {
	a := newAPI(t)
	const base = "/v1/workspaces/ws_1/webhooks"
	d := a.must(a.do("POST", base, map[string]any{"url": "https://hooks.example.com/d", "name": "defaults"}), http.StatusCreated)
	if d.body["max_in_flight"] != 0.0 || d.body["rate_limit"] != 0.0 {
		t.Fatalf("defaults = %s, want max_in_flight 0 and rate_limit 0", d.raw)
	}
	r := a.must(a.do("POST", base, map[string]any{"url": "https://hooks.example.com/l", "name": "limited", "max_in_flight": 2, "rate_limit": 0.5}), http.StatusCreated)
	if r.body["max_in_flight"] != 2.0 || r.body["rate_limit"] != 0.5 {
		t.Fatalf("created = %s", r.raw)
	}
	p := a.must(a.do("PATCH", base+"/"+r.str("id"), map[string]any{"rate_limit": 20}), 200)
	if p.body["max_in_flight"] != 2.0 || p.body["rate_limit"] != 20.0 {
		t.Fatalf("patched = %s", p.raw)
	}
}

func TestWebhookValidation(t *testing.T) {
	a := newAPI(t)
	const base = "/v1/workspaces/ws_1/webhooks"
	ok := func() map[string]any { return map[string]any{"url": "https://hooks.example.com/x", "name": "n"} }
	with := func(k string, v any) map[string]any { m := ok(); m[k] = v; return m }
	cases := []struct {
		name string
		body any
		want map[string]string
	}{
		{"empty object", map[string]any{}, map[string]string{"url": "is required", "name": "is required"}},
		{"everything wrong", map[string]any{"url": "ftp://x", "name": "", "max_subjects": 0, "secret": strings.Repeat("s", 513)},
			map[string]string{"url": "absolute http(s) URL", "name": "must not be empty", "max_subjects": "between 1 and 1000", "secret": "at most 512"}},
		{"relative url", with("url", "/hooks"), map[string]string{"url": "must be an absolute http(s) URL"}},
		{"no scheme", with("url", "hooks.example.com/x"), map[string]string{"url": "must be an absolute http(s) URL"}},
		{"javascript url", with("url", "javascript:alert(1)"), map[string]string{"url": "must be an absolute http(s) URL"}},
		{"user info", with("url", "https://user:pass@hooks.example.com/"), map[string]string{"url": "user info"}},
		{"url too long", with("url", "https://hooks.example.com/"+strings.Repeat("a", 2048)), map[string]string{"url": "at most 2048"}},
		{"name too long", with("name", strings.Repeat("n", 201)), map[string]string{"name": "at most 200"}},
		{"name blank", with("name", "   "), map[string]string{"name": "must not be empty"}},
		{"max_subjects high", with("max_subjects", 1001), map[string]string{"max_subjects": "between 1 and 1000"}},
		{"max_subjects fraction", with("max_subjects", 2.5), map[string]string{"max_subjects": "must be an integer"}},
		{"max_subjects string", with("max_subjects", "10"), map[string]string{"max_subjects": "must be an integer"}},
		{"max_in_flight negative", with("max_in_flight", -1), map[string]string{"max_in_flight": "between 0"}},
		{"max_in_flight high", with("max_in_flight", 1001), map[string]string{"max_in_flight": "between 0 (the deliver stage's max_in_flight) and 1000"}},
		{"max_in_flight fraction", with("max_in_flight", 1.5), map[string]string{"max_in_flight": "must be an integer"}},
		{"max_in_flight null", with("max_in_flight", nil), map[string]string{"max_in_flight": "must not be null"}},
		{"rate_limit negative", with("rate_limit", -0.5), map[string]string{"rate_limit": "between 0"}},
		{"rate_limit high", with("rate_limit", 1e7), map[string]string{"rate_limit": "between 0"}},
		{"rate_limit string", with("rate_limit", "5"), map[string]string{"rate_limit": "must be a number"}},
		{"url number", with("url", 5), map[string]string{"url": "must be a string"}},
		{"url null", with("url", nil), map[string]string{"url": "is required"}},
		{"enabled string", with("enabled", "yes"), map[string]string{"enabled": "true or false"}},
		{"enabled null", with("enabled", nil), map[string]string{"enabled": "must not be null"}},
		{"legacy number", with("legacy_event_names", 1), map[string]string{"legacy_event_names": "true or false"}},
		{"secret number", with("secret", 42), map[string]string{"secret": "a string"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a.t = t
			a.invalid(a.do("POST", base, c.body), c.want)
		})
	}
	a.t = t
	id := a.createWebhook("ws_1", nil)
	a.invalid(a.do("PATCH", base+"/"+id, map[string]any{"max_subjects": -1, "name": ""}),
		map[string]string{"max_subjects": "between", "name": "must not be empty"})
	a.invalid(a.do("PATCH", base+"/"+id, map[string]any{"url": nil}), map[string]string{"url": "must not be null"})
	if l := a.must(a.do("GET", base, nil), 200).data(); len(l) != 1 {
		t.Fatalf("invalid requests created webhooks: %v", l)
	}
}

func TestWebhookURLPolicy(t *testing.T) {
	run := newAPI(t) // private networks not allowed
	for url, want := range map[string]string{
		"http://localhost:8080/hook":           "127.0.0.1",
		"http://127.0.0.1:9000/":               "127.0.0.1",
		"http://[::1]/":                        "::1",
		"https://intranet.corp/hook":           "10.20.30.40",
		"https://mixed.example.com/":           "192.168.1.10",
		"http://metadata.internal/latest":      "169.254.169.254",
		"http://169.254.169.254/latest":        "169.254.169.254",
		"https://carrier.example.com/":         "100.64.1.1",
		"http://0.0.0.0/":                      "0.0.0.0",
		"http://[fd00::1]/":                    "fd00::1",
		"http://224.0.0.1/":                    "224.0.0.1",
		"https://does-not-resolve.example/":    "does not resolve",
		"http://[::ffff:127.0.0.1]:8080/":      "127.0.0.1",
		"https://198.51.100.7/documentation-1": "198.51.100.7",
	} {
		r := run.do("POST", "/v1/workspaces/ws_1/webhooks", map[string]any{"url": url, "name": "n"})
		run.invalid(r, map[string]string{"url": want})
	}
	for _, url := range []string{"https://hooks.example.com/x", "https://crm.example.com/", "https://93.184.215.14/x"} {
		run.must(run.do("POST", "/v1/workspaces/ws_1/webhooks", map[string]any{"url": url, "name": "n"}), 201)
	}
	// PATCH is checked the same way.
	id := run.createWebhook("ws_1", nil)
	run.invalid(run.do("PATCH", "/v1/workspaces/ws_1/webhooks/"+id, map[string]any{"url": "http://localhost/"}), map[string]string{"url": "127.0.0.1"})

	dev := newAPI(t, func(d *Deps) { d.URLPolicy.AllowPrivateNetworks = true })
	for _, url := range []string{"http://localhost:8080/hook", "http://127.0.0.1:9000/", "https://intranet.corp/", "http://does-not-resolve.example/"} {
		dev.must(dev.do("POST", "/v1/workspaces/ws_1/webhooks", map[string]any{"url": url, "name": "n"}), 201)
	}
	dev.invalid(dev.do("POST", "/v1/workspaces/ws_1/webhooks", map[string]any{"url": "file:///etc/passwd", "name": "n"}),
		map[string]string{"url": "absolute http(s)"})
}

func TestDeliveriesAndTest(t *testing.T) {
	a := newAPI(t)
	id := a.createWebhook("ws_1", map[string]any{"url": "https://hooks.example.com/", "name": "n", "secret": "tst-secret"})
	r := a.must(a.do("GET", "/v1/workspaces/ws_1/webhooks/"+id+"/deliveries", nil), 501)
	if r.code() != CodeNotImplemented || !strings.Contains(r.message(), "deliver stage") {
		t.Fatalf("deliveries without a log: %s", r.raw)
	}
	a.must(a.do("POST", "/v1/workspaces/ws_1/webhooks/"+id+"/test", nil), 501)

	log := &fakeDeliveries{attempts: []Attempt{
		{Time: time.Date(2024, 5, 15, 10, 0, 2, 0, time.UTC), MessageID: "msg_2", Event: "new_lead", Subjects: 3, StatusCode: 500, LatencyMS: 40, Error: "HTTP 500", Attempt: 2, Outcome: "retry"},
		{Time: time.Date(2024, 5, 15, 10, 0, 1, 0, time.UTC), MessageID: "msg_2", Event: "new_lead", Subjects: 3, LatencyMS: 10000, Error: "timeout", Attempt: 1, Outcome: "retry"},
	}}
	tester := &fakeTester{}
	b := newAPI(t, func(d *Deps) { d.Deliveries, d.Tester = log, tester })
	id = b.createWebhook("ws_1", map[string]any{"url": "https://hooks.example.com/", "name": "n", "secret": "tst-secret"})
	l := b.must(b.do("GET", "/v1/workspaces/ws_1/webhooks/"+id+"/deliveries", nil), 200)
	want := `{"data":[{"time":"2024-05-15T10:00:02Z","event":"new_lead","subjects":3,"status_code":500,"latency_ms":40,"error":"HTTP 500","attempt":2,"message_id":"msg_2","outcome":"retry"},` +
		`{"time":"2024-05-15T10:00:01Z","event":"new_lead","subjects":3,"status_code":0,"latency_ms":10000,"error":"timeout","attempt":1,"message_id":"msg_2","outcome":"retry"}]}` + "\n"
	if l.raw != want {
		t.Fatalf("deliveries = %s, want %s", l.raw, want)
	}
	if l := b.must(b.do("GET", "/v1/workspaces/ws_1/webhooks/"+id+"/deliveries?limit=1", nil), 200).data(); len(l) != 1 {
		t.Fatalf("limit=1 gave %d", len(l))
	}
	for _, q := range []string{"0", "501", "x", "-3"} {
		b.invalid(b.do("GET", "/v1/workspaces/ws_1/webhooks/"+id+"/deliveries?limit="+q, nil), map[string]string{"limit": "between 1 and 500"})
	}
	tr := b.must(b.do("POST", "/v1/workspaces/ws_1/webhooks/"+id+"/test", nil), 200)
	if tr.body["test"] != true || tr.body["status_code"] != 200.0 || tr.str("error") != "" || tester.got.ID != id || tester.got.Secret.Reveal() != "tst-secret" {
		t.Fatalf("test = %s, tester got %v", tr.raw, tester.got)
	}
	tester.err = errNoRoute
	tr = b.must(b.do("POST", "/v1/workspaces/ws_1/webhooks/"+id+"/test", nil), 502)
	if tr.code() != CodeTestFailed || !strings.Contains(tr.message(), "no route to host") {
		t.Fatalf("failed test = %s", tr.raw)
	}
}

type testErr string

func (e testErr) Error() string { return string(e) }

const errNoRoute = testErr("dial tcp: no route to host")

// A refused private URL names the setting that allows it.
func TestPrivateURLErrorNamesTheSetting(t *testing.T) {
	a := newAPI(t)
	a.invalid(a.do("POST", "/v1/workspaces/ws_1/webhooks", map[string]any{"url": "http://127.0.0.1:9000/", "name": "n"}),
		map[string]string{"url": "stages.deliver.allow_private_networks"})
}
