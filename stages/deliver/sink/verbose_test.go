package sink_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/leadflow/leadflow/stages/deliver/sink"
)

// --verbose prints the headers with the signatures, a verdict per
// signature, and the body pretty-printed; never the secret.
func TestVerbosePrintsHeadersVerdictsAndBody(t *testing.T) {
	var out bytes.Buffer
	s := sink.New(sink.Config{Secret: "sup3r-secret-value", Verbose: true, Out: &out})
	body := `{"event":"new_lead","subjects":[{"id":1}]}`
	w := httptest.NewRecorder()
	s.ServeHTTP(w, signed(t, "sup3r-secret-value", body, nil))
	got := out.String()
	for _, want := range []string{"Signature: ", "Webhook-Signature: v0,xxx v1,", "=> Signature: verified",
		"webhook-signature v1 #2: verified", "webhook-signature v1 #1: NOT verified", "\n  \"event\": \"new_lead\",\n", "POST /"} {
		if !strings.Contains(got, want) {
			t.Errorf("verbose output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "sup3r-secret-value") {
		t.Fatal("verbose output shows the secret")
	}
	// A request signed with another secret is printed with its verdicts, then refused.
	out.Reset()
	w = httptest.NewRecorder()
	s.ServeHTTP(w, signed(t, "other", body, nil))
	if w.Code != http.StatusUnauthorized || !strings.Contains(out.String(), "=> Signature: NOT verified") {
		t.Fatalf("status %d, output:\n%s", w.Code, out.String())
	}
	// Without a secret it says the signatures were not checked.
	out.Reset()
	s = sink.New(sink.Config{Verbose: true, Out: &out})
	s.ServeHTTP(httptest.NewRecorder(), signed(t, "k", body, nil))
	if !strings.Contains(out.String(), "signatures not checked") {
		t.Fatalf("output without a secret:\n%s", out.String())
	}
}

// Latest keeps the latest accepted body of each event type.
func TestLatestPerEventType(t *testing.T) {
	s := sink.New(sink.Config{Quiet: true})
	for _, b := range []string{`{"event":"new_lead","subjects":[{"id":1}]}`, `{"event":"new_lead","subjects":[{"id":2}]}`,
		`{"event":"contact_revealed","subjects":[{"email":"a@b.c"}]}`} {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader(b)))
	}
	l := s.Latest()
	if len(l) != 2 || !strings.Contains(string(l["new_lead"].Body), `"id":2`) || l["contact_revealed"].Event != "contact_revealed" {
		t.Fatalf("Latest = %v", l)
	}
}
