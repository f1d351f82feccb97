package deliver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/topics"
)

// ReplayGroup is the consumer group (after the topic prefix) whose
// committed offsets on deliveries.dlq mark what `leadflow replay --from
// dlq` has replayed; a replay of one webhook uses ReplayGroup + "." + ID.
const ReplayGroup = "deliver-replay"

// Replay re-queues dead letters from deliveries.dlq to deliveries: each
// dead-lettered request's delivery requests, exactly as they were first
// received (same request ids; the attempts start again from the first).
// With webhookID set only that webhook's dead letters are replayed. It
// reads up to the end of the topic as it was when Replay started, calls
// progress (if not nil) with the running count after each chunk, and
// returns how many delivery requests it re-queued.
//
// What was replayed is remembered as committed offsets of consumer groups,
// committed after each chunk is acknowledged by Kafka: PREFIX
// "deliver-replay" for replays of everything, and
// PREFIX "deliver-replay.<webhook>" for a replay of one webhook. A dead
// letter is skipped when either group's offset is past it, so the same dead
// letter is not replayed twice (a crash mid-chunk may replay that chunk
// again). Do not run two replays at once.
func Replay(ctx context.Context, kafka pipeline.KafkaConfig, names topics.Names, webhookID string, progress func(replayed int)) (int, error) {
	cl, err := pipeline.NewClient(kafka)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	rr := pipeline.NewRangeReader(cl)
	adm := rr.Admin()
	topic := names.DeliveriesDLQ
	allGroup := names.Group(ReplayGroup)

	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("deliver: replay: end offsets of %s: %w", topic, err)
	}
	if err := ends.Error(); err != nil {
		return 0, fmt.Errorf("deliver: replay: end offsets of %s: %w", topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("deliver: replay: start offsets of %s: %w", topic, err)
	}
	committedAll, err := committedOf(ctx, adm, allGroup, topic)
	if err != nil {
		return 0, err
	}
	// Offsets below which one webhook's dead letters were replayed.
	perWebhook := map[string]map[int32]int64{}
	if webhookID != "" {
		if perWebhook[webhookID], err = committedOf(ctx, adm, allGroup+"."+webhookID, topic); err != nil {
			return 0, err
		}
	} else {
		groups, err := adm.ListGroups(ctx)
		if err != nil {
			return 0, fmt.Errorf("deliver: replay: list groups: %w", err)
		}
		for _, g := range groups.Groups() {
			if wh, ok := strings.CutPrefix(g, allGroup+"."); ok {
				if perWebhook[wh], err = committedOf(ctx, adm, g, topic); err != nil {
					return 0, err
				}
			}
		}
	}

	rng := pipeline.Range{From: map[int32]int64{}, End: map[int32]int64{}}
	ends.Each(func(o kadm.ListedOffset) {
		start := committedAll[o.Partition]
		if s, ok := starts.Lookup(topic, o.Partition); ok && s.Offset > start {
			start = s.Offset
		}
		if webhookID != "" {
			start = max(start, perWebhook[webhookID][o.Partition])
		}
		rng.From[o.Partition], rng.End[o.Partition] = start, o.Offset
	})
	group := allGroup
	if webhookID != "" {
		group += "." + webhookID
	}
	n, err := rr.MoveOnce(ctx, pipeline.Move{Topic: topic, Range: rng, Group: group, Progress: progress,
		Map: func(rec *kgo.Record, out []*kgo.Record) []*kgo.Record {
			wh := webhookOf(rec)
			if webhookID != "" && wh != webhookID {
				return out
			}
			if webhookID == "" && rec.Offset < perWebhook[wh][rec.Partition] {
				return out // replayed already by a replay of this webhook
			}
			_ = decodeEnvelope(rec.Value, func(raw []byte) error {
				out = append(out, &kgo.Record{Topic: names.Deliveries, Key: []byte(wh), Value: raw})
				return nil
			}) // a dead letter that is not an envelope (a stub) has nothing to replay
			return out
		}})
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("deliver: replay: %w", err)
	}
	return n, err
}

func committedOf(ctx context.Context, adm *kadm.Client, group, topic string) (map[int32]int64, error) {
	offs, err := adm.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return map[int32]int64{}, nil // never committed: nothing replayed yet
	}
	if err != nil {
		return nil, fmt.Errorf("deliver: replay: offsets of group %s: %w", group, err)
	}
	out := map[int32]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At >= 0 {
			out[o.Partition] = o.At
		}
	})
	return out, nil
}

func webhookOf(rec *kgo.Record) string {
	for _, h := range rec.Headers {
		if h.Key == HeaderWebhook {
			return string(h.Value)
		}
	}
	return string(rec.Key)
}
