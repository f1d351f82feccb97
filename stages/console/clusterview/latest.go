package clusterview

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
)

// Record is one record of a bounded read, its value cut to the read's
// byte bound.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Time      time.Time
	Key       string
	// Value is at most maxValue bytes of the value; Truncated says it was cut.
	Value     string
	Truncated bool
	Headers   map[string]string
}

// Latest reads the last perPartition records of every partition of topic
// (at most), newest first, each value cut to maxValue bytes. It reads
// from the offsets the brokers list as the end at the start of the call,
// never further, through the reader's client (reads are one at a time);
// ctx bounds it. perPartition is between 1 and 1000.
func (r *Reader) Latest(ctx context.Context, topic string, perPartition, maxValue int) ([]Record, error) {
	if perPartition < 1 || perPartition > 1000 {
		return nil, fmt.Errorf("clusterview: perPartition %d is not between 1 and 1000", perPartition)
	}
	starts, err := r.adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("clusterview: start offsets of %s: %w", topic, err)
	}
	ends, err := r.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("clusterview: end offsets of %s: %w", topic, err)
	}
	rng := pipeline.Range{From: map[int32]int64{}, End: map[int32]int64{}}
	ends.Each(func(o kadm.ListedOffset) {
		start := max(o.Offset-int64(perPartition), 0)
		if s, ok := starts.Lookup(topic, o.Partition); ok && s.Offset > start {
			start = s.Offset
		}
		rng.From[o.Partition], rng.End[o.Partition] = start, o.Offset
	})
	var out []Record
	err = r.ranges.Read(ctx, topic, rng, func(recs []*kgo.Record) error {
		for _, rec := range recs {
			out = append(out, recordOf(rec, maxValue))
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("clusterview: reading %s: %w", topic, err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].Offset > out[j].Offset
	})
	return out, nil
}

func recordOf(rec *kgo.Record, maxValue int) Record {
	out := Record{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Time: rec.Timestamp,
		Key: string(rec.Key), Headers: make(map[string]string, len(rec.Headers))}
	v := rec.Value
	if len(v) > maxValue {
		v, out.Truncated = v[:maxValue], true
	}
	out.Value = string(v)
	for _, h := range rec.Headers {
		out.Headers[h.Key] = string(h.Value)
	}
	return out
}
