package deliver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/topics"
)

// Deps are what the deliver stage needs from the process around it.
type Deps struct {
	// Topics names deliveries, the retry tiers and deliveries.dlq. Required.
	Topics topics.Names
	// Redis holds the attempt log. Required.
	Redis redis.UniversalClient
	// KeyPrefix starts every Redis key (redis.key_prefix). Default "".
	KeyPrefix string
	// Logger receives the stage's logs. Required.
	Logger *zap.Logger
	// Registerer receives the stage's metrics. Required.
	Registerer prometheus.Registerer
	// Now is the stage's clock. Default time.Now. Tests substitute it
	// (with AfterFunc); it must be safe for concurrent use.
	Now func() time.Time
	// AfterFunc calls f in its own goroutine after d, on the clock of Now;
	// stop cancels the call and reports whether it did so before f
	// started. Default a time.AfterFunc wrapper.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	// Endpoints looks up webhooks and disables them on 410. Required.
	Endpoints Endpoints
	// Version is sent as User-Agent: leadflow/VERSION. Default "dev".
	Version string
}

// Stage is the deliver stage: it turns delivery requests into batched,
// signed webhook requests, one bounded queue per endpoint, and retries
// them through delay-tier topics. Create it with New and run it with a
// pipeline.Runner, which calls Start before its first Process, Drain
// (Shutdown) when the process starts stopping and Close after it has
// stopped consuming. It is safe for concurrent use.
type Stage struct {
	cfg       Config
	topics    topics.Names
	log       *zap.Logger
	now       func() time.Time
	afterFunc func(d time.Duration, f func()) (stop func() bool)
	m         *metrics
	endpoints Endpoints
	sender    *sender
	attempts  *AttemptLog
	logw      *logWriter

	inputs      []string
	tiers       []time.Duration
	tierByTopic map[string]time.Duration

	// ctx is the stage's own lifetime, from Start to Close: the work it
	// owns (sends, hand-offs) outlives any Process call. Close cancels it.
	// Both are set by Start, under lmu, before started is.
	ctx     context.Context
	cancel  context.CancelFunc
	lmu     sync.Mutex     // orders Start and Close
	started atomic.Bool    // Start ran: Process may run and Close waits for the goroutines
	wg      sync.WaitGroup // sends, hand-off produces and retries, janitor
	logWG   sync.WaitGroup

	mu  sync.RWMutex
	eps map[string]map[string]*endpoint // workspace -> webhook -> state

	tmu     sync.Mutex
	tparts  map[tierKey]*tierPart
	raWaits map[*raWait]struct{} // retry records held until their Retry-After ends

	bodies sync.Pool // *[]byte request bodies

	queued      atomic.Int64
	queuedBytes atomic.Int64
	held        atomic.Int64
	peakQueued  atomic.Int64
	peakHeld    atomic.Int64
	handedBytes atomic.Int64
	spilled     atomic.Int64 // subjects handed to a tier without using an attempt
	tierRecords atomic.Int64 // retry-tier records waiting to be due
	tierBytes   atomic.Int64
	stopping    atomic.Bool
	stopCh      chan struct{}    // closed by Shutdown: wakes workers waiting for room
	closed      atomic.Bool      // set by Close under lmu
	status      *statusPublisher // status.go
}

var errBadURL = errors.New("not an absolute http(s) URL")

// errNotStarted is returned by Process before Start.
var errNotStarted = errors.New("deliver: Process called before Start")

