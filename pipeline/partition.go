package pipeline

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// partition is one owned input partition: a queue of fetched records, a
// worker goroutine that hands them to the stage in batches and in order,
// and the tracker that turns finished batches into a committable offset.
type partition struct {
	r      *Runner
	topic  string
	id     int32
	label  string // partition id as text, for metrics
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{} // records queued or stopping; cap 1
	change chan struct{} // a batch finished; cap 1
	exited chan struct{} // worker returned

	lag      atomic.Int64 // records after the last fetched one, as of that fetch
	progress atomic.Int64 // unix nanos of the last successful Process call (or assignment)

	mu         sync.Mutex
	queue      []*kgo.Record // fetched, not yet handed to Process
	inflight   []*Batch      // handed to Process, unfinished, in offset order
	next       int64         // next offset expected from fetches; -1 unknown
	commitable kgo.EpochOffset
	committed  int64
	records    int   // fetched and unfinished: queue + inflight
	bytes      int64 // same, in key+value bytes
	boundPause bool  // paused because records/bytes hit their bounds
	stagePause int   // outstanding Batch.PauseFetching calls
	stopping   bool  // worker takes no more batches
	closed     bool  // abandoned: accounting already released
}

type pauseReason int

const (
	pauseByBounds pauseReason = iota
	pauseByStage
)

func newPartition(ctx context.Context, r *Runner, topic string, id int32) *partition {
	p := &partition{
		r: r, topic: topic, id: id, label: strconv.Itoa(int(id)),
		wake: make(chan struct{}, 1), change: make(chan struct{}, 1), exited: make(chan struct{}),
		next: -1, commitable: kgo.EpochOffset{Epoch: -1, Offset: -1}, committed: -1,
	}
	p.ctx, p.cancel = context.WithCancel(WithWatch(ctx, r.watch))
	p.progress.Store(time.Now().UnixNano())
	return p
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// add queues fetched records; it never blocks the poll loop. Records at
// offsets already seen (a refetch after reassignment) are skipped.
func (p *partition) add(recs []*kgo.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return
	}
	for len(recs) > 0 && recs[0].Offset < p.next {
		recs = recs[1:]
	}
	if len(recs) == 0 {
		return
	}
	var n int64
	for _, rec := range recs {
		n += int64(len(rec.Key) + len(rec.Value))
	}
	p.queue = append(p.queue, recs...)
	p.next = recs[len(recs)-1].Offset + 1
	p.records += len(recs)
	p.bytes += n
	p.r.account(len(recs), n)
	cfg := &p.r.cfg
	if !p.boundPause && (p.records >= cfg.PartitionMaxRecords || p.bytes >= cfg.PartitionMaxBytes) {
		p.setPausedLocked(true, pauseByBounds)
	}
	signal(p.wake)
}

// take returns the next batch, or nil once the partition is stopping.
func (p *partition) take() *Batch {
	for {
		p.mu.Lock()
		if p.stopping {
			p.mu.Unlock()
			return nil
		}
		if len(p.queue) > 0 {
			n := min(len(p.queue), p.r.cfg.MaxBatchRecords)
			recs := make([]*kgo.Record, n)
			copy(recs, p.queue)
			clear(p.queue[:n])
			p.queue = p.queue[n:]
			if len(p.queue) == 0 {
				p.queue = nil // let the backing array go
			}
			b := &Batch{Topic: p.topic, Partition: p.id, Records: recs, part: p, ctx: p.ctx, records: n}
			for _, rec := range recs {
				b.bytes += int64(len(rec.Key) + len(rec.Value))
			}
			last := recs[n-1]
			b.next = kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1}
			b.pending.Store(1) // the runtime's own count, released by seal
			p.inflight = append(p.inflight, b)
			p.mu.Unlock()
			return b
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-p.ctx.Done():
			return nil
		}
	}
}

// work is the partition's worker goroutine.
func (p *partition) work() {
	defer close(p.exited)
	for {
		b := p.take()
		if b == nil {
			return
		}
		if !p.r.process(p.ctx, b) {
			return // abandoned: the partition is going away
		}
		p.progress.Store(time.Now().UnixNano())
		b.seal()
	}
}

