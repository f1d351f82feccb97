package control

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
)

// Errors of the Store.
var (
	// ErrNotFound: the entity does not exist.
	ErrNotFound = errors.New("control: not found")
	// ErrNotStarted: Put, Delete or DisableWebhook before Start.
	ErrNotStarted = errors.New("control: store not started (call Start)")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("control: store closed")
	// ErrCatchingUp: Start has not yet read the control topic to its end
	// (Ready wraps it; so does ErrNotStarted's case, see Loading).
	ErrCatchingUp = errors.New("control: still reading the control topic")
)

// Loading reports whether err (from Ready) only means the Store has not
// finished its first read of the control topic: not started, or catching
// up. Lookups then see a partial state.
func Loading(err error) bool {
	return errors.Is(err, ErrNotStarted) || errors.Is(err, ErrCatchingUp)
}

// Store materialises the control topic in memory and writes to it. Every
// process has one: the stages read webhooks, segments, personas and
// automations from it, the admin API writes through it.
//
// Start reads the topic to its end before it returns (and Ready reports
// nil), then a goroutine owned by the Store's pipeline.Table follows new
// records until Close, so a change written by any process is in effect here within
// about the fetch max wait (default 100ms). Reads (Workspace and the
// lookups) are lock-free: an atomic load of an immutable snapshot. Writes
// (Put, Delete, DisableWebhook) produce to the topic synchronously and
// return once this Store has applied the record, so a read after a write
// sees it.
//
// All methods are safe for concurrent use.
type Store struct {
	topic string
	kafka pipeline.KafkaConfig
	o     options
	keys  *keyring
	log   *zap.Logger

	snap atomic.Pointer[snapshot]

	applyMu sync.Mutex // serialises apply (the follower, or in-memory writes)

	mu       sync.Mutex
	applied  map[int32]int64 // next offset to apply, per partition
	target   map[int32]int64 // end offsets at Start; nil once caught up
	changed  chan struct{}   // closed and replaced after every apply
	started  bool
	closed   bool
	broken   map[Ref]error // records that could not be applied (secret errors)
	fetchErr error
	subs     map[int]func(Change)
	nextSub  int

	mem   bool            // NewInMemory: no Kafka
	table *pipeline.Table // the control topic read to its end, then followed; nil in memory
	done  chan struct{}   // closed by Close (at once in memory)

	memOffset int64         // in memory: the next offset
	memLog    []*kgo.Record // in memory: every record written, for tests
}

// produceTimeout bounds how long a written record is retried when the
// brokers do not take it (the writer's context usually gives up sooner).
const produceTimeout = time.Minute

type snapshot struct {
	version    uint64 // grows by one with every published snapshot
	workspaces map[string]*Workspace
}

// Change is one applied record, as told to Subscribe's callbacks.
type Change struct {
	// Ref names the entity.
	Ref Ref
	// Deleted is true for a tombstone.
	Deleted bool
	// Offset is the record's offset in the control topic.
	Offset int64
}

// New returns a Store for the control topic (topics.Names.Control) on
// the cluster kafka. It validates the options and does not connect: Start
// does.
func New(kafka pipeline.KafkaConfig, topic string, opts ...Opt) (*Store, error) {
	if topic == "" {
		return nil, errors.New("control: the control topic name is required")
	}
	if _, err := kafka.ClientOpts(); err != nil {
		return nil, err
	}
	s, err := newStore(opts)
	if err != nil {
		return nil, err
	}
	s.topic, s.kafka = topic, kafka
	return s, nil
}

// NewInMemory returns a Store without Kafka, already started and ready:
// writes apply at once, through the same encoding (and sealing) as
// records in the topic. It is for tests of the stages and the admin API,
// and for tools; it is not shared between processes.
func NewInMemory(opts ...Opt) (*Store, error) {
	s, err := newStore(opts)
	if err != nil {
		return nil, err
	}
	s.topic, s.mem = "memory", true
	s.started = true
	s.target = nil
	close(s.done)
	return s, nil
}

func newStore(opts []Opt) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	kr, err := newKeyring(o.secretKey, o.previousKeys)
	if err != nil {
		return nil, err
	}
	s := &Store{
		o: o, keys: kr, log: o.logger,
		applied: map[int32]int64{}, target: map[int32]int64{},
		changed: make(chan struct{}), broken: map[Ref]error{},
		subs: map[int]func(Change){}, done: make(chan struct{}),
	}
	s.snap.Store(&snapshot{workspaces: map[string]*Workspace{}})
	return s, nil
}

