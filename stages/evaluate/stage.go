// Package evaluate is the evaluate stage: it consumes lead changes, runs
// each workspace's enabled automations against them (segment filter, then
// an atomic once-only claim in Redis), and emits delivery requests keyed by
// webhook: the lead for "webhook" actions, and one contact per revealed
// person for "reveal_contacts" actions.
package evaluate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/leadstore"
	"github.com/leadflow/leadflow/stages/topics"
)

// Config tunes the evaluate stage (stages.evaluate).
type Config struct {
	// Runtime tunes consuming, batching, bounds and commits.
	Runtime pipeline.RuntimeConfig `yaml:"runtime"`
	// NewSessionClaimTTL is no longer used, and accepted only so that
	// configuration files written for earlier versions still load (a value
	// other than 0 is logged as a warning at start). It was how long a
	// new_session claim, then a key of its own, was kept. The claims and
	// the reveal records have no setting: they are kept in the lead's state
	// and live as long as the lead (stages.leads.lead_ttl after its last
	// change), a new_session claim as long as the lead keeps its session.
	// Default 0.
	NewSessionClaimTTL time.Duration `yaml:"new_session_claim_ttl"`
	// FiredCacheSize bounds the in-process memory of claims already made,
	// which saves Redis round trips for leads and sessions that fired.
	// Default 200000 entries.
	FiredCacheSize int `yaml:"fired_cache_size"`
	// SessionCacheSize bounds the in-process cache of the stored session
	// parts (facts, pageviews) read to complete the subjects of firing
	// automations; they never change, so it only saves Redis reads. It
	// counts parts (a session's facts and each of its pageviews) and
	// evicts the least recently used sessions. Default 100000 parts.
	SessionCacheSize int `yaml:"session_cache_size"`
	// MissCacheSize bounds the in-process memory of leads whose company
	// did not match a segment that tests only company fields, which saves
	// decoding their later changes for it. Default 200000 entries.
	MissCacheSize int `yaml:"miss_cache_size"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Runtime:          pipeline.DefaultRuntimeConfig(),
		FiredCacheSize:   200000,
		SessionCacheSize: 100000,
		MissCacheSize:    200000,
	}
}

// Validate checks c; errors name the field under section.
func (c Config) Validate(section string) error {
	return errors.Join(
		c.Runtime.Validate(section+".runtime"),
		pipeline.CheckLimits(section,
			pipeline.IntLimit("fired_cache_size", c.FiredCacheSize, 0, 100000000),
			pipeline.IntLimit("session_cache_size", c.SessionCacheSize, 0, 100000000),
			pipeline.IntLimit("miss_cache_size", c.MissCacheSize, 0, 100000000),
		))
}

// Companies is the company directory (the same data.companies as the
// leads stage's): the company of a lead change that carries it by
// reference (schemas.LeadChange.CompanyRef), and the company (with phone)
// of a revealed contact.
type Companies interface {
	Company(domain string) (schemas.Company, bool)
}

// Sessions completes lead subjects: a change carries the subject's older
// sessions by reference (schemas.LeadChange.OlderSessions), read from the
// leads stage's state. leadstore.SessionStore implements it.
type Sessions interface {
	// Complete appends each change's referenced sessions to its subject
	// and returns how many parts the store no longer holds.
	Complete(ctx context.Context, chs []*schemas.LeadChange) (missing int, err error)
}

// Deps are what the stage needs from the process.
type Deps struct {
	Topics    topics.Names
	Redis     redis.UniversalClient
	KeyPrefix string
	Control   Control
	Contacts  Contacts
	Companies Companies
	// Sessions completes the subjects of automations that fire.
	Sessions   Sessions
	Logger     *zap.Logger
	Registerer prometheus.Registerer
	// Now is the clock of TriggeredAt. Default time.Now.
	Now func() time.Time
	// LeadTTL is the leads stage's stages.leads.lead_ttl: the new_lead
	// claims and reveal records live in the lead's state and expire with
	// it; a claim made for a lead whose state is gone gives the state this
	// TTL, and the in-process memory of claims starts over at least every
	// LeadTTL/2, so that a lead that expired and comes back fires again.
	// Default DefaultLeadTTL.
	LeadTTL time.Duration
}

// DefaultLeadTTL is the default of Deps.LeadTTL: the default of
// stages.leads.lead_ttl.
const DefaultLeadTTL = 90 * 24 * time.Hour

// Stage is the evaluate stage. It is safe for concurrent use by the
// runtime's partition workers.
type Stage struct {
	cfg     Config
	d       Deps
	keys    keys
	rules   *rules
	fired   *firedCache
	misses  *missCache
	metrics *metrics
	// subjectSize is the size of the last lead subject encoded: the next
	// one's buffer is made about that large at once, not grown by
	// doubling from nothing (each doubling a copy and an allocation).
	subjectSize atomic.Int64
}

// New validates cfg and deps and returns the stage.
func New(cfg Config, d Deps) (*Stage, error) {
	if err := cfg.Validate("stages.evaluate"); err != nil {
		return nil, err
	}
	if d.Redis == nil || d.Control == nil || d.Contacts == nil || d.Companies == nil || d.Sessions == nil || d.Logger == nil || d.Registerer == nil {
		return nil, errors.New("evaluate: Deps.Redis, Control, Contacts, Companies, Sessions, Logger and Registerer are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.LeadTTL <= 0 {
		d.LeadTTL = DefaultLeadTTL
	}
	s := &Stage{
		cfg: cfg, d: d, keys: keys{prefix: d.KeyPrefix},
		rules:   &rules{ctl: d.Control, log: d.Logger},
		metrics: newMetrics(d.Registerer),
	}
	if err := s.newCaches(); err != nil {
		return nil, err
	}
	if cfg.NewSessionClaimTTL != 0 {
		d.Logger.Warn("stages.evaluate.new_session_claim_ttl is no longer used: new_session claims live in the lead's state as long as their session; remove the setting",
			zap.Duration("new_session_claim_ttl", cfg.NewSessionClaimTTL))
	}
	return s, nil
}

// Name is "evaluate".
func (s *Stage) Name() string { return "evaluate" }

// Inputs is the lead changes topic.
func (s *Stage) Inputs() []string { return []string{s.d.Topics.LeadChanges} }

// RecyclesRecords marks the stage a pipeline.RecordRecycler: a change's
// head is decoded into a copy (schemas.DecodeChangeHead), its body shares
// the record's bytes for the batch only (decodeChange), its company JSON
// is only hashed, and what the stage emits is encoded anew.
func (s *Stage) RecyclesRecords() {}

// badChange is a lead change that cannot be decoded.
type badChange struct{ err error }

func (e *badChange) Error() string  { return "lead change: " + e.err.Error() }
func (e *badChange) Unwrap() error  { return e.err }
func (e *badChange) Reason() string { return "bad_change" }

// change is a decoded lead change and, once encoded, its subject (shared
// by every automation it fires).
type change struct {
	schemas.LeadChange
	subject []byte
}

// fire is an automation whose trigger (may have) fired for a change.
type fire struct {
	ch         *change
	ru         *rule
	c          leadstore.Claim
	cacheKey   [2]uint64 // the claim's key in the fired cache
	triggerKey string    // lead key (new_lead) or session key (new_session)
}

func claimResultName(r int64) string {
	switch r {
	case claimNew:
		return "new"
	case claimOwn:
		return "replay"
	}
	return "taken"
}

// act runs the action of a fired automation.
func (s *Stage) act(ctx context.Context, b *pipeline.Batch, f *fire) error {
	a := f.ru.auto
	s.metrics.fired.WithLabelValues(string(a.Trigger), string(a.Action.Type)).Inc()
	switch a.Action.Type {
	case control.ActionWebhook:
		if f.ch.subject == nil {
			// In the batch's output slabs too: it is copied into each
			// request (emit) and kept no longer than the batch.
			f.ch.subject = b.Keep(f.ch.Lead.AppendJSON(b.Grow(int(s.subjectSize.Load()*9/8 + 512))))
			s.subjectSize.Store(int64(len(f.ch.subject)))
		}
		s.emit(b, f, a.Action.WebhookID, string(a.Trigger), f.ch.subject, strconv.FormatInt(f.ch.Lead.ID, 10))
		return nil
	case control.ActionRevealContacts:
		return s.revealContacts(ctx, b, f)
	}
	return nil
}

// revealContacts reveals the contacts of the lead's company that fit the
// persona, at most the reveal limit per company for this automation and
// never one already revealed in the workspace, and sends each to every
// webhook of the action.
func (s *Stage) revealContacts(ctx context.Context, b *pipeline.Batch, f *fire) error {
	a := f.ru.auto
	domain := f.ch.Lead.Company.Domain
	all, err := s.d.Contacts.Contacts(ctx, domain)
	if err != nil {
		return fmt.Errorf("contacts of %s: %w", domain, err)
	}
	var fit []int
	var candidates []string
	for i := range all {
		if f.ru.persona.fits(&all[i]) {
			fit = append(fit, i)
			candidates = append(candidates, revealedField(all[i].Email))
		}
	}
	limit := a.Action.RevealLimit
	if limit == 0 {
		limit = -1
	}
	// The owner names the automation too: another automation fired by the
	// same change must not take this one's reveals for its own.
	owner := f.ch.EventID + "|" + a.ID
	picked, err := reveal(ctx, s.d.Redis, s.keys.lead(f.ch.LeadKey), revealCountField(a.ID), candidates, owner, limit, s.d.LeadTTL)
	if err != nil {
		return err
	}
	company := f.ch.Lead.Company
	if c, ok := s.d.Companies.Company(domain); ok {
		company = c // with phone, which lead subjects leave out
	}
	for _, p := range picked {
		rec := &all[fit[p]]
		subject := rec.Contact(company)
		body := subject.AppendJSON(nil)
		s.metrics.reveals.Inc()
		for _, wh := range a.Action.WebhookIDs {
			s.emit(b, f, wh, schemas.EventContactRevealed, body, rec.Email)
		}
	}
	return nil
}

// emit produces one delivery request, unless its webhook is gone or disabled.
func (s *Stage) emit(b *pipeline.Batch, f *fire, webhookID, event string, subject []byte, naturalID string) {
	ws := f.ch.WorkspaceID
	if wh, ok := s.d.Control.Webhook(ws, webhookID); !ok || !wh.Enabled {
		s.metrics.skipped.Inc()
		return
	}
	req := schemas.DeliveryRequest{
		ID:          requestID(f.ru.auto.ID, f.triggerKey, webhookID, naturalID),
		WorkspaceID: ws, WebhookID: webhookID, AutomationID: f.ru.auto.ID,
		Event: event, Subject: subject, TriggeredAt: s.d.Now().UTC(), EventTime: f.ch.EventTime,
	}
	// The subject's bytes are kept as they are; the envelope around them
	// (ids, event, times) is well under 512 bytes. Both are encoded in
	// the batch's output slabs.
	value := b.Keep(req.AppendJSON(b.Grow(len(subject) + 512)))
	key := b.Keep(append(b.Grow(len(webhookID)), webhookID...))
	s.metrics.deliveries.WithLabelValues(event).Inc()
	b.Emit(&kgo.Record{Topic: s.d.Topics.Deliveries, Key: key, Value: value})
}

// requestID is stable for a replay of the same trigger: the automation,
// the trigger's natural key, the webhook and the subject's natural id.
func requestID(automation, triggerKey, webhook, subject string) string {
	h := sha256.New()
	for _, p := range []string{automation, triggerKey, webhook, subject} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "dr_" + hex.EncodeToString(h.Sum(nil)[:12])
}
