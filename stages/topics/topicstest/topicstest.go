// Package topicstest gives the application's tests a kafkatest.Env with
// leadflow's topics (package topics) named from its prefix and created.
// The runtime's own test helper, kafkatest, knows no application topic.
package topicstest

import (
	"testing"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/stages/topics"
)

// Env is a kafkatest.Env with leadflow's topic names.
type Env struct {
	*kafkatest.Env
	// Topics names this test's topics: topics.New(Env.Prefix).
	Topics topics.Names
}

// New returns an Env with every leadflow topic (topics.Names.Specs, no
// retry tiers) created with partitions partitions (control has 1).
// Runners started through it join Topics.Group of their stage and
// dead-letter to Topics.DLQ, as in a process.
func New(t testing.TB, partitions int32) *Env {
	t.Helper()
	env := kafkatest.New(t, partitions)
	names := topics.New(env.Prefix)
	env.DeadLetter = names.DLQ
	env.CreateTopics(t, names.Specs(nil)...)
	return &Env{Env: env, Topics: names}
}

// Existing returns an Env on brokers for the topics a parent test created
// with prefix, for a crash test's child process: it creates nothing and
// has no admin or plain client.
func Existing(brokers []string, prefix string) *Env {
	names := topics.New(prefix)
	env := &kafkatest.Env{Brokers: brokers, Prefix: prefix, DeadLetter: names.DLQ}
	env.Kafka = pipeline.DefaultKafkaConfig()
	env.Kafka.Brokers = brokers
	return &Env{Env: env, Topics: names}
}
