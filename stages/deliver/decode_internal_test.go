package deliver

import (
	"bytes"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
)

func TestDecodeRequestMatchesJSONDecoding(t *testing.T) {
	lead := schemas.GuideNetcontrolLead()
	r := schemas.DeliveryRequest{ID: "r\"1", WorkspaceID: "ws", WebhookID: "wh", AutomationID: "a", Event: schemas.EventNewLead,
		Subject: lead.AppendJSON(nil), TriggeredAt: time.Date(2024, 5, 15, 10, 55, 50, 123, time.UTC)}
	raw, _ := json.Marshal(r)
	var it item
	if err := decodeRequest(raw, &it); err != nil {
		t.Fatal(err)
	}
	// goccy re-encodes a RawMessage on Marshal (it escapes '&' as \u0026),
	// so compare with the subject as it is in raw.
	var back schemas.DeliveryRequest
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if string(it.id) != r.ID || string(it.webhookID) != "wh" || it.event != r.Event || !bytes.Equal(it.subject, back.Subject) || !it.triggeredAt.Equal(r.TriggeredAt) {
		t.Errorf("decoded id %q webhook %q event %q triggered %s; subject equal: %v", it.id, it.webhookID, it.event, it.triggeredAt, bytes.Equal(it.subject, back.Subject))
	}
	for _, bad := range []string{``, `[]`, `{}`, `{"id":"1"}`, `{"id":"1","workspace_id":"w","webhook_id":"h","event":"nope","subject":{}}`,
		`{"id":"1","workspace_id":"w","webhook_id":"h","event":"new_lead","subject":{"a":1}`, `{"id":"1","workspace_id":"w","webhook_id":"h","event":"new_lead","subject":null}`} {
		if err := decodeRequest([]byte(bad), &it); err == nil {
			t.Errorf("decodeRequest(%q) accepted", bad)
		}
	}
}

// FuzzDecodeRequest: whatever decodeRequest accepts, goccy/go-json decodes
// to the same fields, and the subject is valid JSON.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"id":"1","workspace_id":"w","webhook_id":"h","event":"new_lead","subject":{"id":1,"s":"a\"}"},"triggered_at":"2024-05-15T10:55:50Z"}`))
	f.Add([]byte(`{"id":"1","workspace_id":"w","webhook_id":"h","event":"contact_revealed","subject":[1,{"x":[]}],"extra":{"a":[1,2]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var it item
		if decodeRequest(raw, &it) != nil {
			return
		}
		var r schemas.DeliveryRequest
		if err := json.Unmarshal(raw, &r); err != nil {
			return // the scanner checks structure, not every detail of JSON syntax
		}
		if string(it.id) != r.ID || string(it.workspaceID) != r.WorkspaceID || string(it.webhookID) != r.WebhookID || it.event != r.Event {
			t.Fatalf("scanner %q/%q/%q/%q, json %q/%q/%q/%q", it.id, it.workspaceID, it.webhookID, it.event, r.ID, r.WorkspaceID, r.WebhookID, r.Event)
		}
	})
}

func TestEnvelopeRoundTrip(t *testing.T) {
	var items []*item
	for _, s := range []string{`{"id":"a","workspace_id":"w","webhook_id":"h","event":"new_lead","subject":{"n":1}}`,
		`{"id":"b","workspace_id":"w","webhook_id":"h","event":"new_lead","subject":{"n":2}}`} {
		it := new(item)
		if err := decodeRequest([]byte(s), it); err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	env := appendEnvelope(nil, items)
	if len(env) != envelopeSize(items) {
		t.Errorf("envelopeSize %d, appended %d", envelopeSize(items), len(env))
	}
	reqs, err := DecodeEnvelope(env)
	if err != nil || len(reqs) != 2 || reqs[1].ID != "b" || string(reqs[1].Subject) != `{"n":2}` {
		t.Fatalf("DecodeEnvelope = %+v, %v", reqs, err)
	}
}

func TestMessageIDIsStableAndOrderSensitive(t *testing.T) {
	a := MessageID("wh", []byte("1"), []byte("2"))
	if a != MessageID("wh", []byte("1"), []byte("2")) || a == MessageID("wh", []byte("2"), []byte("1")) || a == MessageID("wh2", []byte("1"), []byte("2")) {
		t.Error("MessageID is not a stable function of the webhook and the ordered request ids")
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		r    result
		want verdict
	}{
		{result{status: 200}, vSuccess}, {result{status: 204}, vSuccess},
		{result{status: 410}, vDisable}, {result{status: 500}, vRetry}, {result{status: 301}, vRetry},
		{result{status: 400}, vRetry}, {result{status: 429}, vRetry},
		{result{status: 429, hasRA: true, retryAfter: time.Second}, vBackoff},
		{result{status: 503, hasRA: true, retryAfter: time.Second}, vBackoff},
		{result{status: 503, hasRA: true, retryAfter: 2 * time.Hour}, vRetry}, // over retry_after_max
		{result{err: &privateAddressError{}}, vRefused},
	} {
		if got := classify(c.r, false, time.Hour); got != c.want {
			t.Errorf("classify(%+v) = %v, want %v", c.r, got, c.want)
		}
	}
	if d, ok := parseRetryAfter("120", time.Now()); !ok || d != 2*time.Minute {
		t.Errorf("Retry-After 120 = %s", d)
	}
}
