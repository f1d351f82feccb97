package adminapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/goccy/go-json"
)

func TestCreateSendsTheDocumentedRequest(t *testing.T) {
	var gotPath, gotAuth string
	var gotBody map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth = r.Method+" "+r.URL.Path, r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &gotBody)
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"id":"wh_1","url":"x","has_secret":true}`))
	}))
	defer srv.Close()
	c, err := New(srv.URL, "tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.CreateWebhook(context.Background(), "ws_1", Webhook{URL: "http://127.0.0.1:9/h", Name: "bench", Secret: "s"})
	if err != nil || id != "wh_1" {
		t.Fatalf("id %q err %v", id, err)
	}
	if gotPath != "POST /v1/workspaces/ws_1/webhooks" || gotAuth != "Bearer tok" {
		t.Fatalf("request %s auth %q", gotPath, gotAuth)
	}
	if gotBody["url"] != "http://127.0.0.1:9/h" || gotBody["secret"] != "s" || gotBody["max_subjects"] != nil {
		t.Fatalf("body %v", gotBody)
	}
	_, err = c.CreateAutomation(context.Background(), "ws_1", Automation{Name: "a", Trigger: "new_lead",
		Action: Action{Type: ActionRevealContacts, PersonaID: "p1", RevealLimit: 2, WebhookIDs: []string{"wh_1"}}})
	if err != nil {
		t.Fatal(err)
	}
	action := gotBody["action"].(map[string]any)
	if gotBody["segment_id"] != nil || action["type"] != "reveal_contacts" || action["reveal_limit"] != float64(2) {
		t.Fatalf("automation body %v", gotBody)
	}
}

func TestErrors(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, "/segments"):
			w.WriteHeader(422)
			_, _ = w.Write([]byte(`{"error":{"code":"invalid","message":"bad filter","fields":{"filter.all[0].op":"unknown operator"}}}`))
		case strings.HasSuffix(r.URL.Path, "/personas"):
			http.NotFound(w, r)
		case n < 3: // starting up
			w.WriteHeader(503)
		default:
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`{"id":"a1"}`))
		}
	}))
	defer srv.Close()
	c, _ := New(srv.URL, "", nil)
	ctx := context.Background()
	if id, err := c.CreateAutomation(ctx, "ws", Automation{}); err != nil || id != "a1" {
		t.Fatalf("503s then 201: id %q err %v", id, err)
	}
	_, err := c.CreateSegment(ctx, "ws", Segment{Name: "s", Filter: map[string]any{}})
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != 422 || apiErr.Fields["filter.all[0].op"] == "" {
		t.Fatalf("422: %v", err)
	}
	if _, err := c.CreatePersona(ctx, "ws", Persona{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("404: %v", err)
	}
	if _, err := New("not a url", "", nil); err == nil {
		t.Fatal("bad base URL accepted")
	}
}
