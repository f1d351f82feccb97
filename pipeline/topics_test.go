package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

func TestEnsureTopicsSetsRetentionAndCompaction(t *testing.T) {
	env := kafkatest.New(t, 1)
	plain, compacted := env.Prefix+"plain", env.Prefix+"compacted"
	specs := []pipeline.TopicSpec{{Name: plain}, {Name: compacted, Partitions: 1, Compacted: true}}
	cfg := pipeline.DefaultTopicsConfig()
	cfg.ReplicationFactor = 1
	cfg.Retention = 15 * time.Minute
	cfg.RetentionBytes = 16 << 20
	ctx := context.Background()
	if err := pipeline.EnsureTopics(ctx, env.Admin, cfg, specs); err != nil {
		t.Fatal(err)
	}
	// A broker that just created a topic may describe it before its
	// configs are applied (real Kafka answers "" for a moment): poll.
	want := map[string][][2]string{
		plain:     {{"retention.ms", "900000"}, {"retention.bytes", "16777216"}},
		compacted: {{"cleanup.policy", "compact"}},
	}
	var last string
	configsApplied := func() bool {
		rcs, err := env.Admin.DescribeTopicConfigs(ctx, plain, compacted)
		if err != nil {
			last = err.Error()
			return false
		}
		if len(rcs) != 2 {
			last = fmt.Sprintf("described %d topics, want 2", len(rcs))
			return false
		}
		for _, rc := range rcs {
			for _, kv := range want[rc.Name] {
				got := ""
				for _, c := range rc.Configs {
					if c.Key == kv[0] && c.Value != nil {
						got = *c.Value
					}
				}
				if got != kv[1] {
					last = fmt.Sprintf("%s %s = %q, want %s", rc.Name, kv[0], got, kv[1])
					return false
				}
			}
		}
		return true
	}
	for deadline := time.Now().Add(10 * time.Second); !configsApplied(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(last)
		}
	}
	// A second call finds the topics there and changes nothing.
	if err := pipeline.EnsureTopics(ctx, env.Admin, cfg, specs); err != nil {
		t.Fatalf("second EnsureTopics: %v", err)
	}
}
