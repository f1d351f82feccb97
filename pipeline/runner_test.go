package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

// copyStage copies every input record to out, unchanged, keyed the same.
// hook, if set, runs first for each batch and may fail or dead-letter.
type copyStage struct {
	name string
	in   string
	out  string
	hook func(ctx context.Context, b *pipeline.Batch) error
	seen atomic.Int64
}

func (s *copyStage) Name() string     { return s.name }
func (s *copyStage) Inputs() []string { return []string{s.in} }
func (s *copyStage) Process(ctx context.Context, b *pipeline.Batch) error {
	if s.hook != nil {
		if err := s.hook(ctx, b); err != nil {
			return err
		}
	}
	for _, r := range b.Records {
		if string(r.Value) == "poison" {
			b.DeadLetter(r, errors.New("value is poison"))
			continue
		}
		b.Emit(&kgo.Record{Topic: s.out, Key: r.Key, Value: r.Value})
	}
	s.seen.Add(int64(len(b.Records)))
	return nil
}

func testConfig() pipeline.RuntimeConfig {
	c := kafkatest.RuntimeConfig()
	c.RetryBackoffMax = 50 * time.Millisecond
	return c
}

// newEnv is a kafkatest Env with the copy stages' input and output
// topics (inTopic, outTopic) created with partitions partitions.
func newEnv(t testing.TB, partitions int32) *kafkatest.Env {
	t.Helper()
	env := kafkatest.New(t, partitions)
	env.CreateTopics(t, pipeline.TopicSpec{Name: inTopic(env)}, pipeline.TopicSpec{Name: outTopic(env)})
	return env
}

// inTopic is the test's input topic.
func inTopic(env *kafkatest.Env) string { return env.Prefix + "in" }

// outTopic is the test's output topic.
func outTopic(env *kafkatest.Env) string { return env.Prefix + "out" }

type running struct {
	r    *pipeline.Runner
	stop func()
}

