package system

import (
	"context"
	"time"

	"github.com/goccy/go-json"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/cache"
	"github.com/leadflow/leadflow/stages/admin"
	"github.com/leadflow/leadflow/stages/console"
	"github.com/leadflow/leadflow/stages/console/clusterview"
	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/deliver"
	"github.com/leadflow/leadflow/stages/enrich"
	"github.com/leadflow/leadflow/stages/evaluate"
	"github.com/leadflow/leadflow/stages/evaluate/filter"
	"github.com/leadflow/leadflow/stages/leads"
	"github.com/leadflow/leadflow/stages/leadstore"
)

// buildStage returns the stage called name and its runtime settings; it
// returns a nil stage for admin, which consumes nothing (it mounts the
// admin API on the HTTP server instead).
func (s *System) buildStage(name string) (pipeline.Stage, pipeline.RuntimeConfig, error) {
	cfg := s.opts.Config
	log := s.log.With(zap.String("stage", name))
	switch name {
	case "enrich":
		st, err := enrich.New(cfg.Stages.Enrich, enrich.Deps{
			Topics: s.topics, Logger: log, Registerer: s.registry,
			IPDatabase: s.data.Files.IPDatabase, Companies: s.data.Companies,
		})
		return st, cfg.Stages.Enrich.Runtime, err
	case "leads":
		st, err := leads.New(cfg.Stages.Leads, leads.Deps{
			Topics: s.topics, Redis: s.redis, KeyPrefix: cfg.Redis.KeyPrefix,
			Logger: log, Registerer: s.registry, Companies: s.data.Companies,
		})
		return st, cfg.Stages.Leads.Runtime, err
	case "evaluate":
		sm, err := cache.NewMetrics(s.registry, leadstore.CacheName)
		if err != nil {
			return nil, pipeline.RuntimeConfig{}, err
		}
		st, err := evaluate.New(cfg.Stages.Evaluate, evaluate.Deps{
			Topics: s.topics, Redis: s.redis, KeyPrefix: cfg.Redis.KeyPrefix, Control: s.control,
			Contacts: evaluate.LocalContacts(s.data.Contacts), Companies: s.data.Companies,
			Sessions: leadstore.NewSessionStore(s.redis, cfg.Redis.KeyPrefix, cfg.Stages.Evaluate.SessionCacheSize, sm),
			Logger:   log, Registerer: s.registry, LeadTTL: cfg.Stages.Leads.LeadTTL,
		})
		return st, cfg.Stages.Evaluate.Runtime, err
	case "deliver":
		dc := s.deliverConfig()
		st, err := deliver.New(dc, deliver.Deps{
			Topics: s.topics, Redis: s.redis, KeyPrefix: cfg.Redis.KeyPrefix,
			Logger: log, Registerer: s.registry, Endpoints: endpoints{s.control}, Version: s.opts.Version,
		})
		return st, dc.Runtime, err
	case "admin":
		return nil, pipeline.RuntimeConfig{}, s.mountAdmin(log)
	}
	return nil, pipeline.RuntimeConfig{}, nil
}

// deliverConfig is the deliver configuration of this process: dev allows
// webhooks to private addresses (the built-in receiver is on loopback).
func (s *System) deliverConfig() deliver.Config {
	dc := s.opts.Config.Stages.Deliver
	dc.AllowPrivateNetworks = dc.AllowPrivateNetworks || s.opts.Dev
	return dc
}

// mountAdmin serves the admin API under /v1/ and the web console at /.
func (s *System) mountAdmin(log *zap.Logger) error {
	cfg := s.opts.Config
	dc := s.deliverConfig()
	attempts := deliver.NewAttemptLogFor(s.redis, cfg.Redis.KeyPrefix, dc)
	overlap := cfg.Admin.SecretRotationOverlap
	if overlap == 0 {
		overlap = -1 // admin.Deps: negative is "no overlap", 0 the default
	}
	svc, err := admin.NewService(admin.Deps{
		Store: s.control, Token: cfg.Admin.Token, Logger: log, SecretRotationOverlap: overlap,
		FilterValidator: func(raw json.RawMessage) error { _, err := filter.Compile(raw); return err },
		URLPolicy:       admin.URLPolicy{AllowPrivateNetworks: dc.AllowPrivateNetworks},
		Deliveries:      attempts,
		Tester:          tester{cfg: dc, version: s.opts.Version, log: attempts},
		Portal:          admin.PortalConfig{Key: cfg.Admin.PortalKey, TTL: cfg.Admin.PortalLinkTTL},
	})
	if err != nil {
		return err
	}
	return s.mountConsole(svc, log)
}

