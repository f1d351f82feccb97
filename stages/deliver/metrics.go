package deliver

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a webhook request, the "outcome" label of
// leadflow_deliver_requests_total and Attempt.Outcome.
const (
	OutcomeSuccess      = "success"      // 2xx
	OutcomeRetry        = "retry"        // failed; retried per the schedule
	OutcomeDLQ          = "dlq"          // failed for the last time, or refused: dead-lettered
	OutcomeDisabled     = "disabled"     // 410 Gone: the endpoint was disabled
	OutcomeBackpressure = "backpressure" // 429/503 with Retry-After: waited, no attempt used
)

// metrics are the deliver stage's Prometheus metrics. Endpoint ids are
// deliberately not labels (their number is unbounded); per-endpoint detail
// is in the attempt log.
type metrics struct {
	requests     *prometheus.CounterVec
	subjects     prometheus.Counter
	latency      prometheus.Histogram
	queued       prometheus.Gauge
	held         prometheus.Gauge
	breaker      *prometheus.CounterVec
	spills       *prometheus.CounterVec
	backpressure *prometheus.CounterVec
	dropped      *prometheus.CounterVec
	logDropped   prometheus.Counter
	slow         prometheus.Counter

	success, retry, dlq, disabled, backoff prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_deliver_requests_total",
			Help: "Webhook requests by outcome: success, retry, dlq, disabled, backpressure."}, []string{"outcome"}),
		subjects: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_deliver_subjects_total",
			Help: "Subjects delivered (in requests answered 2xx)."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "leadflow_deliver_request_seconds",
			Help: "Time from sending a webhook request to its response (or failure).", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "leadflow_deliver_queued_subjects",
			Help: "Subjects queued in process (batching or waiting for a send slot), all endpoints."}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{Name: "leadflow_deliver_held_subjects",
			Help: "Subjects held in process: queued, in flight, or waiting for an in-process retry."}),
		breaker: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_deliver_breaker_transitions_total",
			Help: "Circuit breaker state changes, by new state: open, half_open, closed."}, []string{"state"}),
		spills: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_deliver_spills_total",
			Help: "Subjects handed to a retry tier without using an attempt, by reason: queue_full, slow, breaker_open, retry_after, unknown_endpoint, shutdown."}, []string{"reason"}),
		backpressure: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_deliver_backpressure_waits_total",
			Help: "Times sending to an endpoint waited (no attempt used), by reason: rate_limit, breaker_open, retry_after, tier_due, queue_full (a partition waited for room in a healthy endpoint's queue)."}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_deliver_dropped_total",
			Help: "Subjects not delivered on purpose, by reason: unknown_endpoint (webhook deleted)."}, []string{"reason"}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_deliver_slow_endpoints_total",
			Help: "Times an endpoint was found slow: its full queue made no room within queue_wait_max, so what does not fit is deferred until it catches up."}),
		logDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_deliver_attempt_log_dropped_total",
			Help: "Attempt log entries dropped because Redis could not keep up or failed."}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.subjects, m.latency, m.queued, m.held, m.breaker, m.spills, m.backpressure, m.dropped, m.logDropped, m.slow} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.success = m.requests.WithLabelValues(OutcomeSuccess)
	m.retry = m.requests.WithLabelValues(OutcomeRetry)
	m.dlq = m.requests.WithLabelValues(OutcomeDLQ)
	m.disabled = m.requests.WithLabelValues(OutcomeDisabled)
	m.backoff = m.requests.WithLabelValues(OutcomeBackpressure)
	return m, nil
}