// start runs stage until the returned stop is called (or the test ends).
func start(t *testing.T, env *kafkatest.Env, stage pipeline.Stage, cfg pipeline.RuntimeConfig, log *zap.Logger) *running {
	t.Helper()
	if log == nil {
		log = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	r, stop := env.Start(t, stage, cfg, log)
	return &running{r: r, stop: stop}
}

func produceN(t *testing.T, env *kafkatest.Env, topic string, keys, perKey int) {
	t.Helper()
	var recs []*kgo.Record
	for i := 0; i < perKey; i++ {
		for k := 0; k < keys; k++ {
			recs = append(recs, &kgo.Record{Topic: topic, Key: []byte("k" + strconv.Itoa(k)), Value: []byte(strconv.Itoa(i))})
		}
	}
	env.Produce(t, recs...)
}

// checkAll fails unless every key has every value 0..perKey-1; with
// ordered it also checks the first occurrences arrive in order.
func checkAll(t *testing.T, recs []*kgo.Record, keys, perKey int, ordered bool) {
	t.Helper()
	seen := make(map[string]map[int]bool)
	last := make(map[string]int)
	for _, r := range recs {
		k := string(r.Key)
		v, err := strconv.Atoi(string(r.Value))
		if err != nil {
			t.Fatalf("bad value %q", r.Value)
		}
		if seen[k] == nil {
			seen[k] = map[int]bool{}
			last[k] = -1
		}
		if !seen[k][v] {
			if ordered && v != last[k]+1 {
				t.Fatalf("key %s: value %d arrived after %d", k, v, last[k])
			}
			last[k] = v
		}
		seen[k][v] = true
	}
	for k := 0; k < keys; k++ {
		key := "k" + strconv.Itoa(k)
		for i := 0; i < perKey; i++ {
			if !seen[key][i] {
				t.Fatalf("key %s: value %d never arrived (got %d records in all)", key, i, len(recs))
			}
		}
	}
}

// distinct counts distinct key/value pairs.
func distinct(recs []*kgo.Record) int {
	m := make(map[string]bool, len(recs))
	for _, r := range recs {
		m[string(r.Key)+"\x00"+string(r.Value)] = true
	}
	return len(m)
}

func TestOrderPerKeyAndEveryInputProduced(t *testing.T) {
	env := newEnv(t, 3)
	const keys, perKey = 20, 100
	produceN(t, env, inTopic(env), keys, perKey)
	st := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	cfg := testConfig()
	cfg.MaxBatchRecords = 37 // batches that straddle polls
	start(t, env, st, cfg, nil)
	got := env.Consume(t, outTopic(env), 60*time.Second, func(r []*kgo.Record) bool { return distinct(r) >= keys*perKey })
	checkAll(t, got, keys, perKey, true)
}

func TestPoisonRecordGoesToDLQWithHeadersAndRestContinues(t *testing.T) {
	env := newEnv(t, 1)
	env.Produce(t,
		&kgo.Record{Topic: inTopic(env), Key: []byte("a"), Value: []byte("1")},
		&kgo.Record{Topic: inTopic(env), Key: []byte("a"), Value: []byte("poison")},
		&kgo.Record{Topic: inTopic(env), Key: []byte("a"), Value: []byte("2")},
	)
	st := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	start(t, env, st, testConfig(), nil)
	out := env.Consume(t, outTopic(env), 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= 2 })
	if string(out[0].Value) != "1" || string(out[1].Value) != "2" {
		t.Fatalf("outputs = %q, %q; want 1, 2", out[0].Value, out[1].Value)
	}
	dl := env.Consume(t, env.DeadLetter, 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= 1 })
	h := headers(dl[0])
	want := map[string]string{
		pipeline.HeaderStage: "copy", pipeline.HeaderSourceTopic: inTopic(env),
		pipeline.HeaderSourcePartition: "0", pipeline.HeaderSourceOffset: "1",
		pipeline.HeaderError: "value is poison", pipeline.HeaderReason: "invalid",
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}
	if string(dl[0].Value) != "poison" || string(dl[0].Key) != "a" {
		t.Errorf("dead letter key/value = %q/%q, want the original a/poison", dl[0].Key, dl[0].Value)
	}
}

func headers(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

func TestPanicIsolatesTheRecordThatPanics(t *testing.T) {
	env := newEnv(t, 1)
	env.Produce(t,
		&kgo.Record{Topic: inTopic(env), Value: []byte("1")},
		&kgo.Record{Topic: inTopic(env), Value: []byte("boom")},
		&kgo.Record{Topic: inTopic(env), Value: []byte("3")},
	)
	st := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	st.hook = func(_ context.Context, b *pipeline.Batch) error {
		for _, r := range b.Records {
			if string(r.Value) == "boom" {
				panic("boom")
			}
		}
		return nil
	}
	start(t, env, st, testConfig(), nil)
	out := env.Consume(t, outTopic(env), 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= 2 })
	if string(out[0].Value) != "1" || string(out[1].Value) != "3" {
		t.Fatalf("outputs = %q, %q; want 1, 3", out[0].Value, out[1].Value)
	}
	dl := env.Consume(t, env.DeadLetter, 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= 1 })
	if h := headers(dl[0]); h[pipeline.HeaderReason] != "panic" || string(dl[0].Value) != "boom" {
		t.Fatalf("dead letter = %q with reason %q; want boom with reason panic", dl[0].Value, h[pipeline.HeaderReason])
	}
}