// New validates cfg and deps and builds the stage. It starts nothing:
// Start starts the stage's goroutines.
func New(cfg Config, deps Deps) (*Stage, error) {
	if err := cfg.Validate("stages.deliver"); err != nil {
		return nil, err
	}
	switch {
	case deps.Logger == nil:
		return nil, errors.New("deliver: Deps.Logger is required")
	case deps.Registerer == nil:
		return nil, errors.New("deliver: Deps.Registerer is required")
	case deps.Endpoints == nil:
		return nil, errors.New("deliver: Deps.Endpoints is required")
	case deps.Redis == nil:
		return nil, errors.New("deliver: Deps.Redis is required")
	case deps.Topics.Deliveries == "":
		return nil, errors.New("deliver: Deps.Topics is required")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.AfterFunc == nil {
		deps.AfterFunc = afterFunc
	}
	if deps.Version == "" {
		deps.Version = "dev"
	}
	m, err := newMetrics(deps.Registerer)
	if err != nil {
		return nil, fmt.Errorf("deliver: metrics: %w", err)
	}
	s := &Stage{
		cfg: cfg, topics: deps.Topics, log: deps.Logger.With(zap.String("stage", "deliver")),
		now: deps.Now, afterFunc: deps.AfterFunc, m: m, endpoints: deps.Endpoints,
		sender:      newSender(cfg, deps.Version, deps.Now),
		attempts:    NewAttemptLogFor(deps.Redis, deps.KeyPrefix, cfg),
		tierByTopic: make(map[string]time.Duration),
		eps:         make(map[string]map[string]*endpoint),
		tparts:      make(map[tierKey]*tierPart),
		raWaits:     make(map[*raWait]struct{}),
		stopCh:      make(chan struct{}),
	}
	s.bodies.New = func() any { b := make([]byte, 0, 4096); return &b }
	s.inputs = []string{deps.Topics.Deliveries}
	s.tiers = cfg.Tiers()
	for _, d := range s.tiers {
		t := deps.Topics.Retry(TierName(d))
		s.inputs = append(s.inputs, t)
		s.tierByTopic[t] = d
	}
	s.logw = newLogWriter(s.attempts, s.log, m.logDropped.Inc)
	s.status = newStatusPublisher(s, deps.Redis, deps.KeyPrefix)
	return s, nil
}

// afterFunc is the default Deps.AfterFunc: time.AfterFunc.
func afterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// Start starts the stage's goroutines: the attempt log writer, the idle
// endpoint janitor and the status publisher (pipeline.Starter; the runner
// calls it once, before its first Process). The stage's work outlives
// Process calls, so it has a lifetime of its own, from Start to Close: it
// keeps ctx's values, not its cancellation (shutdown drains through
// Shutdown and Close). It fails if called twice or after Close.
func (s *Stage) Start(ctx context.Context) error {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	switch {
	case s.closed.Load():
		return errors.New("deliver: Start called after Close")
	case s.started.Load():
		return errors.New("deliver: Start called twice")
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.logWG.Add(1)
	go func() {
		defer s.logWG.Done()
		s.logw.run(s.ctx)
	}()
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.janitor()
	}()
	go func() {
		defer s.wg.Done()
		s.status.run(s.ctx)
	}()
	s.started.Store(true)
	return nil
}

// Name is "deliver".
func (s *Stage) Name() string { return "deliver" }

// Inputs are deliveries and one retry topic per delay tier.
func (s *Stage) Inputs() []string { return s.inputs }

// RecyclesRecords marks the stage a pipeline.RecordRecycler. An item's
// bytes point into its record (decodeRequest), and items outlive their
// batch's Process call in endpoint queues, in-process retries and held
// retry-tier records; but each item holds its batch (holdRef, a
// pipeline.Hold) until it is delivered, dropped, or handed on and Kafka
// has the retry record (emitShared), and nothing reads an item after
// that: the request body, the attempt log and the retry records are
// copies, and a request's ids and names are strings. The runner recycles
// a batch's records only once every Hold is released, and never for a
// failed batch or a revoked partition, so a held item's bytes stay whole.
func (s *Stage) RecyclesRecords() {}

// MaxOutputBytes lets the runner's producer take retry records, which hold
// whole requests (up to retry_record_max_bytes plus headers); the broker's
// limit is checked on the compressed batch (pipeline.OutputSizer).
func (s *Stage) MaxOutputBytes() int32 {
	return int32(min(s.cfg.RetryRecordMaxBytes+64<<10, 1<<30))
}

// AttemptLog is the stage's attempt log (for the admin API).
func (s *Stage) AttemptLog() *AttemptLog { return s.attempts }

// Process queues each delivery request of b on its endpoint, or, for a
// retry tier, each record that is due (pausing the partition until the
// next one is due). It waits only for a healthy endpoint whose queue is
// full, at most queue_wait_max each time (see endpoint.enqueue): what
// cannot be queued is spilled to a retry tier. It returns an error only
// when ctx ends while it waits (the runtime then abandons the batch), or
// before Start: bad records are dead-lettered.
func (s *Stage) Process(ctx context.Context, b *pipeline.Batch) error {
	if !s.started.Load() {
		return errNotStarted
	}
	ref := newHoldRef(b.Hold())
	defer ref.release()
	if _, ok := s.tierByTopic[b.Topic]; ok {
		s.processTier(b, ref)
		return nil
	}
	now := s.now()
	for _, rec := range b.Records {
		it := new(item)
		if err := decodeRequest(rec.Value, it); err != nil {
			b.DeadLetter(rec, err)
			continue
		}
		it.firstSeen = now
		s.hold(it, ref)
		if err := s.route(ctx, it, now, true); err != nil {
			return err
		}
		now = s.now()
	}
	return nil
}

// hold ties it to its batch's hold until it is delivered or handed on.
func (s *Stage) hold(it *item, ref *holdRef) {
	ref.add()
	it.hold = ref
	if n := s.held.Add(1); n > s.peakHeld.Load() {
		s.peakHeld.Store(n)
	}
}

func (s *Stage) release(items []*item) {
	for _, it := range items {
		it.hold.release()
	}
	s.held.Add(-int64(len(items)))
}

func (s *Stage) addQueued(n, bytes int) {
	q := s.queued.Add(int64(n))
	s.queuedBytes.Add(int64(bytes))
	if q > s.peakQueued.Load() {
		s.peakQueued.Store(q)
	}
}

// route queues it on its endpoint (waiting for room if canWait, see
// endpoint.enqueue). A request for an endpoint this process does not know
// is spilled while the stage first saw it less than
// unknown_endpoint_grace ago (the control topic may lag) and dropped after
// (the webhook was deleted).
func (s *Stage) route(ctx context.Context, it *item, now time.Time, canWait bool) error {
	e := s.endpointFor(it.workspaceID, it.webhookID)
	if e != nil {
		return e.enqueue(ctx, it, now, canWait)
	}
	r := &request{workspaceID: string(it.workspaceID), webhookID: string(it.webhookID), event: it.event}
	r.add(it)
	if now.Sub(it.firstSeen) < s.cfg.UnknownEndpointGrace {
		r.deferrals++
		s.hand(handoff{r: r, reason: "unknown_endpoint", delay: s.cfg.SpillDelay})
		return nil
	}
	s.m.dropped.WithLabelValues("unknown_endpoint").Inc()
	s.release(r.items)
	return nil
}

// endpointFor returns the state of an endpoint, creating it if the
// control plane knows the webhook; nil if it does not.
func (s *Stage) endpointFor(workspaceID, webhookID []byte) *endpoint {
	s.mu.RLock()
	e := s.eps[string(workspaceID)][string(webhookID)]
	s.mu.RUnlock()
	if e != nil {
		return e
	}
	ep, ok := s.endpoints.Endpoint(string(workspaceID), string(webhookID))
	if !ok || ep.WorkspaceID != string(workspaceID) || ep.ID != string(webhookID) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.eps[ep.WorkspaceID]
	if ws == nil {
		ws = make(map[string]*endpoint)
		s.eps[ep.WorkspaceID] = ws
	}
	if e = ws[ep.ID]; e == nil {
		e = s.newEndpoint(ep)
		ws[ep.ID] = e
	}
	return e
}

// run carries out a plan made under e's lock.
func (s *Stage) run(e *endpoint, p *plan) {
	if s.closed.Load() {
		return // abandoned with the process: processed again by the next owner
	}
	for _, r := range p.sends {
		s.wg.Add(1)
		go s.send(e, r)
	}
	for _, h := range p.hands {
		s.hand(h)
	}
	s.m.queued.Set(float64(s.queued.Load()))
	s.m.held.Set(float64(s.held.Load()))
}

func (s *Stage) getBody() *[]byte { return s.bodies.Get().(*[]byte) }

func (s *Stage) putBody(b *[]byte) {
	if cap(*b) > 4<<20 {
		return // do not keep rare huge bodies
	}
	*b = (*b)[:0]
	s.bodies.Put(b)
}

// janitor drops the state of endpoints idle for endpoint_idle_timeout.
func (s *Stage) janitor() {
	every := min(s.cfg.EndpointIdleTimeout/2, 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		now := s.now()
		s.mu.Lock()
		for ws, m := range s.eps {
			for id, e := range m {
				e.mu.Lock()
				idle := e.idleLocked(now, s.cfg.EndpointIdleTimeout)
				e.mu.Unlock()
				if idle {
					delete(m, id)
				}
			}
			if len(m) == 0 {
				delete(s.eps, ws)
			}
		}
		s.mu.Unlock()
	}
}

// Stats is a snapshot of the stage's in-process bounds, for tests and
// debugging.
type Stats struct {
	Queued      int64 // subjects queued (batching or waiting for a slot)
	QueuedBytes int64 // their subject bytes
	Held        int64 // subjects held: queued, in flight, waiting in process, or being handed on
	PeakQueued  int64 // the most Queued has been
	PeakHeld    int64 // the most Held has been
	Endpoints   int   // endpoints with in-process state
	HandedBytes int64 // value bytes of the records handed to retry tiers and deliveries.dlq
	TierWaiting int64 // retry-tier records held until they are due
	Spilled     int64 // subjects handed to a retry tier without using an attempt (leadflow_deliver_spills_total, every reason)
}

// allEndpoints returns a snapshot of every endpoint the stage holds.
func (s *Stage) allEndpoints() []*endpoint {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var eps []*endpoint
	for _, m := range s.eps {
		for _, e := range m {
			eps = append(eps, e)
		}
	}
	return eps
}

// Stats returns the current Stats.
func (s *Stage) Stats() Stats {
	s.mu.RLock()
	n := 0
	for _, m := range s.eps {
		n += len(m)
	}
	s.mu.RUnlock()
	return Stats{Queued: s.queued.Load(), QueuedBytes: s.queuedBytes.Load(), Held: s.held.Load(),
		PeakQueued: s.peakQueued.Load(), PeakHeld: s.peakHeld.Load(), Endpoints: n, HandedBytes: s.handedBytes.Load(), TierWaiting: s.tierRecords.Load(),
		Spilled: s.spilled.Load()}
}
