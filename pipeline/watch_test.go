package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// value reads one gauge or counter.
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.Counter.GetValue()
}

func newTestWatch(t *testing.T) (*Watch, *observer.ObservedLogs, *Metrics) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	m, err := NewMetrics(MetricsDeps{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWatch(WatchConfig{Name: "leads", Grace: 10 * time.Second}, WatchDeps{Logger: zap.New(core), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	return w, logs, m
}

func TestWatchReportsAnOutageAfterTheGraceAndLogsItOnce(t *testing.T) {
	w, logs, m := newTestWatch(t)
	start := time.Now()
	w.Fail(DepRedis, errors.New("dial tcp 10.0.0.1:6379: connect: connection refused"))
	w.tick(start.Add(5 * time.Second))
	if err := w.Ready(); err != nil {
		t.Fatalf("Ready() = %v within the grace; want nil", err)
	}
	for _, d := range []time.Duration{11 * time.Second, 12 * time.Second, 13 * time.Second} {
		w.tick(start.Add(d))
	}
	err := w.Ready()
	if err == nil || !strings.HasPrefix(err.Error(), "redis: dial tcp 10.0.0.1:6379: connect: connection refused") {
		t.Fatalf("Ready() = %v after the grace; want the Redis failure first", err)
	}
	if strings.Contains(err.Error(), "leads") {
		t.Errorf("Ready() = %q repeats the stage name (the health check names it)", err)
	}
	if got := value(t, m.stalled.WithLabelValues("leads", "redis")); got != 1 {
		t.Errorf("leadflow_stalled{redis} = %v during the outage; want 1", got)
	}
	if n := logs.FilterMessageSnippet("outage:").Len(); n != 1 {
		t.Fatalf("%d outage start lines over three ticks; want 1", n)
	}
	w.OK(DepRedis)
	w.tick(start.Add(14 * time.Second))
	if err := w.Ready(); err != nil {
		t.Fatalf("Ready() = %v after a success; want nil", err)
	}
	over := logs.FilterMessage("outage over").All()
	if len(over) != 1 || over[0].ContextMap()["dependency"] != "redis" {
		t.Fatalf("outage end lines = %v; want one for redis", over)
	}
	if d, _ := over[0].ContextMap()["duration"].(time.Duration); d < 13*time.Second {
		t.Errorf("outage duration %v; want about 14s", d)
	}
	if got := value(t, m.stalled.WithLabelValues("leads", "redis")); got != 0 {
		t.Errorf("leadflow_stalled{redis} = %v after recovery; want 0", got)
	}
	if got := value(t, m.outages.WithLabelValues("leads", "redis")); got != 1 {
		t.Errorf("leadflow_outages_total{redis} = %v; want 1", got)
	}
}

// A dependency that fails now and then but keeps succeeding (one dead
// broker of three) is not an outage.
func TestWatchSuccessBetweenFailuresIsNoOutage(t *testing.T) {
	w, logs, _ := newTestWatch(t)
	start := time.Now()
	for range 3 {
		w.Fail(DepFetch, errors.New("broker 2: connection refused"))
		w.OK(DepFetch)
	}
	w.Fail(DepFetch, errors.New("broker 2: connection refused"))
	// The last failure is recent as of start+5s: within the grace.
	w.tick(start.Add(5 * time.Second))
	if err := w.Ready(); err != nil || logs.Len() != 0 {
		t.Fatalf("Ready() = %v, %d log lines; want nil and none", err, logs.Len())
	}
}

// A failing Process explained by Redis failing is reported once, as Redis.
func TestWatchProcessFailureExplainedByRedisIsNotRepeated(t *testing.T) {
	w, _, _ := newTestWatch(t)
	start := time.Now()
	w.Fail(DepRedis, errors.New("i/o timeout"))
	w.Fail(DepProcess, errors.New("leads: read state: i/o timeout"))
	w.tick(start.Add(11 * time.Second))
	err := w.Ready()
	if err == nil || strings.Contains(err.Error(), "process:") || !strings.Contains(err.Error(), "redis: i/o timeout") {
		t.Fatalf("Ready() = %v; want only the Redis failure", err)
	}
}

func TestWatchProbeReportsWhenNoDependencyExplainsIt(t *testing.T) {
	w, _, m := newTestWatch(t)
	now := time.Now()
	w.probe = func(time.Time) []Problem {
		return []Problem{{Dependency: depProgress, Since: now.Add(-20 * time.Second), Detail: "no batch processed on 1 partitions with 5 records waiting"}}
	}
	w.tick(now)
	if err := w.Ready(); err == nil || !strings.HasPrefix(err.Error(), "progress: no batch processed") {
		t.Fatalf("Ready() = %v; want the stall", err)
	}
	if got := value(t, m.stalled.WithLabelValues("leads", "progress")); got != 1 {
		t.Errorf("leadflow_stalled{progress} = %v; want 1", got)
	}
}

func TestRedisUnavailableClassifiesReplies(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), true},
		{errors.New("redis: connection pool timeout"), true},
	} {
		if got := RedisUnavailable(c.err); got != c.want {
			t.Errorf("RedisUnavailable(%v) = %v; want %v", c.err, got, c.want)
		}
	}
}

func TestRedisLoggerRateLimitsEachMessage(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	l, err := NewRedisLogger(RedisLoggerConfig{Interval: time.Hour}, RedisLoggerDeps{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	for range 60 {
		l.Printf(t.Context(), "connection pool: failed to dial after %d attempts: %v", 5, "connection refused")
	}
	l.Printf(t.Context(), "sentinel: new master=%q", "mymaster")
	all := logs.All()
	if len(all) != 2 {
		t.Fatalf("%d lines for 60 repeats of one message and one other; want 2", len(all))
	}
	if all[0].Level != zap.WarnLevel || all[0].Message != "connection pool: failed to dial after 5 attempts: connection refused" ||
		all[0].ContextMap()["component"] != "redis" {
		t.Errorf("first line = %v %q %v; want a structured warning from component redis", all[0].Level, all[0].Message, all[0].ContextMap())
	}
}
