package admin

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// TestSecretNeverLeaves checks that a webhook secret appears in no answer
// and no log line, whatever the route and outcome.
func TestSecretNeverLeaves(t *testing.T) {
	const secret = "whsec-LEAK-CANARY-9f8e7d"
	const secret2 = "whsec-SECOND-CANARY-1a2b"
	tester := &fakeTester{}
	a := newAPI(t, func(d *Deps) { d.Tester, d.Deliveries = tester, &fakeDeliveries{} })
	const base = "/v1/workspaces/ws_1/webhooks"
	id := a.createWebhook("ws_1", map[string]any{"url": "https://hooks.example.com/x", "name": "n", "secret": secret})
	a.do("GET", base+"/"+id, nil)
	a.do("GET", base, nil)
	a.do("PATCH", base+"/"+id, map[string]any{"secret": secret2, "name": "renamed"})
	a.do("PATCH", base+"/"+id, map[string]any{"secret": secret, "max_subjects": 0})                       // 422
	a.do("POST", base, map[string]any{"url": "http://localhost/", "name": "n", "secret": secret})         // 422 (private)
	a.do("POST", base, map[string]any{"url": "https://hooks.example.com/", "secret": secret, "x": 1})     // 400
	a.do("POST", base, `{"url": "https://hooks.example.com/", "name": "n", "secret": "`+secret+`"`)       // malformed
	a.do("POST", base, map[string]any{"url": "https://hooks.example.com/", "name": "n", "secret": 12345}) // wrong type
	a.do("POST", base+"/"+id+"/test", nil)
	a.do("GET", base+"/"+id+"/deliveries", nil)
	a.do("GET", base+"/"+id, nil)
	if err := a.store.DisableWebhook(t.Context(), "ws_1", id, "410"); err != nil {
		t.Fatal(err)
	}
	a.do("DELETE", base+"/"+id, nil)
	if tester.got.Secret.Reveal() != secret2 {
		t.Fatal("the tester did not get the secret: the canary test would prove nothing")
	}

	var logs []string
	for _, e := range a.logs.All() {
		logs = append(logs, e.Message, fmt.Sprint(e.ContextMap()))
	}
	logs = append(logs, a.json.String())
	if len(a.logs.All()) < 10 {
		t.Fatalf("only %d log lines: the requests were not logged", len(a.logs.All()))
	}
	for _, s := range []string{secret, secret2} {
		forms := []string{s, hex.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString([]byte(s)), s[6:18]}
		for _, f := range forms {
			for _, b := range a.bodies {
				if strings.Contains(b, f) {
					t.Errorf("an answer holds the secret (%q): %s", f, b)
				}
			}
			for _, l := range logs {
				if strings.Contains(l, f) {
					t.Errorf("a log line holds the secret (%q): %s", f, l)
				}
			}
		}
	}
	if strings.Contains(strings.Join(logs, "\n"), token) {
		t.Error("a log line holds the admin token")
	}
}
