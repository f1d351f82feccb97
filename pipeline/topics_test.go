package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

func TestEnsureTopicsSetsRetentionAndCompaction(t *testing.T) {
	env := kafkatest.New(t, 1)
	topics := pipeline.NewTopics(kafkatest.Prefix(t))
	cfg := pipeline.DefaultTopicsConfig()
	cfg.ReplicationFactor = 1
	cfg.Retention = 15 * time.Minute
	ctx := context.Background()
	if err := pipeline.EnsureTopics(ctx, env.Admin, cfg, topics.Specs()); err != nil {
		t.Fatal(err)
	}
	rcs, err := env.Admin.DescribeTopicConfigs(ctx, topics.Raw, topics.Control)
	if err != nil {
		t.Fatal(err)
	}
	if len(rcs) != 2 {
		t.Fatalf("described %d topics, want 2", len(rcs))
	}
	for _, rc := range rcs {
		got := map[string]string{}
		for _, c := range rc.Configs {
			if c.Value != nil {
				got[c.Key] = *c.Value
			}
		}
		switch rc.Name {
		case topics.Raw:
			if got["retention.ms"] != "900000" {
				t.Errorf("%s retention.ms = %q, want 900000", rc.Name, got["retention.ms"])
			}
		case topics.Control:
			if got["cleanup.policy"] != "compact" {
				t.Errorf("%s cleanup.policy = %q, want compact", rc.Name, got["cleanup.policy"])
			}
		}
	}
	// A second call finds the topics there and changes nothing.
	if err := pipeline.EnsureTopics(ctx, env.Admin, cfg, topics.Specs()); err != nil {
		t.Fatalf("second EnsureTopics: %v", err)
	}
}
