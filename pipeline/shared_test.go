package pipeline_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

// sharedStage holds every batch and, once it holds want records, emits
// one shared output that carries them all; each batch's hold is released
// only when Kafka acknowledges that one record. It drains and closes
// through the lifecycle interfaces.
type sharedStage struct {
	in, out string
	want    int

	mu    sync.Mutex
	holds []*pipeline.Hold
	n     int

	acked   atomic.Int64
	drained atomic.Int64
	closed  atomic.Int64
}

func (s *sharedStage) Name() string     { return "shared" }
func (s *sharedStage) Inputs() []string { return []string{s.in} }
func (s *sharedStage) Process(_ context.Context, b *pipeline.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds = append(s.holds, b.Hold())
	s.n += len(b.Records)
	if s.n < s.want {
		return nil
	}
	holds := s.holds
	s.holds = nil
	holds[0].EmitShared(&kgo.Record{Topic: s.out, Value: []byte("all")}, func() {
		s.acked.Add(1)
		for _, h := range holds {
			h.Done()
		}
	})
	return nil
}
func (s *sharedStage) Drain(context.Context) error { s.drained.Add(1); return nil }
func (s *sharedStage) Close(context.Context) error { s.closed.Add(1); return nil }

// TestSharedOutputReleasesEveryOwner: one record emitted with
// Hold.EmitShared releases the holds of batches of several partitions once
// Kafka has it; nothing is committed before, everything after. The runner
// drains and closes the stage once when it stops (Drainer, Closer).
func TestSharedOutputReleasesEveryOwner(t *testing.T) {
	env := newEnv(t, 3)
	produceN(t, env, inTopic(env), 6, 2) // 6 keys: spread over the 3 partitions
	st := &sharedStage{in: inTopic(env), out: outTopic(env), want: 12}
	run := start(t, env, st, testConfig(), nil)
	got := env.Consume(t, outTopic(env), 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= 1 })
	if len(got) != 1 || string(got[0].Value) != "all" {
		t.Fatalf("outputs %d, want the one shared record", len(got))
	}
	kafkatest.Eventually(t, 10*time.Second, "every partition committed to its end after the ack", func() bool {
		sum := int64(0)
		for _, o := range committed(t, env, "shared", inTopic(env)) {
			sum += max(o, 0)
		}
		return sum == 12
	})
	if st.acked.Load() != 1 {
		t.Fatalf("acked %d times, want once", st.acked.Load())
	}
	run.stop()
	if st.drained.Load() != 1 || st.closed.Load() != 1 {
		t.Fatalf("drained %d, closed %d times; want once each", st.drained.Load(), st.closed.Load())
	}
}

// TestSharedOutputNotAckedCommitsNothing: while the shared output's
// owners wait for it (here: never emitted), no offset is committed.
func TestSharedOutputNotAckedCommitsNothing(t *testing.T) {
	env := newEnv(t, 1)
	produceN(t, env, inTopic(env), 1, 4)
	st := &sharedStage{in: inTopic(env), out: outTopic(env), want: 1000}
	start(t, env, st, testConfig(), nil)
	kafkatest.Eventually(t, 30*time.Second, "all records held", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.n == 4
	})
	time.Sleep(200 * time.Millisecond) // several commit intervals (50ms)
	if off := committed(t, env, "shared", inTopic(env)); off[0] > 0 {
		t.Fatalf("committed %d while every batch was held", off[0])
	}
}
