package console_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/stages/admin"
	"github.com/leadflow/leadflow/stages/control"
)

// api calls the admin API with the admin token and decodes the answer.
func api(t *testing.T, base, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, buf.String())
		}
	}
	return resp.StatusCode
}

// TestConsolePortalLink is a host product's portal link in a real
// headless Chromium: the link the API makes opens its workspace's
// console (no workspace picker); the same browser is refused another
// workspace's pages, forms and JSON, and the admin pages; an altered and
// an expired link start no session.
func TestConsolePortalLink(t *testing.T) {
	chromiumPath(t)
	sys, _ := startSystem(t)
	base := "http://" + sys.HTTPAddr().String()
	const otherWS = "ws_other"
	var hook struct{ ID string }
	if code := api(t, base, "POST", "/v1/workspaces/"+otherWS+"/webhooks", `{"url":"http://127.0.0.1:9/x","name":"Other company's CRM"}`, &hook); code != http.StatusCreated {
		t.Fatalf("create the other workspace's webhook: %d", code)
	}
	var link admin.PortalLink
	if code := api(t, base, "POST", "/v1/workspaces/"+testWS+"/portal-links", `{}`, &link); code != http.StatusCreated {
		t.Fatalf("portal link: %d", code)
	}
	u, err := url.Parse(link.URL)
	if err != nil || u.Host != sys.HTTPAddr().String() {
		t.Fatalf("portal link %q: want it on %s", link.URL, sys.HTTPAddr())
	}

	b := newBrowser(t, base)
	// Refused links first, while the browser has no session.
	altered := strings.Replace(u.RequestURI(), "grant=", "grant=x", 1)
	expired := expiredLink(t)
	for name, path := range map[string]string{"altered": altered, "expired": expired} {
		b.open(path)
		if got := b.text("main"); !strings.Contains(got, "portal link") || eval[bool](b, `location.pathname.startsWith('/w/')`) {
			t.Fatalf("%s link: page %q at %s, want it refused", name, got, b.location())
		}
		b.open("/w/" + testWS + "/webhooks")
		b.waitJS(name+" link starts no session", `location.pathname === '/signin'`)
	}
	b.open(strings.Replace(u.RequestURI(), "/portal/"+testWS, "/portal/"+otherWS, 1))
	if got := b.text("main"); !strings.Contains(got, "another workspace") {
		t.Fatalf("a link opened on another workspace's URL: %q", got)
	}

	// The link opens its workspace.
	b.open(u.RequestURI())
	b.waitJS("portal opens the workspace", `location.pathname === '/w/`+testWS+`/webhooks'`)
	if eval[bool](b, `!!document.querySelector('a[href="/workspaces"]')`) {
		t.Fatal("a portal session sees the workspace picker")
	}
	b.shot("portal-webhooks")

	// Another workspace's page, form and JSON: 403, nothing shown or changed.
	b.open("/w/" + otherWS + "/webhooks")
	if got := b.text("main"); !strings.Contains(got, "does not give access") || strings.Contains(got, "Other company") {
		t.Fatalf("another workspace's page: %q", got)
	}
	b.shot("portal-refused")
	b.open("/w/" + testWS + "/webhooks")
	csrf := eval[string](b, `document.querySelector('input[name=csrf]').value`)
	statuses := eval[[]int](b, `(async () => {
		const form = (path) => fetch(path, {method: 'POST', credentials: 'same-origin',
			headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'csrf=`+csrf+`&name=x&url=http://127.0.0.1:9/y'}).then(r => r.status);
		const json = (method, path, body) => fetch(path, {method, credentials: 'same-origin',
			headers: {'Content-Type': 'application/json', 'X-CSRF-Token': '`+csrf+`'}, body}).then(r => r.status);
		return [
			await form('/w/`+otherWS+`/webhooks/new'),
			await form('/w/`+otherWS+`/webhooks/`+hook.ID+`/pause'),
			await json('GET', '/v1/workspaces/`+otherWS+`/webhooks'),
			await json('PATCH', '/v1/workspaces/`+otherWS+`/webhooks/`+hook.ID+`', '{"name":"taken"}'),
			await json('POST', '/v1/workspaces/`+testWS+`/portal-links', '{}'),
			await json('GET', '/v1/workspaces/`+testWS+`/webhooks'),
			(await fetch('/workspaces')).status,
		]})()`, chromedp.EvalAwaitPromise)
	want := []int{403, 403, 403, 403, 403, 200, 403}
	if len(statuses) != len(want) {
		t.Fatalf("statuses %v", statuses)
	}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("portal session requests: statuses %v, want %v", statuses, want)
		}
	}
	var got struct {
		Name    string `json:"name"`
		Enabled bool   `json:"enabled"`
	}
	if code := api(t, base, "GET", "/v1/workspaces/"+otherWS+"/webhooks/"+hook.ID, "", &got); code != http.StatusOK || got.Name != "Other company's CRM" || !got.Enabled {
		t.Fatalf("the other workspace's webhook changed: %d %+v", code, got)
	}
}

// expiredLink is a portal link signed with the system's key an hour and
// a minute before now (the default lifetime is an hour).
func expiredLink(t *testing.T) string {
	t.Helper()
	st, err := control.NewInMemory()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := admin.NewService(admin.Deps{Store: st, Token: testToken, Portal: admin.PortalConfig{Key: testPortalKey}})
	if err != nil {
		t.Fatal(err)
	}
	link, err := svc.NewPortalLink(testWS, false, "", time.Now().Add(-61*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return link.URL
}
