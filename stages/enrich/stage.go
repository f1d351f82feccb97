// Package enrich is the first stage of leadflow: it turns raw session
// events (topic sessions.raw, DESIGN 1.2) into enriched hits keyed by lead
// (topic hits, key "workspace_id|company_domain") and sends each company
// it sees to the compacted companies topic.
//
// Per record it:
//
//  1. decodes and validates the event (schemas.RawDecoder); bad input is
//     dead-lettered with the decoder's message, which names the field, and
//     a reason code (BadEventError: bad_json, too_large, invalid_field);
//     an event time outside max_event_age / max_event_ahead of the clock,
//     or the zero time, is invalid_field naming "timestamp" (the one
//     check of event time: the later stages trust it);
//  2. drops bots by User-Agent (package useragent, cached);
//  3. looks the IP up in the IP database (package ipdb): unknown
//     addresses and ISP, hosting and education networks make no lead and
//     are dropped; a business network gives the company domain, the
//     network type and the visitor's location;
//  4. parses the User-Agent into browser, OS and device type, and the URL
//     into host, path (with the query) and UTM parameters
//     (schemas.RawEvent.Hit);
//  5. emits the schemas.Hit, and the company record when this process has
//     not sent that domain yet (a cache of domains sent).
//
// Every drop is counted in leadflow_enrich_dropped_total{reason} (see the
// Drop* constants). Nothing is kept per partition; the stage is safe for
// concurrent use across partitions.
//
// The hot path decodes with the hand-written raw-event scanner, encodes
// with Hit.AppendJSON into slabs shared by many output records, caches
// parsed user agents and decoded IP records, and adds to metrics once per
// batch.
package enrich

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/cache"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/enrich/ipdb"
	"github.com/leadflow/leadflow/stages/enrich/useragent"
	"github.com/leadflow/leadflow/stages/topics"
)

// Name is the stage's name: its consumer group is PREFIX+"enrich".
const Name = "enrich"

// Companies gives the firmographics of a company by its domain (lower
// case, as the IP database has it). It must be safe for concurrent use.
// The stage calls it once per domain it sends to the companies topic, not
// per hit.
type Companies interface {
	Company(domain string) (schemas.Company, bool)
}

// CompanyMap is Companies over a map by domain, such as
// dataset.LoadCompanies returns. It must not be modified while in use.
type CompanyMap map[string]schemas.Company

// Company returns m[domain].
func (m CompanyMap) Company(domain string) (schemas.Company, bool) {
	c, ok := m[domain]
	return c, ok
}

// Deps are what the enrich stage needs from the process.
type Deps struct {
	// Topics names the input (Raw) and output (Hits, Companies) topics.
	Topics topics.Names
	// Logger logs reloads, bad IP records and unknown companies. Default:
	// no logging.
	Logger *zap.Logger
	// Registerer registers the stage's metrics (leadflow_enrich_*).
	// Default: not registered.
	Registerer prometheus.Registerer
	// IPDatabase is the path of the .mmdb file (dataset.IPRecord layout).
	// Required.
	IPDatabase string
	// Companies gives the company record sent to the companies topic.
	// Required.
	Companies Companies
	// Now is the clock that event timestamps are checked against
	// (Config.MaxEventAge, MaxEventAhead), read once per batch. Default
	// time.Now.
	Now func() time.Time
}

// Stage is the enrich stage, a pipeline.Stage. Close it when done to
// unmap the IP database.
type Stage struct {
	cfg       Config
	topics    topics.Names
	log       *zap.Logger
	dec       schemas.RawDecoder
	db        *ipdb.DB
	companies Companies
	now       func() time.Time
	agents    *cache.Cache[string, useragent.Agent]
	sent      *cache.Cache[string, struct{}]
	m         *metrics
	workers   sync.Pool

	unknownWarned atomic.Bool
}

var (
	_ pipeline.Stage = (*Stage)(nil)
	_ sink           = (*pipeline.Batch)(nil)
)

