package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/system"
)

// produce writes raw events to the system's raw topic.
func produce(t *testing.T, sys *system.System, brokers []string, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, r := range recs {
		r.Topic = sys.Topics().Raw
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// TestConsoleGuideFlows follows the product guide's three flows in a real
// headless Chromium against the whole system in this process: sign in,
// Create Webhook with a secret, a segment built in the builder (its 422
// shown next to the condition), a New Lead automation, the guide's
// Netcontrol visit delivered signed to a real receiver and shown in View
// Logs with its body, Resend, Send Test of each event type, the Reveal
// Contacts flow delivering John Doe, a request without the CSRF token
// refused, and a script-like webhook name and a quoted segment value
// shown as text. With LEADFLOW_SCREENSHOTS set it saves a screenshot of
// each page there.
func TestConsoleGuideFlows(t *testing.T) {
	chromiumPath(t) // fail first, and fast, without a browser
	sys, cfg := startSystem(t)
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	b := newBrowser(t, "http://"+sys.HTTPAddr().String())

	// Sign in: a wrong token is a clear message, the right one a session.
	b.open("/")
	b.waitJS("sign-in page", `location.pathname === '/signin' && !!document.querySelector('#token')`)
	b.shot("signin")
	b.typeInto("#token", "not-the-token")
	b.click("form[action='/signin'] button[type=submit]")
	if msg := b.text(".error-msg"); !strings.Contains(msg, "not the admin token") {
		t.Fatalf("wrong token: want a clear message, got %q", msg)
	}
	b.typeInto("#token", testToken)
	b.click("form[action='/signin'] button[type=submit]")
	b.waitJS("workspaces", `location.pathname === '/workspaces'`)

	// Workspaces: open ws_123 by id.
	b.shot("workspaces")
	b.typeInto("#wsid", testWS)
	b.click("form[action='/workspaces/open'] button")
	b.waitJS("webhooks page", `location.pathname === '/w/`+testWS+`/webhooks'`)

	// Integrations -> Webhooks -> Create Webhook.
	b.click("a.button.primary[href$='/webhooks/new']")
	b.typeInto("#url", srv.URL+"/hook")
	b.typeInto("#name", "CRM endpoint")
	b.typeInto("#secret", testSecret)
	b.shot("webhook-create")
	b.click("form.form button.primary")
	if flash := b.text(".flash"); !strings.Contains(flash, "CRM endpoint created") {
		t.Fatalf("create webhook: flash %q", flash)
	}
	whID := eval[string](b, `(function(){for (const tr of document.querySelectorAll('table.list tbody tr')) { if (tr.querySelector('.name').innerText === 'CRM endpoint') return tr.querySelector('small.muted').innerText } return ''})()`)
	if whID == "" {
		t.Fatal("the new webhook is not in the list")
	}
	if row := b.text("table.list tbody tr"); !strings.Contains(row, "set") || !strings.Contains(row, "active") {
		t.Fatalf("webhook row %q: want status active and secret set", row)
	}

	// Escaping: a webhook named like a script shows as text.
	b.click("a.button.primary[href$='/webhooks/new']")
	b.typeInto("#url", srv.URL+"/xss")
	b.typeInto("#name", "<script>alert(1)</script>")
	b.click("form.form button.primary")
	names := eval[string](b, `Array.from(document.querySelectorAll('.name')).map(e => e.textContent).join('|')`)
	if !strings.Contains(names, "<script>alert(1)</script>") {
		t.Fatalf("the script-like name is not shown as text: %q", names)
	}
	if n := eval[int](b, `document.querySelectorAll('script').length`); n != 1 {
		t.Fatalf("%d script elements on the webhooks page; want only console.js", n)
	}
	b.shot("webhooks")

	testSegmentBuilder(t, b)

	// Automations -> Create Automation: New Lead, the segment, Webhook.
	b.open("/w/" + testWS + "/automations")
	b.click("a.button.primary[href$='/automations/new']")
	b.typeInto("#name", "Machinery leads to the CRM")
	b.set("#trigger", "new_lead")
	segID := eval[string](b, `Array.from(document.querySelectorAll('#segment_id option')).find(o => o.text === 'Machinery, 1+ sessions').value`)
	b.set("#segment_id", segID)
	b.do("choose Webhook", chromedp.Click("input[name=action][value=webhook]"))
	b.set("#webhook_id", whID)
	b.shot("automation-create")
	b.click("#automation-form button.primary")
	if flash := b.text(".flash"); !strings.Contains(flash, "created") {
		t.Fatalf("create automation: flash %q", flash)
	}
	b.shot("automations")

	// The guide's Netcontrol visit: a signed new_lead reaches the receiver.
	guide := schemas.GuideNetcontrolEvent()
	produce(t, sys, cfg.Kafka.Brokers, &kgo.Record{Key: []byte(guide.SessionID), Value: guide.AppendJSON(nil)})
	kafkatest.Eventually(t, 60*time.Second, "new_lead delivered", func() bool { return len(rc.find("new_lead", "Netcontrol Group")) > 0 })
	first := rc.find("new_lead", "Netcontrol Group")[0]
	if !first.signed {
		t.Fatal("the new_lead request's Signature does not verify with the webhook secret")
	}

	// View Logs: the attempt is there with its body; its headers never
	// show the secret.
	b.openUntil("/w/"+testWS+"/webhooks/"+whID+"/logs", `!!document.querySelector('table.logs tbody tr')`)
	b.shot("logs")
	b.click("table.logs tbody tr a.button")
	body := b.text("#request-body")
	if !strings.Contains(body, `"new_lead"`) || !strings.Contains(body, "Netcontrol Group") {
		t.Fatalf("View Logs: the request body is not shown: %.300q", body)
	}
	page := eval[string](b, `document.body.innerText`)
	if strings.Contains(page, testSecret) {
		t.Fatal("View Logs shows the webhook secret")
	}
	if !strings.Contains(page, "Signature") || !strings.Contains(page, "webhook-id") {
		t.Fatal("View Logs does not show the request headers")
	}
	b.shot("log-detail")

	// Resend: the same body again, a new attempt.
	b.click("form[action$='/resend'] button")
	if flash := b.text(".flash"); !strings.Contains(flash, "Resent: delivered") {
		t.Fatalf("resend: flash %q", flash)
	}
	kafkatest.Eventually(t, 10*time.Second, "resent new_lead", func() bool { return len(rc.find("new_lead", "Netcontrol Group")) >= 2 })
	again := rc.find("new_lead", "Netcontrol Group")[1]
	if string(again.body) != string(first.body) || again.id != first.id || !again.signed {
		t.Fatalf("resend: want the same body and webhook-id, signed; got id %q (was %q), signed %t", again.id, first.id, again.signed)
	}

	// Send Test with each event type.
	for _, ev := range []struct{ event, text string }{
		{"new_lead", "Netcontrol Group"}, {"new_session", "Netcontrol Group"}, {"contact_revealed", "John"},
	} {
		before := len(rc.find(ev.event, ev.text))
		b.open("/w/" + testWS + "/webhooks/" + whID + "/test")
		b.do("choose "+ev.event, chromedp.Click("input[name=event][value="+ev.event+"]"))
		b.click("form.form button.primary")
		if got := b.text("#outcome"); got != "delivered" {
			t.Fatalf("Send Test %s: outcome %q", ev.event, got)
		}
		if !strings.Contains(b.text("#request-body"), `"`+ev.event+`"`) {
			t.Fatalf("Send Test %s: the request shown is not of that event", ev.event)
		}
		if n := len(rc.find(ev.event, ev.text)); n != before+1 {
			t.Fatalf("Send Test %s: the receiver got %d such requests, want %d", ev.event, n, before+1)
		}
		if ev.event == "contact_revealed" {
			b.shot("send-test")
		}
	}

	testRevealContacts(t, b, sys, cfg.Kafka.Brokers, rc, whID)
	testRefusals(t, b, sys, whID)

	b.phone(true)
	b.open("/w/" + testWS + "/webhooks")
	b.shot("webhooks-phone")
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 400 {
		t.Errorf("the webhooks page is %d px wide on a 390 px phone: it should not scroll sideways", w)
	}
	b.open("/w/" + testWS + "/automations/new")
	b.shot("automation-create-phone")
	b.phone(false)

	if a := b.alerts(); len(a) > 0 {
		t.Fatalf("alert dialogs ran (a script was not escaped): %q", a)
	}
	// Sign out ends the session.
	b.open("/w/" + testWS + "/webhooks")
	b.click("form.signout button")
	b.open("/w/" + testWS + "/webhooks")
	b.waitJS("signed out", `location.pathname === '/signin'`)
}

// testSegmentBuilder builds "Machinery, 1+ sessions" in the builder: the
// API's 422 about a wrong value shows next to that condition; then a
// segment value with quotes shows as text.
func testSegmentBuilder(t *testing.T, b *browser) {
	b.open("/w/" + testWS + "/segments")
	b.click("a.button.primary[href$='/segments/new']")
	b.typeInto("#name", "Machinery, 1+ sessions")
	// The builder starts with company.industry in [Machinery]; add
	// lead.sessions_count gte "one" (a wrong value).
	b.do("add condition", chromedp.Click("#builder > .group > .buttons button"))
	b.set("#builder .cond[data-path='filter.all[1]'] select[aria-label=Field]", "lead.sessions_count")
	b.set("#builder .cond[data-path='filter.all[1]'] select[aria-label=Operator]", "gte")
	b.set("#builder .cond[data-path='filter.all[1]'] input[aria-label=Value]", "one")
	b.click("#segment-form button.primary")
	msg := b.text("#builder .cond[data-path='filter.all[1]'] .err")
	if msg == "" {
		t.Fatalf("the API's 422 is not next to the condition: page says %q", b.text("main"))
	}
	b.shot("segment-builder-error")
	b.set("#builder .cond[data-path='filter.all[1]'] input[aria-label=Value]", "1")
	json := eval[string](b, `document.querySelector('#filter').value`)
	if !strings.Contains(json, `"lead.sessions_count"`) || !strings.Contains(json, `"value": 1`) {
		t.Fatalf("the segment JSON does not follow the builder: %s", json)
	}
	b.shot("segment-builder")
	b.click("#segment-form button.primary")
	if flash := b.text(".flash"); !strings.Contains(flash, "saved") {
		t.Fatalf("save segment: flash %q (page %q)", flash, b.text("main"))
	}

	// A value with quotes, written as JSON by hand, shows as text.
	b.click("a.button.primary[href$='/segments/new']")
	b.typeInto("#name", `Quoted "value"`)
	b.set("#filter", `{"all": [{"field": "company.name", "op": "eq", "value": "Netcontrol \"Group\" 'Oy'"}]}`)
	b.click("#segment-form button.primary")
	if list := b.text("table.list"); !strings.Contains(list, `Netcontrol \"Group\" 'Oy'`) || !strings.Contains(list, `Quoted "value"`) {
		t.Fatalf("the quoted value does not show as text: %q", list)
	}
	b.shot("segments")
}

// testRevealContacts is the guide's third flow: a persona, a Reveal
// Contacts automation with a limit, an MDX Technology visit, and John Doe
// delivered as contact_revealed.
func testRevealContacts(t *testing.T, b *browser, sys *system.System, brokers []string, rc *receiver, whID string) {
	b.open("/w/" + testWS + "/personas/new")
	b.typeInto("#name", "Sales VPs")
	b.do("seniority vp", chromedp.Click("input[name=seniorities][value=vp]"))
	b.do("department sales", chromedp.Click("input[name=departments][value=sales]"))
	b.shot("persona-create")
	b.click("form.form button.primary")
	if flash := b.text(".flash"); !strings.Contains(flash, "saved") {
		t.Fatalf("create persona: flash %q", flash)
	}
	b.shot("personas")

	b.open("/w/" + testWS + "/automations/new")
	b.typeInto("#name", "Reveal sales VPs")
	b.set("#trigger", "new_lead")
	b.set("#segment_id", "")
	b.do("choose Reveal Contacts", chromedp.Click("input[name=action][value=reveal_contacts]"))
	perID := eval[string](b, `Array.from(document.querySelectorAll('#persona_id option')).find(o => o.text === 'Sales VPs').value`)
	b.set("#persona_id", perID)
	b.typeInto("#reveal_limit", "1")
	b.do("endpoint", chromedp.Click("input[name=webhook_ids][value="+whID+"]"))
	b.shot("automation-reveal")
	b.click("#automation-form button.primary")
	if flash := b.text(".flash"); !strings.Contains(flash, "created") {
		t.Fatalf("create reveal automation: flash %q (page %q)", flash, b.text("main"))
	}

	before := len(rc.find("contact_revealed", `"john.doe@mdxtechnology.com"`)) // Send Test's sample is John Doe too
	mdx := fmt.Sprintf(`{"event_id":"mdx-1","workspace_id":%q,"session_id":"s_mdx","type":"pageview","ip":"203.0.113.10","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36","url":"https://www.example.com/pricing","timestamp":%q}`,
		testWS, time.Now().UTC().Format(time.RFC3339))
	produce(t, sys, brokers, &kgo.Record{Key: []byte("s_mdx"), Value: []byte(mdx)})
	kafkatest.Eventually(t, 60*time.Second, "John Doe revealed", func() bool {
		return len(rc.find("contact_revealed", `"john.doe@mdxtechnology.com"`)) > before
	})
	got := rc.find("contact_revealed", `"john.doe@mdxtechnology.com"`)[before]
	if !got.signed || len(got.Subjects) != 1 || !strings.Contains(string(got.Subjects[0]), `"VP, Sales"`) {
		t.Fatalf("contact_revealed: want John Doe, VP, Sales, signed; got signed %t: %s", got.signed, got.body)
	}
}

// testRefusals: a state-changing request without the CSRF token is
// refused and changes nothing; deleting a webhook an automation uses says
// which automation.
func testRefusals(t *testing.T, b *browser, sys *system.System, whID string) {
	b.open("/w/" + testWS + "/webhooks")
	status := eval[int](b, `(async () => (await fetch('/w/`+testWS+`/webhooks/`+whID+`/pause', {method: 'POST', credentials: 'same-origin',
		headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'x=1'})).status)()`, chromedp.EvalAwaitPromise)
	if status != http.StatusForbidden {
		t.Fatalf("POST without the CSRF token: status %d, want 403", status)
	}
	b.open("/w/" + testWS + "/webhooks")
	if row := b.text("table.list tbody tr"); !strings.Contains(row, "active") {
		t.Fatalf("the refused request changed the webhook: %q", row)
	}
	b.click("form[action$='/" + whID + "/delete'] button")
	if flash := b.text(".flash"); !strings.Contains(flash, "used by automation") || !strings.Contains(flash, "Machinery leads to the CRM") {
		t.Fatalf("delete of a used webhook: flash %q", flash)
	}
	b.shot("webhook-delete-refused")
}
