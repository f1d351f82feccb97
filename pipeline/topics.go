package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TopicSpec is a topic to create at start (EnsureTopics). The
// application lists its own (package stages/topics).
type TopicSpec struct {
	Name       string
	Partitions int32 // 0: TopicsConfig.Partitions
	Compacted  bool
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
		} else {
			if cfg.Retention > 0 {
				configs["retention.ms"] = ptr(strconv.FormatInt(cfg.Retention.Milliseconds(), 10))
			}
			if cfg.RetentionBytes > 0 {
				configs["retention.bytes"] = ptr(strconv.FormatInt(cfg.RetentionBytes, 10))
			}
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
