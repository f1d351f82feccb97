package sink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Verification errors; every error of VerifySignature and VerifyStandard
// wraps one of them.
var (
	// ErrNoSignature: the signature header (or a Standard Webhooks header) is missing.
	ErrNoSignature = errors.New("signature header missing")
	// ErrBadSignature: no signature matches the body and secret.
	ErrBadSignature = errors.New("signature does not match")
	// ErrTimestamp: webhook-timestamp is malformed or outside the tolerance.
	ErrTimestamp = errors.New("webhook-timestamp outside the tolerance")
)

// VerifySignature checks header, the Signature header of a leadflow
// webhook: lowercase hex HMAC-SHA256 of body keyed with secret (as
// Laravel/spatie receivers check it). It compares in constant time.
func VerifySignature(secret string, body []byte, header string) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrNoSignature
	}
	got, err := hex.DecodeString(header)
	if err != nil {
		return ErrBadSignature
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

// VerifyStandard checks the Standard Webhooks headers: webhook-signature
// holds, among space-separated entries, a "v1,BASE64" whose value is
// HMAC-SHA256 keyed with secret of webhook-id "." webhook-timestamp "."
// body; with tolerance > 0 the timestamp must also be within tolerance of
// now (replay protection). Comparisons are constant time.
func VerifyStandard(secret string, headers http.Header, body []byte, tolerance time.Duration) error {
	id, ts, sigs := headers.Get("webhook-id"), headers.Get("webhook-timestamp"), headers.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrNoSignature
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if tolerance > 0 {
		if d := time.Since(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
			return ErrTimestamp
		}
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	want := m.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		v, ok := strings.CutPrefix(s, "v1,")
		if !ok {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(v)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrBadSignature
}
