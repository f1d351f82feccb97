package system_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/deliver/sink"
	"github.com/leadflow/leadflow/stages/system"
)

// post calls the admin API and returns the status and body.
func post(t *testing.T, sys *system.System, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+sys.HTTPAddr().String()+"/v1/workspaces/"+e2eWorkspace+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// A rotated secret: during the overlap a pipeline delivery and a test
// request carry a v1 signature per secret (either verifies) and Signature
// with the new one; once the old secret no longer signs (here: a rotation
// with overlap 0; the expiry itself is TestToEndpointCarriesThePreviousSecretDuringTheOverlap)
// only the new secret verifies.
func TestSecretRotationEndToEnd(t *testing.T) {
	sys, cfg := startSystem(t)
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	wh := admin(t, sys, "/webhooks", map[string]any{"url": srv.URL + "/hook", "name": "rot", "secret": "old-secret"})
	admin(t, sys, "/automations", map[string]any{"name": "new leads", "trigger": "new_lead",
		"action": map[string]any{"type": "webhook", "webhook_id": wh}})
	if code, body := post(t, sys, "/webhooks/"+wh+"/secret/rotate", `{"secret":"new-secret","overlap_seconds":3600}`); code != 200 ||
		!strings.Contains(body, `"previous_secret_expires_at":"`) {
		t.Fatalf("rotate: %d %s", code, body)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ev := schemas.GuideNetcontrolEvent()
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: sys.Topics().Raw, Key: []byte(ev.SessionID), Value: ev.AppendJSON(nil)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if code, body := post(t, sys, "/webhooks/"+wh+"/test", ``); code != 200 {
		t.Fatalf("test: %d %s", code, body)
	}
	var reqs []received
	kafkatest.Eventually(t, 60*time.Second, "the delivery and the test request", func() bool { reqs = rc.requests(); return len(reqs) >= 2 })
	for _, r := range reqs {
		if n := len(strings.Fields(r.headers.Get("webhook-signature"))); n != 2 {
			t.Errorf("%s request: %d v1 signatures during the overlap; want 2", r.payload.Event, n)
		}
		checkSigned(t, r, "new-secret", true, true)
		checkSigned(t, r, "old-secret", false, true)
	}
	// Without the old secret: only the new one signs.
	if code, body := post(t, sys, "/webhooks/"+wh+"/secret/rotate", `{"secret":"newer-secret","overlap_seconds":0}`); code != 200 {
		t.Fatalf("rotate: %d %s", code, body)
	}
	if code, body := post(t, sys, "/webhooks/"+wh+"/test", ``); code != 200 {
		t.Fatalf("test: %d %s", code, body)
	}
	kafkatest.Eventually(t, 60*time.Second, "the last test request", func() bool { reqs = rc.requests(); return len(reqs) >= 3 })
	last := reqs[len(reqs)-1]
	if n := len(strings.Fields(last.headers.Get("webhook-signature"))); n != 1 {
		t.Errorf("%d v1 signatures without an overlap; want 1", n)
	}
	checkSigned(t, last, "newer-secret", true, true)
	checkSigned(t, last, "new-secret", false, false)
}

func checkSigned(t *testing.T, r received, secret string, signature, standard bool) {
	t.Helper()
	if got := sink.VerifySignature(secret, r.body, r.headers.Get("Signature")) == nil; got != signature {
		t.Errorf("Signature verifies with %s: %v, want %v", secret, got, signature)
	}
	if got := sink.VerifyStandard(secret, r.headers, r.body, time.Minute) == nil; got != standard {
		t.Errorf("webhook-signature %q verifies with %s: %v, want %v", r.headers.Get("webhook-signature"), secret, got, standard)
	}
}
