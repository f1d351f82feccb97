package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
)

// signIn signs the browser in with the admin token.
func signIn(b *browser) {
	b.open("/signin")
	b.typeInto("#token", testToken)
	b.click("form[action='/signin'] button[type=submit]")
	b.waitJS("signed in", `location.pathname === '/workspaces'`)
}

// TestConsoleOperations is the operations pages in a real headless
// Chromium against the whole system: after traffic the Pipeline page
// shows all four stages with their groups' members and lag read from
// Kafka and the settings without secrets; Dead letters shows a bad raw
// event with its reason and a 410'd request, and its Replay delivers the
// request once the receiver answers 200; the Pipeline page draws its
// throughput and lag chart; Endpoints shows a webhook whose receiver
// answers 500 with its breaker open and its subject retrying; Live leads
// shows the lead.
func TestConsoleOperations(t *testing.T) {
	chromiumPath(t)
	sys, cfg := startSystem(t)
	b := newBrowser(t, "http://"+sys.HTTPAddr().String())
	signIn(b)

	// A New Lead automation to a receiver that answers 410 Gone: the
	// request is dead-lettered (and the webhook disabled).
	rc := &switchReceiver{status: http.StatusGone}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	base := "http://" + sys.HTTPAddr().String()
	var hook struct{ ID string }
	if code := api(t, base, "POST", "/v1/workspaces/"+testWS+"/webhooks", `{"url":"`+srv.URL+`/hook","name":"Gone CRM"}`, &hook); code != http.StatusCreated {
		t.Fatalf("create webhook: %d", code)
	}
	if code := api(t, base, "POST", "/v1/workspaces/"+testWS+"/automations", `{"name":"leads","trigger":"new_lead","action":{"type":"webhook","webhook_id":"`+hook.ID+`"}}`, nil); code != http.StatusCreated {
		t.Fatalf("create automation: %d", code)
	}
	// And one to a receiver that answers 500: its breaker opens
	// (breaker_failures 2 in these tests).
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer failing.Close()
	var flaky struct{ ID string }
	if code := api(t, base, "POST", "/v1/workspaces/"+testWS+"/webhooks", `{"url":"`+failing.URL+`/hook","name":"Flaky CRM"}`, &flaky); code != http.StatusCreated {
		t.Fatalf("create webhook: %d", code)
	}
	if code := api(t, base, "POST", "/v1/workspaces/"+testWS+"/automations", `{"name":"leads to flaky","trigger":"new_lead","action":{"type":"webhook","webhook_id":"`+flaky.ID+`"}}`, nil); code != http.StatusCreated {
		t.Fatalf("create automation: %d", code)
	}
	guide := schemas.GuideNetcontrolEvent()
	produce(t, sys, cfg.Kafka.Brokers, &kgo.Record{Key: []byte(guide.SessionID), Value: guide.AppendJSON(nil)},
		&kgo.Record{Key: []byte("s_bad"), Value: []byte(`{"event_id": "not json`)})

	// Every stage has a member and has committed past the guide's event.
	b.click("a[href='/ops/pipeline']")
	deadline := time.Now().Add(60 * time.Second)
	for {
		b.open("/ops/pipeline")
		stable := eval[int](b, `Array.from(document.querySelectorAll('#stages tbody tr')).filter(tr => tr.innerText.includes('Stable')).length`)
		committed := eval[bool](b, `(function(){const t = document.querySelector('#partitions-enrich'); return !!t && Array.from(t.querySelectorAll('tbody tr')).some(tr => Number(tr.children[2].innerText) > 0)})()`)
		if stable == 4 && committed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipeline page: %d of 4 stages stable, enrich committed %t:\n%s", stable, committed, b.text("main"))
		}
		time.Sleep(500 * time.Millisecond) // polling the page, not waiting for a result
	}
	stages := eval[string](b, `Array.from(document.querySelectorAll('#stages tbody tr')).map(tr => tr.dataset.stage + '=' + tr.querySelector('.lag').innerText).join(' ')`)
	for _, st := range []string{"enrich=", "leads=", "evaluate=", "deliver="} {
		if !strings.Contains(stages, st) {
			t.Fatalf("pipeline page stages %q: no %s", stages, st)
		}
	}
	settings := b.text("#settings")
	if strings.Contains(settings, testToken) || strings.Contains(settings, testPortalKey) || !strings.Contains(settings, "[redacted]") {
		t.Fatalf("settings show a secret or redact nothing:\n%s", settings)
	}
	if !eval[bool](b, `!!document.querySelector('meta[http-equiv=refresh]')`) {
		t.Fatal("the pipeline page does not refresh itself")
	}

	testDeadLetters(t, b, base, rc, hook.ID, flaky.ID)

	// Live leads: the guide's lead, the automation that fired and its webhook.
	b.openUntil("/w/"+testWS+"/live", `!!document.querySelector('#leads tbody tr')`)
	row := b.text("#leads tbody tr")
	for _, want := range []string{"Netcontrol Group", "netcontrol.com", "leads", "Gone CRM", "new_lead"} {
		if !strings.Contains(row, want) {
			t.Fatalf("live leads row %q: no %q", row, want)
		}
	}
	if !eval[bool](b, `!!document.querySelector('meta[http-equiv=refresh]')`) {
		t.Fatal("the live page does not refresh itself")
	}
	b.shot("live-leads")
}

