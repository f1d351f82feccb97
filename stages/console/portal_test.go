package console

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/leadflow/leadflow/stages/admin"
	"github.com/leadflow/leadflow/stages/control"
)

// apiRequest calls the admin API through the console's API wrapper, as
// the system mounts it at /v1/.
func apiRequest(c *Console, method, target, body string, hdr http.Header, cookie *http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range hdr {
		r.Header[k] = v
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	c.API(c.svc.Handler()).ServeHTTP(w, r)
	return w
}

var bearer = http.Header{"Authorization": {"Bearer " + unitToken}}

// newPortalLink asks the API for a portal link of ws and returns its path
// and query.
func newPortalLink(t *testing.T, c *Console, ws, body string) string {
	t.Helper()
	w := apiRequest(c, http.MethodPost, "/v1/workspaces/"+ws+"/portal-links", body, bearer, nil)
	var link admin.PortalLink
	if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &link) != nil {
		t.Fatalf("portal link: %d %s", w.Code, w.Body)
	}
	if link.Workspace != ws || time.Until(link.ExpiresAt) < 59*time.Minute || time.Until(link.ExpiresAt) > time.Hour {
		t.Fatalf("portal link %+v: want workspace %s, expiring in 1h", link, ws)
	}
	u, err := url.Parse(link.URL)
	if err != nil || u.Host != "example.com" {
		t.Fatalf("portal link URL %q: want it on the host the request reached", link.URL)
	}
	return u.RequestURI()
}

// TestPortalLink: a portal link opens its workspace only; an altered,
// expired or other-workspace grant starts no session; a read only link
// changes nothing; only the admin token makes links.
func TestPortalLink(t *testing.T) {
	c, st, ids := newTestConsole(t)
	link := newPortalLink(t, c, "ws_a", "")
	// The body is empty or {"read_only": bool}: null is refused, as the
	// OpenAPI document says (schemathesis).
	if w := apiRequest(c, http.MethodPost, "/v1/workspaces/ws_a/portal-links", `{"read_only": null}`, bearer, nil); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "read_only") {
		t.Fatalf(`{"read_only": null}: %d %s, want 422 naming read_only`, w.Code, w.Body)
	}
	w := request(c, http.MethodGet, link, nil, nil)
	sc := cookiesNamed(w, sessionCookie)
	if w.Code != http.StatusOK || len(sc) != 1 || !strings.Contains(w.Body.String(), `content="0;url=/w/ws_a/webhooks"`) {
		t.Fatalf("open portal link: %d, %d session cookies\n%s", w.Code, len(sc), w.Body)
	}
	if sc[0].MaxAge > 3600 || sc[0].MaxAge < 3500 {
		t.Fatalf("portal session lasts %ds, want the link's hour", sc[0].MaxAge)
	}
	if w := request(c, http.MethodGet, "/w/ws_a/webhooks", sc[0], nil); w.Code != http.StatusOK || strings.Contains(w.Body.String(), `href="/workspaces"`) {
		t.Fatalf("portal session on its workspace: %d (and no workspace picker)", w.Code)
	}
	for _, path := range []string{"/w/ws_b/webhooks", "/workspaces"} {
		if w := request(c, http.MethodGet, path, sc[0], nil); w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), ids["ws_b/webhook"]) {
			t.Errorf("portal session of ws_a on %s: %d, want 403 showing nothing", path, w.Code)
		}
	}

	payload, sig, _ := strings.Cut(strings.SplitN(link, "grant=", 2)[1], ".")
	altered := strings.Replace(link, payload, payload[:len(payload)-2]+"xy", 1)
	for name, tc := range map[string]struct {
		target string
		want   int
	}{
		"altered":         {altered, http.StatusUnauthorized},
		"no signature":    {strings.Replace(link, "."+sig, "", 1), http.StatusUnauthorized},
		"other workspace": {strings.Replace(link, "/portal/ws_a", "/portal/ws_b", 1), http.StatusForbidden},
		"no grant":        {"/portal/ws_a", http.StatusUnauthorized},
	} {
		w := request(c, http.MethodGet, tc.target, nil, nil)
		if w.Code != tc.want || len(cookiesNamed(w, sessionCookie)) != 0 || strings.Contains(w.Body.String(), ids["ws_a/webhook"]) {
			t.Errorf("%s grant: %d with %d session cookies, want %d and none", name, w.Code, len(cookiesNamed(w, sessionCookie)), tc.want)
		}
	}
	c.now = func() time.Time { return time.Now().Add(time.Hour + time.Second) }
	if w := request(c, http.MethodGet, link, nil, nil); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "expired") || len(cookiesNamed(w, sessionCookie)) != 0 {
		t.Fatalf("expired grant: %d", w.Code)
	}
	c.now = time.Now

	// A read only link changes nothing, by form or by JSON.
	ro := request(c, http.MethodGet, newPortalLink(t, c, "ws_a", `{"read_only": true}`), nil, nil)
	roCookie := cookiesNamed(ro, sessionCookie)[0]
	roSess, err := c.sessions.read(&http.Request{Header: http.Header{"Cookie": {roCookie.String()}}})
	if err != nil || !roSess.Scope.ReadOnly {
		t.Fatalf("read only session: %+v %v", roSess, err)
	}
	version := st.Version()
	if w := request(c, http.MethodPost, "/w/ws_a/webhooks/"+ids["ws_a/webhook"]+"/pause", roCookie, url.Values{"csrf": {roSess.CSRF}}); w.Code != http.StatusForbidden {
		t.Errorf("read only pause: %d, want 403", w.Code)
	}
	csrf := http.Header{"X-Csrf-Token": {roSess.CSRF}}
	if w := apiRequest(c, http.MethodPatch, "/v1/workspaces/ws_a/webhooks/"+ids["ws_a/webhook"], `{"name":"x"}`, csrf, roCookie); w.Code != http.StatusForbidden {
		t.Errorf("read only PATCH: %d, want 403", w.Code)
	}
	if w := apiRequest(c, http.MethodGet, "/v1/workspaces/ws_a/webhooks", "", nil, roCookie); w.Code != http.StatusOK {
		t.Errorf("read only GET of its workspace's JSON: %d, want 200", w.Code)
	}
	if st.Version() != version {
		t.Fatal("a read only session changed the control plane")
	}
	// Portal links without a key: 501.
	c.svc = mustService(t, st, admin.PortalConfig{})
	if w := apiRequest(c, http.MethodPost, "/v1/workspaces/ws_a/portal-links", "", bearer, nil); w.Code != http.StatusNotImplemented || !strings.Contains(w.Body.String(), "admin.portal_key") {
		t.Fatalf("portal link without a key: %d %s", w.Code, w.Body)
	}
}

