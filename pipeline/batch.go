package pipeline

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Batch is a run of consecutive records of one partition handed to
// Stage.Process. Records must not be modified or kept after the batch
// is finished.
//
// Emit and DeadLetter may be called only from within Process, from the
// goroutine running it. Work that outlives Process takes a Hold, whose
// methods are safe from any goroutine.
type Batch struct {
	// Topic and Partition name where Records come from.
	Topic     string
	Partition int32
	// Records are in offset order.
	Records []*kgo.Record

	part *partition
	ctx  context.Context

	out []*kgo.Record // emitted during Process; produced after it returns

	// slabs are the output buffers Grow lent the batch, free the unused
	// part of the last one; they go back to the runner's slab pool when
	// the batch is done.
	slabs []*[]byte
	free  []byte

	// pending counts what must finish before the batch is done: outputs
	// not yet acknowledged, Holds not yet released, and while Process or
	// sealing runs, one for the runtime itself.
	pending atomic.Int64
	failed  atomic.Bool
	once    sync.Once

	records int   // len(Records) at creation, for in-flight accounting
	bytes   int64 // key+value bytes of Records
	next    kgo.EpochOffset
	done    bool // guarded by part.mu
}

// Context is canceled when the batch's partition is revoked or the process
// stops; held work should give up then.
func (b *Batch) Context() context.Context { return b.ctx }

// Emit queues rec to be produced once Process returns nil. rec.Topic must be set.
func (b *Batch) Emit(rec *kgo.Record) { b.out = append(b.out, rec) }

// Grow returns an empty buffer with room for at least n bytes, for the
// bytes of an output (its value or key): append them to it and pass the
// result to Keep before the next Grow, which until then lends the same
// bytes again (an output given up needs no Keep). The buffer is part of a
// slab the runtime lends the batch and takes back once the batch is done
// (every output acknowledged, every Hold released), to lend it to another
// batch: a stage must keep nothing of it past the batch, not even through
// a slice or a string sharing its bytes. Outputs encoded one after the other share a slab:
// one allocation for many records, and none once the slabs are warm.
// Grow and Keep may be called only from within Process, from the
// goroutine running it.
func (b *Batch) Grow(n int) []byte {
	if cap(b.free) >= n {
		return b.free
	}
	if n > slabSize/4 || b.part == nil {
		// Rare: not worth a slab; or a Batch made outside a Runner (a
		// benchmark's), which has no slabs to lend.
		return make([]byte, 0, n)
	}
	s := b.part.r.slabs.get()
	b.slabs = append(b.slabs, s)
	b.free = (*s)[:0]
	return b.free
}

// Keep marks out, the buffer Grow returned with an output's bytes
// appended, as used: Grow does not lend its bytes again. It returns out
// with its capacity cut to its length, so that appending to it never
// writes into the slab. An out that outgrew its room (append moved it)
// is an allocation of its own; Keep only returns it.
func (b *Batch) Keep(out []byte) []byte {
	out = out[:len(out):len(out)]
	if len(out) > 0 && cap(b.free) >= len(out) && unsafe.SliceData(out) == unsafe.SliceData(b.free) {
		b.free = b.free[len(out):len(out)]
	}
	return out
}

// DeadLetter sends rec to the dead-letter topic with reason, instead of
// processing it. The batch goes on.
func (b *Batch) DeadLetter(rec *kgo.Record, reason error) {
	b.out = append(b.out, b.part.r.deadLetter(rec, reason))
}

// Hold marks work on this batch that finishes after Process returns. The
// batch's offsets are not committed until every Hold is released with Done.
func (b *Batch) Hold() *Hold {
	b.pending.Add(1)
	return &Hold{b: b}
}

// PauseFetching stops fetching the batch's partition until the returned
// function is called (once). The runtime pauses a partition on its own
// when its in-flight bounds are hit; a stage uses this for its own limits.
func (b *Batch) PauseFetching() (resume func()) {
	p := b.part
	p.pause(pauseByStage)
	var once sync.Once
	return func() { once.Do(func() { p.resume(pauseByStage) }) }
}

// reset drops what a failed Process call emitted, before a retry.
func (b *Batch) reset() {
	clear(b.out)
	b.out = b.out[:0]
}

// seal produces the emitted outputs and releases the runtime's own count;
// the batch is done once every output is acknowledged and every Hold released.
func (b *Batch) seal() {
	out := b.out
	b.out = nil
	for _, rec := range out {
		b.produce(rec)
	}
	b.release()
}

func (b *Batch) produce(rec *kgo.Record) {
	b.pending.Add(1)
	b.part.r.produce(b.ctx, rec, b)
}

// release counts one pending item as finished.
func (b *Batch) release() {
	if b.pending.Add(-1) == 0 {
		b.once.Do(func() { b.part.batchDone(b) })
	}
}

// Hold is a batch's unfinished work that outlives Process. Its methods are
// safe for concurrent use; Done must be called exactly once (further calls
// do nothing).
type Hold struct {
	b    *Batch
	done atomic.Bool
}

