// Package system assembles a leadflow process from a configuration: the
// topics, one pipeline.Runner per selected stage, and the HTTP server with
// /healthz, /readyz, /metrics and the admin API. `leadflow run`, `leadflow
// dev`, the end-to-end tests and the benchmark all start leadflow through it.
package system

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/admin"
	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/topics"
)

// StageNames returns the stages a process can run, in pipeline order.
func StageNames() []string { return []string{"enrich", "leads", "evaluate", "deliver", "admin"} }

// Options configure a System.
type Options struct {
	// Config is the validated configuration.
	Config configs.Config
	// Stages selects what runs in this process; empty means every stage.
	Stages []string
	// Logger receives every log line. Required.
	Logger *zap.Logger
	// Dev relaxes production rules for `leadflow dev` (webhooks to
	// private addresses are allowed) and uses the bundled sample data
	// when no data set is configured.
	Dev bool
	// CacheDir is where dev keeps generated sample data. Default DefaultCacheDir().
	CacheDir string
	// Version is leadflow's version, sent as User-Agent: leadflow/VERSION.
	Version string
}

// System is one leadflow process. Create it with New and run it with Run.
type System struct {
	opts     Options
	log      *zap.Logger
	topics   topics.Names
	registry *prometheus.Registry
	metrics  *pipeline.Metrics
	health   *pipeline.Health
	runners  []*pipeline.Runner
	mux      *http.ServeMux
	data     *Data
	redis    redis.UniversalClient
	redisW   *pipeline.Watch // the process's Redis calls, pings included
	control  *control.Store
	stages   []pipeline.Stage // built stages; their runners drain and close them
	// opsClient is the Kafka client of the operations pages (nil without
	// the admin stage); closed when Run ends.
	opsClient *kgo.Client

	listenMu sync.Mutex
	addr     net.Addr // set once the HTTP server listens
}

