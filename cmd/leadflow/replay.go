package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/leadflow/leadflow/stages/deliver"
	"github.com/leadflow/leadflow/stages/topics"
)

func replayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "dlq", `what to replay; only "dlq" (the dead-lettered deliveries of deliveries.dlq)`)
	webhook := fs.String("webhook", "", "replay only the dead letters of this webhook id (default: every webhook)")
	kf := addKafkaFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from != "dlq" {
		return fmt.Errorf(`--from %q: only "dlq" can be replayed`, *from)
	}
	cfg, err := kf.load(fs)
	if err != nil {
		return err
	}
	if cl, err := newKafkaClient(ctx, cfg.Kafka); err != nil {
		return err
	} else {
		cl.Close()
	}
	names := topics.New(cfg.Topics.Prefix)
	bar := func(n int) { fmt.Fprintf(stderr, "\rreplayed %d", n) }
	n, err := deliver.Replay(ctx, cfg.Kafka, names, *webhook, bar)
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	scope := "every webhook"
	if *webhook != "" {
		scope = "webhook " + *webhook
	}
	fmt.Fprintf(stdout, "re-queued %d dead-lettered deliveries of %s from %s to %s\n", n, scope, names.DeliveriesDLQ, names.Deliveries)
	return nil
}