// New validates cfg (errors name fields under "stages.enrich") and deps,
// opens the IP database and registers the metrics.
func New(cfg Config, deps Deps) (*Stage, error) {
	var errs []error
	if err := cfg.Validate(Section); err != nil {
		errs = append(errs, err)
	}
	if deps.IPDatabase == "" {
		errs = append(errs, errors.New("enrich: Deps.IPDatabase (data.ip_database) is required"))
	}
	if deps.Companies == nil {
		errs = append(errs, errors.New("enrich: Deps.Companies is required"))
	}
	if deps.Topics.Raw == "" || deps.Topics.Hits == "" || deps.Topics.Companies == "" {
		errs = append(errs, errors.New("enrich: Deps.Topics must name the Raw, Hits and Companies topics"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	log := deps.Logger
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("stage", Name))
	m := newMetrics()
	c, err := newCaches(cfg)
	if err != nil {
		return nil, err
	}
	db, err := ipdb.Open(deps.IPDatabase, ipdb.Options{
		CheckInterval: cfg.IPDatabaseReload,
		CacheSize:     cfg.IPCacheSize,
		CacheMetrics:  c.ipRecords,
		Logger:        log,
		OnReload:      m.onReload,
	})
	if err != nil {
		return nil, fmt.Errorf("enrich: IP database (data.ip_database): %w", err)
	}
	m.buildTime.Set(float64(db.Metadata().BuildEpoch))
	if err := errors.Join(m.register(deps.Registerer), c.register(deps.Registerer)); err != nil {
		_ = db.Close()
		return nil, err
	}
	s := &Stage{
		cfg:       cfg,
		topics:    deps.Topics,
		log:       log,
		dec:       cfg.Decoder(),
		db:        db,
		companies: deps.Companies,
		now:       deps.Now,
		agents:    c.agents,
		sent:      c.sent,
		m:         m,
	}
	if s.now == nil {
		s.now = time.Now
	}
	// The stage is a RecordRecycler and keeps nothing of a raw event past
	// its record (the User-Agent cache clones its key): the decoded
	// strings may share the record's bytes.
	s.dec.ShareInput = true
	s.workers.New = func() any { return &worker{s: s} }
	return s, nil
}

// timeWindow is the range of event times accepted, for one batch.
type timeWindow struct {
	oldest, newest time.Time // zero: no bound
}

// window is the range of event times accepted at now (Config.MaxEventAge
// and MaxEventAhead).
func (s *Stage) window(now time.Time) timeWindow {
	var w timeWindow
	if s.cfg.MaxEventAge > 0 {
		w.oldest = now.Add(-s.cfg.MaxEventAge)
	}
	if s.cfg.MaxEventAhead > 0 {
		w.newest = now.Add(s.cfg.MaxEventAhead)
	}
	return w
}

// check returns the *schemas.FieldError naming "timestamp" for an event
// time outside w, or the zero time; nil otherwise.
func (w timeWindow) check(t time.Time) error {
	switch {
	case t.IsZero():
		return &schemas.FieldError{Field: "timestamp", Reason: "is the zero time"}
	case !w.oldest.IsZero() && t.Before(w.oldest):
		return &schemas.FieldError{Field: "timestamp", Reason: "older than stages.enrich.max_event_age (" + w.oldest.Format(time.RFC3339) + ")"}
	case !w.newest.IsZero() && t.After(w.newest):
		return &schemas.FieldError{Field: "timestamp", Reason: "ahead of stages.enrich.max_event_ahead (" + w.newest.Format(time.RFC3339) + ")"}
	}
	return nil
}

// Name returns "enrich".
func (s *Stage) Name() string { return Name }

// Inputs returns the raw session events topic.
func (s *Stage) Inputs() []string { return []string{s.topics.Raw} }

// RecyclesRecords marks the stage a pipeline.RecordRecycler: a raw event
// is decoded into one copy of its record (schemas.RawDecoder), the
// user-agent cache keeps a clone of its key, and what the stage emits is
// encoded anew.
func (s *Stage) RecyclesRecords() {}

// Process enriches one batch: see the package doc. It fails only when the
// stage was closed.
func (s *Stage) Process(_ context.Context, b *pipeline.Batch) error {
	return s.process(b.Records, b)
}

// Close releases the IP database; batches still running finish with the
// file they started with. Process fails afterwards. The runner calls it
// once it stopped (pipeline.Closer); calling it again does nothing.
func (s *Stage) Close(context.Context) error { return s.db.Close() }

// ReloadIPDatabase checks the IP database file now and loads it if it was
// replaced, as the stage does on its own every ip_database_reload.
func (s *Stage) ReloadIPDatabase() (bool, error) { return s.db.Reload() }

// sink receives a batch's outputs; *pipeline.Batch is one.
type sink interface {
	Emit(rec *kgo.Record)
	DeadLetter(rec *kgo.Record, reason error)
	// Grow and Keep lend the outputs' bytes (pipeline.Batch.Grow).
	Grow(n int) []byte
	Keep(out []byte) []byte
}

// process enriches records into out, reading one snapshot of the IP
// database for the whole batch.
func (s *Stage) process(records []*kgo.Record, out sink) error {
	w := s.workers.Get().(*worker)
	snap, err := s.db.Acquire()
	if err != nil {
		s.workers.Put(w)
		return fmt.Errorf("enrich: %w", err)
	}
	w.snap = snap
	w.window = s.window(s.now())
	done := false
	defer func() {
		w.counts.cacheHit[cacheIPRecord] += w.snap.Hits
		w.counts.cacheMiss[cacheIPRecord] += w.snap.Misses
		w.snap.Release()
		if !done {
			// A record panicked: the runtime discards this call's outputs
			// and runs the batch again record by record, so the companies
			// this call claimed must be sent again.
			for _, d := range w.claimed {
				s.sent.Remove(d)
			}
		}
		clear(w.claimed)
		w.claimed = w.claimed[:0]
		w.ev = schemas.RawEvent{} // its strings share the last record's bytes (ShareInput)
		s.m.add(&w.counts)
		s.workers.Put(w)
	}()
	for _, rec := range records {
		w.record(rec, out)
	}
	done = true
	return nil
}
