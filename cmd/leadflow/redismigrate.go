package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/leadflow/leadflow/stages/evaluate"
)

// redisMigrateCmd moves the claims and reveal records that a leadflow
// from before they moved into the lead's hash kept as keys of their own
// into their leads (evaluate.MigrateClaims).
// Safe to run twice and while the pipeline runs.
func redisMigrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("redis-migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := addConfigFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	rdb, cfg, err := conf.redis()
	if err != nil {
		return err
	}
	defer rdb.Close()
	rep, err := evaluate.MigrateClaims(ctx, rdb, cfg.Redis.KeyPrefix)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "moved into their leads: %d new_lead claims, %d new_session claims, %d revealed contacts, %d reveal counts; deleted %d of leads that expired\n",
		rep.Moved["fired"], rep.Moved["fired_session"], rep.Moved["revealed"], rep.Moved["reveals"], rep.Dropped)
	return err
}
