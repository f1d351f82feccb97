package deliver

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-json"
	"github.com/leadflow/leadflow/schemas"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Attempt is one webhook request attempt as the admin API shows it
// (GET .../webhooks/{id}/deliveries).
type Attempt struct {
	// ID names the attempt in its webhook's log (Key), for
	// GET .../deliveries/{id} and its resend. Set when read from the log.
	ID string `json:"id,omitempty"`
	// Time is when the request was sent.
	Time time.Time `json:"time"`
	// Event is the "event" value sent.
	Event string `json:"event"`
	// Subjects is the number of subjects in the request.
	Subjects int `json:"subjects"`
	// StatusCode is the HTTP status answered; 0 when there was no answer.
	StatusCode int `json:"status_code"`
	// LatencyMS is the time to the answer (or the failure), in milliseconds.
	LatencyMS float64 `json:"latency_ms"`
	// Error says why the attempt failed; "" on success.
	Error string `json:"error"`
	// Attempt is the attempt number of the request, from 1. Waits for an
	// open breaker, a rate limit or a Retry-After use up no attempt.
	Attempt int `json:"attempt"`
	// MessageID is the request's webhook-id header, stable across retries.
	MessageID string `json:"message_id"`
	// Outcome is what came of it: success, retry, dlq, disabled or
	// backpressure (the Outcome* constants).
	Outcome string `json:"outcome"`
	// Test is true for a request sent by SendTest.
	Test bool `json:"test,omitempty"`
	// Resend is true for a request sent again by Resend.
	Resend bool `json:"resend,omitempty"`
	// HasDetail is true when the log still keeps the attempt's request
	// and answer (AttemptLog.Detail; see Config.AttemptLogBodies).
	HasDetail bool `json:"has_detail,omitempty"`
}

// Key names the attempt in its webhook's log: its message id, attempt
// number and send time (Unix nanoseconds), e.g. "msg_x.2.1715770550000000000".
func (a Attempt) Key() string {
	return a.MessageID + "." + strconv.Itoa(a.Attempt) + "." + strconv.FormatInt(a.Time.UnixNano(), 10)
}

// AttemptDetail is the request and answer of one attempt, as the attempt
// log keeps them for a webhook's newest attempts (Config.AttemptLogBodies).
type AttemptDetail struct {
	// Attempt is the attempt itself.
	Attempt Attempt `json:"attempt"`
	// Headers are the request's headers as sent, in name order: signatures
	// included, the secret never (it is not a header).
	Headers [][2]string `json:"headers"`
	// Body is the request body as sent; nil when it was larger than
	// Config.AttemptLogBodyBytes.
	Body json.RawMessage `json:"body,omitempty"`
	// BodyBytes is the size of the request body.
	BodyBytes int `json:"body_bytes"`
	// ResponseBody is the start of the answer's body (at most
	// MaxLoggedResponseBytes, invalid UTF-8 replaced), "" without one.
	ResponseBody string `json:"response_body"`
}

// MaxLoggedResponseBytes is how much of a response body the attempt log
// keeps.
const MaxLoggedResponseBytes = 1 << 10

// newDetail is a's detail from what was sent and answered. The body is
// copied (the caller may reuse it); one larger than maxBody is left out.
func newDetail(a Attempt, h http.Header, body []byte, response string, maxBody int) *AttemptDetail {
	d := &AttemptDetail{Attempt: a, BodyBytes: len(body), ResponseBody: response}
	d.Headers = make([][2]string, 0, len(h))
	for name, vs := range h {
		for _, v := range vs {
			d.Headers = append(d.Headers, [2]string{name, v})
		}
	}
	sort.Slice(d.Headers, func(i, j int) bool { return d.Headers[i][0] < d.Headers[j][0] })
	if len(body) <= maxBody && schemas.ValidJSON(body) {
		d.Body = append(json.RawMessage(nil), body...)
	}
	return d
}

// truncateUTF8 cuts s to at most n bytes on a rune boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// AttemptLog keeps the recent attempts of each webhook in Redis: a list
// per webhook, newest first, trimmed to a size and expiring after a TTL of
// inactivity; and for the newest few attempts their request and answer
// (AttemptDetail) in a hash, with a list of their ids for trimming. Keys
// are PREFIX "deliveries:{WORKSPACE/WEBHOOK}" (":req" and ":reqids" for
// the details), one hash slot per webhook, so it works on Redis Cluster.
// It is safe for concurrent use.
type AttemptLog struct {
	rdb      redis.UniversalClient
	prefix   string
	size     int
	ttl      time.Duration
	bodies   int
	maxBody  int
	interval time.Duration

	mu       sync.Mutex
	lastKept map[webhookKey]time.Time // when a detail of the webhook was last kept

	codec bodyCodec // kept bodies are stored compressed
}

