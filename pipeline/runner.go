package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// Deps are what a Runner needs from the process around it.
type Deps struct {
	// Logger receives the runner's logs. Required.
	Logger *zap.Logger
	// Metrics is the process's pipeline metrics (NewMetrics). Required.
	Metrics *Metrics
	// Group is the consumer group the runner joins, e.g. "leadflow.enrich".
	// Required.
	Group string
	// DeadLetterTopic receives the records the stage rejects, with the
	// reason in headers. Required; it must exist (topics.create).
	DeadLetterTopic string
	// Kafka is how to reach the brokers.
	Kafka KafkaConfig
	// ExtraOpts are appended to the client options (tests use them).
	ExtraOpts []kgo.Opt
	// InstanceID makes the runner a static member of its consumer group
	// (kgo.InstanceID): a restart with the same id resumes its partitions
	// without a rebalance, and Run leaves the group explicitly when it
	// stops. Default "" (a dynamic member). System sets it from
	// KafkaConfig.InstanceID; every member of a group needs its own.
	InstanceID string
	// Grace is how long a dependency may fail, or input wait with no
	// progress, before the runner reports it (HealthConfig.Grace).
	// Default (0) DefaultGrace (15s); otherwise between 1s and 1h.
	Grace time.Duration
}

// Runner runs one Stage in this process: one consumer group member, one
// worker goroutine per owned partition, one committer. Create it with
// NewRunner and start it with Run; it is safe for concurrent use.
type Runner struct {
	stage   Stage
	name    string
	cfg     RuntimeConfig
	log     *zap.Logger
	metrics *Metrics
	dlq     string // Deps.DeadLetterTopic
	client  *kgo.Client
	listen  PartitionListener // nil if the stage keeps no partition state
	watch   *Watch
	group   string
	iid     string      // static group instance id; "" for a dynamic member
	pool    *recordPool // the stage is a RecordRecycler: finished batches' records go back to it
	slabs   slabPool    // finished batches' output slabs (Batch.Grow)
	base    []kgo.Opt   // connection options, for leaving the group after Close

	produceWaitSince time.Time // first tick that saw records waiting to be produced; only probe uses it

	mu      sync.Mutex
	parts   map[string]map[int32]*partition
	closing bool // set by detachAll: an assignment arriving during shutdown starts no worker

	inflightRecords atomic.Int64
	inflightBytes   atomic.Int64
	released        chan struct{} // in-flight went down; cap 1

	outCounters sync.Map // topic -> prometheus.Counter

	joined  atomic.Bool
	ran     atomic.Bool // Run or Close was called: one of them owns the client
	workers sync.WaitGroup
	stopped chan struct{} // closed once Run has finished every partition
}