// Context is the batch's context.
func (h *Hold) Context() context.Context { return h.b.ctx }

// Emit produces rec now, as an output of the held batch.
func (h *Hold) Emit(rec *kgo.Record) { h.b.produce(rec) }

// DeadLetter sends rec to the dead-letter topic with reason now.
func (h *Hold) DeadLetter(rec *kgo.Record, reason error) {
	h.b.produce(h.b.part.r.deadLetter(rec, reason))
}

// EmitShared produces rec now as an output that several batches own: one
// record that carries the work of records of many batches (a deliver
// retry record carries the subjects of many input batches). The owners
// keep their own Holds and release them in acked, which is called once,
// when Kafka has rec; none of them is committed before. rec is produced
// through h's batch and goes through the runtime's one classifier: a
// transient failure is retried every runtime.retry_backoff for as long as
// the runner runs (not only as long as h's partition: other owners may
// outlive it); a refusal for good (too large, invalid) dead-letters a stub
// of rec (its key and headers) as an output of h's batch and then calls
// acked, so that the owners go on; if the runner stops first acked is
// never called and the owners are processed again by their next owner.
// h must not be released before acked is called.
func (h *Hold) EmitShared(rec *kgo.Record, acked func()) {
	h.b.part.r.produceShared(rec, h.b, acked)
}

// Done releases the hold.
func (h *Hold) Done() {
	if h.done.CompareAndSwap(false, true) {
		h.b.release()
	}
}

// Dead-letter headers. Values are UTF-8 text.
const (
	HeaderError           = "leadflow-error"
	HeaderReason          = "leadflow-reason"
	HeaderStage           = "leadflow-stage"
	HeaderSourceTopic     = "leadflow-source-topic"
	HeaderSourcePartition = "leadflow-source-partition"
	HeaderSourceOffset    = "leadflow-source-offset"
)

// Reasoned is implemented by errors that carry a short machine-readable
// reason ("bad_json", "too_large"); it becomes the dead letter's
// leadflow-reason header and the dead_letters_total metric label.
type Reasoned interface{ Reason() string }

func reasonOf(err error) string {
	var r Reasoned
	if errors.As(err, &r) {
		return r.Reason()
	}
	return "invalid"
}

// AppendReasonHeaders appends to hs the headers that say why a record was
// dead-lettered: leadflow-error (reason's text), leadflow-reason (its
// Reasoned reason, else "invalid") and leadflow-stage. Every dead letter
// carries them; those built by the runtime (Batch.DeadLetter) add the
// source headers, while a stage's own dead-letter topic whose records
// carry the work of many input records (deliveries.dlq) has no single
// source and uses this alone.
func AppendReasonHeaders(hs []kgo.RecordHeader, stage string, reason error) []kgo.RecordHeader {
	return append(hs,
		kgo.RecordHeader{Key: HeaderError, Value: []byte(reason.Error())},
		kgo.RecordHeader{Key: HeaderReason, Value: []byte(reasonOf(reason))},
		kgo.RecordHeader{Key: HeaderStage, Value: []byte(stage)},
	)
}

// deadLetterRecord builds the dead-letter copy of rec: same key and value,
// the original headers, and headers naming the error, stage and source.
func deadLetterRecord(topic, stage string, rec *kgo.Record, reason error) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, len(rec.Headers)+6)
	hs = append(hs, rec.Headers...)
	hs = AppendReasonHeaders(hs, stage, reason)
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderSourceTopic, Value: []byte(rec.Topic)},
		kgo.RecordHeader{Key: HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(rec.Partition), 10)},
		kgo.RecordHeader{Key: HeaderSourceOffset, Value: strconv.AppendInt(nil, rec.Offset, 10)},
	)
	return &kgo.Record{Topic: topic, Key: rec.Key, Value: rec.Value, Headers: hs}
}

// OwnBuffers does what a Batch's Grow and Keep do with a buffer of each
// output's own: for a fake Batch in a stage's tests, or a tool that runs
// a stage's Process without a Runner.
type OwnBuffers struct{}

// Grow returns a new empty buffer with room for n bytes.
func (OwnBuffers) Grow(n int) []byte { return make([]byte, 0, n) }

// Keep returns out with its capacity cut to its length.
func (OwnBuffers) Keep(out []byte) []byte { return out[:len(out):len(out)] }

// ScratchBuffers does what a Batch's Grow and Keep do with one buffer
// used again for every output, as a runner's slabs are once warm: for a
// benchmark that drops each output before it asks for the next.
type ScratchBuffers struct{ buf []byte }

// Grow returns the buffer, emptied, with room for n bytes.
func (s *ScratchBuffers) Grow(n int) []byte {
	if cap(s.buf) < n {
		s.buf = make([]byte, 0, max(n, slabSize))
	}
	return s.buf[:0]
}

// Keep returns out.
func (s *ScratchBuffers) Keep(out []byte) []byte { return out }
