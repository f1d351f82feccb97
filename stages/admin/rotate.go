package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"

	"github.com/leadflow/leadflow/stages/control"
)

// rotateFields are the fields POST .../secret/rotate takes; both optional.
var rotateFields = []string{"secret", "overlap_seconds"}

// maxOverlap bounds a rotation's overlap (admin.secret_rotation_overlap
// and "overlap_seconds").
const maxOverlap = 720 * time.Hour

// rotation is the answer of POST .../secret/rotate: the webhook, and the
// new secret, shown this once.
type rotation struct {
	Webhook control.Webhook `json:"webhook"`
	// Secret is the new secret as leadflow signs with it (its bytes are
	// the HMAC key): what a spatie receiver is configured with.
	Secret string `json:"secret"`
	// StandardWebhooksSecret is the same secret as Standard Webhooks
	// libraries take it: "whsec_" + base64(Secret).
	StandardWebhooksSecret string `json:"standard_webhooks_secret"`
	// PreviousSecretExpiresAt is when the old secret stops signing; null
	// when there is no overlap (overlap 0, or the webhook had no secret).
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
}

// NewWebhookSecret returns a random webhook secret: 32 characters of
// URL-safe base64 (24 random bytes).
func NewWebhookSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// rotateSecret serves POST .../webhooks/{id}/secret/rotate: {"secret"?,
// "overlap_seconds"?} (an empty body is fine). The new secret (generated
// when none is given) signs at once; the old one keeps signing for the
// overlap (default admin.secret_rotation_overlap). Answers 200 rotation.
func (a *api) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	ws, aerr := workspace(r)
	if aerr != nil {
		return aerr
	}
	o, aerr := readOptionalObject(w, r, a.d.MaxBodyBytes)
	if aerr != nil {
		return aerr
	}
	if aerr := o.only(rotateFields...); aerr != nil {
		return aerr
	}
	o.notNull(rotateFields...)
	next := NewWebhookSecret()
	if v, ok := field[string](o, "secret", "a string (omit it to have one generated)"); ok {
		if v == "" {
			o.fail("secret", "must not be empty; omit it to have one generated")
		}
		next = v
	}
	overlap := a.d.SecretRotationOverlap
	if v, ok := integer(o, "overlap_seconds", fmt.Sprintf("an integer between 0 and %d", int64(maxOverlap/time.Second))); ok {
		if v < 0 || int64(v) > int64(maxOverlap/time.Second) {
			o.fail("overlap_seconds", fmt.Sprintf("must be between 0 and %d", int64(maxOverlap/time.Second)))
		}
		overlap = time.Duration(v) * time.Second
	}
	if err := o.err(); err != nil {
		return err
	}
	id := r.PathValue("id")
	defer a.lock(ws)()
	cur, ok := a.d.Store.Webhook(ws, id)
	if !ok {
		return webhooks.notFound(ws, id)
	}
	rotated := cur.Rotate(control.NewSecret(next), a.d.Now(), overlap)
	if err := a.write(r.Context(), func(ctx context.Context) error { return a.d.Store.Put(ctx, rotated) }); err != nil {
		return err
	}
	ans := rotation{Webhook: webhooks.stored(a, ws, rotated), Secret: next,
		StandardWebhooksSecret: "whsec_" + base64.StdEncoding.EncodeToString([]byte(next))}
	if !rotated.PreviousSecret.IsZero() {
		t := rotated.PreviousSecretExpires
		ans.PreviousSecretExpiresAt = &t
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}
