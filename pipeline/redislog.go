package pipeline

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// RedisLogger adapts a zap.Logger to go-redis's logger interface
// (redis.SetLogger): each line is a structured warning with
// component=redis, and each distinct message format is written at most
// once per interval, the next line carrying how many were suppressed
// meanwhile (a Redis outage makes go-redis repeat "failed to dial" for
// every pooled connection). Safe for concurrent use.
type RedisLogger struct {
	log      *zap.Logger
	interval time.Duration

	mu   sync.Mutex
	seen map[string]*logRate // by format; bounded by maxRedisFormats
}

type logRate struct {
	last       time.Time
	suppressed int
}

// maxRedisFormats bounds the formats remembered; go-redis has a few dozen.
const maxRedisFormats = 256

// NewRedisLogger returns a RedisLogger writing to log at most one line
// per message format per interval (0 means 10s).
func NewRedisLogger(log *zap.Logger, interval time.Duration) *RedisLogger {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	return &RedisLogger{log: log.With(zap.String("component", "redis")), interval: interval, seen: map[string]*logRate{}}
}

// Printf implements go-redis's internal.Logging.
func (l *RedisLogger) Printf(_ context.Context, format string, v ...any) {
	now := time.Now()
	l.mu.Lock()
	r := l.seen[format]
	if r == nil {
		if len(l.seen) >= maxRedisFormats {
			clear(l.seen)
		}
		r = &logRate{}
		l.seen[format] = r
	}
	if !r.last.IsZero() && now.Sub(r.last) < l.interval {
		r.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := r.suppressed
	r.last, r.suppressed = now, 0
	l.mu.Unlock()
	fields := []zap.Field{}
	if suppressed > 0 {
		fields = append(fields, zap.Int("suppressed", suppressed), zap.Duration("suppressed_within", l.interval))
	}
	l.log.Warn(fmt.Sprintf(format, v...), fields...)
}