// Start connects, reads the control topic to the end offsets it has now,
// and starts following it; it returns once everything up to those offsets
// is applied (Ready then reports nil). ctx bounds only this wait: the
// follower runs until Close. Start fails when the topic does not exist,
// when ctx ends first, and when a webhook secret in the topic cannot be
// decrypted with the configured keys (an error wrapping ErrSecretKey that
// names the key id needed). After an error the Store is closed.
func (s *Store) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.mem {
		s.mu.Unlock()
		return nil
	}
	if s.started || s.closed {
		s.mu.Unlock()
		return errors.New("control: Start called twice or after Close")
	}
	s.started = true
	s.mu.Unlock()

	if err := s.start(ctx); err != nil {
		s.Close()
		return err
	}
	return nil
}

func (s *Store) start(ctx context.Context) error {
	begin := time.Now()
	tbl, err := pipeline.NewTable(s.kafka, pipeline.TableConfig{
		Topic: s.topic, FetchMaxWait: s.o.fetchMaxWait, TopicWait: s.o.topicWait,
		ProduceTimeout: produceTimeout, ExtraOpts: s.o.kafkaOpts,
	}, s.apply, s.fetchFailed)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	s.mu.Lock()
	s.table = tbl
	s.mu.Unlock()
	target, err := tbl.Open(ctx)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	s.mu.Lock()
	s.target = target
	s.checkCaughtUpLocked()
	s.mu.Unlock()
	tbl.Follow(ctx)

	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		s.mu.Lock()
		caughtUp, ch := s.target == nil, s.changed
		var brokenErr error
		if caughtUp {
			brokenErr = s.brokenErrLocked()
		}
		progress := s.progressLocked()
		s.mu.Unlock()
		if caughtUp {
			if brokenErr != nil {
				return brokenErr
			}
			if s.keys.primary == "" {
				s.log.Warn("control: no secret key is configured: webhook secrets are stored in plain text in the control topic; set secret_key (LEADFLOW_SECRET_KEY)",
					zap.String("topic", s.topic))
			}
			s.log.Info("control: caught up with the control topic", zap.String("topic", s.topic),
				zap.Int("workspaces", len(s.snap.Load().workspaces)), zap.Duration("took", time.Since(begin)))
			return nil
		}
		select {
		case <-ch:
		case <-tick.C:
			s.log.Warn("control: still reading the control topic to its end", zap.String("topic", s.topic), zap.String("progress", progress))
		case <-ctx.Done():
			return fmt.Errorf("control: reading %s to its end (%s): %w", s.topic, progress, context.Cause(ctx))
		}
	}
}

// fetchFailed records a failed fetch of the follower (Ready reports it
// until the next apply).
func (s *Store) fetchFailed(err error) {
	s.log.Error("control: fetch failed", zap.Error(err))
	s.mu.Lock()
	s.fetchErr = err
	s.mu.Unlock()
}

// apply applies records in order and publishes one new snapshot.
func (s *Store) apply(recs []*kgo.Record) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.applyLocked(recs)
}

func (s *Store) applyLocked(recs []*kgo.Record) {
	cur := s.snap.Load()
	touched := map[string]*Workspace{}
	changes := make([]Change, 0, len(recs))
	next := map[int32]int64{}
	brokenNow := map[Ref]error{}
	var fixed []Ref
	for _, r := range recs {
		next[r.Partition] = r.Offset + 1
		ref, err := parseKey(r.Key)
		if err != nil {
			s.log.Error("control: skipping a record with a bad key", zap.Int64("offset", r.Offset), zap.Error(err))
			continue
		}
		if ref.Kind.IDPrefix() == "" {
			s.log.Debug("control: skipping a record of an unknown kind", zap.String("key", ref.Key()))
			continue
		}
		var e Entity
		fresh := true
		if len(r.Value) > 0 {
			e, fresh, err = s.keys.decode(ref, r.Value)
			if errors.Is(err, ErrSecretKey) {
				// Keep what we had: never run a webhook without the
				// secret the user set. Ready reports it until fixed.
				s.log.Error("control: cannot decrypt a webhook secret; keeping the previous version of the webhook",
					zap.String("key", ref.Key()), zap.Int64("offset", r.Offset), zap.Error(err))
				brokenNow[ref] = err
				continue
			}
			if err != nil {
				s.log.Error("control: skipping a record that does not decode", zap.String("key", ref.Key()),
					zap.Int64("offset", r.Offset), zap.Error(err))
				continue
			}
		}
		delete(brokenNow, ref)
		fixed = append(fixed, ref)
		w := touched[ref.Workspace]
		if w == nil {
			w = cur.workspaces[ref.Workspace].clone(ref.Workspace)
			touched[ref.Workspace] = w
		}
		w.set(ref, e, fresh, r.Offset)
		changes = append(changes, Change{Ref: ref, Deleted: e == nil, Offset: r.Offset})
	}
	if len(touched) > 0 {
		m := maps.Clone(cur.workspaces)
		for id, w := range touched {
			w.seal()
			if w.empty() {
				delete(m, id)
			} else {
				m[id] = w
			}
		}
		s.snap.Store(&snapshot{version: cur.version + 1, workspaces: m})
	}

	s.mu.Lock()
	for p, o := range next {
		s.applied[p] = max(s.applied[p], o)
	}
	for _, r := range fixed {
		delete(s.broken, r)
	}
	maps.Copy(s.broken, brokenNow)
	s.fetchErr = nil
	s.checkCaughtUpLocked()
	close(s.changed)
	s.changed = make(chan struct{})
	subs := make([]func(Change), 0, len(s.subs))
	for _, id := range sortedKeys(s.subs) {
		subs = append(subs, s.subs[id])
	}
	s.mu.Unlock()

	for _, c := range changes {
		for _, fn := range subs {
			fn(c)
		}
	}
}

