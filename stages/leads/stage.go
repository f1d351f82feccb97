package leads

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/cache"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/topics"
)

// Companies is the company directory the stage takes a lead's company
// from. It must be safe for concurrent use.
type Companies interface {
	// Company returns the company of a domain (lower case), and false if
	// the directory has none.
	Company(domain string) (schemas.Company, bool)
}

// Deps are what the stage needs from its process.
type Deps struct {
	// Topics names the input (Hits) and output (LeadChanges) topics. Required.
	Topics topics.Names
	// Redis holds the lead states. Required; a cluster client works (keys
	// are hash-tagged per lead).
	Redis redis.UniversalClient
	// KeyPrefix starts every Redis key (config redis.key_prefix, "lf:").
	KeyPrefix string
	// Logger; nil logs nothing.
	Logger *zap.Logger
	// Registerer receives the stage's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Companies gives each lead its company. Required.
	Companies Companies
	// Now is the clock, used only to age cache entries (sessionization
	// uses event time). Default time.Now.
	Now func() time.Time
}

// Stage is the leads stage: it turns hits (topic hits, keyed by lead)
// into lead state in Redis and LeadChange records (topic leads.changes,
// keyed by lead). It implements pipeline.Stage and
// pipeline.PartitionListener, and is safe for concurrent use across
// partitions (each partition has its own cache).
type Stage struct {
	cfg    Config
	rules  rules
	topics topics.Names
	comps  Companies
	log    *zap.Logger
	now    func() time.Time
	store  *store
	m      *metrics

	mu     sync.Mutex
	parts  map[int32]*partCache
	cached cacheTotals // of all partition caches
	cacheM *cache.Metrics
}

var (
	_ pipeline.Stage             = (*Stage)(nil)
	_ pipeline.PartitionListener = (*Stage)(nil)
)

