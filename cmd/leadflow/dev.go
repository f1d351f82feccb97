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
)

func devCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kafkaAddr := fs.String("kafka-addr", "127.0.0.1:9092", "where the embedded Kafka broker listens (producers write to it here)")
	redisAddr := fs.String("redis-addr", "", "use this Redis instead of the embedded one")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "admin API, /healthz, /readyz and /metrics")
	demo := fs.Bool("demo", false, "also create a demo workspace whose webhook points at a built-in receiver, send realistic traffic, and show a live view")
	rate := fs.Float64("rate", 20, "with --demo: raw events per second")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := configs.DevDefault()
	infra, err := system.StartDevInfra(*kafkaAddr, *redisAddr)
	if err != nil {
		return err
	}
	defer infra.Close()
	cfg.Kafka.Brokers = []string{infra.KafkaAddr}
	cfg.Redis.Addr = infra.RedisAddr
	cfg.HTTP.Addr = *httpAddr
	if tok := os.Getenv("LEADFLOW_ADMIN_TOKEN"); tok != "" {
		cfg.Admin.Token = tok
	}
	// The embedded broker forgets everything at exit, so a key made now
	// seals webhook secrets for exactly as long as they exist.
	if cfg.SecretKey = os.Getenv("LEADFLOW_SECRET_KEY"); cfg.SecretKey == "" {
		var key [32]byte
		_, _ = rand.Read(key[:])
		cfg.SecretKey = base64.StdEncoding.EncodeToString(key[:])
	}
	if *demo {
		cfg.Log.Level = "warn" // the live view is the output
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	sys, err := system.New(ctx, system.Options{Version: version, Config: cfg, Logger: log, Dev: true})
	if err != nil {
		return err
	}
	redisNote := "embedded"
	if *redisAddr != "" {
		redisNote = "external"
	}
	fmt.Fprintf(stdout, `leadflow dev %s
  kafka     %s (embedded; produce raw events to topic %s)
  redis     %s (%s)
  http      http://%s  (/readyz, /metrics; admin API under /v1 with token %q)
  console   http://%s/  (sign in with the token %q)
  example   curl -s -H 'Authorization: Bearer %s' http://%s/v1/workspaces/ws_demo/webhooks
Ctrl-C stops it.
`, version, infra.KafkaAddr, sys.Topics().Raw, infra.RedisAddr, redisNote, *httpAddr, cfg.Admin.Token, *httpAddr, cfg.Admin.Token, cfg.Admin.Token, *httpAddr)
	log.Info("leadflow dev starting")
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	demoDone := make(chan error, 1)
	if *demo {
		go func() { demoDone <- runDemo(runCtx, sys, cfg, *rate, stdout) }()
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
