package deliver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/goccy/go-json"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Attempt is one webhook request attempt as the admin API shows it
// (GET .../webhooks/{id}/deliveries).
type Attempt struct {
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
}

// AttemptLog keeps the recent attempts of each webhook in Redis: a list
// per webhook, newest first, trimmed to a size and expiring after a TTL of
// inactivity. Keys are PREFIX "deliveries:{WORKSPACE/WEBHOOK}" (one hash
// slot per webhook, so it works on Redis Cluster). It is safe for
// concurrent use.
type AttemptLog struct {
	rdb    redis.UniversalClient
	prefix string
	size   int
	ttl    time.Duration
}

// NewAttemptLog returns the attempt log in rdb under keyPrefix, keeping
// size attempts per webhook for ttl (Config.AttemptLogSize and
// AttemptLogTTL).
func NewAttemptLog(rdb redis.UniversalClient, keyPrefix string, size int, ttl time.Duration) *AttemptLog {
	return &AttemptLog{rdb: rdb, prefix: keyPrefix, size: size, ttl: ttl}
}

func (l *AttemptLog) key(workspaceID, webhookID string) string {
	return l.prefix + "deliveries:{" + workspaceID + "/" + webhookID + "}"
}

// Recent returns up to n most recent attempts of the webhook, newest first.
func (l *AttemptLog) Recent(ctx context.Context, workspaceID, webhookID string, n int) ([]Attempt, error) {
	if n <= 0 {
		return nil, nil
	}
	vals, err := l.rdb.LRange(ctx, l.key(workspaceID, webhookID), 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("deliver: attempt log: %w", err)
	}
	out := make([]Attempt, 0, len(vals))
	for _, v := range vals {
		var a Attempt
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			continue // written by another version: skip rather than fail the page
		}
		out = append(out, a)
	}
	return out, nil
}

// logEntry is one attempt to record for one webhook.
type logEntry struct {
	workspaceID, webhookID string
	a                      Attempt
}

// Record writes attempts in one pipeline: per webhook one LPUSH of its
// entries (oldest first, so the newest ends up at the head), an LTRIM to
// the size and an EXPIRE.
func (l *AttemptLog) record(ctx context.Context, entries []logEntry) error {
	if l.size == 0 || len(entries) == 0 {
		return nil
	}
	byKey := make(map[string][]any, 4)
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
	}
	_, err := pipe.Exec(ctx)
	return err
}

// Record writes one attempt of a webhook now.
func (l *AttemptLog) Record(ctx context.Context, workspaceID, webhookID string, a Attempt) error {
	return l.record(ctx, []logEntry{{workspaceID: workspaceID, webhookID: webhookID, a: a}})
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
