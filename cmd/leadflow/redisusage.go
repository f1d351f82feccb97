package main

import (
	"context"
	"flag"
	"io"

	"github.com/leadflow/leadflow/stages/system"
)

// redisUsageCmd prints what leadflow holds in the Redis of --config: keys,
// keys without a TTL and measured bytes per key, per kind (docs/operations.md,
// "Sizing Redis"). It only reads; on a large Redis it SCANs every key under
// redis.key_prefix, so --sample measures MEMORY USAGE of one key in N.
func redisUsageCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("redis-usage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := addConfigFlag(fs)
	sample := fs.Int("sample", 1, "measure MEMORY USAGE of one key in N (1: every key; 0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rdb, cfg, err := conf.redis()
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
