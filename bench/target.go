package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/schemas/sampledata"
	"github.com/leadflow/leadflow/stages/system"
	"github.com/leadflow/leadflow/stages/topics"
)

// target is the pipeline a run drives: started in this process, or
// running elsewhere.
type target struct {
	// mode is report.Result.Mode.
	mode string
	// adminURL is the base URL of the admin API.
	adminURL string
	// metricsURLs are the /metrics URLs.
	metricsURLs []string
	// kafka reaches the brokers for producing.
	kafka pipeline.KafkaConfig
	// topics are the pipeline's topic names.
	topics topics.Names
	// token is the admin API's bearer token.
	token string
	// includesLoad is set when the pipeline shares this process.
	includesLoad bool
	// stop stops what start started (nil for external).
	stop func() error
	// redisAddr is the pipeline's Redis the cost probe reads ("" for
	// none: redisNote says why).
	redisAddr, redisNote string
}

// resolveDataDir returns the sample data set directory to use.
func resolveDataDir(ctx context.Context, dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	d, err := sampledata.EnsureDefault(ctx, system.DefaultCacheDir())
	if err != nil {
		return "", fmt.Errorf("bench: sample data: %w", err)
	}
	return d, nil
}

// startTarget starts the in-process pipeline, or describes the external
// one, and waits until it is ready.
func startTarget(ctx context.Context, o Options, dataDir string) (*target, error) {
	cfg := configs.DevDefault()
	if o.ConfigFile != "" {
		var err error
		if cfg, err = configs.Load(o.ConfigFile, os.Environ()); err != nil {
			return nil, err
		}
	}
	if o.TopicPrefix != "" {
		cfg.Topics.Prefix = o.TopicPrefix
	}
	if o.External {
		t := &target{mode: "external", adminURL: "http://" + o.HTTPAddr, kafka: cfg.Kafka, topics: topics.New(cfg.Topics.Prefix),
			token: o.AdminToken}
		t.kafka.Brokers = o.Brokers
		if t.token == "" {
			t.token = os.Getenv("LEADFLOW_ADMIN_TOKEN")
		}
		if t.token == "" {
			t.token = "dev-token"
		}
		t.metricsURLs = o.MetricsURLs
		if len(t.metricsURLs) == 0 {
			t.metricsURLs = []string{t.adminURL + "/metrics"}
		}
		t.redisAddr, t.redisNote = redisTarget(o, cfg.Redis.Addr, false)
		if err := waitReady(ctx, o.HTTPClient, t.adminURL, 30*time.Second); err != nil {
			return nil, fmt.Errorf("bench: the external pipeline at %s is not ready (start it with `leadflow dev` or `leadflow run`, or point --http-addr at it): %w", o.HTTPAddr, err)
		}
		return t, nil
	}
	return startInProcess(ctx, o, cfg, dataDir)
}