// New validates cfg (errors name the field under stages.leads) and deps
// and returns the stage. It connects to nothing.
func New(cfg Config, deps Deps) (*Stage, error) {
	if err := cfg.Validate("stages.leads"); err != nil {
		return nil, err
	}
	var errs []error
	if deps.Redis == nil {
		errs = append(errs, errors.New("leads: Deps.Redis is required"))
	}
	if deps.Companies == nil {
		errs = append(errs, errors.New("leads: Deps.Companies is required"))
	}
	if deps.Topics.Hits == "" || deps.Topics.LeadChanges == "" {
		errs = append(errs, errors.New("leads: Deps.Topics must name the hits and leads.changes topics"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = zap.NewNop()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Stage{
		cfg: cfg, rules: newRules(cfg), topics: deps.Topics, comps: deps.Companies,
		log: deps.Logger, now: deps.Now, parts: make(map[int32]*partCache),
	}
	s.m = newMetrics(deps.Registerer, func() float64 { return float64(s.cached.entries.Load()) },
		func() float64 { return float64(s.cached.bytes.Load()) })
	s.store = newStore(deps.Redis, deps.KeyPrefix, cfg.LeadTTL, s.m)
	var err error
	if s.cacheM, err = newCacheMetrics(deps.Registerer); err != nil {
		return nil, err
	}
	return s, nil
}

// Name is "leads".
func (s *Stage) Name() string { return "leads" }

// Inputs is the hits topic.
func (s *Stage) Inputs() []string { return []string{s.topics.Hits} }

// RecyclesRecords marks the stage a pipeline.RecordRecycler: a hit's
// strings share its record's bytes (schemas.Hit.DecodeShared) and what the
// state keeps of them is copied (apply.go), the cache is looked up with
// the record's key without keeping it, and the batch's scratch drops its
// records and hits when it ends (work.release).
func (s *Stage) RecyclesRecords() {}

// PartitionAssigned gives the partition an empty cache.
func (s *Stage) PartitionAssigned(_ string, partition int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.parts[partition]; old != nil {
		old.clear()
	}
	s.parts[partition] = newPartCache(&s.cached, s.cacheM)
	s.sizeCachesLocked()
}

// PartitionRevoked drops the partition's cache: the next owner (maybe
// this process again) reads the partition's leads from Redis.
func (s *Stage) PartitionRevoked(_ string, partition int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pc := s.parts[partition]; pc != nil {
		pc.clear()
		delete(s.parts, partition)
	}
	s.sizeCachesLocked()
}

// sizeCachesLocked shares CacheSize and CacheMaxBytes evenly among the
// owned partitions.
func (s *Stage) sizeCachesLocked() {
	n := max(len(s.parts), 1)
	per, perBytes := int64(s.cfg.CacheSize/n), s.cfg.CacheMaxBytes/int64(n)
	for _, pc := range s.parts {
		pc.max.Store(per)
		pc.maxBytes.Store(perBytes)
	}
}

func (s *Stage) partCache(partition int32) *partCache {
	s.mu.Lock()
	defer s.mu.Unlock()
	pc := s.parts[partition]
	if pc == nil { // Process before PartitionAssigned: only in tests
		pc = newPartCache(&s.cached, s.cacheM)
		s.parts[partition] = pc
		s.sizeCachesLocked()
	}
	return pc
}

// Process applies a batch of hits of one partition; see process.
func (s *Stage) Process(ctx context.Context, b *pipeline.Batch) error {
	return s.process(ctx, b.Partition, b.Records, b)
}

// emitter is what process needs of a pipeline.Batch.
type emitter interface {
	Emit(*kgo.Record)
	DeadLetter(*kgo.Record, error)
	// Grow and Keep lend the changes' bytes (pipeline.Batch.Grow).
	Grow(n int) []byte
	Keep(out []byte) []byte
}

// ErrBadHit is wrapped by the dead-letter reason of hit records that do
// not decode or lack what a lead needs.
var ErrBadHit = errors.New("bad hit")

type badHitError struct{ msg string }

func (e *badHitError) Error() string  { return ErrBadHit.Error() + ": " + e.msg }
func (e *badHitError) Unwrap() error  { return ErrBadHit }
func (e *badHitError) Reason() string { return "bad_hit" }

// decodeHit decodes rec into h and checks it.
func decodeHit(rec *kgo.Record, h *hitInfo) error {
	if err := h.Hit.DecodeShared(rec.Value); err != nil {
		return &badHitError{msg: "does not decode: " + err.Error()}
	}
	var missing string
	switch {
	case h.EventID == "":
		missing = "event_id"
	case h.WorkspaceID == "":
		missing = "workspace_id"
	case h.SessionID == "":
		missing = "session_id"
	case h.CompanyDomain == "":
		missing = "company_domain"
	}
	// The event time is checked once, by the enrich stage
	// (stages.enrich.max_event_age, max_event_ahead, never the zero time).
	if missing != "" {
		return &badHitError{msg: missing + " is missing"}
	}
	if h.Type != schemas.TypePageview && h.Type != schemas.TypePing {
		return &badHitError{msg: fmt.Sprintf("type %q is not pageview or ping", h.Type)}
	}
	k := rec.Key
	if len(k) != len(h.WorkspaceID)+1+len(h.CompanyDomain) || string(k[:len(h.WorkspaceID)]) != h.WorkspaceID ||
		k[len(h.WorkspaceID)] != '|' || string(k[len(h.WorkspaceID)+1:]) != h.CompanyDomain {
		return &badHitError{msg: fmt.Sprintf("record key %q is not workspace_id|company_domain", k)}
	}
	h.ts = h.Timestamp.UnixMicro()
	h.hash = eventHash(h.EventID)
	h.offset = rec.Offset
	return nil
}

// newEntry returns the cache entry of the lead of h, not loaded yet.
func (s *Stage) newEntry(h *hitInfo, key []byte) *entry {
	e := &entry{key: string(key)} // decodeHit checked it is ws|domain
	e.ws, e.domain = e.key[:len(h.WorkspaceID)], e.key[len(h.WorkspaceID)+1:]
	e.keyB = []byte(e.key)
	e.rkey = s.store.redisKey(e.key)
	co, ok := s.comps.Company(e.domain)
	if !ok {
		s.m.missingCompany.Inc()
		co = schemas.Company{Name: e.domain, Domain: e.domain}
	}
	e.company = co.AppendRefJSON(nil)
	return e
}