// NewRunner validates cfg and deps and builds the Kafka client for stage;
// errors are *FieldError values naming the field (e.g. "Deps.Group"). It
// does not connect; Run does.
func NewRunner(stage Stage, cfg RuntimeConfig, deps Deps) (*Runner, error) {
	if stage == nil || stage.Name() == "" || len(stage.Inputs()) == 0 {
		return nil, &FieldError{Field: "stage", Reason: "must have a name and at least one input topic"}
	}
	if err := cfg.Validate("stages." + stage.Name() + ".runtime"); err != nil {
		return nil, err
	}
	var errs []error
	for _, req := range []struct {
		field   string
		missing bool
	}{
		{"Deps.Logger", deps.Logger == nil},
		{"Deps.Metrics", deps.Metrics == nil},
		{"Deps.Group", deps.Group == ""},
		{"Deps.DeadLetterTopic", deps.DeadLetterTopic == ""},
	} {
		if req.missing {
			errs = append(errs, &FieldError{Field: req.field, Reason: "is required"})
		}
	}
	if deps.Grace != 0 {
		errs = append(errs, CheckLimits("Deps", DurationLimit("Grace", deps.Grace, minGrace, maxGrace)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("pipeline: stage %s: %w", stage.Name(), err)
	}
	r := &Runner{
		stage: stage, name: stage.Name(), cfg: cfg,
		log:     deps.Logger.With(zap.String("stage", stage.Name())),
		metrics: deps.Metrics, dlq: deps.DeadLetterTopic,
		parts:    make(map[string]map[int32]*partition),
		released: make(chan struct{}, 1),
		stopped:  make(chan struct{}),
	}
	r.listen, _ = stage.(PartitionListener)
	var err error
	if r.watch, err = NewWatch(WatchConfig{Name: r.name, Grace: deps.Grace}, WatchDeps{Logger: r.log, Metrics: deps.Metrics}); err != nil {
		return nil, err
	}
	r.watch.probe = r.probe
	r.group, r.iid = deps.Group, deps.InstanceID
	base, err := deps.Kafka.ClientOpts()
	if err != nil {
		return nil, err
	}
	r.base = base
	opts := append(slices.Clip(base),
		kgo.WithHooks(kafkaHooks{r.watch}),
		kgo.ConsumerGroup(r.group),
		kgo.ConsumeTopics(stage.Inputs()...),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(r.onAssigned),
		kgo.OnPartitionsRevoked(r.onRevoked),
		kgo.OnPartitionsLost(r.onLost),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.RebalanceTimeout(cfg.RebalanceTimeout),
		kgo.FetchMaxBytes(cfg.fetchMaxBytes()),
		kgo.FetchMaxPartitionBytes(cfg.fetchMaxPartitionBytes()),
		kgo.FetchMaxWait(cfg.FetchMaxWait),
		kgo.FetchMinBytes(cfg.fetchMinBytes()),
		kgo.ProducerLinger(cfg.ProducerLinger),
		kgo.MaxBufferedRecords(cfg.ProducerMaxBufferedRecords),
	)
	codec, _ := cfg.compression() // validated above
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	opts = append(opts, kgo.MaxBufferedBytes(int(cfg.ProducerMaxBufferedBytes)))
	if sz, ok := stage.(OutputSizer); ok {
		if n := sz.MaxOutputBytes(); n > 0 {
			if cfg.ProducerMaxBufferedBytes < 2*int64(n) {
				return nil, &FieldError{Field: "stages." + stage.Name() + ".runtime.producer_max_buffered_bytes",
					Reason: fmt.Sprintf("%d is less than two of the stage's largest records (%d bytes each)", cfg.ProducerMaxBufferedBytes, n)}
			}
			opts = append(opts, kgo.ProducerBatchMaxBytes(n))
		}
	}
	if r.iid != "" {
		opts = append(opts, kgo.InstanceID(r.iid))
	}
	if _, ok := stage.(RecordRecycler); ok {
		r.pool = &recordPool{poison: os.Getenv(PoisonRecycledEnv) == "1"}
		opts = append(opts, kgo.WithPools(r.pool))
	}
	opts = append(opts, deps.ExtraOpts...)
	r.client, err = kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("pipeline: stage %s: kafka client: %w", stage.Name(), err)
	}
	return r, nil
}

// Name is the stage's name.
func (r *Runner) Name() string { return r.name }

// Ready reports nil once the runner has joined its group and while no
// dependency has failed, and no input waited unprocessed, for longer than
// the grace (see Watch); otherwise it says why not. The message does not
// name the stage (the health check's name does). It never blocks.
func (r *Runner) Ready() error {
	if !r.joined.Load() {
		return errors.New("not yet joined its consumer group")
	}
	return r.watch.Ready()
}

// Watch is the runner's stall and health signal.
func (r *Runner) Watch() *Watch { return r.watch }

// Close releases what a runner that will not run holds: its Kafka client,
// and its stage when the stage is a Closer (a stage closes whether or not
// it started). Run does this itself when it returns, so Close after Run,
// or a second Close, does nothing. Close must not be called while Run
// runs.
func (r *Runner) Close(ctx context.Context) error {
	if r.ran.Swap(true) {
		return nil
	}
	r.client.Close()
	if c, ok := r.stage.(Closer); ok {
		if err := c.Close(ctx); err != nil {
			return fmt.Errorf("pipeline: closing stage %s: %w", r.name, err)
		}
	}
	return nil
}

// Run starts the stage (Starter) and consumes until ctx is canceled, then
// shuts down: it stops fetching, asks the stage to drain (Drainer), lets
// in-flight work finish for up to shutdownTimeout, commits what is
// finished, leaves the group, and closes the stage (Closer). It returns
// nil after a clean shutdown; otherwise the stage's Start error (Run then
// consumes nothing, but still leaves the group and closes the stage) and
// its Close error.
func (r *Runner) Run(ctx context.Context, shutdownTimeout time.Duration) error {
	if r.ran.Swap(true) {
		return fmt.Errorf("pipeline: stage %s: Run after Run or Close", r.name)
	}
	r.log.Info("stage starting", zap.Strings("inputs", r.stage.Inputs()), zap.String("group", r.group), zap.String("instance_id", r.iid))
	soft := context.WithoutCancel(ctx)
	var err error
	if st, ok := r.stage.(Starter); ok {
		if err = st.Start(soft); err != nil {
			err = fmt.Errorf("pipeline: starting stage %s: %w", r.name, err)
			r.log.Error("stage failed to start; stopping without consuming", zap.Error(err))
		}
	}
	if err == nil {
		r.consume(ctx)
		if d, ok := r.stage.(Drainer); ok {
			if derr := d.Drain(soft); derr != nil {
				r.log.Warn("stage drain failed; what it did not hand on is processed again by the next owner", zap.Error(derr))
			}
		}
	}

	// Shutdown: stop every partition, let in-flight work finish, commit.
	parts := r.detachAll()
	r.finish(soft, parts, shutdownTimeout, true)
	r.workers.Wait()
	close(r.stopped)
	r.client.Close() // leaves the group (a dynamic member); nothing is left to revoke
	r.leaveStatic(soft)
	if c, ok := r.stage.(Closer); ok {
		cctx, cancel := context.WithTimeout(soft, 5*time.Second)
		if cerr := c.Close(cctx); cerr != nil {
			cerr = fmt.Errorf("pipeline: closing stage %s: %w", r.name, cerr)
			if err == nil {
				err = cerr
			} else {
				err = errors.Join(err, cerr)
			}
		}
		cancel()
	}
	r.log.Info("stage stopped")
	return err
}

// consume polls and dispatches until ctx is canceled, committing every
// CommitInterval; it returns once its committer and watch have stopped.
func (r *Runner) consume(ctx context.Context) {
	commitCtx, stopCommitter := context.WithCancel(ctx)
	var committer sync.WaitGroup
	committer.Add(2)
	go func() {
		defer committer.Done()
		r.commitLoop(commitCtx)
	}()
	go func() {
		defer committer.Done()
		r.watch.Run(commitCtx, time.Second)
	}()
	go r.watchJoin(commitCtx)

	for ctx.Err() == nil {
		if !r.waitCapacity(ctx) {
			break
		}
		fetches := r.client.PollFetches(ctx)
		if fetches.IsClientClosed() {
			break
		}
		fetches.EachError(r.fetchError)
		r.dispatch(fetches)
	}
	stopCommitter()
	committer.Wait()
}

// waitCapacity blocks while the stage's in-flight bounds are exceeded.
func (r *Runner) waitCapacity(ctx context.Context) bool {
	logged := false
	for r.inflightRecords.Load() >= int64(r.cfg.MaxInflightRecords) || r.inflightBytes.Load() >= r.cfg.MaxInflightBytes {
		if !logged {
			logged = true
			r.metrics.boundHits.WithLabelValues(r.name, "process").Inc()
			r.log.Debug("stage paused polling: in-flight bound reached; raise runtime.max_inflight_records / max_inflight_bytes if this is frequent",
				zap.Int64("records", r.inflightRecords.Load()), zap.Int64("bytes", r.inflightBytes.Load()))
		}
		select {
		case <-r.released:
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return true
}

// account adds to the stage's in-flight counters.
func (r *Runner) account(records int, bytes int64) {
	n := r.inflightRecords.Add(int64(records))
	r.inflightBytes.Add(bytes)
	if records < 0 {
		signal(r.released)
	}
	r.metrics.inflight.WithLabelValues(r.name).Set(float64(n))
}

func (r *Runner) dispatch(fetches kgo.Fetches) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) == 0 {
			return
		}
		p := r.parts[fp.Topic][fp.Partition]
		if p == nil {
			return // revoked while the fetch was in hand: the next owner refetches
		}
		last := fp.Records[len(fp.Records)-1]
		r.metrics.recordsIn.WithLabelValues(r.name).Add(float64(len(fp.Records)))
		lag := max(fp.HighWatermark-last.Offset-1, 0)
		p.lag.Store(lag)
		r.metrics.lag.WithLabelValues(r.name, fp.Topic, p.label).Set(float64(lag))
		p.add(fp.Records)
	})
}

