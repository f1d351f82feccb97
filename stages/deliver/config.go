package deliver

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/leadflow/leadflow/pipeline"
)

// YAML keys of Config, used by Validate to name the field it rejects.
const (
	keyMaxSubjects          = "max_subjects"
	keyMaxBytes             = "max_bytes"
	keyLinger               = "linger"
	keyMaxInFlight          = "max_in_flight"
	keyMaxInFlightCap       = "max_in_flight_cap"
	keyQueueWaitMax         = "queue_wait_max"
	keyRateLimit            = "rate_limit"
	keyRateBurst            = "rate_burst"
	keyConnectTimeout       = "connect_timeout"
	keyTimeout              = "timeout"
	keyRetrySchedule        = "retry_schedule"
	keyInProcessRetryMax    = "in_process_retry_max"
	keySpillDelay           = "spill_delay"
	keyRetryAfterMax        = "retry_after_max"
	keyMaxAge               = "max_age"
	keyQueueSize            = "queue_size"
	keyMaxQueued            = "max_queued"
	keyMaxQueuedBytes       = "max_queued_bytes"
	keyBreakerFailures      = "breaker_failures"
	keyBreakerCooldown      = "breaker_cooldown"
	keyBreakerCooldownMax   = "breaker_cooldown_max"
	keyUnknownEndpointGrace = "unknown_endpoint_grace"
	keyEndpointIdleTimeout  = "endpoint_idle_timeout"
	keyAttemptLogSize       = "attempt_log_size"
	keyAttemptLogTTL        = "attempt_log_ttl"
	keyAttemptLogBodies     = "attempt_log_bodies"
	keyAttemptLogBodyBytes  = "attempt_log_body_bytes"
	keyAttemptLogBodyEvery  = "attempt_log_body_interval"
	keyRetryRecordMaxBytes  = "retry_record_max_bytes"
	keyTierHoldMaxRecords   = "tier_hold_max_records"
	keyTierHoldMaxBytes     = "tier_hold_max_bytes"
)

// MaxResponseBytes is how much of a response body is read (DESIGN 1.3);
// the rest is discarded unread.
const MaxResponseBytes = 64 << 10

