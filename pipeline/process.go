package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// ErrPanic wraps a panic recovered from Stage.Process.
var ErrPanic = errors.New("stage panicked")

type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string  { return fmt.Sprintf("%v: %v", ErrPanic, e.value) }
func (e *panicError) Unwrap() error  { return ErrPanic }
func (e *panicError) Reason() string { return "panic" }

// process runs Stage.Process on b until it succeeds. It reports false if
// the partition went away first (the batch is then abandoned).
func (r *Runner) process(ctx context.Context, b *Batch) bool {
	backoff := r.cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := r.call(ctx, b)
		r.metrics.processSeconds.WithLabelValues(r.name).Observe(time.Since(start).Seconds())
		if err == nil {
			r.watch.OK(DepProcess)
			if attempt > 1 {
				r.log.Info("stage recovered", zapTP(b.Topic, b.Partition), zap.Int("attempts", attempt))
			}
			return true
		}
		b.reset()
		if ctx.Err() != nil {
			return false
		}
		if errors.Is(err, ErrPanic) {
			r.isolatePanics(ctx, b)
			return ctx.Err() == nil
		}
		r.watch.Fail(DepProcess, err)
		r.metrics.processErrors.WithLabelValues(r.name).Inc()
		r.log.Warn("batch failed; retrying it (nothing is committed until it succeeds)",
			zapTP(b.Topic, b.Partition), zap.Int("attempt", attempt), zap.Duration("backoff", backoff), zap.Error(err))
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, r.cfg.RetryBackoffMax)
	}
}

// call runs Stage.Process, turning a panic into an error.
func (r *Runner) call(ctx context.Context, b *Batch) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return r.stage.Process(ctx, b)
}

// isolatePanics processes b one record at a time so that only the record
// that panics is dead-lettered. Ordinary errors are retried per record.
func (r *Runner) isolatePanics(ctx context.Context, b *Batch) {
	all := b.Records
	defer func() { b.Records = all }()
	for i := range all {
		b.Records = all[i : i+1]
		keep := len(b.out)
		backoff := r.cfg.RetryBackoff
		for ctx.Err() == nil {
			err := r.call(ctx, b)
			if err == nil {
				break
			}
			b.out = b.out[:keep]
			var pe *panicError
			if errors.As(err, &pe) {
				r.log.Error("record made the stage panic; dead-lettered", zapTP(b.Topic, b.Partition),
					zap.Int64("offset", all[i].Offset), zap.Any("panic", pe.value), zap.ByteString("stack", pe.stack))
				b.DeadLetter(all[i], err)
				break
			}
			r.watch.Fail(DepProcess, err)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, r.cfg.RetryBackoffMax)
		}
	}
}

// deadLetter builds the dead-letter record for rec and counts it.
func (r *Runner) deadLetter(rec *kgo.Record, reason error) *kgo.Record {
	r.metrics.deadLetters.WithLabelValues(r.name, reasonOf(reason)).Inc()
	return deadLetterRecord(r.dlq, r.name, rec, reason)
}

// produce sends rec as an output of b; b's pending count was raised by the caller.
func (r *Runner) produce(ctx context.Context, rec *kgo.Record, b *Batch) {
	r.client.Produce(ctx, rec, func(rec *kgo.Record, err error) { r.produced(ctx, rec, b, err) })
}

// produceOutcome is what the classifier makes of a produce result.
type produceOutcome int

const (
	produceAcked     produceOutcome = iota // Kafka has the record
	produceAbandoned                       // the owner went away first
	produceRefused                         // Kafka will never take this record
	produceTransient                       // worth another try
)

// classifyProduce is the one place that classifies produce errors; every
// output of the runtime (batch outputs, held outputs, shared outputs)
// goes through it.
func classifyProduce(ctx context.Context, err error) produceOutcome {
	switch {
	case err == nil:
		return produceAcked
	case ctx.Err() != nil || errors.Is(err, kgo.ErrClientClosed) || errors.Is(err, kgo.ErrAborting):
		// The partition was revoked or the process is stopping: what the
		// output belongs to is abandoned and processed again by the next owner.
		return produceAbandoned
	case errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge) || errors.Is(err, kerr.InvalidRecord):
		// Permanent: this output can never be written.
		return produceRefused
	default:
		// Transient (the client's own retries ran out): try again.
		return produceTransient
	}
}

