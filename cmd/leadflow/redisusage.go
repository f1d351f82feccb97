package main

import (
	"context"
	"flag"
	"io"
	"os"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/system"
)

// redisUsageCmd prints what leadflow holds in the Redis of --config: keys,
// keys without a TTL and measured bytes per key, per kind (docs/operations.md,
// "Sizing Redis"). It only reads; on a large Redis it SCANs every key under
// redis.key_prefix, so --sample measures MEMORY USAGE of one key in N.
func redisUsageCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("redis-usage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration file (reference: configs/leadflow.yaml); LEADFLOW_* variables override it")
	sample := fs.Int("sample", 1, "measure MEMORY USAGE of one key in N (1: every key; 0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := configs.Load(*path, os.Environ())
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	rdb, err := pipeline.NewRedis(cfg.Redis, nil)
	if err != nil {
		return err
	}
	defer rdb.Close()
	u, err := system.MeasureRedis(ctx, rdb, cfg.Redis.KeyPrefix, *sample)
	if err != nil {
		return err
	}
	_, err = u.WriteTo(stdout)
	return err
}
