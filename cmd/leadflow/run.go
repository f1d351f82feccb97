package main

import (
	"context"
	"flag"
	"io"

	"go.uber.org/zap"

	"github.com/leadflow/leadflow/stages/system"
)

func runCmd(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := addConfigFlag(fs)
	stages := fs.String("stages", "", "comma-separated stages to run in this process: enrich,leads,evaluate,deliver,admin (default all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := conf.load()
	if err != nil {
		return err
	}
	names, err := system.ParseStages(*stages)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	sys, err := system.New(ctx, system.Options{Version: version, Config: cfg, Stages: names, Logger: log})
	if err != nil {
		return err
	}
	log.Info("leadflow run", zap.String("version", version), zap.Strings("stages", names),
		zap.Strings("brokers", cfg.Kafka.Brokers), zap.String("topic_prefix", cfg.Topics.Prefix))
	return sys.Run(ctx)
}
