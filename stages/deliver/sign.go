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
func setHeaders(h http.Header, macs *macPool, userAgent, secret, msgID string, unix int64, body []byte) {
	ts := strconv.FormatInt(unix, 10)
	h[headerContentType] = []string{contentTypeJSON}
	h[headerUserAgent] = []string{userAgent}
	h[HeaderWebhookID] = []string{msgID}
	h[HeaderWebhookTimestamp] = []string{ts}
	if secret == "" {
		return
	}
	var buf [sha256.Size]byte
	var txt [2*sha256.Size + len(standardSignatureVersion) + 48]byte

	m, put := macs.get(secret)
	m.Write(body)
	sum := m.Sum(buf[:0])
	h[HeaderSignature] = []string{string(hex.AppendEncode(txt[:0], sum))}

	m.Reset()
	m.Write([]byte(msgID))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	sum = m.Sum(buf[:0])
	put()
	out := append(txt[:0], standardSignatureVersion...)
	h[HeaderWebhookSignature] = []string{string(base64.StdEncoding.AppendEncode(out, sum))}
}
