package main

import (
	"context"
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
  http      http://%s  (/readyz, /metrics, admin API with token %q)
Ctrl-C stops it.
`, version, infra.KafkaAddr, sys.Topics().Raw, infra.RedisAddr, redisNote, *httpAddr, cfg.Admin.Token)
	log.Info("leadflow dev starting")
	err = sys.Run(ctx)
	log.Info("leadflow dev stopped", zap.Error(err))
	return err
}