func (r *Runner) watchJoin(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if _, gen := r.client.GroupMetadata(); gen >= 0 {
			r.joined.Store(true)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Runner) onAssigned(ctx context.Context, _ *kgo.Client, assigned map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.joined.Store(true)
	if r.closing {
		// The group's callbacks run until the client is closed, after the
		// shutdown drained: a worker started now would never be stopped.
		r.log.Info("partitions assigned during shutdown; not processed here", zap.Any("partitions", assigned))
		return
	}
	for topic, ps := range assigned {
		m := r.parts[topic]
		if m == nil {
			m = make(map[int32]*partition)
			r.parts[topic] = m
		}
		for _, id := range ps {
			if m[id] != nil {
				continue
			}
			if r.listen != nil {
				r.listen.PartitionAssigned(topic, id)
			}
			p := newPartition(ctx, r, topic, id)
			m[id] = p
			r.workers.Add(1)
			go func() {
				defer r.workers.Done()
				p.work()
			}()
		}
	}
	r.log.Info("partitions assigned", zap.Any("partitions", assigned))
}

// onRevoked drains the revoked partitions for up to RevokeTimeout, commits
// what finished, and abandons the rest.
func (r *Runner) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	parts := r.detach(revoked)
	if len(parts) == 0 {
		return
	}
	r.log.Info("partitions revoked", zap.Any("partitions", revoked))
	r.finish(ctx, parts, r.cfg.RevokeTimeout, true)
}