// webhookKey names a webhook in AttemptLog.lastKept.
type webhookKey struct{ workspaceID, webhookID string }

// maxTrackedWebhooks bounds AttemptLog.lastKept; past it the map starts afresh.
const maxTrackedWebhooks = 100000

// NewAttemptLog returns the attempt log in rdb under keyPrefix, keeping
// size attempts per webhook for ttl, without details (requests and
// answers); NewAttemptLogFor keeps them as the configuration says.
func NewAttemptLog(rdb redis.UniversalClient, keyPrefix string, size int, ttl time.Duration) *AttemptLog {
	return &AttemptLog{rdb: rdb, prefix: keyPrefix, size: size, ttl: ttl, lastKept: map[webhookKey]time.Time{}}
}

// NewAttemptLogFor returns the attempt log in rdb under keyPrefix, keeping
// cfg.AttemptLogSize attempts per webhook for cfg.AttemptLogTTL, and the
// details of the newest cfg.AttemptLogBodies of them with bodies up to
// cfg.AttemptLogBodyBytes, at most one per cfg.AttemptLogBodyInterval
// from the stage.
func NewAttemptLogFor(rdb redis.UniversalClient, keyPrefix string, cfg Config) *AttemptLog {
	l := NewAttemptLog(rdb, keyPrefix, cfg.AttemptLogSize, cfg.AttemptLogTTL)
	l.bodies = min(cfg.AttemptLogBodies, cfg.AttemptLogSize)
	l.maxBody = cfg.AttemptLogBodyBytes
	l.interval = cfg.AttemptLogBodyInterval
	return l
}

// MaxBodyBytes is the largest request body the log keeps.
func (l *AttemptLog) MaxBodyBytes() int { return l.maxBody }

func (l *AttemptLog) key(workspaceID, webhookID string) string {
	return l.prefix + "deliveries:{" + workspaceID + "/" + webhookID + "}"
}

// keepDetail reports whether the stage should keep the detail of an
// attempt to the webhook sent at now: at most one per interval.
func (l *AttemptLog) keepDetail(workspaceID, webhookID string, now time.Time) bool {
	if l.bodies == 0 || l.size == 0 {
		return false
	}
	if l.interval == 0 {
		return true
	}
	k := webhookKey{workspaceID, webhookID}
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.lastKept[k]; ok && now.Sub(t) < l.interval && now.Sub(t) >= 0 {
		return false
	}
	if len(l.lastKept) >= maxTrackedWebhooks {
		clear(l.lastKept)
	}
	l.lastKept[k] = now
	return true
}

// Recent returns up to n most recent attempts of the webhook, newest
// first, with HasDetail set on those whose detail is kept.
func (l *AttemptLog) Recent(ctx context.Context, workspaceID, webhookID string, n int) ([]Attempt, error) {
	if n <= 0 {
		return nil, nil
	}
	k := l.key(workspaceID, webhookID)
	pipe := l.rdb.Pipeline()
	atts := pipe.LRange(ctx, k, 0, int64(n-1))
	ids := pipe.LRange(ctx, k+":reqids", 0, -1)
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("deliver: attempt log: %w", err)
	}
	kept := make(map[string]bool, len(ids.Val()))
	for _, id := range ids.Val() {
		kept[id] = true
	}
	out := make([]Attempt, 0, len(atts.Val()))
	for _, v := range atts.Val() {
		var a Attempt
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			continue // written by another version: skip rather than fail the page
		}
		a.ID = a.Key()
		a.HasDetail = kept[a.ID]
		out = append(out, a)
	}
	return out, nil
}

// Detail returns the kept request and answer of the attempt called id
// (Attempt.Key); ok is false when the log no longer keeps it.
func (l *AttemptLog) Detail(ctx context.Context, workspaceID, webhookID, id string) (d AttemptDetail, ok bool, err error) {
	vals, err := l.rdb.HMGet(ctx, l.key(workspaceID, webhookID)+":req", id, id+bodySuffix).Result()
	if err != nil {
		return d, false, fmt.Errorf("deliver: attempt log: %w", err)
	}
	meta, _ := vals[0].(string)
	if meta == "" || json.Unmarshal([]byte(meta), &d) != nil {
		return d, false, nil // not kept, or written by another version
	}
	if body, _ := vals[1].(string); body != "" {
		b, err := l.codec.unpack([]byte(body))
		if err != nil {
			return d, false, fmt.Errorf("deliver: attempt log: kept body of %s: %w", id, err)
		}
		d.Body = json.RawMessage(b) // kept apart: a JSON encoder would re-escape it
	}
	d.Attempt.ID, d.Attempt.HasDetail = d.Attempt.Key(), true
	return d, true, nil
}

// bodySuffix is the hash field of a detail's body: ID + bodySuffix.
const bodySuffix = "/body"

