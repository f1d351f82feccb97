package pipeline

import (
	"context"
	"errors"
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

// RedisLoggerConfig configures a RedisLogger.
type RedisLoggerConfig struct {
	// Interval is how often each message format may be written: at most
	// one line per format per Interval. Default (0) 10s; otherwise between
	// 100ms and 1h.
	Interval time.Duration
}

// RedisLoggerDeps are what a RedisLogger needs.
type RedisLoggerDeps struct {
	// Logger receives the lines, with component=redis. Required.
	Logger *zap.Logger
}

// defaultRedisLogInterval is the default of RedisLoggerConfig.Interval.
const defaultRedisLogInterval = 10 * time.Second

// NewRedisLogger validates cfg and deps and returns a RedisLogger; errors
// are *FieldError values naming the field (e.g.
// "RedisLoggerConfig.Interval"). It starts no goroutine.
func NewRedisLogger(cfg RedisLoggerConfig, deps RedisLoggerDeps) (*RedisLogger, error) {
	var errs []error
	if cfg.Interval != 0 {
		errs = append(errs, CheckLimits("RedisLoggerConfig", DurationLimit("Interval", cfg.Interval, 100*time.Millisecond, time.Hour)))
	}
	if deps.Logger == nil {
		errs = append(errs, &FieldError{Field: "RedisLoggerDeps.Logger", Reason: "is required"})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("pipeline: redis logger: %w", err)
	}
	if cfg.Interval == 0 {
		cfg.Interval = defaultRedisLogInterval
	}
	return &RedisLogger{log: deps.Logger.With(zap.String("component", "redis")), interval: cfg.Interval, seen: map[string]*logRate{}}, nil
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
