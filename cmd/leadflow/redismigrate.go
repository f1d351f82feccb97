package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/evaluate"
)

// redisMigrateCmd moves the new_lead claims and reveal records that a
// leadflow from before they moved into the lead's hash kept as keys of
// their own (without a TTL) into their leads (evaluate.MigrateClaims).
// Safe to run twice and while the pipeline runs.
func redisMigrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("redis-migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration file (reference: configs/leadflow.yaml); LEADFLOW_* variables override it")
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
	rep, err := evaluate.MigrateClaims(ctx, rdb, cfg.Redis.KeyPrefix)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "moved into their leads: %d new_lead claims, %d revealed contacts, %d reveal counts; deleted %d of leads that expired\n",
		rep.Moved["fired"], rep.Moved["revealed"], rep.Moved["reveals"], rep.Dropped)
	return err
}