// onLost abandons the lost partitions at once: another member may own
// them already, and a commit would fail.
func (r *Runner) onLost(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	parts := r.detach(lost)
	if len(parts) == 0 {
		return
	}
	r.log.Warn("partitions lost", zap.Any("partitions", lost))
	r.finish(ctx, parts, 0, false)
}

func (r *Runner) detach(tps map[string][]int32) []*partition {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*partition
	for topic, ids := range tps {
		for _, id := range ids {
			if p := r.parts[topic][id]; p != nil {
				delete(r.parts[topic], id)
				out = append(out, p)
			}
		}
	}
	return out
}

func (r *Runner) detachAll() []*partition {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closing = true
	var out []*partition
	for topic, m := range r.parts {
		for _, p := range m {
			out = append(out, p)
		}
		delete(r.parts, topic)
	}
	return out
}

// finish stops parts, waits up to timeout for their in-flight work,
// commits what finished (if commit), and abandons the rest.
func (r *Runner) finish(ctx context.Context, parts []*partition, timeout time.Duration, commit bool) {
	for _, p := range parts {
		p.stop()
	}
	deadline := time.After(timeout)
	abandoned := 0
	for _, p := range parts {
		if !p.drain(deadline) {
			abandoned++
		}
	}
	if abandoned > 0 {
		r.log.Warn("abandoned unfinished work on partitions; it will be processed again by their next owner",
			zap.Int("partitions", abandoned), zap.Duration("timeout", timeout))
	}
	if commit {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		r.commit(cctx, parts)
		cancel()
	}
	for _, p := range parts {
		p.close()
		if r.listen != nil {
			r.listen.PartitionRevoked(p.topic, p.id)
		}
	}
}

func (r *Runner) commitLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		var parts []*partition
		for _, m := range r.parts {
			for _, p := range m {
				parts = append(parts, p)
			}
		}
		r.mu.Unlock()
		r.commit(ctx, parts)
	}
}

// commit synchronously commits the finished offsets of parts.
func (r *Runner) commit(ctx context.Context, parts []*partition) {
	offsets := make(map[string]map[int32]kgo.EpochOffset)
	byTP := make(map[string]map[int32]*partition)
	for _, p := range parts {
		off, ok := p.offsetToCommit()
		if !ok {
			continue
		}
		if offsets[p.topic] == nil {
			offsets[p.topic] = make(map[int32]kgo.EpochOffset)
			byTP[p.topic] = make(map[int32]*partition)
		}
		offsets[p.topic][p.id] = off
		byTP[p.topic][p.id] = p
	}
	if len(offsets) == 0 {
		return
	}
	r.client.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				r.metrics.commitErrors.WithLabelValues(r.name).Inc()
				r.log.Warn("offset commit failed; it is retried at the next interval", zap.Error(err))
			}
			return
		}
		for _, t := range resp.Topics {
			for _, rp := range t.Partitions {
				if rp.ErrorCode != 0 {
					r.metrics.commitErrors.WithLabelValues(r.name).Inc()
					r.log.Warn("offset commit rejected", zapTP(t.Topic, rp.Partition), zap.Int16("code", rp.ErrorCode))
					continue
				}
				if p := byTP[t.Topic][rp.Partition]; p != nil {
					p.markCommitted(offsets[t.Topic][rp.Partition].Offset)
				}
			}
		}
	})
}
