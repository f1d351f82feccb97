package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Topics holds the full names of leadflow's topics, all starting with the
// configured prefix (default "leadflow.").
type Topics struct {
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

// NewTopics names every topic with prefix.
func NewTopics(prefix string) Topics {
	return Topics{
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
func (t Topics) Group(stage string) string { return t.Prefix + stage }

// Retry names the delivery retry topic of a delay tier, e.g. "1m".
func (t Topics) Retry(tier string) string { return t.Prefix + "deliveries.retry." + tier }

// TopicSpec is a topic to create at start.
type TopicSpec struct {
	Name       string
	Partitions int32 // 0: TopicsConfig.Partitions
	Compacted  bool
}

// Specs lists the topics every deployment has (retry tiers are added by
// the deliver stage's configuration).
func (t Topics) Specs() []TopicSpec {
	return []TopicSpec{
		{Name: t.Raw}, {Name: t.Hits}, {Name: t.Companies, Compacted: true},
		{Name: t.LeadChanges}, {Name: t.Deliveries}, {Name: t.DeliveriesDLQ}, {Name: t.DLQ},
		// One partition keeps the control log totally ordered and cheap to
		// read to its end at start.
		{Name: t.Control, Partitions: 1, Compacted: true},
	}
}

// EnsureTopics creates the topics in specs that do not exist yet.
// Existing topics are left alone (their partition count is not changed).
func EnsureTopics(ctx context.Context, adm *kadm.Client, cfg TopicsConfig, specs []TopicSpec) error {
	var errs []error
	for _, s := range specs {
		parts := s.Partitions
		if parts == 0 {
			parts = cfg.Partitions
		}
		configs := map[string]*string{}
		if s.Compacted {
			configs["cleanup.policy"] = ptr("compact")
		} else if cfg.Retention > 0 {
			configs["retention.ms"] = ptr(strconv.FormatInt(cfg.Retention.Milliseconds(), 10))
		}
		resp, err := adm.CreateTopic(ctx, parts, cfg.ReplicationFactor, configs, s.Name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s (%s partitions): %w", s.Name, strconv.Itoa(int(parts)), err))
		}
	}
	return errors.Join(errs...)
}

func ptr[T any](v T) *T { return &v }
