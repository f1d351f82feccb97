package pipeline_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
)

// TestNewRunnerNamesMissingGroupAndDeadLetterTopic: the runtime takes its
// consumer group and dead-letter topic as plain names and rejects a
// runner without them, naming the field.
func TestNewRunnerNamesMissingGroupAndDeadLetterTopic(t *testing.T) {
	st := &copyStage{name: "copy", in: "t.in", out: "t.out"}
	full := pipeline.Deps{Logger: zap.NewNop(), Metrics: testMetrics(t),
		Group: "t.copy", DeadLetterTopic: "t.dlq"}
	for field, deps := range map[string]pipeline.Deps{
		"Deps.Group":           func() pipeline.Deps { d := full; d.Group = ""; return d }(),
		"Deps.DeadLetterTopic": func() pipeline.Deps { d := full; d.DeadLetterTopic = ""; return d }(),
	} {
		if _, err := pipeline.NewRunner(st, testConfig(), deps); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("without %s: err = %v, want one naming it", field, err)
		}
	}
}

// testMetrics returns runtime metrics on a fresh registry.
func testMetrics(t testing.TB) *pipeline.Metrics {
	t.Helper()
	m, err := pipeline.NewMetrics(pipeline.MetricsDeps{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
