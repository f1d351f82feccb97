package deliver_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/stages/deliver"
)

// TestAttemptLogKeepsRequestsForResend: test requests of each event are
// logged with their headers (never the secret), body (byte for byte) and
// the answer's body; only the newest attempt_log_bodies keep them; Resend
// sends a kept body again with the same webhook-id as a new attempt.
func TestAttemptLogKeepsRequestsForResend(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies, ids = append(bodies, b), append(ids, r.Header.Get("webhook-id"))
		mu.Unlock()
		_, _ = io.WriteString(w, `thanks <b>&</b>`)
	}))
	defer srv.Close()
	rdb, _ := kafkatest.Redis(t)
	cfg := testConfig()
	cfg.AttemptLogSize, cfg.AttemptLogBodies = 10, 2
	log := deliver.NewAttemptLogFor(rdb, kafkatest.Prefix(t), cfg)
	ep := endpoint("wh_log", srv.URL+"/hook")
	ep.Secret = "very-secret"
	ctx := context.Background()

	var atts []deliver.Attempt
	for _, ev := range deliver.TestEvents() {
		a, err := deliver.SendTestEvent(ctx, ep, cfg, "t", log, ev)
		if err != nil || a.Outcome != deliver.OutcomeSuccess || a.Event != ev {
			t.Fatalf("SendTestEvent %s: %+v, %v", ev, a, err)
		}
		atts = append(atts, a)
	}
	if _, err := deliver.SendTestEvent(ctx, ep, cfg, "t", log, "contacts.revealed"); !errors.Is(err, deliver.ErrUnknownEvent) {
		t.Fatalf("unknown event: %v", err)
	}
	recent, err := log.Recent(ctx, "ws_1", "wh_log", 10)
	if err != nil || len(recent) != 3 {
		t.Fatalf("recent = %+v, %v", recent, err)
	}
	// Newest first; only the newest two keep their detail.
	if !recent[0].HasDetail || !recent[1].HasDetail || recent[2].HasDetail || recent[0].ID != atts[2].Key() {
		t.Fatalf("has_detail = %t %t %t; ids %q want %q", recent[0].HasDetail, recent[1].HasDetail, recent[2].HasDetail, recent[0].ID, atts[2].Key())
	}
	if _, ok, _ := log.Detail(ctx, "ws_1", "wh_log", atts[0].Key()); ok {
		t.Fatal("the oldest detail was kept past attempt_log_bodies")
	}
	d, ok, err := log.Detail(ctx, "ws_1", "wh_log", atts[2].Key())
	if err != nil || !ok {
		t.Fatalf("detail: %v %v", ok, err)
	}
	mu.Lock()
	sent := bodies[2]
	mu.Unlock()
	if !bytes.Equal(d.Body, sent) || d.BodyBytes != len(sent) || d.ResponseBody != `thanks <b>&</b>` {
		t.Fatalf("detail body/answer not as sent: %q / %q", d.Body, d.ResponseBody)
	}
	var names []string
	for _, h := range d.Headers {
		names = append(names, h[0])
		if strings.Contains(h[1], ep.Secret) {
			t.Fatalf("header %s shows the secret", h[0])
		}
	}
	if got := strings.Join(names, ","); got != "Content-Type,Signature,User-Agent,Webhook-Id,Webhook-Signature,Webhook-Timestamp" &&
		got != "Content-Type,Signature,User-Agent,webhook-id,webhook-signature,webhook-timestamp" {
		t.Fatalf("headers %s", got)
	}

	r, err := deliver.Resend(ctx, ep, cfg, "t", log, atts[2].Key())
	if err != nil || !r.Resend || r.Attempt != 2 || r.MessageID != atts[2].MessageID || r.Outcome != deliver.OutcomeSuccess {
		t.Fatalf("resend: %+v, %v", r, err)
	}
	mu.Lock()
	if !bytes.Equal(bodies[3], sent) || ids[3] != ids[2] {
		t.Fatalf("resend sent another body or webhook-id")
	}
	mu.Unlock()
	if _, err := deliver.Resend(ctx, ep, cfg, "t", log, atts[0].Key()); !errors.Is(err, deliver.ErrNotKept) {
		t.Fatalf("resend of an attempt whose body is gone: %v", err)
	}
	kafkatest.Eventually(t, time.Second, "resend logged", func() bool {
		rs, _ := log.Recent(ctx, "ws_1", "wh_log", 10)
		return len(rs) == 4 && rs[0].Resend && rs[0].HasDetail
	})
}
