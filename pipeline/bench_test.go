package pipeline_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

// benchValue is about the size of a raw session event.
var benchValue = []byte(`{"event_id":"0b7c6f0e-5a7e-4a8e-9a53-3f5a1c2d7e11","workspace_id":"ws_123","session_id":"s_9f1c","visitor_id":"v_77","type":"pageview","ip":"198.51.100.23","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15","url":"https://www.example.com/pricing?utm_source=google","referrer":"https://www.google.com/","time_spent":14,"timestamp":"2024-05-15T10:55:50Z"}`)

// preload writes n records over 16 keys to env's raw topic.
func preload(b *testing.B, env *kafkatest.Env, n int) {
	b.Helper()
	const chunk = 10000
	for i := 0; i < n; i += chunk {
		recs := make([]*kgo.Record, 0, chunk)
		for j := i; j < min(i+chunk, n); j++ {
			recs = append(recs, &kgo.Record{Topic: inTopic(env), Key: []byte("k" + strconv.Itoa(j%16)), Value: benchValue})
		}
		env.Produce(b, recs...)
	}
}

// BenchmarkBareConsumeProduce is the yardstick: a plain franz-go group
// consumer that produces every record to the output topic, waits for the
// acks, and commits, on the same kfake as BenchmarkRunnerPassThrough.
func BenchmarkBareConsumeProduce(b *testing.B) {
	env := newEnv(b, 4)
	preload(b, env, b.N)
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...), kgo.ConsumerGroup(env.Group("bare")),
		kgo.ConsumeTopics(inTopic(env)), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(100*time.Millisecond), kgo.ProducerLinger(2*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for seen := 0; seen < b.N; {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			seen++
			cl.Produce(ctx, &kgo.Record{Topic: outTopic(env), Key: r.Key, Value: r.Value}, nil)
		})
		if err := cl.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkRunnerPassThrough runs a copy stage through the runtime:
// consume, batch, produce, commit once acknowledged.
func BenchmarkRunnerPassThrough(b *testing.B) {
	env := newEnv(b, 4)
	preload(b, env, b.N)
	st := &copyStage{name: "pass", in: inTopic(env), out: outTopic(env)}
	cfg := pipeline.DefaultRuntimeConfig()
	cfg.CommitInterval = 20 * time.Millisecond
	m, err := pipeline.NewMetrics(pipeline.MetricsDeps{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	r, err := pipeline.NewRunner(st, cfg, pipeline.Deps{
		Logger: zap.NewNop(), Metrics: m, Group: env.Group("pass"), DeadLetterTopic: env.DeadLetter, Kafka: env.Kafka,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	go func() { _ = r.Run(ctx, 5*time.Second); close(done) }()
	// Done when every input offset is committed: that implies every output was acknowledged.
	for {
		offs, err := env.Admin.FetchOffsets(context.Background(), env.Group("pass"))
		if err == nil {
			var total int64
			offs.Each(func(o kadm.OffsetResponse) { total += o.At })
			if total >= int64(b.N) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	b.StopTimer()
	cancel()
	<-done
}
