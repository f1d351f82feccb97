package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/schemas"
)

// signIn signs the browser in with the admin token.
func signIn(b *browser) {
	b.open("/signin")
	b.typeInto("#token", testToken)
	b.click("form[action='/signin'] button[type=submit]")
	b.waitJS("signed in", `location.pathname === '/workspaces'`)
}

// TestConsoleOperations is the operator's Pipeline page in a real
// headless Chromium against the whole system: after traffic it shows all
// four stages with their groups' members and lag read from Kafka, and
// the settings in effect without the admin token.
func TestConsoleOperations(t *testing.T) {
	chromiumPath(t)
	sys, cfg := startSystem(t)
	b := newBrowser(t, "http://"+sys.HTTPAddr().String())
	signIn(b)

	guide := schemas.GuideNetcontrolEvent()
	produce(t, sys, cfg.Kafka.Brokers, &kgo.Record{Key: []byte(guide.SessionID), Value: guide.AppendJSON(nil)})

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
	b.shot("ops-pipeline")
}
