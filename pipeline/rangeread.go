package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// RangeReader reads bounded offset ranges of a topic's partitions through
// one long-lived client (NewClient, or any client without a consumer
// group), for operator commands and pages that look at or move a known
// range of records once: the console's latest dead letters, `leadflow
// replay`. Each read adds its partitions to the client, polls until each
// reached its end, and removes them again, so one client serves every
// read instead of one client per read. Reads are serialized (one at a
// time on the client); it is safe for concurrent use. The caller owns and
// closes the client.
type RangeReader struct {
	mu  sync.Mutex
	cl  *kgo.Client
	adm *kadm.Client
}

// NewRangeReader returns a reader using cl, which must not be a consumer
// group member (every other client is a direct consumer in franz-go).
func NewRangeReader(cl *kgo.Client) *RangeReader {
	return &RangeReader{cl: cl, adm: kadm.NewClient(cl)}
}

// Admin is an admin client over the reader's client.
func (r *RangeReader) Admin() *kadm.Client { return r.adm }

// Range is an offset range per partition: from From[p] up to, not
// including, End[p]. Partitions with From[p] >= End[p] are skipped.
type Range struct {
	From, End map[int32]int64
}

// Read reads rng of topic and calls each once per poll with the records
// of the range that poll returned (in offset order per partition; never
// empty). It returns ctx's error if ctx ends first, the joined fetch
// errors of a poll that failed, or what each returned; it returns nil once
// every partition reached its end.
func (r *RangeReader) Read(ctx context.Context, topic string, rng Range, each func([]*kgo.Record) error) error {
	from := map[int32]kgo.Offset{}
	end := map[int32]int64{}
	for p, f := range rng.From {
		if e, ok := rng.End[p]; ok && f < e {
			from[p] = kgo.NewOffset().At(f)
			end[p] = e
		}
	}
	if len(end) == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	parts := make([]int32, 0, len(from))
	for p := range from {
		parts = append(parts, p)
	}
	r.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: from})
	defer r.cl.RemoveConsumePartitions(map[string][]int32{topic: parts})
	var recs []*kgo.Record
	for len(end) > 0 {
		fs := r.cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		var errs []error
		fs.EachError(func(t string, p int32, err error) { errs = append(errs, fmt.Errorf("%s[%d]: %w", t, p, err)) })
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		recs = recs[:0]
		fs.EachRecord(func(rec *kgo.Record) {
			stop, ok := end[rec.Partition]
			if rec.Topic != topic || !ok || rec.Offset >= stop {
				return
			}
			recs = append(recs, rec)
		})
		if len(recs) == 0 {
			continue
		}
		if err := each(recs); err != nil {
			return err
		}
		for _, rec := range recs {
			if rec.Offset+1 >= end[rec.Partition] {
				delete(end, rec.Partition)
			}
		}
	}
	return nil
}

// Move is a bounded "move records from A to B once" run (MoveOnce): read
// a range of Topic, produce what Map makes of each record, and remember
// what was moved as Group's committed offsets.
type Move struct {
	// Topic is read over Range.
	Topic string
	Range Range
	// Group receives, after each chunk's outputs are acknowledged by
	// Kafka, the offset after the chunk's last record of each partition.
	Group string
	// Map appends the records to produce for rec to out and returns it
	// (nothing for a record to skip). Required.
	Map func(rec *kgo.Record, out []*kgo.Record) []*kgo.Record
	// Progress, if set, is called with the running count of produced
	// records after each chunk that produced some.
	Progress func(moved int)
}

// MoveOnce runs m: per chunk of records read, it produces their outputs
// synchronously, then commits the chunk's offsets to m.Group, so a crash
// mid-chunk moves at most that chunk again. It returns how many records
// it produced; on an error, how many it had produced (and committed) before.
func (r *RangeReader) MoveOnce(ctx context.Context, m Move) (int, error) {
	n := 0
	var out []*kgo.Record
	err := r.Read(ctx, m.Topic, m.Range, func(recs []*kgo.Record) error {
		out = out[:0]
		offs := kadm.Offsets{}
		for _, rec := range recs {
			out = m.Map(rec, out)
			offs.Add(kadm.Offset{Topic: rec.Topic, Partition: rec.Partition, At: rec.Offset + 1, LeaderEpoch: -1})
		}
		if len(out) > 0 {
			if err := r.cl.ProduceSync(ctx, out...).FirstErr(); err != nil {
				return &MoveError{Op: "produce to " + out[0].Topic, Err: err}
			}
			n += len(out)
		}
		resp, err := r.adm.CommitOffsets(ctx, m.Group, offs)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return &MoveError{Op: "commit " + m.Group, Err: err}
		}
		if m.Progress != nil && len(out) > 0 {
			m.Progress(n)
		}
		return nil
	})
	var me *MoveError
	if err != nil && ctx.Err() == nil && !errors.As(err, &me) {
		err = &MoveError{Op: "fetch", Err: err}
	}
	return n, err
}

// MoveError says which step of MoveOnce failed.
type MoveError struct {
	Op  string // "fetch", "produce to TOPIC", "commit GROUP"
	Err error
}

func (e *MoveError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *MoveError) Unwrap() error { return e.Err }