func TestFailingBatchIsRetriedAndNotCommittedMeanwhile(t *testing.T) {
	env := newEnv(t, 1)
	produceN(t, env, inTopic(env), 1, 10)
	var failures atomic.Int64
	var healthy atomic.Bool
	st := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	st.hook = func(context.Context, *pipeline.Batch) error {
		if !healthy.Load() {
			failures.Add(1)
			return errors.New("redis: connection refused")
		}
		return nil
	}
	run := start(t, env, st, testConfig(), nil)
	kafkatest.Eventually(t, 30*time.Second, "stage never failed", func() bool { return failures.Load() >= 3 })
	// Not ready once the failures outlast the grace (1s in tests), naming them.
	kafkatest.Eventually(t, 10*time.Second, "not ready while failing", func() bool {
		err := run.r.Ready()
		return err != nil && strings.Contains(err.Error(), "process: redis: connection refused")
	})
	if off := committed(t, env, "copy", inTopic(env)); off[0] > 0 {
		t.Fatalf("committed offset %d while the batch was failing", off[0])
	}
	healthy.Store(true)
	got := env.Consume(t, outTopic(env), 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= 10 })
	checkAll(t, got, 1, 10, true)
	kafkatest.Eventually(t, 10*time.Second, "offsets committed after recovery", func() bool {
		return committed(t, env, "copy", inTopic(env))[0] == 10
	})
	kafkatest.Eventually(t, 5*time.Second, "ready after recovery", func() bool { return run.r.Ready() == nil })
}

// committed returns the group's committed offsets of topic by partition (-1: none).
func committed(t *testing.T, env *kafkatest.Env, stage, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := env.Admin.FetchOffsets(ctx, env.Group(stage))
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	out := map[int32]int64{0: -1}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			out[o.Partition] = o.At
		}
	})
	return out
}

func TestShutdownCommitsOnlyFinishedWork(t *testing.T) {
	env := newEnv(t, 1)
	produceN(t, env, inTopic(env), 1, 10)
	// Records with value >= 5 are held (their work never finishes).
	var held []*pipeline.Hold
	var mu sync.Mutex
	st := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	cfg := testConfig()
	cfg.MaxBatchRecords = 1
	st.hook = func(_ context.Context, b *pipeline.Batch) error {
		if v, _ := strconv.Atoi(string(b.Records[0].Value)); v >= 5 {
			mu.Lock()
			held = append(held, b.Hold())
			mu.Unlock()
		}
		return nil
	}
	run := start(t, env, st, cfg, nil)
	kafkatest.Eventually(t, 30*time.Second, "all records seen", func() bool { return st.seen.Load() == 10 })
	run.stop()
	if off := committed(t, env, "copy", inTopic(env))[0]; off != 5 {
		t.Fatalf("committed offset = %d after shutdown; want 5 (records 5..9 were unfinished)", off)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, h := range held {
		if h.Context().Err() == nil {
			t.Fatal("held work's context still live after shutdown")
		}
		h.Done() // late release after abandon must be harmless
	}
}

func TestTwoInstancesShareAndSurviveRebalance(t *testing.T) {
	env := newEnv(t, 4)
	const keys = 16
	st1 := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	st2 := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	slow := func(context.Context, *pipeline.Batch) error { time.Sleep(2 * time.Millisecond); return nil }
	st1.hook, st2.hook = slow, slow
	cfg := testConfig()
	cfg.MaxBatchRecords = 10
	a := start(t, env, st1, cfg, nil)

	// Produce rounds of one value per key while instances join and leave.
	perKey := 0
	round := func() {
		var recs []*kgo.Record
		for k := 0; k < keys; k++ {
			recs = append(recs, &kgo.Record{Topic: inTopic(env), Key: []byte("k" + strconv.Itoa(k)), Value: []byte(strconv.Itoa(perKey))})
		}
		perKey++
		env.Produce(t, recs...)
	}
	until := func(msg string, cond func() bool) {
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out: %s", msg)
			}
			round()
			time.Sleep(5 * time.Millisecond)
		}
	}
	until("first instance working", func() bool { return st1.seen.Load() > 0 })
	start(t, env, st2, cfg, nil)
	until("second instance got partitions", func() bool { return st2.seen.Load() > 0 })
	before := st1.seen.Load()
	until("first instance still working after the rebalance", func() bool { return st1.seen.Load() > before })
	a.stop() // the survivor takes every partition
	for i := 0; i < 20; i++ {
		round()
	}
	got := env.Consume(t, outTopic(env), 90*time.Second, func(r []*kgo.Record) bool { return distinct(r) >= keys*perKey })
	checkAll(t, got, keys, perKey, true)
}