// produced handles the result of a batch output.
func (r *Runner) produced(ctx context.Context, rec *kgo.Record, b *Batch, err error) {
	switch classifyProduce(ctx, err) {
	case produceAcked:
		r.watch.OK(DepProduce)
		r.countOut(rec.Topic)
		b.release()
	case produceAbandoned:
		b.failed.Store(true)
	case produceRefused:
		// Dead-letter it (its value cut to a stub if it is the size that
		// failed) so the partition goes on; the stub takes over rec's count.
		if dl := r.refused(rec, err); dl != nil {
			r.produce(ctx, dl, b)
			return
		}
		b.release()
	case produceTransient:
		r.produceFailed(rec, err)
		time.AfterFunc(r.cfg.RetryBackoff, func() {
			if ctx.Err() != nil {
				b.failed.Store(true)
				return
			}
			rec.Partition, rec.Offset = 0, 0
			r.produce(ctx, rec, b)
		})
	}
}

// refused logs an output Kafka refused for good and returns the stub
// dead letter to produce in its place (nil for a dead letter itself,
// which is dropped).
func (r *Runner) refused(rec *kgo.Record, err error) *kgo.Record {
	if rec.Topic == r.dlq {
		r.log.Error("dead letter could not be written; dropped", zap.String("topic", rec.Topic), zap.Error(err))
		r.metrics.deadLetters.WithLabelValues(r.name, "dropped").Inc()
		return nil
	}
	r.log.Error("output rejected by Kafka; dead-lettered (raise the topic's max.message.bytes if it is the size)",
		zap.String("topic", rec.Topic), zap.Int("bytes", len(rec.Value)), zap.Error(err))
	return r.deadLetter(&kgo.Record{Topic: rec.Topic, Partition: -1, Offset: -1, Key: rec.Key, Headers: rec.Headers},
		fmt.Errorf("output to %s rejected (%d bytes): %w", rec.Topic, len(rec.Value), err))
}

// produceFailed counts and reports a transient produce failure.
func (r *Runner) produceFailed(rec *kgo.Record, err error) {
	r.metrics.produceErrors.WithLabelValues(r.name).Inc()
	r.watch.Fail(DepProduce, err)
	r.log.Warn("produce failed; retrying", zap.String("topic", rec.Topic), zap.Error(err))
}

// produceShared sends rec, an output several batches own, through via's
// batch (see Hold.EmitShared). It lives as long as the runner, not as
// via's partition: the other owners' partitions may outlive via's.
func (r *Runner) produceShared(rec *kgo.Record, via *Batch, acked func()) {
	ctx := context.WithoutCancel(via.ctx)
	r.client.Produce(ctx, rec, func(rec *kgo.Record, err error) {
		switch classifyProduce(ctx, err) {
		case produceAcked:
			r.watch.OK(DepProduce)
			r.countOut(rec.Topic)
			acked()
		case produceAbandoned:
			// The runner stopped: no owner is committed past; the next
			// owners process their records again.
		case produceRefused:
			if dl := r.refused(rec, err); dl != nil {
				via.produce(dl)
			}
			acked()
		case produceTransient:
			r.produceFailed(rec, err)
			time.AfterFunc(r.cfg.RetryBackoff, func() {
				select {
				case <-r.stopped:
					return
				default:
				}
				r.produceShared(&kgo.Record{Topic: rec.Topic, Key: rec.Key, Value: rec.Value, Headers: rec.Headers}, via, acked)
			})
		}
	})
}

// countOut counts one acknowledged output; the counter per topic is cached
// so that the hot path does no label lookup.
func (r *Runner) countOut(topic string) {
	c, ok := r.outCounters.Load(topic)
	if !ok {
		c, _ = r.outCounters.LoadOrStore(topic, r.metrics.recordsOut.WithLabelValues(r.name, topic))
	}
	c.(prometheus.Counter).Inc()
}