// ParseStages turns a --stages list ("enrich,leads") into names, checking each.
func ParseStages(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return StageNames(), nil
	}
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(StageNames(), s) {
			return nil, fmt.Errorf("--stages: unknown stage %q (stages: %s)", s, strings.Join(StageNames(), ","))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// New builds the process: it validates the configuration, loads the data
// set the selected stages need, and creates their runners. Nothing
// connects to Kafka or Redis until Run.
func New(ctx context.Context, opts Options) (_ *System, err error) {
	if opts.Logger == nil {
		return nil, errors.New("system: Options.Logger is required")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	if len(opts.Stages) == 0 {
		opts.Stages = StageNames()
	}
	if opts.CacheDir == "" {
		opts.CacheDir = DefaultCacheDir()
	}
	s := &System{
		opts: opts, log: opts.Logger,
		topics:   topics.New(opts.Config.Topics.Prefix),
		registry: prometheus.NewRegistry(),
		health:   &pipeline.Health{},
		mux:      http.NewServeMux(),
	}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	defer func() {
		if err != nil {
			s.release(context.WithoutCancel(ctx))
		}
	}()
	if s.metrics, err = pipeline.NewMetrics(pipeline.MetricsDeps{Registerer: s.registry}); err != nil {
		return nil, err
	}
	if s.data, err = loadData(ctx, opts.Config.Data, opts.Stages, opts.Dev, opts.CacheDir); err != nil {
		return nil, err
	}
	if s.redisW, err = pipeline.NewWatch(pipeline.WatchConfig{Name: "process", Grace: opts.Config.Health.Grace},
		pipeline.WatchDeps{Logger: s.log.With(zap.String("component", "redis")), Metrics: s.metrics}); err != nil {
		return nil, err
	}
	if s.redis, err = pipeline.NewRedis(opts.Config.Redis, s.redisW); err != nil {
		return nil, err
	}
	s.health.Add("process", func(context.Context) error { return s.redisW.Ready() })
	if s.control, err = s.newControl(); err != nil {
		return nil, err
	}
	s.health.Add("control", func(context.Context) error { return s.control.Ready() })
	for _, name := range opts.Stages {
		stage, rt, err := s.buildStage(name)
		if err != nil {
			return nil, fmt.Errorf("stage %s: %w", name, err)
		}
		if stage == nil {
			continue // not a Kafka-consuming stage (admin) or not built yet
		}
		s.stages = append(s.stages, stage)
		r, err := pipeline.NewRunner(stage, rt, pipeline.Deps{
			Logger: s.log, Metrics: s.metrics, Kafka: opts.Config.Kafka,
			Group: s.topics.Group(stage.Name()), DeadLetterTopic: s.topics.DLQ,
			InstanceID: opts.Config.Kafka.InstanceID(name), Grace: opts.Config.Health.Grace,
		})
		if err != nil {
			return nil, err
		}
		s.runners = append(s.runners, r)
		s.health.Add("stage "+name, func(context.Context) error { return r.Ready() })
	}
	ops := pipeline.OpsHandler(s.health, s.registry)
	s.mux.Handle("/healthz", ops)
	s.mux.Handle("/readyz", ops)
	s.mux.Handle("/metrics", ops)
	if opts.Config.HTTP.PProf {
		s.mux.Handle("/debug/pprof/", admin.RequireToken(opts.Config.Admin.Token, pprofHandler()))
	}
	return s, nil
}

// watchRedis pings Redis every second until ctx ends, so that the
// process's Redis Watch (and /readyz) knows whether Redis answers even
// when no stage calls it; the Redis hook credits each ping. It runs only
// when a stage of the process uses Redis.
func (s *System) watchRedis(ctx context.Context) {
	if !slices.ContainsFunc(s.opts.Stages, func(n string) bool { return n != "enrich" }) {
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.redisW.Run(ctx, time.Second)
	}()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = s.redis.Ping(pctx).Err() // the hook records the outcome
		cancel()
	}
}

// Topics returns the topic names of this process.
func (s *System) Topics() topics.Names { return s.topics }

// Registry is the process's Prometheus registry.
func (s *System) Registry() *prometheus.Registry { return s.registry }

// Ready reports nil when every part of the process is ready.
func (s *System) Ready(ctx context.Context) error { return s.health.Ready(ctx) }

// HTTPAddr is the address the HTTP server listens on, once it does.
func (s *System) HTTPAddr() net.Addr {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	return s.addr
}

// Run creates the topics (if configured), starts the HTTP server and every
// runner, and blocks until ctx is canceled; then it shuts everything down
// gracefully within the configured shutdown timeout.
func (s *System) Run(ctx context.Context) error {
	cfg := s.opts.Config
	defer s.release(context.WithoutCancel(ctx))
	if cfg.Topics.Create {
		if err := s.ensureTopics(ctx); err != nil {
			return err
		}
	}
	// Every stage reads the control plane: it is read to its end before
	// any runner starts.
	if err := s.control.Start(ctx); err != nil {
		return fmt.Errorf("control plane: %w", err)
	}
	for _, st := range s.stages {
		if p, ok := st.(pipeline.Preflighter); ok {
			probeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := p.Preflight(probeCtx)
			cancel()
			if err != nil {
				return err
			}
		}
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http.addr %s: %w", cfg.HTTP.Addr, err)
	}
	s.listenMu.Lock()
	s.addr = ln.Addr()
	s.listenMu.Unlock()
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(ln) }()
	s.log.Info("http listening", zap.String("addr", ln.Addr().String()))

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.watchRedis(ctx)
	}()
	errs := make(chan error, len(s.runners))
	for _, r := range s.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Run(ctx, cfg.ShutdownTimeout); err != nil {
				errs <- fmt.Errorf("stage %s: %w", r.Name(), err)
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case err := <-httpDone:
		runErr = fmt.Errorf("http server: %w", err)
	}
	wg.Wait() // each runner drains and closes its stage (pipeline.Drainer, Closer)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	close(errs)
	for err := range errs {
		runErr = errors.Join(runErr, err)
	}
	return runErr
}

// release frees what New built, once: each runner that never ran (New
// failed part way, or Run failed before starting them) closes its Kafka
// client and its stage (a runner that ran did so itself), then the control
// plane, the operations pages' client and Redis close. New calls it when
// it fails, Run on its way out.
func (s *System) release(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, r := range s.runners {
		if err := r.Close(cctx); err != nil {
			s.log.Warn("closing a stage that never ran", zap.Error(err))
		}
	}
	if s.control != nil {
		s.control.Close()
	}
	if s.opsClient != nil {
		s.opsClient.Close()
	}
	if s.redis != nil {
		_ = s.redis.Close()
	}
}

func (s *System) ensureTopics(ctx context.Context) error {
	cl, err := pipeline.NewClient(s.opts.Config.Kafka)
	if err != nil {
		return err
	}
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// One clear error when no broker answers, rather than one per topic.
	if err := cl.Ping(cctx); err != nil {
		return fmt.Errorf("no Kafka broker answered at %s (kafka.brokers, LEADFLOW_KAFKA_BROKERS): %w", strings.Join(s.opts.Config.Kafka.Brokers, ","), err)
	}
	specs := s.topics.Specs(s.opts.Config.Stages.Deliver.TierNames())
	if err := pipeline.EnsureTopics(cctx, kadm.NewClient(cl), s.opts.Config.Topics, specs); err != nil {
		return fmt.Errorf("creating topics (brokers %s): %w", strings.Join(s.opts.Config.Kafka.Brokers, ","), err)
	}
	return nil
}

// newControl builds the control plane store of the process; webhook
// secrets are sealed with secret_key when it is set.
func (s *System) newControl() (*control.Store, error) {
	return NewControl(s.opts.Config, s.topics, s.log.With(zap.String("component", "control")))
}
