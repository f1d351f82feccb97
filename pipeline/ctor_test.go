package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
)

// wantFieldErrors fails unless err is a configuration error whose
// *FieldError values name exactly fields.
func wantFieldErrors(t *testing.T, err error, fields ...string) {
	t.Helper()
	if !errors.Is(err, pipeline.ErrInvalidConfig) {
		t.Fatalf("err = %v; want an ErrInvalidConfig naming %v", err, fields)
	}
	for _, f := range fields {
		if !strings.Contains(err.Error(), f+":") {
			t.Errorf("err = %q; want it to name %s", err, f)
		}
	}
	var fe *pipeline.FieldError
	if !errors.As(err, &fe) {
		t.Errorf("err = %v; want a *FieldError", err)
	}
}

func TestNewWatchValidatesConfigAndDeps(t *testing.T) {
	ok := pipeline.WatchDeps{Logger: zap.NewNop()}
	cases := []struct {
		name   string
		cfg    pipeline.WatchConfig
		deps   pipeline.WatchDeps
		fields []string
	}{
		{"no name", pipeline.WatchConfig{Grace: time.Second}, ok, []string{"WatchConfig.Name"}},
		{"grace too short", pipeline.WatchConfig{Name: "leads", Grace: 500 * time.Millisecond}, ok, []string{"WatchConfig.Grace"}},
		{"grace negative", pipeline.WatchConfig{Name: "leads", Grace: -time.Second}, ok, []string{"WatchConfig.Grace"}},
		{"grace too long", pipeline.WatchConfig{Name: "leads", Grace: 2 * time.Hour}, ok, []string{"WatchConfig.Grace"}},
		{"no logger", pipeline.WatchConfig{Name: "leads"}, pipeline.WatchDeps{}, []string{"WatchDeps.Logger"}},
		{"all wrong", pipeline.WatchConfig{Grace: time.Millisecond}, pipeline.WatchDeps{}, []string{"WatchConfig.Name", "WatchConfig.Grace", "WatchDeps.Logger"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := pipeline.NewWatch(c.cfg, c.deps)
			if w != nil {
				t.Errorf("NewWatch returned a Watch with an error")
			}
			wantFieldErrors(t, err, c.fields...)
		})
	}
	// The zero grace is the default; metrics are optional.
	w, err := pipeline.NewWatch(pipeline.WatchConfig{Name: "process"}, ok)
	if err != nil || w.Name() != "process" || w.Ready() != nil {
		t.Fatalf("NewWatch(defaults) = %v, %v; want a ready Watch named process", w, err)
	}
}

func TestNewRedisLoggerValidatesConfigAndDeps(t *testing.T) {
	ok := pipeline.RedisLoggerDeps{Logger: zap.NewNop()}
	cases := []struct {
		name   string
		cfg    pipeline.RedisLoggerConfig
		deps   pipeline.RedisLoggerDeps
		fields []string
	}{
		{"interval too short", pipeline.RedisLoggerConfig{Interval: time.Millisecond}, ok, []string{"RedisLoggerConfig.Interval"}},
		{"interval negative", pipeline.RedisLoggerConfig{Interval: -time.Second}, ok, []string{"RedisLoggerConfig.Interval"}},
		{"interval too long", pipeline.RedisLoggerConfig{Interval: 2 * time.Hour}, ok, []string{"RedisLoggerConfig.Interval"}},
		{"no logger", pipeline.RedisLoggerConfig{}, pipeline.RedisLoggerDeps{}, []string{"RedisLoggerDeps.Logger"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := pipeline.NewRedisLogger(c.cfg, c.deps)
			if l != nil {
				t.Errorf("NewRedisLogger returned a logger with an error")
			}
			wantFieldErrors(t, err, c.fields...)
		})
	}
	if _, err := pipeline.NewRedisLogger(pipeline.RedisLoggerConfig{}, ok); err != nil {
		t.Fatalf("NewRedisLogger(defaults): %v", err)
	}
}

func TestNewMetricsNeedsARegisterer(t *testing.T) {
	m, err := pipeline.NewMetrics(pipeline.MetricsDeps{})
	if m != nil {
		t.Errorf("NewMetrics returned metrics with an error")
	}
	wantFieldErrors(t, err, "MetricsDeps.Registerer")
}

