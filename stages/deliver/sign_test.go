package deliver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/leadflow/leadflow/stages/deliver/sink"
)

// During a secret rotation webhook-signature carries one v1 signature per
// secret (the new one first) and Signature only the new one's: a receiver
// with either secret verifies the Standard Webhooks signature, a spatie
// receiver verifies with the new secret. Without a previous secret there
// is one signature.
func TestSetHeadersSignsWithBothSecretsDuringRotation(t *testing.T) {
	body := []byte(`{"event":"new_lead","subjects":[]}`)
	var macs macPool
	h := signed(&macs, "new-secret", "old-secret", body)
	sigs := strings.Fields(h.Get(HeaderWebhookSignature))
	if len(sigs) != 2 || !strings.HasPrefix(sigs[0], "v1,") || !strings.HasPrefix(sigs[1], "v1,") {
		t.Fatalf("webhook-signature = %q; want two v1 signatures", h.Get(HeaderWebhookSignature))
	}
	for _, secret := range []string{"new-secret", "old-secret"} {
		if err := sink.VerifyStandard(secret, h, body, 0); err != nil {
			t.Errorf("Standard Webhooks with %s: %v", secret, err)
		}
	}
	if err := sink.VerifySignature("new-secret", body, h.Get(HeaderSignature)); err != nil {
		t.Errorf("Signature with the new secret: %v", err)
	}
	if err := sink.VerifySignature("old-secret", body, h.Get(HeaderSignature)); err == nil {
		t.Error("Signature verifies with the old secret; want only the new one's")
	}
	one := signed(&macs, "new-secret", "", body)
	if got := one.Get(HeaderWebhookSignature); got != sigs[0] {
		t.Errorf("after the overlap webhook-signature = %q; want only %q", got, sigs[0])
	}
	if err := sink.VerifyStandard("old-secret", one, body, 0); err == nil {
		t.Error("the old secret still verifies after the overlap")
	}
}

// signed returns the headers of a request as the receiver sees them
// (canonical keys: setHeaders writes the Standard Webhooks ones in lower case).
func signed(macs *macPool, secret, previous string, body []byte) http.Header {
	raw := http.Header{}
	setHeaders(raw, macs, "leadflow/test", secret, previous, "msg_1", 1700000000, body)
	h := http.Header{}
	for k, vs := range raw {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return h
}
