package admin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leadflow/leadflow/stages/control"
)

// TestSendTestTakesTheEvent: POST .../test sends the event its body names
// (new_lead without a body); anything else is a 422 or 400 naming it.
func TestSendTestTakesTheEvent(t *testing.T) {
	tester := &fakeTester{}
	a := newAPI(t, func(d *Deps) { d.Deliveries, d.Tester = &fakeDeliveries{}, tester })
	id := a.createWebhook("ws_1", map[string]any{"url": "https://hooks.example.com/", "name": "n"})
	path := "/v1/workspaces/ws_1/webhooks/" + id + "/test"
	for body, want := range map[any]string{nil: "new_lead", "": "new_lead", "{}": "new_lead",
		`{"event":"new_session"}`: "new_session", `{"event":"contact_revealed"}`: "contact_revealed"} {
		tester.event = ""
		a.must(a.do("POST", path, body), 200)
		if tester.event != want {
			t.Errorf("body %v: sent %q, want %q", body, tester.event, want)
		}
	}
	a.invalid(a.do("POST", path, `{"event":"contacts.revealed"}`), map[string]string{"event": "new_lead, new_session, contact_revealed"})
	a.invalid(a.do("POST", path, `{"event":7}`), map[string]string{"event": "a string"})
	if r := a.must(a.do("POST", path, `{"evnt":"new_lead"}`), 400); r.code() != CodeUnknownField {
		t.Fatalf("unknown field: %s", r.raw)
	}
}

// TestDeliveryDetailAndResend: GET .../deliveries/{attempt} answers the
// kept request, 404 when the log no longer keeps it; POST .../resend
// sends it again through the Tester.
func TestDeliveryDetailAndResend(t *testing.T) {
	att := Attempt{Time: time.Date(2024, 5, 15, 10, 0, 2, 0, time.UTC), MessageID: "msg_2", Event: "new_lead", Attempt: 1, Outcome: "success"}
	tester := &fakeTester{}
	a := newAPI(t, func(d *Deps) { d.Deliveries, d.Tester = &fakeDeliveries{attempts: []Attempt{att}}, tester })
	id := a.createWebhook("ws_1", map[string]any{"url": "https://hooks.example.com/", "name": "n"})
	base := "/v1/workspaces/ws_1/webhooks/" + id + "/deliveries/"
	d := a.must(a.do("GET", base+att.Key(), nil), 200)
	if !strings.Contains(d.raw, `"body":{"event":"new_lead","subjects":[]}`) {
		t.Fatalf("detail = %s", d.raw)
	}
	a.must(a.do("GET", base+"msg_9.1.1", nil), 404)
	r := a.must(a.do("POST", base+att.Key()+"/resend", nil), 200)
	if tester.resentID != att.Key() || r.body["resend"] != true {
		t.Fatalf("resend: tester got %q, answer %s", tester.resentID, r.raw)
	}
	a.must(a.do("POST", "/v1/workspaces/ws_1/webhooks/wh_nope/deliveries/x/resend", nil), 404)
}

// TestServiceIsTheAPI: the Service's calls validate and answer as the
// routes do (the console relies on it).
func TestServiceIsTheAPI(t *testing.T) {
	st, err := control.NewInMemory()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(Deps{Store: st, Token: token, URLPolicy: URLPolicy{AllowPrivateNetworks: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = svc.Create(ctx, control.KindWebhook, "ws_1", []byte(`{"url":"ftp://x","name":""}`))
	e, ok := err.(*Error)
	if !ok || e.Status != 422 || e.Fields["url"] == "" || e.Fields["name"] == "" {
		t.Fatalf("invalid webhook: %v", err)
	}
	wh, err := svc.Create(ctx, control.KindWebhook, "ws_1", []byte(`{"url":"https://hooks.example.com/","name":"n"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, control.KindAutomation, "ws_1", []byte(`{"name":"a","trigger":"new_lead","action":{"type":"webhook","webhook_id":"`+wh.Ref().ID+`"}}`)); err != nil {
		t.Fatal(err)
	}
	err = svc.Delete(ctx, control.KindWebhook, "ws_1", wh.Ref().ID)
	if e, ok := err.(*Error); !ok || e.Status != 409 || !strings.Contains(e.Message, `"a"`) {
		t.Fatalf("delete of a used webhook: %v", err)
	}
	if svc.CheckToken(token) != nil || svc.CheckToken("nope") == nil {
		t.Fatal("CheckToken does not tell the admin token from another")
	}
}
