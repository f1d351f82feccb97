package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline"
)

// devBrokers is where `leadflow dev` listens by default: what the commands
// that talk to Kafka use when neither --brokers nor the configuration
// names brokers.
const devBrokers = "127.0.0.1:9092"

// kafkaFlags are the flags of the commands that talk to a running
// leadflow's Kafka (produce, replay, secrets): --config and --brokers.
type kafkaFlags struct {
	config  *string
	brokers *string
}

func addKafkaFlags(fs *flag.FlagSet) kafkaFlags {
	return kafkaFlags{
		config: fs.String("config", "", "YAML configuration (kafka, topics, ...), read as leadflow run reads it; LEADFLOW_* variables override it"),
		brokers: fs.String("brokers", devBrokers, "Kafka brokers, host:port,...; overrides kafka.brokers of the config; "+
			"when neither this flag nor kafka.brokers (LEADFLOW_KAFKA_BROKERS) is set, a running leadflow dev's"),
	}
}

// load reads the configuration as `run` does and applies --brokers: the
// flag when given, else kafka.brokers, else devBrokers.
func (k kafkaFlags) load(fs *flag.FlagSet) (configs.Config, error) {
	cfg, err := configs.Load(*k.config, os.Environ())
	if err != nil {
		return cfg, err
	}
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "brokers" })
	if set || len(cfg.Kafka.Brokers) == 0 {
		cfg.Kafka.Brokers = strings.Split(*k.brokers, ",")
	}
	return cfg, cfg.Kafka.Validate("kafka")
}

// reachTimeout bounds the first contact with the brokers.
const reachTimeout = 5 * time.Second

// errUnreachable says that no broker answered.
var errUnreachable = errors.New("no Kafka broker answered")

// reach checks that a broker answers within reachTimeout, so that an
// unreachable cluster is one clear error instead of retries that never end.
func reach(ctx context.Context, cl *kgo.Client, brokers []string) error {
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		hint := ""
		if strings.Join(brokers, ",") == devBrokers {
			hint = "; is `leadflow dev` running?"
		}
		return fmt.Errorf("%w at %s (kafka.brokers, --brokers): %v%s", errUnreachable, strings.Join(brokers, ","), err, hint)
	}
	return nil
}

// newKafkaClient makes a client for cfg.Kafka and checks it reaches a broker.
func newKafkaClient(ctx context.Context, kc pipeline.KafkaConfig, extra ...kgo.Opt) (*kgo.Client, error) {
	cl, err := pipeline.NewClient(kc, extra...)
	if err != nil {
		return nil, err
	}
	if err := reach(ctx, cl, kc.Brokers); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}
