package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

// recyclingStage is a copyStage that declares itself a RecordRecycler. It
// checks every record's value against the body its key and number give
// (poolValue) while it processes it, and emits the record's own bytes, so
// that a buffer lent again before its batch's outputs were acknowledged
// shows in the outputs too.
type recyclingStage struct {
	copyStage
	bad atomic.Int64
}

func (s *recyclingStage) RecyclesRecords() {}

func (s *recyclingStage) Process(ctx context.Context, b *pipeline.Batch) error {
	for _, r := range b.Records {
		var n int
		if _, err := fmt.Sscanf(string(r.Value), "%d:", &n); err != nil || !bytes.Equal(r.Value, poolValue(string(r.Key), n)) {
			s.bad.Add(1)
		}
	}
	return s.copyStage.Process(ctx, b)
}

// poolValue is the value of record n of key: its number and a body of
// its own, compressible as JSON is.
func poolValue(key string, n int) []byte {
	return fmt.Appendf(nil, "%d:%s", n, strings.Repeat(fmt.Sprintf(`{"key":%q,"n":%d},`, key, n), 8))
}

// poolRound returns round's records of the pool tests: keys × perRound
// records, each with a value of its own (poolValue).
func poolRound(env *kafkatest.Env, round, keys, perRound int) []*kgo.Record {
	var recs []*kgo.Record
	for i := range perRound {
		for k := range keys {
			key := fmt.Sprintf("k%d", k)
			recs = append(recs, &kgo.Record{Topic: inTopic(env), Key: []byte(key), Value: poolValue(key, round*perRound+i)})
		}
	}
	return recs
}

// TestRecyclingStageSeesEveryRecordWhole: a RecordRecycler stage's
// records are decompressed into pooled buffers that go back once their
// batch is finished, and lent again: every record reaches Process whole
// and every output (the input's own bytes) reaches Kafka whole, over
// many fetches that reuse the buffers.
func TestRecyclingStageSeesEveryRecordWhole(t *testing.T) {
	env := newEnv(t, 2)
	const keys, rounds, perRound = 20, 30, 10
	st := &recyclingStage{copyStage: copyStage{name: "recycle", in: inTopic(env), out: outTopic(env)}}
	run := start(t, env, st, testConfig(), nil)
	want := map[string]bool{}
	for round := range rounds {
		recs := poolRound(env, round, keys, perRound)
		for _, r := range recs {
			want[string(r.Key)+"\x00"+string(r.Value)] = true
		}
		env.Produce(t, recs...) // one produce per round: many fetched batches
	}
	got := env.Consume(t, outTopic(env), 60*time.Second, func(r []*kgo.Record) bool { return len(r) >= len(want) })
	for _, r := range got {
		if !want[string(r.Key)+"\x00"+string(r.Value)] {
			t.Fatalf("output %q = %.60q... was never an input: its buffer was lent again too early", r.Key, r.Value)
		}
	}
	if n := distinct(got); n != len(want) {
		t.Fatalf("%d distinct outputs, want %d", n, len(want))
	}
	if n := st.bad.Load(); n > 0 {
		t.Fatalf("%d records reached Process damaged", n)
	}
	returned, reused := pipeline.PoolCounts(run.r)
	if returned == 0 || reused == 0 {
		t.Fatalf("decompression buffers returned %d, reused %d: the pool was not used", returned, reused)
	}
}

// slabStage encodes each output in the batch's slabs (Batch.Grow): the
// input's value twice, and for every seventh record a value too large to
// share a slab, so that both kinds of buffer are kept.
type slabStage struct{ copyStage }

func (s *slabStage) Process(_ context.Context, b *pipeline.Batch) error {
	for i, r := range b.Records {
		v := b.Grow(2 * len(r.Value))
		v = append(append(v, r.Value...), r.Value...)
		if i%7 == 6 {
			v = append(v, bytes.Repeat([]byte{'x'}, 70<<10)...)
		}
		v = b.Keep(v)
		k := b.Keep(append(b.Grow(len(r.Key)), r.Key...))
		b.Emit(&kgo.Record{Topic: s.out, Key: k, Value: v})
	}
	s.seen.Add(int64(len(b.Records)))
	return nil
}

// TestOutputSlabsAreLentAgainWhole: outputs encoded in the batch's slabs
// reach Kafka whole over many batches whose slabs are lent again once
// the batches before them are done.
func TestOutputSlabsAreLentAgainWhole(t *testing.T) {
	env := newEnv(t, 2)
	const keys, rounds, perRound = 20, 30, 10
	st := &slabStage{copyStage: copyStage{name: "slabs", in: inTopic(env), out: outTopic(env)}}
	run := start(t, env, st, testConfig(), nil)
	want := map[string]int{}
	for round := range rounds {
		recs := poolRound(env, round, keys, perRound)
		for _, r := range recs {
			want[string(r.Key)+"\x00"+string(r.Value)+string(r.Value)]++
		}
		// One round at a time, each after the round before is done, so
		// that its batches can only have the slabs the earlier ones gave
		// back.
		before, _ := pipeline.SlabCounts(run.r)
		env.Produce(t, recs...)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if returned, _ := pipeline.SlabCounts(run.r); returned > before {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no batch gave its slabs back", round)
			}
		}
	}
	got := env.Consume(t, outTopic(env), 60*time.Second, func(r []*kgo.Record) bool { return len(r) >= len(want) })
	for _, r := range got {
		v := r.Value
		if i := bytes.IndexByte(v, 'x'); i >= 0 {
			if len(v)-i != 70<<10 || bytes.Count(v[i:], []byte{'x'}) != 70<<10 {
				t.Fatalf("output %q: its large tail is damaged", r.Key)
			}
			v = v[:i]
		}
		if want[string(r.Key)+"\x00"+string(v)] == 0 {
			t.Fatalf("output %q = %.60q... was never encoded: its slab was lent again too early", r.Key, r.Value)
		}
	}
	if n := distinct(got); n != len(want) {
		t.Fatalf("%d distinct outputs, want %d", n, len(want))
	}
	returned, lent := pipeline.SlabCounts(run.r)
	if returned == 0 || lent == 0 {
		t.Fatalf("output slabs returned %d, lent again %d: the slabs were not reused", returned, lent)
	}
}