// batchDone marks b finished, releases its in-flight accounting, and
// advances the committable offset over the finished prefix of batches.
func (p *partition) batchDone(b *Batch) {
	if b.failed.Load() {
		return // an output was lost with the partition; never commit past it
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	b.done = true
	if p.r.pool != nil {
		// Finished: nothing refers to the records any more (RecordRecycler).
		for _, rec := range b.Records {
			rec.Recycle()
		}
	}
	b.Records = nil
	// Done: every output is acknowledged, so nothing refers to the
	// slabs they were encoded in (Batch.Grow).
	p.r.slabs.put(b.slabs)
	b.slabs, b.free = nil, nil
	// Batches finish out of order (their outputs go to different
	// partitions); only the finished prefix is committable.
	for len(p.inflight) > 0 && p.inflight[0].done {
		p.commitable = p.inflight[0].next
		p.inflight[0] = nil
		p.inflight = p.inflight[1:]
	}
	p.records -= b.records
	p.bytes -= b.bytes
	p.r.account(-b.records, -b.bytes)
	cfg := &p.r.cfg
	if p.boundPause && p.records <= cfg.PartitionMaxRecords/2 && p.bytes <= cfg.PartitionMaxBytes/2 {
		p.setPausedLocked(false, pauseByBounds)
	}
	signal(p.change)
}

func (p *partition) pause(why pauseReason) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setPausedLocked(true, why)
}

func (p *partition) resume(why pauseReason) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setPausedLocked(false, why)
}

// setPausedLocked records a pause or resume for one reason and pauses or
// resumes fetching when the partition's paused state changes.
func (p *partition) setPausedLocked(on bool, why pauseReason) {
	was := p.boundPause || p.stagePause > 0
	switch {
	case why == pauseByBounds:
		p.boundPause = on
	case on:
		p.stagePause++
	case p.stagePause > 0:
		p.stagePause--
	}
	now := p.boundPause || p.stagePause > 0
	if p.closed || was == now {
		return
	}
	tp := map[string][]int32{p.topic: {p.id}}
	if now {
		p.r.client.PauseFetchPartitions(tp)
		p.r.metrics.paused.WithLabelValues(p.r.name).Inc()
		if why == pauseByBounds {
			p.r.log.Debug("partition paused: in-flight bound reached; raise runtime.partition_max_records / partition_max_bytes if this is frequent",
				zapTP(p.topic, p.id), zap.Int("records", p.records), zap.Int64("bytes", p.bytes))
			p.r.metrics.boundHits.WithLabelValues(p.r.name, "partition").Inc()
		}
	} else {
		p.r.client.ResumeFetchPartitions(tp)
		p.r.metrics.paused.WithLabelValues(p.r.name).Dec()
	}
}

// stop makes the worker take no more batches and drops queued records
// (they are refetched by whoever owns the partition next).
func (p *partition) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return
	}
	p.stopping = true
	var n int64
	for _, rec := range p.queue {
		n += int64(len(rec.Key) + len(rec.Value))
	}
	p.records -= len(p.queue)
	p.bytes -= n
	p.r.account(-len(p.queue), -n)
	clear(p.queue)
	p.queue = nil
	signal(p.wake)
}

// drain waits until the worker has exited and every in-flight batch has
// finished, or until deadline. It reports whether everything finished.
func (p *partition) drain(deadline <-chan time.Time) bool {
	select {
	case <-p.exited:
	case <-deadline:
		p.cancel() // Process must return once its context is canceled
		<-p.exited
		return false
	}
	for {
		p.mu.Lock()
		n := len(p.inflight)
		p.mu.Unlock()
		if n == 0 {
			return true
		}
		select {
		case <-p.change:
		case <-deadline:
			return false
		}
	}
}

// offsetToCommit returns the offset to commit if it moved past the last commit.
func (p *partition) offsetToCommit() (kgo.EpochOffset, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.commitable.Offset > p.committed {
		return p.commitable, true
	}
	return kgo.EpochOffset{}, false
}

func (p *partition) markCommitted(off int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if off > p.committed {
		p.committed = off
	}
}

// close abandons whatever is unfinished: its context is canceled, its
// accounting released, and fetching resumed so that a later owner (maybe
// this process again) is not left paused.
func (p *partition) close() {
	p.cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if p.boundPause || p.stagePause > 0 {
		p.r.client.ResumeFetchPartitions(map[string][]int32{p.topic: {p.id}})
		p.r.metrics.paused.WithLabelValues(p.r.name).Dec()
	}
	p.closed = true
	p.r.account(-p.records, -p.bytes)
	p.records, p.bytes = 0, 0
	clear(p.inflight)
	p.inflight = nil
	p.r.metrics.lag.DeleteLabelValues(p.r.name, p.topic, p.label)
}
