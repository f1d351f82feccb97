package system

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/topics"
)

// trimEvery is how often the embedded broker's consumed records are
// dropped (TrimConsumed).
const trimEvery = time.Second

// TrimConsumed makes the embedded broker drop, every second, the records
// of topics that every consumer group reading them has committed past, so
// that its memory holds what is still to be consumed instead of the
// retention (topics.retention_bytes per partition: 16 MiB in dev, 4 topics
// × 4 partitions of it at 20,000 events/s). Only the streams of names are
// trimmed (Names.Streams: each record is read once, by one stage): the
// dead letters, whose replays commit per webhook, the retry tiers and the
// compacted tables are left to the retention. A group counts as reading a
// topic once it committed an offset on it; a partition one of those groups
// has not committed on is left alone. Records are deleted with Kafka's
// DeleteRecords, as an operator would. It runs until ctx ends or Close (a
// pass under way finishes first, within 5 s); calling it again does
// nothing. Not safe for concurrent use.
func (d *DevInfra) TrimConsumed(ctx context.Context, names topics.Names) error {
	if d.trimming {
		return nil
	}
	streams := names.Streams()
	cl, err := pipeline.NewClient(pipeline.KafkaConfig{Brokers: []string{d.KafkaAddr}})
	if err != nil {
		return err
	}
	d.trimming = true
	adm := kadm.NewClient(cl)
	d.loops.Add(1)
	go func() {
		defer d.loops.Done()
		defer cl.Close()
		for {
			select {
			case <-d.stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(trimEvery):
			}
			d.trimOnce(ctx, adm, streams)
		}
	}()
	return nil
}

// trimOnce deletes the records of topics that every group reading them has
// committed past. Errors are left for the next pass: a group may be
// rebalancing, and the broker's retention still bounds what is kept.
func (d *DevInfra) trimOnce(ctx context.Context, adm *kadm.Client, streams []string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		return
	}
	fetched := adm.FetchManyOffsets(ctx, listed.Groups()...)
	committed := make(map[string]kadm.OffsetResponses, len(fetched))
	for g, r := range fetched {
		if r.Err != nil {
			return // a group whose offsets are unknown may be behind any of them
		}
		committed[g] = r.Fetched
	}
	if to := consumedOffsets(committed, streams); len(to) > 0 {
		_, _ = adm.DeleteRecords(ctx, to)
	}
}

// consumedOffsets returns, for each partition of topics, the lowest offset
// committed by the groups that read the topic (those that committed on any
// of its partitions). A partition one of them has no offset on (or an
// error for) is left out, as are topics no group reads.
func consumedOffsets(committed map[string]kadm.OffsetResponses, streams []string) kadm.Offsets {
	to := make(kadm.Offsets)
	for _, t := range streams {
		var readers []map[int32]kadm.OffsetResponse
		parts := map[int32]bool{}
		for _, byTopic := range committed {
			if ps := byTopic[t]; len(ps) > 0 {
				readers = append(readers, ps)
				for p := range ps {
					parts[p] = true
				}
			}
		}
	next:
		for p := range parts {
			low := int64(-1)
			for _, ps := range readers {
				o, ok := ps[p]
				if !ok || o.Err != nil || o.At < 0 {
					continue next
				}
				if low < 0 || o.At < low {
					low = o.At
				}
			}
			if low > 0 {
				to.Add(kadm.Offset{Topic: t, Partition: p, At: low})
			}
		}
	}
	return to
}
