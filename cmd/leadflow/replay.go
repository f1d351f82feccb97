package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/deliver"
)

func replayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", `what to replay: "dlq" (the dead-lettered deliveries)`)
	webhook := fs.String("webhook", "", "replay only the dead letters of this webhook id")
	path := fs.String("config", "", "YAML configuration (for kafka and topics); LEADFLOW_* variables override it")
	brokers := fs.String("brokers", "", "Kafka brokers, host:port,... (overrides the config; e.g. a running `leadflow dev` on 127.0.0.1:9092)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from != "dlq" {
		return fmt.Errorf(`--from %q: only "dlq" can be replayed`, *from)
	}
	cfg, err := configs.Load(*path, os.Environ())
	if err != nil {
		return err
	}
	if *brokers != "" {
		cfg.Kafka.Brokers = strings.Split(*brokers, ",")
	}
	if err := cfg.Kafka.Validate("kafka"); err != nil {
		return err
	}
	topics := pipeline.NewTopics(cfg.Topics.Prefix)
	bar := func(n int) { fmt.Fprintf(stderr, "\rreplayed %d", n) }
	n, err := deliver.Replay(ctx, cfg.Kafka, topics, *webhook, bar)
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	scope := "every webhook"
	if *webhook != "" {
		scope = "webhook " + *webhook
	}
	fmt.Fprintf(stdout, "re-queued %d dead-lettered deliveries of %s from %s to %s\n", n, scope, topics.DeliveriesDLQ, topics.Deliveries)
	return nil
}
