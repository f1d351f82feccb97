package deliver_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
)

// TestRequestBodyAndHeadersAreExactlyTheContract checks one request's
// body byte for byte and every header, verifying both signatures with
// crypto/hmac directly (not the stage's signer).
func TestRequestBodyAndHeadersAreExactlyTheContract(t *testing.T) {
	cfg := testConfig()
	env := newEnv(t, 1, cfg)
	rec := newRecorder(t, nil)
	const secret = "s3cr3t-key"
	signed := endpoint("wh_signed", rec.url("/signed"))
	signed.Secret = secret
	plain := endpoint("wh_plain", rec.url("/plain"))
	legacy := endpoint("wh_legacy", rec.url("/legacy"))
	legacy.LegacyEventNames = true
	startStage(t, env, cfg, newEndpoints(signed, plain, legacy))

	env.produce(t,
		request(1, "wh_signed", schemas.EventNewLead, subject(1)),
		request(2, "wh_signed", schemas.EventNewLead, subject(2)),
		request(3, "wh_signed", schemas.EventNewLead, subject(3)),
		request(4, "wh_plain", schemas.EventNewSession, subject(4)),
		request(5, "wh_legacy", schemas.EventContactRevealed, subject(5)),
	)
	kafkatest.Eventually(t, 20*time.Second, "three requests", func() bool { return rec.count() >= 3 })
	before := time.Now().Add(-30 * time.Second)
	byPath := map[string]arrival{}
	for _, a := range rec.arrivals() {
		byPath[a.webhook] = a
	}

	a := byPath["/signed"]
	wantBody := `{"event":"new_lead","subjects":[` + subject(1) + "," + subject(2) + "," + subject(3) + "]}"
	if string(a.body) != wantBody {
		t.Fatalf("body =\n%s\nwant\n%s", a.body, wantBody)
	}
	h := a.header
	if got := h.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := h.Get("User-Agent"); got != "leadflow/test-1.2" {
		t.Errorf("User-Agent = %q", got)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(a.body)
	if got, want := h.Get("Signature"), hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("Signature = %q, want %q", got, want)
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	if !strings.HasPrefix(id, "msg_") || len(id) != 36 {
		t.Errorf("webhook-id = %q, want msg_ and 32 hex digits", id)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Unix(unix, 0).Before(before) || time.Unix(unix, 0).After(time.Now().Add(time.Second)) {
		t.Errorf("webhook-timestamp = %q, want unix seconds of the send", ts)
	}
	mac = hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(a.body)
	if got, want := h.Get("webhook-signature"), "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("webhook-signature = %q, want %q", got, want)
	}
	wantNames := []string{"Content-Length", "Content-Type", "Signature", "User-Agent", "Webhook-Id", "Webhook-Signature", "Webhook-Timestamp"}
	if got := headerNames(h); !slices.Equal(got, wantNames) {
		t.Errorf("headers = %v, want exactly %v", got, wantNames)
	}

	p := byPath["/plain"]
	if string(p.body) != `{"event":"new_session","subjects":[`+subject(4)+"]}" {
		t.Errorf("plain body = %s", p.body)
	}
	wantNames = []string{"Content-Length", "Content-Type", "User-Agent", "Webhook-Id", "Webhook-Timestamp"}
	if got := headerNames(p.header); !slices.Equal(got, wantNames) {
		t.Errorf("headers without a secret = %v, want exactly %v", got, wantNames)
	}
	if l := byPath["/legacy"]; string(l.body) != `{"event":"contacts.revealed","subjects":[`+subject(5)+"]}" {
		t.Errorf("legacy_event_names body = %s, want event contacts.revealed", l.body)
	}
}

func headerNames(h http.Header) []string {
	var out []string
	for k := range h {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
