// Command kafkatool is the small Kafka client the CI scripts use (the image
// has no shell and CI has no Kafka command-line tools when it runs kfake):
//
//	go run ./.ci/kafkatool produce -brokers B -topic T < lines   # one record per stdin line
//	go run ./.ci/kafkatool delete-topics -brokers B -prefix P    # delete every topic starting with P
//
// It lives under .ci/ (which `./...` does not match) and uses only modules
// leadflow already requires.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kafkatool produce|delete-topics -brokers HOST:PORT[,...] ...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	brokers := fs.String("brokers", os.Getenv("LEADFLOW_KAFKA_BROKERS"), "seed brokers, comma separated (default $LEADFLOW_KAFKA_BROKERS)")
	topic := fs.String("topic", "", "produce: the topic")
	prefix := fs.String("prefix", "", "delete-topics: delete the topics whose name starts with this (required, not empty)")
	timeout := fs.Duration("timeout", 30*time.Second, "longest the whole command may take")
	_ = fs.Parse(os.Args[2:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cl, err := pipeline.NewClient(pipeline.KafkaConfig{Brokers: strings.Split(*brokers, ",")})
	if err == nil {
		defer cl.Close()
		switch os.Args[1] {
		case "produce":
			err = produce(ctx, cl, *topic)
		case "delete-topics":
			err = deleteTopics(ctx, kadm.NewClient(cl), *prefix)
		default:
			err = fmt.Errorf("unknown command %q (produce, delete-topics)", os.Args[1])
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafkatool:", err)
		os.Exit(1)
	}
}

// produce sends each non-empty stdin line as one record to topic and waits
// until every record is acknowledged.
func produce(ctx context.Context, cl *kgo.Client, topic string) error {
	if topic == "" {
		return errors.New("produce: -topic is required")
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(line)}).FirstErr(); err != nil {
			return fmt.Errorf("produce to %s: %w", topic, err)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "kafkatool: produced %d records to %s\n", n, topic)
	return nil
}

// deleteTopics deletes every topic whose name starts with prefix.
func deleteTopics(ctx context.Context, adm *kadm.Client, prefix string) error {
	if prefix == "" {
		return errors.New("delete-topics: -prefix is required (an empty prefix would match every topic)")
	}
	all, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	var names []string
	for _, name := range all.Names() {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	resp, err := adm.DeleteTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("delete topics: %w", err)
	}
	if err := resp.Error(); err != nil {
		return fmt.Errorf("delete topics: %w", err)
	}
	fmt.Fprintf(os.Stderr, "kafkatool: deleted %d topics starting with %s\n", len(names), prefix)
	return nil
}
