package control

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
)

// Opt configures a Store (New, NewInMemory).
type Opt func(*options)

type options struct {
	logger       *zap.Logger
	secretKey    []byte
	previousKeys [][]byte
	fetchMaxWait time.Duration
	clock        func() time.Time
	kafkaOpts    []kgo.Opt
	topicWait    time.Duration // how long Start retries a topic the broker does not know yet
}

func defaultOptions() options {
	return options{logger: zap.NewNop(), fetchMaxWait: 100 * time.Millisecond, clock: time.Now, topicWait: 30 * time.Second}
}

// Limits of the options, checked by New.
const (
	minFetchMaxWait = time.Millisecond
	maxFetchMaxWait = time.Second // a change must be in effect everywhere within a second
)

func (o options) validate() error {
	return pipeline.CheckLimits("control",
		pipeline.DurationLimit("fetch_max_wait", o.fetchMaxWait, minFetchMaxWait, maxFetchMaxWait))
}

// WithLogger sets the logger. Default: none (zap.NewNop).
func WithLogger(l *zap.Logger) Opt {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithSecretKey sets the 32-byte AES-256 key that seals webhook secrets in
// the control topic (ParseSecretKey reads the configured form). Default:
// none, and secrets are stored in plain text (Start logs a warning).
// Every process that reads webhooks needs the key that sealed them.
func WithSecretKey(key []byte) Opt {
	return func(o *options) { o.secretKey = key }
}

// WithPreviousSecretKeys adds keys that open secrets sealed before a key
// rotation; secrets are always sealed with WithSecretKey's key. Default:
// none.
func WithPreviousSecretKeys(keys ...[]byte) Opt {
	return func(o *options) { o.previousKeys = append(o.previousKeys, keys...) }
}

// WithFetchMaxWait sets how long the broker may hold a fetch of the
// control topic open waiting for new records: the delay before a change
// written by another process is in effect here. Default 100ms, between
// 1ms and 1s.
func WithFetchMaxWait(d time.Duration) Opt {
	return func(o *options) { o.fetchMaxWait = d }
}

// WithClock sets the clock that stamps CreatedAt, UpdatedAt and
// disabling. Default time.Now.
func WithClock(now func() time.Time) Opt {
	return func(o *options) {
		if now != nil {
			o.clock = now
		}
	}
}

// WithKafkaOpts appends franz-go client options (tests use it). Default none.
func WithKafkaOpts(opts ...kgo.Opt) Opt {
	return func(o *options) { o.kafkaOpts = append(o.kafkaOpts, opts...) }
}
