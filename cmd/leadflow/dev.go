package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/stages/system"
	"github.com/leadflow/leadflow/stages/topics"
)

// devFlags are `leadflow dev`'s flags.
type devFlags struct {
	config, kafkaAddr, redisAddr, httpAddr string
	demo                                   bool
	rate                                   float64
	httpSet                                bool // --http-addr was given
}

func parseDevFlags(args []string, stderr io.Writer) (devFlags, error) {
	var f devFlags
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", "", "YAML configuration file, read exactly as leadflow run reads it (LEADFLOW_* variables override it) over the dev defaults (configs/dev.yaml); kafka.brokers and redis.addr are the embedded ones")
	fs.StringVar(&f.kafkaAddr, "kafka-addr", "127.0.0.1:9092", "where the embedded Kafka broker listens (producers write to it here)")
	fs.StringVar(&f.redisAddr, "redis-addr", "", "use this Redis instead of the embedded one")
	fs.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8080", "console at /, admin API under /v1, /healthz, /readyz and /metrics (overrides http.addr)")
	fs.BoolVar(&f.demo, "demo", false, "also create a demo workspace whose webhook points at a built-in receiver, send realistic traffic, and show a live view")
	fs.Float64Var(&f.rate, "rate", 20, "with --demo: raw events per second")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q (flags only; see leadflow dev -h)", fs.Arg(0))
	}
	fs.Visit(func(fl *flag.Flag) { f.httpSet = f.httpSet || fl.Name == "http-addr" })
	return f, nil
}

// devConfig loads the configuration of `leadflow dev` through the same
// path as `run` (configs.LoadDev: file, then LEADFLOW_* variables), then
// points it at the embedded infrastructure.
func devConfig(f devFlags, env []string, kafkaAddr, redisAddr string) (configs.Config, error) {
	cfg, err := configs.LoadDev(f.config, env)
	if err != nil {
		return cfg, err
	}
	cfg.Kafka.Brokers = []string{kafkaAddr}
	cfg.Redis.Addr = redisAddr
	cfg.Redis.ClusterAddrs = nil
	if f.httpSet || cfg.HTTP.Addr == "" {
		cfg.HTTP.Addr = f.httpAddr
	}
	// The embedded broker forgets everything at exit, so a key made now
	// seals webhook secrets for exactly as long as they exist.
	if cfg.SecretKey == "" {
		var key [32]byte
		_, _ = rand.Read(key[:])
		cfg.SecretKey = base64.StdEncoding.EncodeToString(key[:])
	}
	if f.demo {
		cfg.Log.Level = "warn" // the live view is the output
	}
	return cfg, cfg.Validate()
}

func devCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseDevFlags(args, stderr)
	if err != nil {
		return err
	}
	if _, err := configs.LoadDev(f.config, os.Environ()); err != nil {
		return err // before starting anything
	}
	infra, err := system.StartDevInfra(f.kafkaAddr, f.redisAddr)
	if err != nil {
		return err
	}
	defer infra.Close()
	cfg, err := devConfig(f, os.Environ(), infra.KafkaAddr, infra.RedisAddr)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if err := infra.TrimConsumed(ctx, topics.New(cfg.Topics.Prefix)); err != nil {
		return err
	}
	sys, err := system.New(ctx, system.Options{Version: version, Config: cfg, Logger: log, Dev: true})
	if err != nil {
		return err
	}
	redisNote := "embedded"
	if f.redisAddr != "" {
		redisNote = "external"
	}
	addr := cfg.HTTP.Addr
	fmt.Fprintf(stdout, `leadflow dev %s
  kafka    %s (embedded); raw events go to %s:
           leadflow produce --brokers %s --sample netcontrol
  redis    %s (%s)
  console  http://%s/ (sign in with the token %q)
  api      http://%s/v1 (same token), /readyz, /metrics
  example  curl -s -H 'Authorization: Bearer %s' \
             http://%s/v1/workspaces/ws_123/webhooks
Ctrl-C stops it.
`, version, infra.KafkaAddr, sys.Topics().Raw, infra.KafkaAddr, infra.RedisAddr, redisNote, addr, cfg.Admin.Token, addr, cfg.Admin.Token, addr)
	log.Info("leadflow dev starting")
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	demoDone := make(chan error, 1)
	if f.demo {
		go func() { demoDone <- runDemo(runCtx, sys, cfg, f.rate, stdout) }()
	} else {
		close(demoDone)
	}
	err = sys.Run(runCtx)
	stop()
	if derr := <-demoDone; derr != nil && err == nil {
		err = derr
	}
	log.Info("leadflow dev stopped", zap.Error(err))
	return err
}
