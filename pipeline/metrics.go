package pipeline

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Metrics are the runtime's Prometheus metrics, shared by every Runner of
// a process and labelled by stage. Create one per registry with NewMetrics.
type Metrics struct {
	recordsIn      *prometheus.CounterVec
	recordsOut     *prometheus.CounterVec
	deadLetters    *prometheus.CounterVec
	processSeconds *prometheus.HistogramVec
	processErrors  *prometheus.CounterVec
	produceErrors  *prometheus.CounterVec
	commitErrors   *prometheus.CounterVec
	lag            *prometheus.GaugeVec
	paused         *prometheus.GaugeVec
	inflight       *prometheus.GaugeVec
	boundHits      *prometheus.CounterVec
	sinceSuccess   *prometheus.GaugeVec
	stalled        *prometheus.GaugeVec
	outages        *prometheus.CounterVec
}

// MetricsDeps are what NewMetrics needs. There is nothing to configure:
// the metric names are fixed and labelled by stage.
type MetricsDeps struct {
	// Registerer receives the runtime metrics. Required.
	Registerer prometheus.Registerer
}

// NewMetrics creates the runtime metrics and registers them on
// deps.Registerer. A missing Registerer is a *FieldError naming it; a
// registration that fails (the metrics are already registered on that
// registry, say) is an error wrapping the registry's, and leaves none of
// the runtime metrics registered.
func NewMetrics(deps MetricsDeps) (*Metrics, error) {
	reg := deps.Registerer
	if reg == nil {
		return nil, fmt.Errorf("pipeline: metrics: %w", &FieldError{Field: "MetricsDeps.Registerer", Reason: "is required"})
	}
	m := &Metrics{
		recordsIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_records_in_total",
			Help: "Records fetched by a stage."}, []string{"stage"}),
		recordsOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_records_out_total",
			Help: "Records a stage produced and Kafka acknowledged, by topic."}, []string{"stage", "topic"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_dead_letters_total",
			Help: "Records a stage sent to the dead-letter topic, by reason."}, []string{"stage", "reason"}),
		processSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "leadflow_process_seconds",
			Help: "Time a stage took to process one batch.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}, []string{"stage"}),
		processErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_process_errors_total",
			Help: "Batches that failed and were retried."}, []string{"stage"}),
		produceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_produce_errors_total",
			Help: "Outputs whose produce failed transiently and was retried."}, []string{"stage"}),
		commitErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_commit_errors_total",
			Help: "Offset commits that failed."}, []string{"stage"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "leadflow_consumer_lag_records",
			Help: "Records between a partition's high watermark and the last record fetched."}, []string{"stage", "topic", "partition"}),
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "leadflow_paused_partitions",
			Help: "Partitions whose fetching is paused (backpressure)."}, []string{"stage"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "leadflow_inflight_records",
			Help: "Records fetched and not yet finished."}, []string{"stage"}),
		boundHits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_inflight_bound_hits_total",
			Help: "Times an in-flight bound paused a partition or the stage's polling."}, []string{"stage", "scope"}),
	}
	cs := append([]prometheus.Collector{m.recordsIn, m.recordsOut, m.deadLetters, m.processSeconds, m.processErrors,
		m.produceErrors, m.commitErrors, m.lag, m.paused, m.inflight, m.boundHits}, watchCollectors(m)...)
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("pipeline: metrics already registered on this registry (one NewMetrics per registry, shared by every Runner): %w", err)
			}
			return nil, fmt.Errorf("pipeline: registering metrics: %w", err)
		}
	}
	return m, nil
}

func zapTP(topic string, partition int32) zap.Field {
	return zap.Dict("partition", zap.String("topic", topic), zap.Int32("id", partition))
}
