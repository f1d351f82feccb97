package topics_test

import (
	"slices"
	"testing"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/topics"
)

// TestSpecsListEveryTopicAndTheRetryTiers: a process creates every
// topic of the application, the delivery retry tiers included, whichever
// stages it runs; control is one compacted partition.
func TestSpecsListEveryTopicAndTheRetryTiers(t *testing.T) {
	n := topics.New("p.")
	specs := n.Specs([]string{"1m", "5m"})
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	want := []string{"p.sessions.raw", "p.hits", "p.companies", "p.leads.changes", "p.deliveries",
		"p.deliveries.dlq", "p.dlq", "p.control", "p.deliveries.retry.1m", "p.deliveries.retry.5m"}
	if !slices.Equal(names, want) {
		t.Fatalf("specs = %v, want %v", names, want)
	}
	ctl := specs[slices.IndexFunc(specs, func(s pipeline.TopicSpec) bool { return s.Name == n.Control })]
	if ctl.Partitions != 1 || !ctl.Compacted {
		t.Errorf("control = %+v, want 1 compacted partition", ctl)
	}
	if got := n.Group("enrich"); got != "p.enrich" {
		t.Errorf("Group = %q", got)
	}
	if len(n.Specs(nil)) != 8 {
		t.Errorf("Specs(nil) has %d topics, want 8", len(n.Specs(nil)))
	}
}