// NewMetrics used to panic (MustRegister) when the runtime metrics were
// already on the registry; it returns the registry's error instead, and
// registers nothing.
func TestNewMetricsTwiceOnOneRegistryIsAnError(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := pipeline.NewMetrics(pipeline.MetricsDeps{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	m, err := pipeline.NewMetrics(pipeline.MetricsDeps{Registerer: reg})
	if m != nil || err == nil {
		t.Fatalf("second NewMetrics on one registry = %v, %v; want an error", m, err)
	}
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("err = %v; want it to wrap prometheus.AlreadyRegisteredError", err)
	}

	// A clash on a later metric leaves none of the earlier ones behind.
	reg = prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_outages_total", Help: "clash"}))
	if _, err := pipeline.NewMetrics(pipeline.MetricsDeps{Registerer: reg}); err == nil {
		t.Fatal("NewMetrics with leadflow_outages_total taken: no error")
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "leadflow_outages_total" {
			t.Errorf("%s left registered after NewMetrics failed", mf.GetName())
		}
	}
}

func TestNewRunnerNamesDepsGrace(t *testing.T) {
	deps := runnerDeps(t)
	deps.Grace = 10 * time.Millisecond
	_, err := pipeline.NewRunner(&copyStage{name: "pass", in: "in", out: "out"}, pipeline.DefaultRuntimeConfig(), deps)
	wantFieldErrors(t, err, "Deps.Grace")
}

// runnerDeps returns complete runner dependencies with a broker that is
// never dialled (NewRunner does not connect).
func runnerDeps(t *testing.T) pipeline.Deps {
	t.Helper()
	m, err := pipeline.NewMetrics(pipeline.MetricsDeps{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.Deps{
		Logger: zap.NewNop(), Metrics: m, Group: "t.pass", DeadLetterTopic: "t.dlq",
		Kafka: pipeline.KafkaConfig{Brokers: []string{"127.0.0.1:1"}},
	}
}

func TestNewRunnerNamesEachMissingDep(t *testing.T) {
	full := runnerDeps(t)
	stage := &copyStage{name: "pass", in: "in", out: "out"}
	cases := []struct {
		name   string
		edit   func(*pipeline.Deps)
		fields []string
	}{
		{"no logger", func(d *pipeline.Deps) { d.Logger = nil }, []string{"Deps.Logger"}},
		{"no metrics", func(d *pipeline.Deps) { d.Metrics = nil }, []string{"Deps.Metrics"}},
		{"no group", func(d *pipeline.Deps) { d.Group = "" }, []string{"Deps.Group"}},
		{"no dead-letter topic", func(d *pipeline.Deps) { d.DeadLetterTopic = "" }, []string{"Deps.DeadLetterTopic"}},
		{"nothing", func(d *pipeline.Deps) { *d = pipeline.Deps{} }, []string{"Deps.Logger", "Deps.Metrics", "Deps.Group", "Deps.DeadLetterTopic"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			deps := full
			tc.edit(&deps)
			_, err := pipeline.NewRunner(stage, pipeline.DefaultRuntimeConfig(), deps)
			wantFieldErrors(t, err, tc.fields...)
		})
	}
	if _, err := pipeline.NewRunner(&copyStage{in: "in"}, pipeline.DefaultRuntimeConfig(), full); err == nil {
		t.Error("a stage without a name was accepted")
	} else {
		wantFieldErrors(t, err, "stage")
	}
	r, err := pipeline.NewRunner(stage, pipeline.DefaultRuntimeConfig(), full)
	if err != nil {
		t.Fatalf("complete deps: %v", err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Errorf("Close of a runner that never ran: %v", err)
	}
	if err := r.Run(context.Background(), time.Second); err == nil {
		t.Error("Run after Close returned nil; want an error")
	}
}

// sizedStage is a copyStage whose records may be up to max bytes
// (pipeline.OutputSizer).
type sizedStage struct {
	copyStage
	max int32
}

func (s *sizedStage) MaxOutputBytes() int32 { return s.max }

// TestProducerBufferedBytesHoldsTwoOfTheLargestRecords: the produce
// buffer's byte bound is validated (at least 1 MiB) and must hold two of
// the stage's largest records, or a record larger than it would fail as
// too large instead of waiting for room.
func TestProducerBufferedBytesHoldsTwoOfTheLargestRecords(t *testing.T) {
	deps := runnerDeps(t)
	small := pipeline.DefaultRuntimeConfig()
	small.ProducerMaxBufferedBytes = 1 << 10
	_, err := pipeline.NewRunner(&copyStage{name: "pass", in: "in"}, small, deps)
	wantFieldErrors(t, err, "stages.pass.runtime.producer_max_buffered_bytes")

	cfg := pipeline.DefaultRuntimeConfig()
	cfg.ProducerMaxBufferedBytes = 4 << 20
	_, err = pipeline.NewRunner(&sizedStage{copyStage: copyStage{name: "big", in: "in"}, max: 3 << 20}, cfg, deps)
	wantFieldErrors(t, err, "stages.big.runtime.producer_max_buffered_bytes")

	r, err := pipeline.NewRunner(&sizedStage{copyStage: copyStage{name: "fits", in: "in"}, max: 2 << 20}, cfg, deps)
	if err != nil {
		t.Fatalf("a bound of exactly two of the largest records: %v", err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