func TestPartitionPausedAtBoundAndResumed(t *testing.T) {
	env := newEnv(t, 1)
	// 1 KiB records in batches of their own, so that one fetch of at most
	// 8 KiB brings a handful and the bound, not the fetch, limits reading.
	val := strings.Repeat("x", 1024)
	for i := 0; i < 200; i++ {
		env.Produce(t, &kgo.Record{Topic: inTopic(env), Value: []byte(val)})
	}
	release := make(chan struct{})
	st := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	cfg := testConfig()
	cfg.PartitionMaxRecords = 20
	cfg.MaxBatchRecords = 5
	cfg.FetchMaxBytes = 8 << 10
	st.hook = func(ctx context.Context, b *pipeline.Batch) error {
		h := b.Hold()
		go func() {
			select {
			case <-release:
			case <-ctx.Done():
			}
			h.Done()
		}()
		return nil
	}
	start(t, env, st, cfg, nil)
	kafkatest.Eventually(t, 30*time.Second, "records up to the bound processed", func() bool { return st.seen.Load() >= 20 })
	time.Sleep(500 * time.Millisecond) // unpaused, it would read all 200 by now
	if n := st.seen.Load(); n >= 100 {
		t.Fatalf("processed %d of 200 records with all work unfinished and a bound of %d: the partition was not paused", n, cfg.PartitionMaxRecords)
	}
	close(release)
	kafkatest.Eventually(t, 30*time.Second, "all records processed after resume", func() bool { return st.seen.Load() == 200 })
}

// TestCrashMidBatchLosesNothing kills a child process running the stage
// with SIGKILL in the middle of its work, restarts it, and checks that
// every input produced its output at least once.
func TestCrashMidBatchLosesNothing(t *testing.T) {
	if os.Getenv("LEADFLOW_CRASH_CHILD") != "" {
		crashChild(t)
		return
	}
	env := newEnv(t, 3)
	const keys, perKey = 10, 200
	produceN(t, env, inTopic(env), keys, perKey)
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashMidBatchLosesNothing$", "-test.v")
		cmd.Env = append(os.Environ(), "LEADFLOW_CRASH_CHILD=1",
			"CRASH_BROKERS="+strings.Join(env.Brokers, ","), "CRASH_PREFIX="+env.Prefix)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it get some way through, then kill it with no chance to commit.
		env.Consume(t, outTopic(env), 60*time.Second, func(r []*kgo.Record) bool { return len(r) >= (round+1)*200 })
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	// A last, in-process owner finishes the work after the crashes.
	st := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	start(t, env, st, testConfig(), nil)
	got := env.Consume(t, outTopic(env), 90*time.Second, func(r []*kgo.Record) bool { return distinct(r) >= keys*perKey })
	checkAll(t, got, keys, perKey, false)
}

func crashChild(t *testing.T) {
	if !kafkatest.Real() && os.Getenv("CRASH_BROKERS") == "" {
		t.Skip("child only")
	}
	env := &kafkatest.Env{Brokers: strings.Split(os.Getenv("CRASH_BROKERS"), ","), Prefix: os.Getenv("CRASH_PREFIX"), DeadLetter: os.Getenv("CRASH_PREFIX") + "dlq"}
	env.Kafka = pipeline.DefaultKafkaConfig()
	env.Kafka.Brokers = env.Brokers
	st := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	st.hook = func(context.Context, *pipeline.Batch) error { time.Sleep(20 * time.Millisecond); return nil }
	cfg := testConfig()
	cfg.MaxBatchRecords = 7
	cfg.CommitInterval = 200 * time.Millisecond
	start(t, env, st, cfg, zap.NewNop())
	time.Sleep(time.Minute) // killed long before this
	fmt.Println("child was not killed")
}