// tester sends test requests and resends for the admin API, as the
// deliver stage would send them.
type tester struct {
	cfg     deliver.Config
	version string
	log     *deliver.AttemptLog
}

func (t tester) SendTest(ctx context.Context, w control.Webhook, event string) (admin.Attempt, error) {
	return deliver.SendTestEvent(ctx, toEndpoint(w), t.cfg, t.version, t.log, event)
}

func (t tester) Resend(ctx context.Context, w control.Webhook, attemptID string) (admin.Attempt, error) {
	return deliver.Resend(ctx, toEndpoint(w), t.cfg, t.version, t.log, attemptID)
}

// endpoints adapts the control plane's webhooks to the deliver stage.
type endpoints struct{ s *control.Store }

func (e endpoints) Endpoint(ws, id string) (deliver.Endpoint, bool) {
	w, ok := e.s.Webhook(ws, id)
	if !ok {
		return deliver.Endpoint{}, false
	}
	return toEndpoint(w), true
}

func (e endpoints) Disable(ctx context.Context, ws, id, reason string) error {
	return e.s.DisableWebhook(ctx, ws, id, reason)
}

// toEndpoint is w as the deliver stage sees it now: during a secret
// rotation's overlap it carries the previous secret too.
func toEndpoint(w control.Webhook) deliver.Endpoint {
	cur, prev := w.SigningSecrets(time.Now())
	return deliver.Endpoint{ID: w.ID, WorkspaceID: w.WorkspaceID, URL: w.URL, Secret: cur.Reveal(), PreviousSecret: prev.Reveal(),
		MaxSubjects: w.MaxSubjects, LegacyEventNames: w.LegacyEventNames, Enabled: w.Enabled,
		MaxInFlight: w.MaxInFlight, RateLimit: w.RateLimit}
}

// mountConsole serves the web console at / and the admin API it uses at
// /v1/ (which takes console sessions too, within their scope).
func (s *System) mountConsole(svc *admin.Service, log *zap.Logger) error {
	// The operations pages ask the brokers through one client of their own,
	// kept for the process's life.
	kcl, err := pipeline.NewClient(s.opts.Config.Kafka)
	if err != nil {
		return err
	}
	s.opsClient = kcl
	run := s.opts.Stages
	if len(run) == 0 {
		run = StageNames()
	}
	c, err := console.New(console.Deps{Service: svc, Token: s.opts.Config.Admin.Token,
		SessionTTL: s.opts.Config.Admin.ConsoleSessionTTL, Logger: log.With(zap.String("component", "console")),
		Cluster:  clusterview.New(kcl, s.topics, consumerStages()),
		Settings: s.opts.Config, RunStages: run, Topics: s.topics,
		Replay: func(ctx context.Context, webhookID string) (int, error) {
			return deliver.Replay(ctx, s.opts.Config.Kafka, s.topics, webhookID, nil)
		},
		WebhookStates: func(ctx context.Context) (map[string]deliver.WebhookState, int, error) {
			return deliver.ReadWebhookStates(ctx, s.redis, s.opts.Config.Redis.KeyPrefix, time.Now())
		}})
	if err != nil {
		return err
	}
	s.mux.Handle("/", c)
	s.mux.Handle("/v1/", c.API(svc.Handler()))
	return nil
}

// consumerStages are the stages that consume with a consumer group (all
// but admin), in pipeline order.
func consumerStages() []string {
	var out []string
	for _, n := range StageNames() {
		if n != "admin" {
			out = append(out, n)
		}
	}
	return out
}
