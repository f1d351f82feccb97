// Package topics names leadflow's topics: the application's external
// contract (the names docs/architecture.md, docs/operations.md and
// docs/contract.md use, which upstream tracking and downstream consumers
// read and write). The runtime (package pipeline) takes plain names; this
// package is the one place that knows which topics the application has
// and how they are shaped.
package topics

import "github.com/leadflow/leadflow/pipeline"

// Names holds the full names of leadflow's topics, all starting with the
// configured prefix (default "leadflow."). A Names is a value; it is safe
// for concurrent use.
type Names struct {
	Prefix        string
	Raw           string // sessions.raw: raw session events from upstream tracking
	Hits          string // hits: enriched hits keyed workspace|domain
	Companies     string // companies: company records (compacted)
	LeadChanges   string // leads.changes: lead changes keyed by lead
	Deliveries    string // deliveries: delivery requests keyed by endpoint
	DeliveriesDLQ string // deliveries.dlq: deliveries that used up their retries
	DLQ           string // dlq: bad input records, with reason headers
	Control       string // control: webhooks, segments, personas, automations (compacted)
}

// New names every topic with prefix.
func New(prefix string) Names {
	return Names{
		Prefix:        prefix,
		Raw:           prefix + "sessions.raw",
		Hits:          prefix + "hits",
		Companies:     prefix + "companies",
		LeadChanges:   prefix + "leads.changes",
		Deliveries:    prefix + "deliveries",
		DeliveriesDLQ: prefix + "deliveries.dlq",
		DLQ:           prefix + "dlq",
		Control:       prefix + "control",
	}
}

// Group is the consumer group of a stage.
func (n Names) Group(stage string) string { return n.Prefix + stage }

// Streams lists the topics every record passes through once, each read by
// one stage: sessions.raw, hits, leads.changes and deliveries. They carry
// nearly all of the bytes; an embedded broker bounds them (the bench's
// retention, `leadflow dev` dropping what was consumed).
func (n Names) Streams() []string { return []string{n.Raw, n.Hits, n.LeadChanges, n.Deliveries} }

// Retry names the delivery retry topic of a delay tier, e.g. "1m".
func (n Names) Retry(tier string) string { return n.Prefix + "deliveries.retry." + tier }

// Specs lists every topic of a deployment, to be created at start: the
// fixed topics and one delivery retry topic per tier in retryTiers (the
// deliver stage's tier names, deliver.Config.TierNames). A process creates
// them all whichever stages it runs, so that upstream can write at once.
// Retry topics take the default partition count, like deliveries, so that
// an endpoint's records stay on one partition index.
func (n Names) Specs(retryTiers []string) []pipeline.TopicSpec {
	specs := []pipeline.TopicSpec{
		{Name: n.Raw}, {Name: n.Hits}, {Name: n.Companies, Compacted: true},
		{Name: n.LeadChanges}, {Name: n.Deliveries}, {Name: n.DeliveriesDLQ}, {Name: n.DLQ},
		// One partition keeps the control log totally ordered and cheap to
		// read to its end at start.
		{Name: n.Control, Partitions: 1, Compacted: true},
	}
	for _, tier := range retryTiers {
		specs = append(specs, pipeline.TopicSpec{Name: n.Retry(tier)})
	}
	return specs
}
