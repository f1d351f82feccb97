package console

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadflow/leadflow/stages/admin"
	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/evaluate/filter"
)

const (
	unitToken     = "unit-token"
	unitPortalKey = "unit-portal-key-of-at-least-32-bytes"
)

// newTestConsole is a console on an in-memory control plane, with one
// webhook, segment, persona and automation in each of ws_a and ws_b.
func newTestConsole(t *testing.T) (*Console, *control.Store, map[string]string) {
	t.Helper()
	st, err := control.NewInMemory()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := admin.NewService(admin.Deps{Store: st, Token: unitToken, URLPolicy: admin.URLPolicy{AllowPrivateNetworks: true},
		Portal:          admin.PortalConfig{Key: unitPortalKey},
		FilterValidator: func(raw json.RawMessage) error { _, err := filter.Compile(raw); return err }})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Deps{Service: svc, Token: unitToken})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	ctx := context.Background()
	for _, ws := range []string{"ws_a", "ws_b"} {
		wh, err := svc.Create(ctx, control.KindWebhook, ws, []byte(`{"url":"http://127.0.0.1:9/x","name":"hook"}`))
		if err != nil {
			t.Fatal(err)
		}
		sg, err := svc.Create(ctx, control.KindSegment, ws, []byte(`{"name":"s","filter":{"field":"company.industry","op":"eq","value":"x"}}`))
		if err != nil {
			t.Fatal(err)
		}
		pe, err := svc.Create(ctx, control.KindPersona, ws, []byte(`{"name":"p"}`))
		if err != nil {
			t.Fatal(err)
		}
		au, err := svc.Create(ctx, control.KindAutomation, ws, []byte(`{"name":"a","trigger":"new_lead","action":{"type":"webhook","webhook_id":"`+wh.Ref().ID+`"}}`))
		if err != nil {
			t.Fatal(err)
		}
		ids[ws+"/webhook"], ids[ws+"/segment"], ids[ws+"/persona"], ids[ws+"/automation"] = wh.Ref().ID, sg.Ref().ID, pe.Ref().ID, au.Ref().ID
	}
	return c, st, ids
}

// routeURL fills a route pattern's parameters for workspace ws.
func routeURL(pattern, ws string, ids map[string]string) string {
	kind := "webhook"
	for _, k := range []string{"automation", "segment", "persona"} {
		if strings.Contains(pattern, "/"+k+"s/") {
			kind = k
		}
	}
	u := strings.NewReplacer("{ws}", ws, "{id}", ids[ws+"/"+kind], "{attempt}", "msg_x.1.1", "{$}", "").Replace(pattern)
	return u
}

func request(c *Console, method, target string, cookie *http.Cookie, form url.Values) *httptest.ResponseRecorder {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	return w
}

// TestEveryRouteChecksScope tries every workspace route with a session
// scoped to another workspace (403, nothing changed), every POST without
// the CSRF token (403, nothing changed), and every non-public route
// without a session (a redirect to sign in, or 401). A route added later
// is covered by the same table.
func TestEveryRouteChecksScope(t *testing.T) {
	c, st, ids := newTestConsole(t)
	other, otherCookie := c.sessions.issue(Scope{Workspace: "ws_b"}, false)
	admin, adminCookie := c.sessions.issue(Scope{Admin: true}, false)
	version := st.Version()
	for _, rt := range c.routes() {
		if rt.access == public {
			continue
		}
		target := routeURL(rt.pattern, "ws_a", ids)
		if rt.access == inWorkspace {
			form := url.Values{"csrf": {other.CSRF}, "name": {"changed"}, "enabled": {"on"}}
			if w := request(c, rt.method, target, otherCookie, form); w.Code != http.StatusForbidden {
				t.Errorf("%s %s with a ws_b session: %d, want 403", rt.method, target, w.Code)
			}
		}
		if rt.access == adminOnly {
			if w := request(c, rt.method, target, otherCookie, nil); w.Code != http.StatusForbidden {
				t.Errorf("%s %s with a workspace session: %d, want 403", rt.method, target, w.Code)
			}
		}
		if rt.method == http.MethodPost {
			if w := request(c, rt.method, target, adminCookie, url.Values{"name": {"changed"}}); w.Code != http.StatusForbidden {
				t.Errorf("%s %s without the CSRF token: %d, want 403", rt.method, target, w.Code)
			}
			if w := request(c, rt.method, target, adminCookie, url.Values{"csrf": {"not-" + admin.CSRF}}); w.Code != http.StatusForbidden {
				t.Errorf("%s %s with a wrong CSRF token: %d, want 403", rt.method, target, w.Code)
			}
		}
		w := request(c, rt.method, target, nil, nil)
		if rt.method == http.MethodGet && (w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/signin")) {
			t.Errorf("GET %s without a session: %d %s, want a redirect to /signin", target, w.Code, w.Header().Get("Location"))
		}
		if rt.method == http.MethodPost && w.Code != http.StatusUnauthorized {
			t.Errorf("POST %s without a session: %d, want 401", target, w.Code)
		}
	}
	if st.Version() != version {
		t.Fatal("a refused request changed the control plane")
	}
	// The ws_b session opens its own workspace.
	if w := request(c, http.MethodGet, "/w/ws_b/webhooks", otherCookie, nil); w.Code != http.StatusOK {
		t.Fatalf("a ws_b session on ws_b: %d", w.Code)
	}
}