// TestEveryAPIRouteChecksScope tries every /v1 route the OpenAPI document
// lists (it is tested against the API's route table) with a portal
// session of ws_b on ws_a's URLs, with its CSRF header: 403 and nothing
// changed. Without the CSRF header a change is refused too, and a
// workspace session cannot make portal links even for its own workspace.
func TestEveryAPIRouteChecksScope(t *testing.T) {
	c, st, ids := newTestConsole(t)
	other, otherCookie := c.sessions.issue(Scope{Workspace: "ws_b"}, false)
	w := apiRequest(c, http.MethodGet, "/v1/openapi.json", "", bearer, nil)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	version := st.Version()
	tried := 0
	for path, ops := range doc.Paths {
		if !strings.Contains(path, "{ws}") {
			continue
		}
		methods := make([]string, 0, len(ops))
		for m := range ops {
			if m != "parameters" {
				methods = append(methods, strings.ToUpper(m))
			}
		}
		sort.Strings(methods)
		for _, m := range methods {
			target := routeURL(path, "ws_a", ids)
			hdr := http.Header{"X-Csrf-Token": {other.CSRF}}
			if w := apiRequest(c, m, target, `{"name":"changed"}`, hdr, otherCookie); w.Code != http.StatusForbidden {
				t.Errorf("%s %s with a ws_b session: %d, want 403\n%s", m, target, w.Code, w.Body)
			}
			if m != http.MethodGet {
				own := routeURL(path, "ws_b", ids)
				if w := apiRequest(c, m, own, `{"name":"changed"}`, nil, otherCookie); w.Code != http.StatusForbidden {
					t.Errorf("%s %s without the CSRF header: %d, want 403", m, own, w.Code)
				}
			}
			tried++
		}
	}
	if tried < 20 {
		t.Fatalf("tried %d routes; the OpenAPI document lists more", tried)
	}
	hdr := http.Header{"X-Csrf-Token": {other.CSRF}}
	if w := apiRequest(c, http.MethodPost, "/v1/workspaces/ws_b/portal-links", "", hdr, otherCookie); w.Code != http.StatusForbidden {
		t.Errorf("a workspace session making a portal link: %d, want 403", w.Code)
	}
	if st.Version() != version {
		t.Fatal("a refused request changed the control plane")
	}
	// The same session reads its own workspace's JSON.
	if w := apiRequest(c, http.MethodGet, "/v1/workspaces/ws_b/webhooks", "", nil, otherCookie); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), ids["ws_b/webhook"]) {
		t.Fatalf("ws_b session on its own JSON: %d", w.Code)
	}
}

// TestPortalLinkNeedsTheFormat: the grant is in the link's query, whole.
func TestPortalLinkNeedsTheFormat(t *testing.T) {
	c, _, _ := newTestConsole(t)
	link := newPortalLink(t, c, "ws_a", `{"read_only": false}`)
	if !regexp.MustCompile(`^/portal/ws_a\?grant=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`).MatchString(link) {
		t.Fatalf("portal link %q", link)
	}
	if w := apiRequest(c, http.MethodPost, "/v1/workspaces/ws_a/portal-links", `{"readonly": true}`, bearer, nil); w.Code != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", w.Code)
	}
}

func mustService(t *testing.T, st *control.Store, p admin.PortalConfig) *admin.Service {
	t.Helper()
	svc, err := admin.NewService(admin.Deps{Store: st, Token: unitToken, Portal: p})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}