// Config is the deliver stage's section of the configuration
// (`stages.deliver`). DefaultConfig returns every documented default.
type Config struct {
	// Runtime tunes consuming, batching, bounds and commits. The deliver
	// stage holds records while their webhook request is pending, so its
	// defaults allow more unfinished records than other stages' (see
	// DefaultConfig).
	Runtime pipeline.RuntimeConfig `yaml:"runtime"`

	// MaxSubjects is the most subjects in one request, for endpoints that
	// set none of their own (Endpoint.MaxSubjects). Default 100.
	MaxSubjects int `yaml:"max_subjects"`
	// MaxBytes bounds a request body in bytes; a batch is sent before a
	// subject would take it over. A single subject larger than this is
	// sent alone. Default 1 MiB (1048576).
	MaxBytes int `yaml:"max_bytes"`
	// Linger is how long a batch that is not full waits for more subjects
	// before it is sent. Default 1s.
	Linger time.Duration `yaml:"linger"`
	// StableBatches also ends a batch after a subject whose delivery
	// request id is a cut point (a hash of the id: one in max_subjects/2
	// on average), so that a replay after a crash, which starts wherever
	// the last commit was, forms the same requests under the same
	// webhook-ids from the first cut point on, and a receiver that
	// de-duplicates by webhook-id recognises most duplicates. Batches in a
	// burst are then about half as full. false: batches fill up to
	// max_subjects. Default true.
	StableBatches bool `yaml:"stable_batches"`
	// MaxInFlight is the most requests in flight to one endpoint at once.
	// Default 4.
	MaxInFlight int `yaml:"max_in_flight"`
	// MaxInFlightCap bounds a webhook's own max_in_flight (set through the
	// admin API): a larger value is lowered to it. Default 32.
	MaxInFlightCap int `yaml:"max_in_flight_cap"`
	// RateLimit bounds requests per second to one endpoint, for webhooks
	// that set no rate_limit of their own. Waiting for it is backpressure
	// and uses up no attempt. Default 0 (no limit).
	RateLimit float64 `yaml:"rate_limit"`
	// RateBurst is the burst of the rate limit, in requests. Default 1
	// (used only with rate_limit).
	RateBurst int `yaml:"rate_burst"`
	// ConnectTimeout bounds one TCP connect (and TLS handshake). Default 5s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Timeout bounds one request from connect to the last byte of the
	// response read. Default 15s.
	Timeout time.Duration `yaml:"timeout"`
	// RetrySchedule lists the waits before each retry of a failed request:
	// the first retry after RetrySchedule[0], and so on; after the last
	// one fails the request is dead-lettered. Default [0s, 1m, 5m, 30m, 2h]
	// (immediately, then after 1 min, 5 min, 30 min and 2 h: 6 attempts).
	RetrySchedule []time.Duration `yaml:"retry_schedule"`
	// InProcessRetryMax is the longest wait kept in process; longer waits
	// go through the delay-tier topic deliveries.retry.<wait> (one per
	// distinct longer wait, plus spill_delay). Default 5s.
	InProcessRetryMax time.Duration `yaml:"in_process_retry_max"`
	// SpillDelay is the delay tier that requests are spilled to when they
	// cannot be queued and their endpoint is not waited for (it is failing,
	// or the process-wide max_queued is hit), and the shortest wait of a
	// slow endpoint's deferral. It is short so that a spill is consumed
	// again almost at once; it is not 0 so that a spill that cannot be
	// queued again does not loop through Kafka at full speed. Spills use
	// up no attempt. Default 1s.
	SpillDelay time.Duration `yaml:"spill_delay"`
	// QueueWaitMax is how long the worker of a deliveries partition waits
	// for room in a healthy endpoint's full queue (queue_size) before the
	// endpoint counts as slow. A busy endpoint makes room as soon as one of
	// its requests is sent, so this wait is backpressure on the partition,
	// and the subjects go out in order at the endpoint's speed. An endpoint
	// that makes no room within it is slow: until its queue is empty again,
	// what does not fit is deferred through the retry tiers, so that it
	// holds back the other endpoints of its partition for at most this
	// long. 0 never waits (every full queue spills). Default 500ms.
	QueueWaitMax time.Duration `yaml:"queue_wait_max"`
	// RetryAfterMax caps how long a Retry-After answer (429 or 503) may
	// make an endpoint wait. Default 1h.
	RetryAfterMax time.Duration `yaml:"retry_after_max"`
	// MaxAge is the longest a request may wait without using up its
	// attempts (spilled, deferred by an open breaker, or Retry-After); an
	// older request is dead-lettered with reason "expired". Default 24h.
	MaxAge time.Duration `yaml:"max_age"`
	// QueueSize bounds the subjects queued in process for one endpoint
	// (batching or waiting for a send slot, not in flight); above it the
	// partition waits for a healthy endpoint (queue_wait_max) and new
	// subjects of a failing or slow one are spilled. Default 2000.
	QueueSize int `yaml:"queue_size"`
	// MaxQueued bounds the subjects queued in process for all endpoints
	// together; above it new subjects are spilled. Default 100000.
	MaxQueued int `yaml:"max_queued"`
	// MaxQueuedBytes is the same bound in subject bytes. Default 128 MiB.
	MaxQueuedBytes int64 `yaml:"max_queued_bytes"`
	// BreakerFailures is how many failed attempts in a row open an
	// endpoint's circuit breaker. Default 5.
	BreakerFailures int `yaml:"breaker_failures"`
	// BreakerCooldown is how long an open breaker waits before one probe
	// request; every failed probe doubles it up to BreakerCooldownMax.
	// Default 30s.
	BreakerCooldown time.Duration `yaml:"breaker_cooldown"`
	// BreakerCooldownMax caps the breaker's cooldown. Default 10m.
	BreakerCooldownMax time.Duration `yaml:"breaker_cooldown_max"`
	// AllowPrivateNetworks allows webhook URLs that resolve to loopback,
	// private, link-local, CGNAT and other non-public addresses (checked at
	// connect time, after DNS). Default false; `leadflow dev` sets it.
	AllowPrivateNetworks bool `yaml:"allow_private_networks"`
	// UnknownEndpointGrace is how long after the stage first saw it a
	// request for an endpoint this process does not know (the control topic
	// may lag) is spilled and tried again; after it such requests are
	// dropped (the webhook was deleted). Default 1m.
	UnknownEndpointGrace time.Duration `yaml:"unknown_endpoint_grace"`
	// EndpointIdleTimeout is how long an endpoint's in-process state
	// (breaker, rate limiter) is kept after its last request. Default 10m.
	EndpointIdleTimeout time.Duration `yaml:"endpoint_idle_timeout"`
	// AttemptLogSize is how many recent attempts are kept per webhook in
	// Redis. Default 100.
	AttemptLogSize int `yaml:"attempt_log_size"`
	// AttemptLogTTL is how long a webhook's attempt log lives after its
	// last attempt. Default 168h (7 days).
	AttemptLogTTL time.Duration `yaml:"attempt_log_ttl"`
	// AttemptLogBodies is how many of a webhook's newest attempts keep
	// their request (headers and body) and the start of the response body
	// in the attempt log, for the console's View Logs and Resend; 0 keeps
	// none. They live as long as the attempt log (AttemptLogTTL). Redis
	// holds at most AttemptLogBodies × AttemptLogBodyBytes per webhook.
	// Default 20.
	AttemptLogBodies int `yaml:"attempt_log_bodies"`
	// AttemptLogBodyBytes is the largest request body kept in the attempt
	// log, in bytes; an attempt with a larger body keeps its headers and
	// size only (and cannot be resent). Default 262144 (256 KiB).
	AttemptLogBodyBytes int `yaml:"attempt_log_body_bytes"`
	// AttemptLogBodyInterval is the least time between two attempts of one
	// webhook whose request the deliver stage keeps (test requests and
	// resends are always kept), so that a busy endpoint does not copy
	// every body into Redis. 0 keeps every one. Default 100ms.
	AttemptLogBodyInterval time.Duration `yaml:"attempt_log_body_interval"`
	// RetryRecordMaxBytes bounds a retry or dead-letter record; a request
	// whose record would be larger is split in two (each half then has its
	// own webhook-id). Keep it under the broker's max.message.bytes.
	// Default 900000.
	RetryRecordMaxBytes int `yaml:"retry_record_max_bytes"`
	// TierHoldMaxRecords bounds the retry-tier records held in process
	// while they wait to be due (all tier partitions together). They count
	// against runtime.max_inflight_records, so this must be at most half
	// of it, leaving the rest to deliveries; records fetched past it are
	// written back to the end of their tier. Default 20000.
	TierHoldMaxRecords int `yaml:"tier_hold_max_records"`
	// TierHoldMaxBytes is the same bound in bytes (at most half of
	// runtime.max_inflight_bytes). Default 64 MiB.
	TierHoldMaxBytes int64 `yaml:"tier_hold_max_bytes"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	rt := pipeline.DefaultRuntimeConfig()
	// Records stay unfinished while their batch lingers or their request
	// is in flight: allow about a linger's worth of traffic. A slow
	// endpoint's requests in flight keep unfinished every input batch one
	// of their subjects came from, which can be most of a partition's
	// records for the endpoint's latency: 50,000 lets a 20,000-subject
	// burst to another endpoint of the partition go out meanwhile.
	rt.PartitionMaxRecords = 50000
	rt.PartitionMaxBytes = 32 << 20
	rt.MaxInflightRecords = 100000
	rt.MaxInflightBytes = 192 << 20
	// Small fetches: a retry tier's partition is paused at its first record
	// that is not due, and what was fetched past it waits in process.
	rt.FetchMaxBytes = 2 << 20
	return Config{
		Runtime:                rt,
		MaxSubjects:            100,
		MaxBytes:               1 << 20,
		Linger:                 time.Second,
		StableBatches:          true,
		MaxInFlight:            4,
		MaxInFlightCap:         32,
		RateBurst:              1,
		ConnectTimeout:         5 * time.Second,
		Timeout:                15 * time.Second,
		RetrySchedule:          []time.Duration{0, time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour},
		InProcessRetryMax:      5 * time.Second,
		SpillDelay:             time.Second,
		QueueWaitMax:           500 * time.Millisecond,
		RetryAfterMax:          time.Hour,
		MaxAge:                 24 * time.Hour,
		QueueSize:              2000,
		MaxQueued:              100000,
		MaxQueuedBytes:         128 << 20,
		BreakerFailures:        5,
		BreakerCooldown:        30 * time.Second,
		BreakerCooldownMax:     10 * time.Minute,
		UnknownEndpointGrace:   time.Minute,
		EndpointIdleTimeout:    10 * time.Minute,
		AttemptLogSize:         100,
		AttemptLogTTL:          7 * 24 * time.Hour,
		AttemptLogBodies:       20,
		AttemptLogBodyBytes:    256 << 10,
		AttemptLogBodyInterval: 100 * time.Millisecond,
		RetryRecordMaxBytes:    900000,
		TierHoldMaxRecords:     20000,
		TierHoldMaxBytes:       64 << 20,
	}
}

// Validate checks c; errors name the field under section (e.g.
// "stages.deliver" gives "stages.deliver.max_subjects").
func (c Config) Validate(section string) error {
	errs := []error{
		c.Runtime.Validate(join(section, "runtime")),
		pipeline.CheckLimits(section,
			pipeline.IntLimit(keyMaxSubjects, c.MaxSubjects, 1, 10000),
			pipeline.IntLimit(keyMaxBytes, c.MaxBytes, 1<<10, 64<<20),
			pipeline.DurationLimit(keyLinger, c.Linger, 0, time.Minute),
			pipeline.IntLimit(keyMaxInFlight, c.MaxInFlight, 1, 1000),
			pipeline.IntLimit(keyMaxInFlightCap, c.MaxInFlightCap, 1, 1000),
			pipeline.DurationLimit(keyQueueWaitMax, c.QueueWaitMax, 0, time.Minute),
			pipeline.FloatLimit(keyRateLimit, c.RateLimit, 0, 1e6),
			pipeline.IntLimit(keyRateBurst, c.RateBurst, 1, 100000),
			pipeline.DurationLimit(keyConnectTimeout, c.ConnectTimeout, 10*time.Millisecond, 5*time.Minute),
			pipeline.DurationLimit(keyTimeout, c.Timeout, 10*time.Millisecond, 10*time.Minute),
			pipeline.IntLimit(keyRetrySchedule+" (length)", len(c.RetrySchedule), 0, 100),
			pipeline.DurationLimit(keyInProcessRetryMax, c.InProcessRetryMax, 0, time.Minute),
			pipeline.DurationLimit(keySpillDelay, c.SpillDelay, time.Millisecond, 24*time.Hour),
			pipeline.DurationLimit(keyRetryAfterMax, c.RetryAfterMax, 0, 24*time.Hour),
			pipeline.DurationLimit(keyMaxAge, c.MaxAge, time.Second, 30*24*time.Hour),
			pipeline.IntLimit(keyQueueSize, c.QueueSize, 1, 10000000),
			pipeline.IntLimit(keyMaxQueued, c.MaxQueued, 1, 100000000),
			pipeline.IntLimit(keyMaxQueuedBytes, c.MaxQueuedBytes, 1<<10, 1<<36),
			pipeline.IntLimit(keyBreakerFailures, c.BreakerFailures, 1, 1000000),
			pipeline.DurationLimit(keyBreakerCooldown, c.BreakerCooldown, time.Millisecond, 24*time.Hour),
			pipeline.DurationLimit(keyBreakerCooldownMax, c.BreakerCooldownMax, c.BreakerCooldown, 24*time.Hour),
			pipeline.DurationLimit(keyUnknownEndpointGrace, c.UnknownEndpointGrace, 0, 24*time.Hour),
			pipeline.DurationLimit(keyEndpointIdleTimeout, c.EndpointIdleTimeout, time.Second, 7*24*time.Hour),
			pipeline.IntLimit(keyAttemptLogSize, c.AttemptLogSize, 0, 100000),
			pipeline.DurationLimit(keyAttemptLogTTL, c.AttemptLogTTL, time.Minute, 365*24*time.Hour),
			pipeline.IntLimit(keyAttemptLogBodies, c.AttemptLogBodies, 0, min(c.AttemptLogSize, 1000)),
			pipeline.IntLimit(keyAttemptLogBodyBytes, c.AttemptLogBodyBytes, 1<<10, 16<<20),
			pipeline.DurationLimit(keyAttemptLogBodyEvery, c.AttemptLogBodyInterval, 0, time.Hour),
			pipeline.IntLimit(keyRetryRecordMaxBytes, c.RetryRecordMaxBytes, 64<<10, 1<<30),
			pipeline.IntLimit(keyTierHoldMaxRecords, c.TierHoldMaxRecords, 1, max(c.Runtime.MaxInflightRecords/2, 1)),
			pipeline.IntLimit(keyTierHoldMaxBytes, c.TierHoldMaxBytes, 1<<10, max(c.Runtime.MaxInflightBytes/2, 1<<10)),
		),
	}
	for i, d := range c.RetrySchedule {
		errs = append(errs, pipeline.CheckLimits(section,
			pipeline.DurationLimit(keyRetrySchedule+"["+strconv.Itoa(i)+"]", d, 0, 7*24*time.Hour)))
		if d%time.Millisecond != 0 {
			errs = append(errs, &pipeline.FieldError{Field: join(section, keyRetrySchedule+"["+strconv.Itoa(i)+"]"),
				Reason: fmt.Sprintf("%s is not a whole number of milliseconds", d)})
		}
	}
	if c.SpillDelay%time.Millisecond != 0 {
		errs = append(errs, &pipeline.FieldError{Field: join(section, keySpillDelay),
			Reason: fmt.Sprintf("%s is not a whole number of milliseconds", c.SpillDelay)})
	}
	if c.QueueSize < c.MaxSubjects && c.QueueSize > 0 {
		errs = append(errs, &pipeline.FieldError{Field: join(section, keyQueueSize),
			Reason: fmt.Sprintf("%d is less than max_subjects (%d): a full batch could never be queued", c.QueueSize, c.MaxSubjects)})
	}
	return errors.Join(errs...)
}

func join(section, field string) string {
	if section == "" {
		return field
	}
	return section + "." + field
}

// TierName is the suffix of the retry topic of delay d: "50ms", "30s",
// "1m", "2h", "1h30m".
func TierName(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0 && d < time.Hour:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0 && d < time.Minute:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d%time.Millisecond == 0 && d < time.Second:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	// Mixed units: Go's own form without the trailing zero units
	// ("1h30m0s" becomes "1h30m").
	s := d.String()
	for len(s) > 2 && (s[len(s)-2:] == "0s" || s[len(s)-2:] == "0m") && (s[len(s)-3] < '0' || s[len(s)-3] > '9') {
		s = s[:len(s)-2]
	}
	return s
}

// Tiers returns the distinct delay tiers of c in increasing order: every
// retry_schedule wait longer than in_process_retry_max, and spill_delay.
func (c Config) Tiers() []time.Duration {
	var out []time.Duration
	for _, d := range c.RetrySchedule {
		if d > c.InProcessRetryMax {
			out = append(out, d)
		}
	}
	out = append(out, c.SpillDelay)
	slices.Sort(out)
	return slices.Compact(out)
}

// TierNames names the delay tiers of c (Tiers, TierName) in increasing
// order: each has a retry topic (topics.Names.Retry) that the stage
// consumes, created at start with the other topics (topics.Names.Specs).
func (c Config) TierNames() []string {
	tiers := c.Tiers()
	out := make([]string, len(tiers))
	for i, d := range tiers {
		out[i] = TierName(d)
	}
	return out
}