// TestSignIn: a wrong token is refused with a message, the right one sets
// an HttpOnly, SameSite=Strict session cookie (Secure over TLS), and a
// session expires.
func TestSignIn(t *testing.T) {
	c, _, _ := newTestConsole(t)
	get := request(c, http.MethodGet, "/signin", nil, nil)
	pre := get.Result().Cookies()[0]
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(get.Body.String())[1]

	w := request(c, http.MethodPost, "/signin", pre, url.Values{"csrf": {csrf}, "token": {"wrong"}})
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "not the admin token") || len(cookiesNamed(w, sessionCookie)) != 0 {
		t.Fatalf("wrong token: %d, session cookies %d", w.Code, len(cookiesNamed(w, sessionCookie)))
	}
	if w := request(c, http.MethodPost, "/signin", nil, url.Values{"token": {unitToken}}); w.Code != http.StatusForbidden || len(cookiesNamed(w, sessionCookie)) != 0 {
		t.Fatalf("sign-in without the form's token: %d, want 403 and no session", w.Code)
	}
	r := httptest.NewRequest(http.MethodPost, "https://console.example/signin", strings.NewReader(url.Values{"csrf": {csrf}, "token": {unitToken}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(pre)
	r.TLS = &tls.ConnectionState{HandshakeComplete: true} // the request came over TLS
	w = httptest.NewRecorder()
	c.ServeHTTP(w, r)
	sc := cookiesNamed(w, sessionCookie)
	if w.Code != http.StatusSeeOther || len(sc) != 1 {
		t.Fatalf("sign-in: %d with %d session cookies", w.Code, len(sc))
	}
	if !sc[0].HttpOnly || !sc[0].Secure || sc[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure over TLS, SameSite=Strict", sc[0])
	}
	if w := request(c, http.MethodGet, "/workspaces", sc[0], nil); w.Code != http.StatusOK {
		t.Fatalf("workspaces after sign-in: %d", w.Code)
	}
	// An altered cookie and an expired session are no session.
	bad := *sc[0]
	bad.Value = strings.Replace(bad.Value, ".", "x.", 1)
	if w := request(c, http.MethodGet, "/workspaces", &bad, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("altered cookie: %d, want a redirect to sign in", w.Code)
	}
	c.sessions.now = func() time.Time { return time.Now().Add(13 * time.Hour) }
	if w := request(c, http.MethodGet, "/workspaces", sc[0], nil); w.Code != http.StatusSeeOther {
		t.Fatalf("expired session: %d, want a redirect to sign in", w.Code)
	}
}

func cookiesNamed(w *httptest.ResponseRecorder, name string) []*http.Cookie {
	var out []*http.Cookie
	for _, ck := range w.Result().Cookies() {
		if ck.Name == name && ck.MaxAge >= 0 {
			out = append(out, ck)
		}
	}
	return out
}

// TestFormErrorsNameTheField: the API's 422 shows next to the field it
// names, with what was typed kept.
func TestFormErrorsNameTheField(t *testing.T) {
	c, _, _ := newTestConsole(t)
	s, ck := c.sessions.issue(Scope{Admin: true}, false)
	w := request(c, http.MethodPost, "/w/ws_a/webhooks/new", ck, url.Values{"csrf": {s.CSRF}, "url": {"ftp://x"}, "name": {"n"}, "max_subjects": {"0"}})
	body := w.Body.String()
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(body, "must be an absolute http(s) URL") || !strings.Contains(body, `value="ftp://x"`) {
		t.Fatalf("bad webhook: %d\n%s", w.Code, body)
	}
	w = request(c, http.MethodPost, "/w/ws_a/personas/new", ck, url.Values{"csrf": {s.CSRF}, "name": {"p"}, "countries_other": {"Finland"}})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "ISO 3166-1 alpha-2") {
		t.Fatalf("bad country: %d", w.Code)
	}
}

// TestEveryPageRenders opens every page of an admin session; the log
// pages answer 501 here, where no process keeps a delivery log.
func TestEveryPageRenders(t *testing.T) {
	c, _, ids := newTestConsole(t)
	_, ck := c.sessions.issue(Scope{Admin: true}, false)
	for _, rt := range c.routes() {
		if rt.method != http.MethodGet || rt.pattern == "/{$}" || rt.pattern == "/w/{ws}/{$}" {
			continue
		}
		target := routeURL(rt.pattern, "ws_a", ids)
		want := http.StatusOK
		switch {
		case strings.Contains(rt.pattern, "/logs"):
			want = http.StatusNotImplemented
		case rt.pattern == "/workspaces/open": // no id given
			want = http.StatusUnprocessableEntity
		case rt.pattern == "/ops/endpoints": // no delivery log here: each row says so
		case strings.HasPrefix(rt.pattern, "/ops/"): // no Kafka here
			want = http.StatusNotImplemented
		case rt.pattern == "/portal/{ws}": // no grant
			want = http.StatusUnauthorized
		}
		w := request(c, rt.method, target, ck, nil)
		if w.Code != want {
			t.Errorf("GET %s: %d, want %d\n%.400s", target, w.Code, want, w.Body.String())
		}
		if want == http.StatusOK && !strings.Contains(w.Body.String(), "</main>") {
			t.Errorf("GET %s: not a whole page", target)
		}
	}
}

// TestEditsGoThroughTheAPI: pause, disable and edit forms change the
// control plane as the API would.
func TestEditsGoThroughTheAPI(t *testing.T) {
	c, st, ids := newTestConsole(t)
	s, ck := c.sessions.issue(Scope{Admin: true}, false)
	post := func(path string, form url.Values) *httptest.ResponseRecorder {
		form.Set("csrf", s.CSRF)
		return request(c, http.MethodPost, path, ck, form)
	}
	if w := post("/w/ws_a/webhooks/"+ids["ws_a/webhook"]+"/pause", url.Values{}); w.Code != http.StatusSeeOther {
		t.Fatalf("pause: %d", w.Code)
	}
	if wh, _ := st.Webhook("ws_a", ids["ws_a/webhook"]); wh.Enabled {
		t.Fatal("pause did not pause the webhook")
	}
	if w := post("/w/ws_a/automations/"+ids["ws_a/automation"]+"/disable", url.Values{}); w.Code != http.StatusSeeOther {
		t.Fatalf("disable: %d", w.Code)
	}
	if a, _ := st.Workspace("ws_a").Automation(ids["ws_a/automation"]); a.Enabled {
		t.Fatal("disable did not disable the automation")
	}
	// The webhook's own limits (advanced settings): set, then cleared back
	// to the stage's defaults.
	whPath := "/w/ws_a/webhooks/" + ids["ws_a/webhook"] + "/edit"
	if w := post(whPath, url.Values{"url": {"https://example.com/hook"}, "name": {"limited"}, "max_in_flight": {"3"}, "rate_limit": {"2.5"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("edit webhook limits: %d %s", w.Code, w.Body.String())
	}
	if wh, _ := st.Webhook("ws_a", ids["ws_a/webhook"]); wh.MaxInFlight != 3 || wh.RateLimit != 2.5 {
		t.Fatalf("limits after the edit: max_in_flight %d, rate_limit %g; want 3 and 2.5", wh.MaxInFlight, wh.RateLimit)
	}
	if w := post(whPath, url.Values{"url": {"https://example.com/hook"}, "name": {"limited"}, "max_in_flight": {"-1"}}); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "max_in_flight") {
		t.Fatalf("a negative max_in_flight: %d, want 422 naming the field", w.Code)
	}
	if w := post(whPath, url.Values{"url": {"https://example.com/hook"}, "name": {"limited"}, "max_in_flight": {""}, "rate_limit": {""}}); w.Code != http.StatusSeeOther {
		t.Fatalf("clear webhook limits: %d", w.Code)
	}
	if wh, _ := st.Webhook("ws_a", ids["ws_a/webhook"]); wh.MaxInFlight != 0 || wh.RateLimit != 0 {
		t.Fatalf("limits after clearing: %d and %g, want 0 (the stage's defaults)", wh.MaxInFlight, wh.RateLimit)
	}
	w := post("/w/ws_a/segments/"+ids["ws_a/segment"]+"/edit", url.Values{"name": {"renamed"}, "filter": {`{"any": [{"field": "company.nope", "op": "eq", "value": 1}]}`}})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "filter.any[0].field") {
		t.Fatalf("bad filter: %d", w.Code)
	}
	if sg, _ := st.Segment("ws_a", ids["ws_a/segment"]); sg.Name == "renamed" {
		t.Fatal("a refused edit changed the segment")
	}
	w = post("/w/ws_a/webhooks/"+ids["ws_a/webhook"]+"/delete", url.Values{})
	if flash := w.Result().Cookies(); w.Code != http.StatusSeeOther || len(flash) == 0 || !strings.Contains(flash[0].Value, "used+by+automation") {
		t.Fatalf("delete of a used webhook: %d %v", w.Code, flash)
	}
	if _, ok := st.Webhook("ws_a", ids["ws_a/webhook"]); !ok {
		t.Fatal("a webhook in use was deleted")
	}
	if w := post("/w/ws_a/segments/"+ids["ws_a/segment"]+"/delete", url.Values{}); w.Code != http.StatusSeeOther {
		t.Fatalf("delete segment: %d", w.Code)
	}
	if _, ok := st.Segment("ws_a", ids["ws_a/segment"]); ok {
		t.Fatal("the segment was not deleted")
	}
}
