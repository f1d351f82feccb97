package control

import (
	"bytes"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

// Rotate keeps the old secret signing for the overlap only; a webhook
// without a secret, or overlap 0, has no previous secret.
func TestRotateAndSigningSecrets(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w := webhook("ws_1", "wh_r")
	w.Secret = NewSecret("old")
	r := w.Rotate(NewSecret("new"), now, 24*time.Hour)
	cur, prev := r.SigningSecrets(now.Add(23 * time.Hour))
	if cur.Reveal() != "new" || prev.Reveal() != "old" || !r.PreviousSecretExpires.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("during the overlap: %q, %q (expires %s)", cur.Reveal(), prev.Reveal(), r.PreviousSecretExpires)
	}
	if _, prev = r.SigningSecrets(now.Add(24 * time.Hour)); !prev.IsZero() {
		t.Fatal("the previous secret still signs after the overlap")
	}
	// Rotating again drops the older secret.
	r2 := r.Rotate(NewSecret("newer"), now.Add(time.Hour), time.Hour)
	if _, prev = r2.SigningSecrets(now.Add(time.Hour)); prev.Reveal() != "new" {
		t.Fatalf("second rotation keeps %q; want the one it replaced", prev.Reveal())
	}
	if z := r.Rotate(NewSecret("x"), now, 0); !z.PreviousSecret.IsZero() {
		t.Fatal("overlap 0 kept a previous secret")
	}
	w.Secret = Secret{}
	if z := w.Rotate(NewSecret("x"), now, time.Hour); !z.PreviousSecret.IsZero() {
		t.Fatal("a webhook without a secret got a previous one")
	}
}

// The previous secret is sealed in the record like the secret, read back
// by another process, never marshalled, and resealed by Reseal.
func TestPreviousSecretIsSealedAndResealed(t *testing.T) {
	env := topicstest.New(t, 1)
	s := newKafkaStore(t, env, WithSecretKey(keyA))
	w := webhook("ws_1", "wh_rot")
	w.Secret = NewSecret("old-secret-1")
	w = w.Rotate(NewSecret("new-secret-2"), time.Now(), time.Hour)
	put(t, s, w)
	recs := env.Consume(t, env.Topics.Control, 10*time.Second, func(r []*kgo.Record) bool { return len(r) >= 1 })
	if v := recs[0].Value; bytes.Contains(v, []byte("old-secret-1")) || bytes.Contains(v, []byte("new-secret-2")) ||
		!bytes.Contains(v, []byte(`"previous_secret":{"alg":"A256GCM"`)) {
		t.Fatalf("record = %s; want both secrets sealed", v)
	}
	api, _ := w.MarshalJSON()
	if bytes.Contains(api, []byte("old-secret")) || !bytes.Contains(api, []byte(`"has_previous_secret":true`)) {
		t.Fatalf("API form = %s", api)
	}
	other := newKafkaStore(t, env, WithSecretKey(keyB), WithPreviousSecretKeys(keyA))
	got, _ := other.Webhook("ws_1", "wh_rot")
	if cur, prev := got.SigningSecrets(time.Now()); cur.Reveal() != "new-secret-2" || prev.Reveal() != "old-secret-1" {
		t.Fatalf("read back %q, %q", cur.Reveal(), prev.Reveal())
	}
	if n, err := other.Reseal(ctxT(t)); n != 1 || err != nil {
		t.Fatalf("Reseal = %d, %v; want 1", n, err)
	}
	only := newKafkaStore(t, env, WithSecretKey(keyB))
	got, _ = only.Webhook("ws_1", "wh_rot")
	if _, prev := got.SigningSecrets(time.Now()); prev.Reveal() != "old-secret-1" {
		t.Fatal("previous secret lost by Reseal")
	}
}
