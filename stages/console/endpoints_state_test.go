package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/system/systemtest"
)

// signInHTTP signs an HTTP client (with a cookie jar) in to the console.
func signInHTTP(t *testing.T, base string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	page := getPage(t, cl, base+"/signin")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("sign-in page has no csrf field:\n%s", page)
	}
	resp, err := cl.PostForm(base+"/signin", url.Values{"csrf": {m[1]}, "token": {testToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/workspaces" {
		t.Fatalf("sign in: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return cl
}

func getPage(t *testing.T, cl *http.Client, u string) string {
	t.Helper()
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", u, resp.StatusCode, b)
	}
	return string(b)
}

// TestEndpointsPageShowsOpenBreaker: a webhook whose endpoint answers 500
// opens its circuit breaker after breaker_failures (2) attempts; its
// request waits in the 1 m retry tier. The Endpoints page (plain HTTP, the
// whole system) shows that webhook first, its breaker open with how long
// and why, nothing queued and the subject retrying, while a healthy
// webhook shows a closed breaker.
func TestEndpointsPageShowsOpenBreaker(t *testing.T) {
	sys, cfg := systemtest.Start(t, "console-breaker", func(cfg *configs.Config) {
		cfg.Admin.Token = testToken
		cfg.Admin.PortalKey = testPortalKey
		cfg.Stages.Deliver.Linger = 100 * time.Millisecond
		cfg.Stages.Deliver.BreakerFailures = 2
	})
	base := "http://" + sys.HTTPAddr().String()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
	}))
	defer failing.Close()
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer healthy.Close()
	var bad, good struct{ ID string }
	if code := api(t, base, "POST", "/v1/workspaces/"+testWS+"/webhooks", `{"url":"`+failing.URL+`/hook","name":"Failing CRM"}`, &bad); code != http.StatusCreated {
		t.Fatalf("create webhook: %d", code)
	}
	if code := api(t, base, "POST", "/v1/workspaces/"+testWS+"/webhooks", `{"url":"`+healthy.URL+`/hook","name":"Healthy CRM"}`, &good); code != http.StatusCreated {
		t.Fatalf("create webhook: %d", code)
	}
	for _, id := range []string{bad.ID, good.ID} {
		if code := api(t, base, "POST", "/v1/workspaces/"+testWS+"/automations", `{"name":"leads `+id+`","trigger":"new_lead","action":{"type":"webhook","webhook_id":"`+id+`"}}`, nil); code != http.StatusCreated {
			t.Fatalf("create automation: %d", code)
		}
	}
	guide := schemas.GuideNetcontrolEvent()
	produce(t, sys, cfg.Kafka.Brokers, &kgo.Record{Key: []byte(guide.SessionID), Value: guide.AppendJSON(nil)})

	cl := signInHTTP(t, base)
	rowRe := func(id string) *regexp.Regexp {
		return regexp.MustCompile(`(?s)<tr data-webhook="` + regexp.QuoteMeta(id) + `">(.*?)</tr>`)
	}
	var page, row string
	kafkatest.Eventually(t, 60*time.Second, "the failing webhook's breaker open with its subject retrying", func() bool {
		page = getPage(t, cl, base+"/ops/endpoints")
		m := rowRe(bad.ID).FindStringSubmatch(page)
		if m == nil {
			return false
		}
		row = m[1]
		return strings.Contains(row, `data-breaker="open"`) && strings.Contains(row, `<td class="retrying">1</td>`)
	})
	if !strings.Contains(row, `<td class="queued">0</td>`) {
		t.Errorf("failing webhook's row: want 0 queued (its request waits in a retry tier):\n%s", row)
	}
	if !strings.Contains(row, "2 failed attempts in a row") || !regexp.MustCompile(`for \d+(\.\d+)?(s|m)`).MatchString(row) {
		t.Errorf("failing webhook's row: want the breaker's reason and age:\n%s", row)
	}
	if i, j := strings.Index(page, `data-webhook="`+bad.ID+`"`), strings.Index(page, `data-webhook="`+good.ID+`"`); i < 0 || j < 0 || i > j {
		t.Errorf("the open breaker is not listed before the healthy webhook (at %d, %d)", i, j)
	}
	if m := rowRe(good.ID).FindStringSubmatch(page); m == nil || !strings.Contains(m[1], `data-breaker="closed"`) {
		t.Errorf("healthy webhook's row: want a closed breaker:\n%v", m)
	}
	if !strings.Contains(page, `id="deliver-processes">1 deliver process with work in progress published its state`) {
		t.Errorf("page does not say one deliver process published its state")
	}
}
