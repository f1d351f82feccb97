// Package kafkatest gives tests a Kafka cluster and a Redis: franz-go's
// kfake and miniredis in process by default, or the real services named
// by LEADFLOW_KAFKA_BROKERS and LEADFLOW_REDIS_ADDR when they are set (CI
// sets them). Every test gets its own topic and key prefix, so tests can
// share the real services and run in parallel.
package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
)

// Env names the variables that point tests at real services.
const (
	EnvKafka = "LEADFLOW_KAFKA_BROKERS"
	EnvRedis = "LEADFLOW_REDIS_ADDR"
)

// Real reports whether tests run against a real Kafka broker.
func Real() bool { return os.Getenv(EnvKafka) != "" }

// Brokers returns seed brokers: the real ones from LEADFLOW_KAFKA_BROKERS,
// or a fresh in-process kfake cluster closed when t ends.
func Brokers(t testing.TB) []string {
	t.Helper()
	if v := os.Getenv(EnvKafka); v != "" {
		return strings.Split(v, ",")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// Prefix returns a topic, group and key prefix unique to this test run.
func Prefix(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	return "t." + name + "." + hex.EncodeToString(b[:]) + "."
}

// Env is one test's Kafka: brokers, its own name prefix, and an admin
// client. It knows no application topic: tests name theirs from Prefix
// and create them with CreateTopics.
type Env struct {
	Brokers []string
	// Prefix starts every topic and group name of this test (Prefix(t)).
	Prefix string
	// DeadLetter is the dead-letter topic StartWith gives runners unless
	// their Deps name one: Prefix+"dlq", created by New.
	DeadLetter string
	Kafka      pipeline.KafkaConfig
	Admin      *kadm.Client
	Client     *kgo.Client // a plain client for producing and checking

	partitions int32 // New's partitions: CreateTopics' default
}

// New returns an Env whose dead-letter topic is created with partitions
// partitions, the default of CreateTopics.
func New(t testing.TB, partitions int32) *Env {
	t.Helper()
	prefix := Prefix(t)
	e := &Env{Brokers: Brokers(t), Prefix: prefix, DeadLetter: prefix + "dlq", partitions: partitions}
	e.Kafka = pipeline.DefaultKafkaConfig()
	e.Kafka.Brokers = e.Brokers
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Brokers...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	e.Client = cl
	e.Admin = kadm.NewClient(cl)
	e.CreateTopics(t, pipeline.TopicSpec{Name: e.DeadLetter})
	return e
}

// Group names the consumer group of stage in this test: Prefix+stage,
// the group StartWith gives runners unless their Deps name one.
func (e *Env) Group(stage string) string { return e.Prefix + stage }

// CreateTopics creates the topics in specs that do not exist yet; a spec
// with no Partitions gets New's partitions.
func (e *Env) CreateTopics(t testing.TB, specs ...pipeline.TopicSpec) {
	t.Helper()
	tc := pipeline.DefaultTopicsConfig()
	tc.Partitions = e.partitions
	tc.ReplicationFactor = 1
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pipeline.EnsureTopics(ctx, e.Admin, tc, specs); err != nil {
		t.Fatalf("create topics: %v", err)
	}
}

// CreateTopic creates one more topic.
func (e *Env) CreateTopic(t testing.TB, name string, partitions int32) {
	t.Helper()
	tc := pipeline.DefaultTopicsConfig()
	tc.ReplicationFactor = 1
	if err := pipeline.EnsureTopics(context.Background(), e.Admin, tc, []pipeline.TopicSpec{{Name: name, Partitions: partitions}}); err != nil {
		t.Fatal(err)
	}
}

// Produce writes recs synchronously and fails the test on error.
func (e *Env) Produce(t testing.TB, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// Consume reads topic from the start until stop returns true for the
// records read so far, or timeout passes (then the test fails).
func (e *Env) Consume(t testing.TB, topic string, timeout time.Duration, stop func([]*kgo.Record) bool) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var got []*kgo.Record
	for !stop(got) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume %s: timed out after %s with %d records", topic, timeout, len(got))
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	return got
}

// Redis returns a Redis client and its address: the real one from
// LEADFLOW_REDIS_ADDR, or a miniredis closed when t ends. Use a Prefix
// for keys so that tests sharing a real Redis do not collide.
func Redis(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	addr := os.Getenv(EnvRedis)
	if addr == "" {
		mr := miniredis.RunT(t)
		addr = mr.Addr()
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c, addr
}

// Eventually polls cond every 10ms until it is true or timeout passes,
// then fails the test with msg.
func Eventually(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: %s", timeout, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RuntimeConfig is the runtime configuration for tests: frequent commits,
// short backoffs and fetch waits, and group timeouts short enough that a
// killed member is replaced within seconds.
func RuntimeConfig() pipeline.RuntimeConfig {
	c := pipeline.DefaultRuntimeConfig()
	c.CommitInterval = 50 * time.Millisecond
	c.RevokeTimeout = 2 * time.Second
	c.RetryBackoff = 10 * time.Millisecond
	c.RetryBackoffMax = 100 * time.Millisecond
	c.FetchMaxWait = 50 * time.Millisecond
	c.SessionTimeout = 10 * time.Second
	c.RebalanceTimeout = 10 * time.Second
	return c
}

// Start runs stage with cfg on e's cluster until the returned stop is
// called or the test ends (stop is idempotent and waits for a clean
// shutdown). A nil log logs nothing. The runner reports a dependency
// failing for longer than 1s (Deps.Grace).
func (e *Env) Start(t testing.TB, stage pipeline.Stage, cfg pipeline.RuntimeConfig, log *zap.Logger) (r *pipeline.Runner, stop func()) {
	t.Helper()
	return e.StartWith(t, stage, cfg, pipeline.Deps{Logger: log, Grace: time.Second})
}

// StartWith is Start with deps: its Logger (nil logs nothing), Grace,
// InstanceID and ExtraOpts are used; Metrics, Group (e.Group of the
// stage), DeadLetterTopic (e.DeadLetter) and Kafka are e's unless set.
func (e *Env) StartWith(t testing.TB, stage pipeline.Stage, cfg pipeline.RuntimeConfig, deps pipeline.Deps) (r *pipeline.Runner, stop func()) {
	t.Helper()
	if deps.Logger == nil {
		deps.Logger = zap.NewNop()
	}
	if deps.Metrics == nil {
		m, err := pipeline.NewMetrics(pipeline.MetricsDeps{Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		deps.Metrics = m
	}
	if deps.Group == "" {
		deps.Group = e.Group(stage.Name())
	}
	if deps.DeadLetterTopic == "" {
		deps.DeadLetterTopic = e.DeadLetter
	}
	if len(deps.Kafka.Brokers) == 0 {
		deps.Kafka = e.Kafka
	}
	r, err := pipeline.NewRunner(stage, cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, 5*time.Second) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("runner %s: %v", stage.Name(), err)
			}
		})
	}
	t.Cleanup(stop)
	return r, stop
}
