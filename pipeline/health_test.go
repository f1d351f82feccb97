package pipeline_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

// kfakeEnv is an Env on a kfake cluster of its own, which the test may
// stop (the shared real broker must not be), whatever
// LEADFLOW_KAFKA_BROKERS says.
func kfakeEnv(t *testing.T, partitions int32) (*kafkatest.Env, *kfake.Cluster) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(int(partitions)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	prefix := kafkatest.Prefix(t)
	e := &kafkatest.Env{Brokers: c.ListenAddrs(), Prefix: prefix, DeadLetter: prefix + "dlq"}
	e.Kafka = pipeline.DefaultKafkaConfig()
	e.Kafka.Brokers = e.Brokers
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Brokers...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	e.Client, e.Admin = cl, kadm.NewClient(cl)
	for _, topic := range []string{inTopic(e), outTopic(e), e.DeadLetter} {
		e.CreateTopic(t, topic, partitions)
	}
	return e, c
}

// readyz asks h's /readyz and fails the test if it takes a second or more.
func readyz(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	cl := &http.Client{Timeout: time.Second}
	start := time.Now()
	resp, err := cl.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatalf("/readyz did not answer within a second: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if d := time.Since(start); d >= time.Second {
		t.Fatalf("/readyz took %v", d)
	}
	return resp.StatusCode, string(body)
}

// While the broker is gone, /readyz answers at once with 503 naming Kafka
// for the stage, once the grace (1s here) has passed.
func TestReadyzNamesKafkaWhileTheBrokerIsDown(t *testing.T) {
	env, cluster := kfakeEnv(t, 2)
	st := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	run := start(t, env, st, testConfig(), zap.NewNop())
	health := &pipeline.Health{}
	health.Add("stage copy", func(context.Context) error { return run.r.Ready() })
	ops := pipeline.OpsHandler(health, prometheus.NewRegistry())
	produceN(t, env, inTopic(env), 4, 5)
	env.Consume(t, outTopic(env), 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= 20 })
	kafkatest.Eventually(t, 10*time.Second, "ready while Kafka is up", func() bool { return run.r.Ready() == nil })

	cluster.Close()
	var body string
	kafkatest.Eventually(t, 20*time.Second, "/readyz 503 naming Kafka", func() bool {
		code, b := readyz(t, ops)
		body = b
		return code == http.StatusServiceUnavailable && strings.Contains(b, "stage copy: fetch: ")
	})
	if strings.Count(body, "copy") != 1 {
		t.Errorf("/readyz body repeats the stage name:\n%s", body)
	}
	t.Logf("/readyz while the broker is down:\n%s", body)
}

// A Process call that never returns while input waits is a stall the
// stage reports, though no dependency failed.
func TestStallWhileInputWaitsIsReported(t *testing.T) {
	env := newEnv(t, 1)
	stuck := make(chan struct{})
	defer close(stuck)
	st := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	st.hook = func(ctx context.Context, b *pipeline.Batch) error {
		if string(b.Records[0].Value) == "1" {
			select {
			case <-stuck:
			case <-ctx.Done():
			}
		}
		return nil
	}
	cfg := testConfig()
	cfg.MaxBatchRecords = 1
	run := start(t, env, st, cfg, nil)
	produceN(t, env, inTopic(env), 1, 10)
	kafkatest.Eventually(t, 20*time.Second, "stall reported", func() bool {
		err := run.r.Ready()
		return err != nil && strings.HasPrefix(err.Error(), "progress: no batch processed on 1 partitions with ")
	})
}

// Redis calls made with a batch's context are credited to the stage, every
// call to the process's Redis Watch; both report an outage after the
// grace and recover when Redis is back.
func TestRedisOutageIsReportedByTheStageAndTheProcess(t *testing.T) {
	env := newEnv(t, 1)
	mr := miniredis.RunT(t)
	process, err := pipeline.NewWatch(pipeline.WatchConfig{Name: "process", Grace: time.Second}, pipeline.WatchDeps{Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	rcfg := pipeline.DefaultRedisConfig()
	rcfg.Addr, rcfg.DialTimeout, rcfg.Timeout = mr.Addr(), 200*time.Millisecond, 200*time.Millisecond
	rdb, err := pipeline.NewRedis(rcfg, process)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go process.Run(ctx, 100*time.Millisecond)

	st := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	st.hook = func(ctx context.Context, b *pipeline.Batch) error {
		return rdb.Incr(ctx, "n").Err()
	}
	run := start(t, env, st, testConfig(), nil)
	produceN(t, env, inTopic(env), 1, 3)
	env.Consume(t, outTopic(env), 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= 3 })

	mr.Close()
	produceN(t, env, inTopic(env), 1, 3)
	kafkatest.Eventually(t, 20*time.Second, "stage and process report Redis", func() bool {
		se, pe := run.r.Ready(), process.Ready()
		return se != nil && strings.HasPrefix(se.Error(), "redis: ") && pe != nil && strings.HasPrefix(pe.Error(), "redis: ")
	})
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	kafkatest.Eventually(t, 20*time.Second, "ready once Redis is back", func() bool {
		return run.r.Ready() == nil && process.Ready() == nil
	})
	env.Consume(t, outTopic(env), 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= 6 })
}

// Outputs that cannot be produced (their topic does not exist, and the
// broker does not create topics) are a produce stall the stage reports.
func TestProduceStallIsReported(t *testing.T) {
	env := newEnv(t, 1)
	st := &copyStage{name: "copy", in: inTopic(env), out: env.Prefix + "missing-topic"}
	run := start(t, env, st, testConfig(), nil)
	produceN(t, env, inTopic(env), 1, 10)
	var last error
	kafkatest.Eventually(t, 30*time.Second, "produce stall reported", func() bool {
		last = run.r.Ready()
		return last != nil && strings.HasPrefix(last.Error(), "produce: ")
	})
	t.Logf("Ready() while outputs cannot be produced: %v", last)
}
