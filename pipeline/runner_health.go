package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// kafkaHooks credit the runner's Kafka requests to its Watch: every fetch
// or produce response read is a success, a request that failed on the
// wire or a broker that could not be dialled a failure.
type kafkaHooks struct{ w *Watch }

var (
	_ kgo.HookBrokerE2E     = kafkaHooks{}
	_ kgo.HookBrokerConnect = kafkaHooks{}
)

func (h kafkaHooks) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	var d Dependency
	switch key {
	case kmsg.Fetch.Int16():
		d = DepFetch
	case kmsg.Produce.Int16():
		d = DepProduce
	default:
		return
	}
	if err := e2e.Err(); err != nil {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, kgo.ErrClientClosed) {
			h.w.Fail(d, err)
		}
		return
	}
	h.w.OK(d)
}

// OnBrokerConnect counts a broker that cannot be dialled as a fetch
// failure: the consumer is what keeps connecting. A success says nothing
// (fetch responses do).
func (h kafkaHooks) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		h.w.Fail(DepFetch, fmt.Errorf("broker %s:%d: %w", meta.Host, meta.Port, err))
	}
}

// fetchError handles one partition's (or the client's) fetch error.
func (r *Runner) fetchError(t string, p int32, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	r.watch.Fail(DepFetch, err)
	if errors.Is(err, kerr.FencedInstanceID) {
		r.log.Error("another process joined this stage's consumer group with the same instance id and took over; give every process of a stage its own kafka.group_instance_id",
			zap.String("group", r.group), zap.String("instance_id", r.iid), zap.Error(err))
		return
	}
	r.log.Warn("fetch error", zapTP(t, p), zap.Error(err))
}

// probe is the runner's stall check for its Watch (called only from the
// Watch's monitor goroutine): input waiting on a
// partition (queued, or after the last fetched record of a partition that
// is not paused) with no batch processed on it for longer than the grace,
// and records waiting to be produced with none acknowledged that long.
func (r *Runner) probe(now time.Time) []Problem {
	var out []Problem
	// Records waiting to be produced: the clock starts at the later of the
	// last acknowledgement and the tick that first saw records waiting
	// (a stage with nothing to produce for a while is not stalled).
	if n := r.client.BufferedProduceRecords(); n == 0 {
		r.produceWaitSince = time.Time{}
	} else {
		if r.produceWaitSince.IsZero() {
			r.produceWaitSince = now
		}
		since := r.produceWaitSince
		if last := r.watch.LastOK(DepProduce); last.After(since) {
			since = last
		}
		if now.Sub(since) > r.watch.grace {
			out = append(out, Problem{Dependency: DepProduce.String(), Since: since,
				Detail: fmt.Sprintf("%d records waiting to be produced, none acknowledged", n)})
		}
	}
	var parts int
	var waiting int64
	oldest := now
	r.mu.Lock()
	for _, m := range r.parts {
		for _, p := range m {
			w := p.waiting()
			last := time.Unix(0, p.progress.Load())
			if w == 0 || now.Sub(last) <= r.watch.grace {
				continue
			}
			parts++
			waiting += w
			if last.Before(oldest) {
				oldest = last
			}
		}
	}
	r.mu.Unlock()
	if parts > 0 {
		out = append(out, Problem{Dependency: depProgress, Since: oldest,
			Detail: fmt.Sprintf("no batch processed on %d partitions with %d records waiting", parts, waiting)})
	}
	return out
}

// waiting is the input of p that waits to be processed: records queued,
// plus the records after the last fetched one unless fetching is paused
// (by the stage, or by the in-flight bounds while its queue is empty:
// then it waits for held work, not for a dependency).
func (p *partition) waiting() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := int64(len(p.queue))
	if !p.boundPause && p.stagePause == 0 && !p.stopping {
		n += p.lag.Load()
	}
	return n
}

// leaveStatic makes a static member leave its group once its client is
// closed (franz-go's Close does not, by KIP-345 design), so that its
// partitions move at once instead of after the session timeout. It uses a
// short-lived client of its own and gives up after 5s.
func (r *Runner) leaveStatic(ctx context.Context) {
	if r.iid == "" {
		return
	}
	cl, err := kgo.NewClient(r.base...)
	if err == nil {
		defer cl.Close()
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var resps kadm.LeaveGroupResponses
		resps, err = kadm.NewClient(cl).LeaveGroup(lctx, kadm.LeaveGroup(r.group).InstanceIDs(r.iid).Reason("clean shutdown"))
		if err == nil {
			err = resps.Error()
		}
	}
	if err != nil {
		r.log.Warn("could not leave the consumer group; its partitions move after runtime.session_timeout",
			zap.String("instance_id", r.iid), zap.Error(err))
		return
	}
	r.log.Info("left the consumer group", zap.String("instance_id", r.iid))
}
