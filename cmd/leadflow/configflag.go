package main

import (
	"flag"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline"
)

// configFlag is --config of the commands that read leadflow's whole
// configuration as `run` does (run, redis-usage, redis-migrate).
type configFlag struct{ path *string }

func addConfigFlag(fs *flag.FlagSet) configFlag {
	return configFlag{path: fs.String("config", "", "YAML configuration file (reference: configs/leadflow.yaml); LEADFLOW_* variables override it")}
}

// load reads the file and the LEADFLOW_* variables and validates the result.
func (c configFlag) load() (configs.Config, error) {
	cfg, err := configs.Load(*c.path, os.Environ())
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// redis loads the configuration, checks its redis section (a Redis-only
// command needs no Kafka settings) and opens its Redis client (no health
// Watch: a one-shot command reports none). The caller closes it.
func (c configFlag) redis() (redis.UniversalClient, configs.Config, error) {
	cfg, err := configs.Load(*c.path, os.Environ())
	if err != nil {
		return nil, cfg, err
	}
	if err := cfg.Redis.Validate("redis"); err != nil {
		return nil, cfg, err
	}
	rdb, err := pipeline.NewRedis(cfg.Redis, nil)
	return rdb, cfg, err
}
