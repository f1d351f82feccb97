package admin

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

// POST .../secret/rotate: a generated secret returned once, the old one
// kept for the default overlap; a given secret and overlap_seconds;
// errors name the field; PATCH with a secret switches at once.
func TestRotateSecret(t *testing.T) {
	a := newAPI(t)
	id := a.createWebhook("ws_1", map[string]any{"url": "https://hooks.example.com/lf", "name": "CRM", "secret": "old-secret"})
	path := "/v1/workspaces/ws_1/webhooks/" + id + "/secret/rotate"
	before := time.Now()
	r := a.must(a.do("POST", path, nil), http.StatusOK)
	secret := r.str("secret")
	wh, _ := a.store.Webhook("ws_1", id)
	if len(secret) != 32 || wh.Secret.Reveal() != secret || wh.PreviousSecret.Reveal() != "old-secret" {
		t.Fatalf("answer %s; store has %q / %q", r.raw, wh.Secret.Reveal(), wh.PreviousSecret.Reveal())
	}
	if r.str("standard_webhooks_secret") != "whsec_"+base64.StdEncoding.EncodeToString([]byte(secret)) {
		t.Errorf("standard_webhooks_secret = %q", r.str("standard_webhooks_secret"))
	}
	exp, err := time.Parse(time.RFC3339, r.str("previous_secret_expires_at"))
	if err != nil || exp.Before(before.Add(24*time.Hour-time.Second)) || exp.After(time.Now().Add(24*time.Hour)) {
		t.Fatalf("previous_secret_expires_at = %q; want now + 24h", r.str("previous_secret_expires_at"))
	}
	g := a.must(a.do("GET", "/v1/workspaces/ws_1/webhooks/"+id, nil), 200)
	if g.body["has_previous_secret"] != true || strings.Contains(g.raw, secret) || strings.Contains(g.raw, "old-secret") {
		t.Fatalf("GET after rotate = %s; want has_previous_secret and no secret", g.raw)
	}

	r = a.must(a.do("POST", path, map[string]any{"secret": "chosen-secret", "overlap_seconds": 60}), http.StatusOK)
	wh, _ = a.store.Webhook("ws_1", id)
	if r.str("secret") != "chosen-secret" || wh.PreviousSecret.Reveal() != secret || time.Until(wh.PreviousSecretExpires) > time.Minute {
		t.Fatalf("rotate with a secret: %s", r.raw)
	}
	r = a.must(a.do("POST", path, map[string]any{"overlap_seconds": 0}), http.StatusOK)
	if r.body["previous_secret_expires_at"] != nil {
		t.Fatalf("overlap 0: %s", r.raw)
	}

	a.invalid(a.do("POST", path, map[string]any{"overlap_seconds": -1, "secret": ""}),
		map[string]string{"overlap_seconds": "between 0 and", "secret": "must not be empty"})
	if r := a.do("POST", path, map[string]any{"overlap": 5}); r.status != 400 || r.code() != CodeUnknownField {
		t.Fatalf("unknown field: %s", r.raw)
	}
	a.must(a.do("POST", "/v1/workspaces/ws_1/webhooks/wh_missing/secret/rotate", nil), 404)
	// As the OpenAPI document says (found by schemathesis): null is not a
	// value of either field, and an integral number such as 97.0 is an
	// integer.
	a.invalid(a.do("POST", path, map[string]any{"overlap_seconds": nil, "secret": nil}),
		map[string]string{"overlap_seconds": "must not be null", "secret": "must not be null"})
	r = a.must(a.do("POST", path, `{"overlap_seconds": 97.0}`), http.StatusOK)
	if wh, _ = a.store.Webhook("ws_1", id); time.Until(wh.PreviousSecretExpires) > 97*time.Second {
		t.Fatalf("overlap_seconds 97.0: previous secret expires in %s", time.Until(wh.PreviousSecretExpires))
	}

	a.must(a.do("POST", path, map[string]any{"overlap_seconds": 3600}), 200)
	p := a.must(a.do("PATCH", "/v1/workspaces/ws_1/webhooks/"+id, map[string]any{"secret": "patched"}), 200)
	if wh, _ = a.store.Webhook("ws_1", id); !wh.PreviousSecret.IsZero() || p.body["has_previous_secret"] != false {
		t.Fatalf("PATCH secret kept the previous secret: %s", p.raw)
	}
	for _, b := range a.bodies {
		if strings.Contains(b, "old-secret") || strings.Contains(b, "patched") {
			t.Fatalf("an answer leaks a secret it was not returning: %s", b)
		}
	}
}

// admin.secret_rotation_overlap sets the default overlap.
func TestRotateSecretDefaultOverlapFromConfig(t *testing.T) {
	a := newAPI(t, func(d *Deps) { d.SecretRotationOverlap = time.Hour })
	id := a.createWebhook("ws_1", map[string]any{"url": "https://hooks.example.com/lf", "name": "CRM", "secret": "s1"})
	a.must(a.do("POST", "/v1/workspaces/ws_1/webhooks/"+id+"/secret/rotate", map[string]any{}), 200)
	wh, _ := a.store.Webhook("ws_1", id)
	if d := time.Until(wh.PreviousSecretExpires); d > time.Hour || d < 58*time.Minute {
		t.Fatalf("overlap %s; want 1h", d)
	}
}