// testDeadLetters: the bad raw event shows with its reason; the 410'd
// request shows under its webhook; once the receiver answers 200 and the
// webhook is enabled again, Replay from the page delivers it.
func testDeadLetters(t *testing.T, b *browser, base string, rc *switchReceiver, whID, flakyID string) {
	b.openUntil("/ops/deadletters", `!!document.querySelector('#raw-dlq tbody tr') && !!document.querySelector('#deliveries-dlq tbody tr[data-webhook="`+whID+`"]')`)
	raw := b.text("#raw-dlq tbody tr")
	if !strings.Contains(raw, "not json") || eval[string](b, `document.querySelector('#raw-dlq .reason').innerText`) == "unknown" {
		t.Fatalf("dead-lettered raw event: %q, want its value and reason", raw)
	}
	if row := b.text("#deliveries-dlq tbody tr"); !strings.Contains(row, "new_lead") || !strings.Contains(row, "disabled") {
		t.Fatalf("dead-lettered request: %q, want new_lead, disabled", row)
	}
	b.shot("ops-deadletters")
	// The chart: a line per stage once two samples were taken (one per
	// half refresh at most, while the page is viewed).
	b.openUntil("/ops/pipeline", `document.querySelectorAll('#chart-lag polyline').length === 4 && document.querySelectorAll('#chart-throughput polyline').length === 8`)
	if reasons := b.text("#dlq-reasons"); !strings.Contains(reasons, "enrich") || !strings.Contains(reasons, "disabled") {
		t.Fatalf("pipeline page dead letters per reason: %q, want enrich's and deliver's", reasons)
	}
	if legend := b.text(".charts"); !strings.Contains(legend, "deliver in") || !strings.Contains(legend, "deliver out") {
		t.Fatalf("chart legend %q: want every stage's in and out", legend)
	}
	b.shot("ops-pipeline")
	b.open("/ops/deadletters")
	b.set("#webhook", whID)
	b.click("#filters button")
	if n := eval[int](b, `document.querySelectorAll('#raw-dlq tbody tr').length`); n != 0 {
		t.Fatalf("filtered by webhook, %d raw dead letters still show", n)
	}

	rc.set(http.StatusOK)
	if code := api(t, base, "PATCH", "/v1/workspaces/"+testWS+"/webhooks/"+whID, `{"enabled":true}`, nil); code != http.StatusOK {
		t.Fatalf("enable webhook: %d", code)
	}
	b.click("form.replay button")
	if flash := b.text(".flash"); !strings.Contains(flash, "Replayed 1 ") {
		t.Fatalf("replay: flash %q", flash)
	}
	kafkatest.Eventually(t, 30*time.Second, "the replayed request answered 200", func() bool { return rc.delivered() > 0 })

	// Endpoints: the webhook with its two attempts of the hour, one failed.
	b.openUntil("/ops/endpoints", `(document.querySelector('#endpoints tbody tr[data-webhook="`+whID+`"]') || {innerText: ''}).innerText.includes('50.0%')`)
	if row := b.text(`#endpoints tbody tr[data-webhook="` + whID + `"]`); !strings.Contains(row, "Gone CRM") || !strings.Contains(row, "HTTP 200") {
		t.Fatalf("endpoints row %q: want Gone CRM, 50%% success, last answer HTTP 200", row)
	}
	// The failing webhook: breaker open, first in the table, its subject
	// retrying in the 1 m tier; the healthy one closed.
	b.openUntil("/ops/endpoints", `(document.querySelector('#endpoints tbody tr[data-webhook="`+flakyID+`"] td.retrying') || {innerText: ''}).innerText === '1'`)
	if got := eval[string](b, `document.querySelector('#endpoints tbody tr').dataset.webhook + ' ' + document.querySelector('#endpoints tbody tr td.breaker').dataset.breaker`); got != flakyID+" open" {
		t.Fatalf("first endpoints row: %q, want %s open", got, flakyID)
	}
	if cell := b.text(`#endpoints tbody tr[data-webhook="` + flakyID + `"] td.breaker`); !strings.Contains(cell, "open") || !strings.Contains(cell, "failed attempts in a row") {
		t.Fatalf("breaker cell %q: want open and why", cell)
	}
	if got := eval[string](b, `document.querySelector('#endpoints tbody tr[data-webhook="`+whID+`"] td.breaker').dataset.breaker`); got != "closed" {
		t.Fatalf("Gone CRM's breaker %q, want closed", got)
	}
	if head := b.text("#endpoints thead"); !strings.Contains(head, "Breaker") || !strings.Contains(head, "Queued") || !strings.Contains(head, "Retrying") {
		t.Fatalf("endpoints columns %q: want Breaker, Queued, Retrying", head)
	}
	b.shot("ops-endpoints")
}

// switchReceiver answers every request with its current status and
// counts the requests it answered 200.
type switchReceiver struct {
	mu     sync.Mutex
	status int
	ok     int
}

func (rc *switchReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.status == http.StatusOK {
		rc.ok++
	}
	w.WriteHeader(rc.status)
}

func (rc *switchReceiver) set(status int) {
	rc.mu.Lock()
	rc.status = status
	rc.mu.Unlock()
}

func (rc *switchReceiver) delivered() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.ok
}
