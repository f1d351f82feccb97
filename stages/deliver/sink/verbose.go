package sink

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-json"
)

// MaxLatestBytes bounds the body Latest keeps per event type; a longer one
// is kept cut, with Truncated set.
const MaxLatestBytes = 256 << 10

// Received is the latest accepted request of one event type.
type Received struct {
	// Event is the body's event.
	Event string
	// Body is the raw body, at most MaxLatestBytes.
	Body []byte
	// Truncated says Body was cut.
	Truncated bool
	// At is when it arrived.
	At time.Time
}

func (s *Sink) keepLatest(event string, body []byte, at time.Time) {
	r := Received{Event: event, Body: body, At: at}
	if len(body) > MaxLatestBytes {
		r.Body, r.Truncated = slices.Clone(body[:MaxLatestBytes]), true // do not pin a large body
	}
	s.latest.Store(event, r)
}

// Latest returns the latest accepted request of each event type, by event.
func (s *Sink) Latest() map[string]Received {
	out := map[string]Received{}
	s.latest.Range(func(k, v any) bool {
		out[k.(string)] = v.(Received)
		return true
	})
	return out
}

// Pretty returns body indented two spaces, or as is when it is not JSON.
func Pretty(body []byte) []byte {
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		return body
	}
	return b.Bytes()
}

// SignatureReport says, for each signature a request carries, whether it
// verifies with secret: one line per header. The secret is never shown.
func SignatureReport(secret string, h http.Header, body []byte) []string {
	sig, std := h.Get("Signature"), h.Get("webhook-signature")
	if sig == "" && std == "" {
		return []string{"no signature headers (the webhook has no secret)"}
	}
	if secret == "" {
		return []string{"signatures not checked: start the sink with --secret to verify them"}
	}
	var out []string
	if sig != "" {
		out = append(out, "Signature: "+verdict(VerifySignature(secret, body, sig)))
	}
	for i, v := range strings.Fields(std) {
		one := h.Clone()
		one.Set("webhook-signature", v)
		msg := verdict(VerifyStandard(secret, one, body, 0))
		if len(strings.Fields(std)) > 1 && msg != "verified" {
			msg += " (during a secret rotation one v1 per secret is sent: another one may be for the other secret)"
		}
		out = append(out, fmt.Sprintf("webhook-signature v1 #%d: %s", i+1, msg))
	}
	return out
}

func verdict(err error) string {
	if err == nil {
		return "verified"
	}
	return "NOT verified: " + err.Error()
}

// writeVerbose prints a request's method and path, its headers, whether
// each signature verified, and its body pretty-printed.
func writeVerbose(w io.Writer, secret string, r *http.Request, body []byte) {
	fmt.Fprintf(w, "--- %s %s %s\n", time.Now().Format("15:04:05.000"), r.Method, r.URL.RequestURI())
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := strings.Join(r.Header[k], ", ")
		if strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "Cookie") {
			v = "[not shown]"
		}
		fmt.Fprintf(w, "%s: %s\n", k, v)
	}
	for _, line := range SignatureReport(secret, r.Header, body) {
		fmt.Fprintf(w, "  => %s\n", line)
	}
	w.Write(Pretty(body))
	fmt.Fprintln(w)
}
