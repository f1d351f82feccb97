package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/stages/enrich/produce"
	"github.com/leadflow/leadflow/stages/topics"
)

// stdin is what `leadflow produce` reads without --file or --sample.
var stdin io.Reader = os.Stdin

func produceCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("produce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kf := addKafkaFlags(fs)
	file := fs.String("file", "", "read raw events from this file, one JSON object per line (default: standard input)")
	sample := fs.String("sample", "", "produce the guide's sample visits instead, comma separated: "+sampleNames()+` ("list" describes them)`)
	topic := fs.String("topic", "", "topic to write to (default: topics.prefix + \"sessions.raw\", i.e. leadflow.sessions.raw)")
	noValidate := fs.Bool("no-validate", false, "produce every line as is: the enrich stage dead-letters bad ones to leadflow.dlq (default: bad lines are reported and not produced)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sample == "list" {
		for _, s := range produce.Samples() {
			fmt.Fprintf(stdout, "%-11s %s\n", s.Name, s.About)
		}
		return nil
	}
	in, closeIn, err := produceInput(*file, *sample)
	if err != nil {
		return err
	}
	defer closeIn()
	cfg, err := kf.load(fs)
	if err != nil {
		return err
	}
	if err := cfg.Stages.Enrich.Validate("stages.enrich"); err != nil {
		return err
	}
	if *topic == "" {
		*topic = topics.New(cfg.Topics.Prefix).Raw
	}
	cl, err := newKafkaClient(ctx, cfg.Kafka, kgo.RecordDeliveryTimeout(30*time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	res, err := produce.Run(ctx, in, produce.Options{Client: cl, Topic: *topic, Decoder: cfg.Stages.Enrich.Decoder(),
		NoValidate: *noValidate, Report: func(l produce.Line) {
			switch {
			case l.Rejected:
				fmt.Fprintf(stderr, "line %d: not produced: %v\n", l.N, l.Err)
			case l.Err != nil:
				fmt.Fprintf(stderr, "line %d: Kafka did not acknowledge it: %v\n", l.N, l.Err)
			default:
				fmt.Fprintf(stdout, "line %d: acknowledged: %s partition %d offset %d (key %q)\n", l.N, *topic, l.Partition, l.Offset, l.Key)
			}
		}})
	fmt.Fprintf(stdout, "%d lines: %d acknowledged by Kafka, %d rejected (not produced), %d failed\n", res.Lines, res.Acked, res.Rejected, res.Failed)
	if *noValidate && res.Acked > 0 {
		fmt.Fprintf(stdout, "(--no-validate: the enrich stage dead-letters bad events to %s, with the reason in the leadflow-error header)\n", topics.New(cfg.Topics.Prefix).DLQ)
	}
	if errors.Is(err, produce.ErrBadInput) {
		return fmt.Errorf("%d of %d lines were not produced (see above)", res.Rejected+res.Failed, res.Lines)
	}
	return err
}

func sampleNames() string {
	var names []string
	for _, s := range produce.Samples() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// produceInput opens what produce reads: the samples, the file, or stdin.
func produceInput(file, sample string) (io.Reader, func(), error) {
	switch {
	case file != "" && sample != "":
		return nil, nil, errors.New("--file and --sample: give one of them")
	case sample != "":
		var b bytes.Buffer
		for _, name := range strings.Split(sample, ",") {
			line, ok := produce.SampleLine(strings.TrimSpace(name), time.Now())
			if !ok {
				return nil, nil, fmt.Errorf("--sample %q: unknown sample (samples: %s)", name, sampleNames())
			}
			b.Write(line)
		}
		return &b, func() {}, nil
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return nil, nil, fmt.Errorf("--file: %w", err)
		}
		return f, func() { _ = f.Close() }, nil
	}
	return stdin, func() {}, nil
}