// logEntry is one attempt to record for one webhook, with its detail
// when it is to be kept.
type logEntry struct {
	workspaceID, webhookID string
	a                      Attempt
	d                      *AttemptDetail
}

// keepDetails stores details (ARGV[3..]: id, detail without body, body
// triples, oldest first) in the hash KEYS[1] (fields ID and ID/body),
// pushes their ids on the list KEYS[2], drops the details whose ids fall
// past ARGV[1] and sets both keys' TTL (ARGV[2] ms).
var keepDetails = redis.NewScript(`
for i = 3, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1], ARGV[i] .. '/body', ARGV[i+2])
  redis.call('LPUSH', KEYS[2], ARGV[i])
end
local keep = tonumber(ARGV[1])
local old = redis.call('LRANGE', KEYS[2], keep, -1)
for _, id in ipairs(old) do redis.call('HDEL', KEYS[1], id, id .. '/body') end
redis.call('LTRIM', KEYS[2], 0, keep - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return #old
`)

// record writes attempts in one pipeline: per webhook one LPUSH of its
// entries (oldest first, so the newest ends up at the head), an LTRIM to
// the size and an EXPIRE, and the newest details of the batch.
func (l *AttemptLog) record(ctx context.Context, entries []logEntry) error {
	if l.size == 0 || len(entries) == 0 {
		return nil
	}
	byKey := make(map[string][]any, 4)
	details := make(map[string][]any, 4)
	var order []string
	for _, e := range entries {
		k := l.key(e.workspaceID, e.webhookID)
		v, err := json.Marshal(e.a)
		if err != nil {
			return err
		}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], v)
		if e.d != nil && l.bodies > 0 {
			meta := *e.d
			meta.Body = nil
			dv, err := json.Marshal(meta)
			if err != nil {
				return err
			}
			details[k] = append(details[k], e.a.Key(), dv, l.codec.pack(e.d.Body))
		}
	}
	pipe := l.rdb.Pipeline()
	for _, k := range order {
		vals := byKey[k]
		if len(vals) > l.size {
			vals = vals[len(vals)-l.size:]
		}
		pipe.LPush(ctx, k, vals...)
		pipe.LTrim(ctx, k, 0, int64(l.size-1))
		pipe.Expire(ctx, k, l.ttl)
		if ds := details[k]; len(ds) > 0 {
			if len(ds) > 3*l.bodies {
				ds = ds[len(ds)-3*l.bodies:]
			}
			args := append([]any{l.bodies, l.ttl.Milliseconds()}, ds...)
			keepDetails.Eval(ctx, pipe, []string{k + ":req", k + ":reqids"}, args...)
		}
	}
	_, err := pipe.Exec(ctx)
	return err
}

// Record writes one attempt of a webhook now, with its detail when d is
// not nil.
func (l *AttemptLog) Record(ctx context.Context, workspaceID, webhookID string, a Attempt, d *AttemptDetail) error {
	return l.record(ctx, []logEntry{{workspaceID: workspaceID, webhookID: webhookID, a: a, d: d}})
}

// logWriter batches attempt log writes off the send path: entries queue in
// a bounded channel and a goroutine writes them every flush interval or
// every batch entries, one pipeline per write. When Redis cannot keep up
// the entries that do not fit are dropped and counted: the log is for
// people, and delivery must not wait for it.
type logWriter struct {
	log     *AttemptLog
	ch      chan logEntry
	dropped func()
	zl      *zap.Logger
	wg      sync.WaitGroup
}

const (
	logQueue = 8192
	logBatch = 512
	logFlush = 100 * time.Millisecond
)

func newLogWriter(l *AttemptLog, zl *zap.Logger, dropped func()) *logWriter {
	return &logWriter{log: l, ch: make(chan logEntry, logQueue), dropped: dropped, zl: zl}
}

func (w *logWriter) add(e logEntry) {
	select {
	case w.ch <- e:
	default:
		w.dropped()
	}
}

// run writes until ctx is canceled and the queue is closed; the owner
// closes w.ch after the last add.
func (w *logWriter) run(ctx context.Context) {
	batch := make([]logEntry, 0, logBatch)
	t := time.NewTicker(logFlush)
	defer t.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := retryWrite(ctx, attemptLogRetryFor, func(wctx context.Context) error { return w.log.record(wctx, batch) }); err != nil {
			for range batch {
				w.dropped()
			}
			w.zl.Warn("attempt log write failed; entries dropped", zap.Int("entries", len(batch)), zap.Error(err))
		}
		clear(batch)
		batch = batch[:0]
	}
	for {
		select {
		case e, ok := <-w.ch:
			if !ok {
				flush()
				return
			}
			batch = append(batch, e)
			if len(batch) == logBatch {
				flush()
			}
		case <-t.C:
			flush()
		}
	}
}
