package deliver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strconv"
	"sync"
)

// Request header names (DESIGN 1.3). The Standard Webhooks headers are
// sent in lower case, as that specification writes them.
const (
	HeaderSignature          = "Signature"
	HeaderWebhookID          = "webhook-id"
	HeaderWebhookTimestamp   = "webhook-timestamp"
	HeaderWebhookSignature   = "webhook-signature"
	headerContentType        = "Content-Type"
	headerUserAgent          = "User-Agent"
	contentTypeJSON          = "application/json"
	standardSignatureVersion = "v1,"
)

// MessageID returns the webhook-id of a request: "msg_" and 32 hex digits
// of SHA-256 over the webhook id and the request ids of its subjects, in
// order. The same batch always gets the same id, across retries, replays
// of its retry record, and processes.
func MessageID(webhookID string, requestIDs ...[]byte) string {
	h := sha256.New()
	h.Write([]byte(webhookID))
	for _, id := range requestIDs {
		h.Write([]byte{0})
		h.Write(id)
	}
	var sum [sha256.Size]byte
	return "msg_" + hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// macPool reuses HMAC-SHA256 states, one sync.Pool per secret (an HMAC
// state is bound to its key). It is safe for concurrent use.
type macPool struct {
	mu    sync.Mutex
	pools map[string]*sync.Pool
}

func (p *macPool) get(secret string) (hash.Hash, func()) {
	p.mu.Lock()
	if p.pools == nil {
		p.pools = make(map[string]*sync.Pool)
	}
	pool := p.pools[secret]
	if pool == nil {
		if len(p.pools) > 10000 { // endpoints come and go: keep this bounded
			clear(p.pools)
		}
		key := []byte(secret)
		pool = &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
		p.pools[secret] = pool
	}
	p.mu.Unlock()
	m := pool.Get().(hash.Hash)
	m.Reset()
	return m, func() { pool.Put(m) }
}

// setHeaders sets every header of a webhook request on h (DESIGN 1.3):
// Content-Type, User-Agent, webhook-id, webhook-timestamp and, with a
// secret, Signature (lowercase hex HMAC-SHA256 of body) and
// webhook-signature (v1, base64 HMAC-SHA256 of id.timestamp.body).
//
// During a secret rotation's overlap previous is the rotated-out secret:
// webhook-signature then carries one v1 signature per secret, the current
// one first, separated by a space (as Standard Webhooks allows), so that a
// receiver that still has the old secret and one that has the new both
// verify; Signature carries only the current secret's (spatie compares
// one value).
func setHeaders(h http.Header, macs *macPool, userAgent, secret, previous, msgID string, unix int64, body []byte) {
	ts := strconv.FormatInt(unix, 10)
	h[headerContentType] = []string{contentTypeJSON}
	h[headerUserAgent] = []string{userAgent}
	h[HeaderWebhookID] = []string{msgID}
	h[HeaderWebhookTimestamp] = []string{ts}
	if secret == "" {
		return
	}
	var buf [sha256.Size]byte
	var hx [2 * sha256.Size]byte
	m, put := macs.get(secret)
	m.Write(body)
	h[HeaderSignature] = []string{string(hex.AppendEncode(hx[:0], m.Sum(buf[:0])))}
	put()

	const one = len(standardSignatureVersion) + 44 // "v1," and base64 of 32 bytes
	var txt [2*one + 1]byte
	out := appendStandard(txt[:0], macs, secret, msgID, ts, body)
	if previous != "" && previous != secret {
		out = append(out, ' ')
		out = appendStandard(out, macs, previous, msgID, ts, body)
	}
	h[HeaderWebhookSignature] = []string{string(out)}
}

// appendStandard appends "v1," and the base64 HMAC-SHA256 keyed with
// secret of msgID "." ts "." body.
func appendStandard(dst []byte, macs *macPool, secret, msgID, ts string, body []byte) []byte {
	var buf [sha256.Size]byte
	m, put := macs.get(secret)
	defer put()
	m.Write([]byte(msgID))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	dst = append(dst, standardSignatureVersion...)
	return base64.StdEncoding.AppendEncode(dst, m.Sum(buf[:0]))
}