func (s *Store) checkCaughtUpLocked() {
	if s.target == nil {
		return
	}
	for p, end := range s.target {
		if s.applied[p] < end {
			return
		}
	}
	s.target = nil
}

func (s *Store) progressLocked() string {
	if s.target == nil {
		return "caught up"
	}
	var parts []string
	for _, p := range sortedKeys(s.target) {
		parts = append(parts, fmt.Sprintf("partition %d: offset %d of %d", p, s.applied[p], s.target[p]))
	}
	return strings.Join(parts, ", ")
}

func (s *Store) brokenErrLocked() error {
	if len(s.broken) == 0 {
		return nil
	}
	refs := make([]Ref, 0, len(s.broken))
	for r := range s.broken {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Key() < refs[j].Key() })
	err := s.broken[refs[0]]
	if len(refs) == 1 {
		return fmt.Errorf("control: cannot read 1 webhook secret: %w", err)
	}
	return fmt.Errorf("control: cannot read %d webhook secrets (%s, ...); the first: %w", len(refs), refs[0], err)
}

// Ready reports nil once the Store has read the control topic to the end
// offsets it had at Start and while every record since could be applied;
// otherwise it says why not (for /readyz).
func (s *Store) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case !s.started:
		return ErrNotStarted
	case s.target != nil:
		return fmt.Errorf("%w: reading %s to its end (%s)", ErrCatchingUp, s.topic, s.progressLocked())
	case s.fetchErr != nil:
		return fmt.Errorf("control: %w", s.fetchErr)
	}
	return s.brokenErrLocked()
}

// Close stops following the topic, waits for the follower to stop and
// closes the Kafka client (the table's). The last snapshot stays readable; writes fail
// with ErrClosed. Close is idempotent.
func (s *Store) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	tbl := s.table
	s.mu.Unlock()
	if tbl != nil {
		tbl.Close() // waits for the follower
	}
	if !s.mem {
		close(s.done)
	}
}

// Subscribe calls fn for every record the Store applies from now on, in
// topic order, after the snapshot with it is published. fn runs on the
// follower goroutine: it must be quick and must not write to the Store.
// The returned function unsubscribes.
func (s *Store) Subscribe(fn func(Change)) (unsubscribe func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, id)
	}
}

// Workspace returns the current snapshot of workspace ws, or nil when
// nothing is configured in it (every method of *Workspace accepts nil).
// It is lock-free and does not allocate.
func (s *Store) Workspace(ws string) *Workspace { return s.snap.Load().workspaces[ws] }

// Webhook returns the webhook id of workspace ws, enabled or not.
func (s *Store) Webhook(ws, id string) (Webhook, bool) { return s.Workspace(ws).Webhook(id) }

// Segment returns the segment id of workspace ws.
func (s *Store) Segment(ws, id string) (Segment, bool) { return s.Workspace(ws).Segment(id) }

// Persona returns the persona id of workspace ws.
func (s *Store) Persona(ws, id string) (Persona, bool) { return s.Workspace(ws).Persona(id) }

// Automations returns the enabled automations of workspace ws in a stable
// order; see Workspace.Automations.
func (s *Store) Automations(ws string) []Automation { return s.Workspace(ws).Automations() }

// Version grows whenever anything in any workspace changes (0 before the
// first record): a cache of derived data for every workspace is valid
// while it stays the same. Per workspace, Derived is finer grained: it
// rebuilds only the workspaces that changed. Lock-free.
func (s *Store) Version() uint64 { return s.snap.Load().version }

// WorkspaceIDs returns the ids of every workspace with entities, sorted.
func (s *Store) WorkspaceIDs() []string { return sortedKeys(s.snap.Load().workspaces) }

func sortedKeys[K int | int32 | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