// startInProcess runs system.New(...).Run in this process: on an embedded
// Kafka and Redis, or on the brokers and Redis given.
func startInProcess(ctx context.Context, o Options, cfg configs.Config, dataDir string) (_ *target, err error) {
	t := &target{mode: "embedded", includesLoad: true, token: o.AdminToken}
	var closers []func()
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	embedded := len(o.Brokers) == 0
	if !embedded {
		t.mode = "in-process"
	}
	infraClose, err := inProcessInfra(ctx, o, &cfg)
	if err != nil {
		return nil, err
	}
	closers = append(closers, infraClose)
	if t.token == "" {
		t.token = "bench-" + randomHex(8)
	}
	cfg.Admin.Token = t.token
	cfg.HTTP.Addr = "127.0.0.1:0"
	if o.Partitions > 0 {
		cfg.Topics.Partitions = int32(o.Partitions)
	}
	if cfg.Data == (configs.DataConfig{}) {
		cfg.Data.Dir = dataDir
	}
	log, closeLog, err := pipelineLogger(o, cfg.Log)
	if err != nil {
		return nil, err
	}
	closers = append(closers, closeLog)
	sys, err := system.New(ctx, system.Options{Config: cfg, Logger: log, Dev: true})
	if err != nil {
		return nil, fmt.Errorf("bench: starting the pipeline: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- sys.Run(runCtx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		var err error
		select {
		case err = <-done:
		case <-time.After(cfg.ShutdownTimeout + 15*time.Second):
			err = fmt.Errorf("bench: the in-process pipeline did not stop within %v", cfg.ShutdownTimeout+15*time.Second)
		}
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		return err
	}
	closers = append(closers, func() { _ = stop() }) // only on a failed start (the deferred cleanup)
	if err := waitListening(ctx, sys, done); err != nil {
		return nil, err
	}
	t.adminURL = "http://" + sys.HTTPAddr().String()
	t.metricsURLs = append([]string{t.adminURL + "/metrics"}, o.MetricsURLs...)
	t.kafka = cfg.Kafka
	t.topics = sys.Topics()
	t.redisAddr, t.redisNote = redisTarget(o, "", embedded && o.RedisAddr == "")
	if err := waitReady(ctx, o.HTTPClient, t.adminURL, 90*time.Second); err != nil {
		return nil, fmt.Errorf("bench: the in-process pipeline: %w", err)
	}
	if embedded && o.EmbeddedRetention > 0 {
		tp := t.topics
		if err := setRetention(ctx, cfg.Kafka, o.EmbeddedRetention, tp.Streams()...); err != nil {
			return nil, err
		}
	}
	closers = closers[:len(closers)-1]
	t.stop = stop
	return t, nil
}

// inProcessInfra points cfg at the in-process pipeline's Kafka and Redis:
// an embedded broker (and miniredis, or o.RedisAddr) without o.Brokers,
// else o.Brokers with o.RedisAddr or a miniredis. It returns what stops
// what it started.
func inProcessInfra(ctx context.Context, o Options, cfg *configs.Config) (_ func(), err error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	switch {
	case len(o.Brokers) == 0:
		infra, err := system.StartDevInfra("127.0.0.1:0", o.RedisAddr)
		if err != nil {
			return nil, err
		}
		closers = append(closers, infra.Close)
		if err := infra.TrimConsumed(ctx, topics.New(cfg.Topics.Prefix)); err != nil {
			return nil, err
		}
		cfg.Kafka.Brokers = []string{infra.KafkaAddr}
		cfg.Redis.Addr = infra.RedisAddr
		cfg.Topics.ReplicationFactor = 1
		if o.EmbeddedRetention > 0 {
			// Before any topic exists: kfake starts its cleaner with the
			// interval configured when the first topic needs one.
			if err := alterBrokerConfig(ctx, cfg.Kafka, "log.cleaner.backoff.ms", "1000"); err != nil {
				return nil, err
			}
		}
	default:
		cfg.Kafka.Brokers = o.Brokers
		cfg.Redis.Addr = o.RedisAddr
		if o.RedisAddr == "" {
			mr := miniredis.NewMiniRedis()
			if err := mr.Start(); err != nil {
				return nil, fmt.Errorf("bench: embedded redis: %w", err)
			}
			closers = append(closers, mr.Close)
			cfg.Redis.Addr = mr.Addr()
		}
	}
	return closeAll, nil
}

// waitListening waits (at most 90 s) until the in-process pipeline's HTTP
// server listens; done receives Run's result if it stops first.
func waitListening(ctx context.Context, sys *system.System, done <-chan error) error {
	deadline := time.Now().Add(90 * time.Second)
	for sys.HTTPAddr() == nil {
		select {
		case err := <-done:
			return fmt.Errorf("bench: the in-process pipeline stopped at start: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("bench: the in-process pipeline did not start listening within 90s")
		}
	}
	return nil
}

// alterBrokerConfig sets one broker configuration value on every broker.
func alterBrokerConfig(ctx context.Context, kc pipeline.KafkaConfig, name, value string) error {
	return withAdmin(ctx, kc, func(adm *kadm.Client) error {
		resp, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: name, Value: &value}})
		if err == nil {
			for _, r := range resp {
				err = errors.Join(err, r.Err)
			}
		}
		if err != nil {
			return fmt.Errorf("bench: setting %s on the embedded broker: %w", name, err)
		}
		return nil
	})
}

// setRetention makes the embedded broker drop records of topics older than
// d. kfake keeps every record in memory (on the default mix about 1.7 KB
// over all topics per raw event), so without it memory grows with the run.
// Only the high-volume topics get it: the compacted ones (control,
// companies), the retry tiers and the dead letters keep everything.
func setRetention(ctx context.Context, kc pipeline.KafkaConfig, d time.Duration, topics ...string) error {
	ms := strconv.FormatInt(d.Milliseconds(), 10)
	return withAdmin(ctx, kc, func(adm *kadm.Client) error {
		resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &ms}}, topics...)
		if err == nil {
			for _, r := range resp {
				err = errors.Join(err, r.Err)
			}
		}
		if err != nil {
			return fmt.Errorf("bench: setting retention.ms on the embedded broker's topics: %w", err)
		}
		return nil
	})
}

func withAdmin(ctx context.Context, kc pipeline.KafkaConfig, fn func(*kadm.Client) error) error {
	opts, err := kc.ClientOpts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return fn(kadm.NewClient(cl))
}

// pipelineLogger returns the in-process pipeline's logger: Options.Logger,
// or JSON into Out/pipeline.log, or errors only to Progress.
func pipelineLogger(o Options, lc configs.LogConfig) (*zap.Logger, func(), error) {
	if o.Logger != nil {
		return o.Logger, func() {}, nil
	}
	if o.Out != "" {
		if err := os.MkdirAll(o.Out, 0o755); err != nil {
			return nil, nil, fmt.Errorf("bench: --out: %w", err)
		}
		f, err := os.Create(filepath.Join(o.Out, "pipeline.log"))
		if err != nil {
			return nil, nil, fmt.Errorf("bench: --out: %w", err)
		}
		level, err := zapcore.ParseLevel(lc.Level)
		if err != nil {
			level = zapcore.InfoLevel
		}
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(ec), zapcore.AddSync(f), level))
		return log, func() { _ = log.Sync(); _ = f.Close() }, nil
	}
	w := o.Progress
	if w == nil {
		w = io.Discard
	}
	ec := zap.NewDevelopmentEncoderConfig()
	ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(ec), zapcore.AddSync(lineStart{w}), zapcore.ErrorLevel))
	return log, func() {}, nil
}

// lineStart starts every write on a fresh line, so log lines do not run
// into the progress bar.
type lineStart struct{ w io.Writer }

func (l lineStart) Write(p []byte) (int, error) {
	if _, err := l.w.Write([]byte("\r\x1b[K")); err != nil {
		return 0, err
	}
	return l.w.Write(p)
}

// waitReady polls base/readyz until it answers 200.
func waitReady(ctx context.Context, client *http.Client, base string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status + ": " + strings.TrimSpace(string(body))
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/readyz not 200 after %v (%s)", timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
