package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

// staticConfig has a session timeout long enough that a dynamic member
// killed and restarted would stall its partitions for about 30s; a static
// member must resume far sooner.
func staticConfig() pipeline.RuntimeConfig {
	c := testConfig()
	c.SessionTimeout = 30 * time.Second
	c.RebalanceTimeout = 31 * time.Second
	return c
}

// outputs follows a topic from its start and remembers, per value, the
// first record seen, and when the first record of each generation arrived.
type outputs struct {
	mu       sync.Mutex
	seen     map[string]bool
	firstGen map[string]time.Time
}

func follow(t *testing.T, env *kafkatest.Env, topic string) *outputs {
	t.Helper()
	o := &outputs{seen: map[string]bool{}, firstGen: map[string]time.Time{}}
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...), kgo.ConsumeTopics(topic), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			now := time.Now()
			o.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				o.seen[string(r.Value)] = true
				for _, h := range r.Headers {
					if _, ok := o.firstGen[string(h.Value)]; h.Key == "gen" && !ok {
						o.firstGen[string(h.Value)] = now
					}
				}
			})
			o.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	return o
}

func (o *outputs) first(gen string) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	at, ok := o.firstGen[gen]
	return at, ok
}

func (o *outputs) count(values []string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, v := range values {
		if o.seen[v] {
			n++
		}
	}
	return n
}

// TestStaticMemberKilledAndRestartedResumesAtOnce runs the stage as a
// static group member in a child process under steady load, kills it with
// SIGKILL, restarts it with the same instance id, reports how long the
// restarted process took to produce its first output, and checks that
// every input was copied. With a dynamic member the restart would wait
// for the dead member's 30s session to expire.
func TestStaticMemberKilledAndRestartedResumesAtOnce(t *testing.T) {
	if gen := os.Getenv("LEADFLOW_RESTART_CHILD"); gen != "" {
		restartChild(t, gen)
		return
	}
	env := newEnv(t, 3)
	out := follow(t, env, outTopic(env))

	// Load: 400 records/s across 12 keys until stopped.
	var mu sync.Mutex
	var produced []string
	ctx, stopLoad := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ctx.Err() == nil; {
			var recs []*kgo.Record
			for range 10 {
				v := "v" + strconv.Itoa(i)
				recs = append(recs, &kgo.Record{Topic: inTopic(env), Key: []byte("k" + strconv.Itoa(i%12)), Value: []byte(v)})
				i++
			}
			if err := env.Client.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				t.Errorf("produce: %v", err)
				return
			}
			mu.Lock()
			for _, r := range recs {
				produced = append(produced, string(r.Value))
			}
			mu.Unlock()
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()
	defer func() { stopLoad(); <-loadDone }()

	child := func(gen string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStaticMemberKilledAndRestartedResumesAtOnce$")
		cmd.Env = append(os.Environ(), "LEADFLOW_RESTART_CHILD="+gen,
			"CRASH_BROKERS="+strings.Join(env.Brokers, ","), "CRASH_PREFIX="+env.Prefix)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := child("1")
	kafkatest.Eventually(t, 60*time.Second, "first process copies records", func() bool { _, ok := out.first("1"); return ok })
	time.Sleep(time.Second) // under load for a while before the kill
	_ = first.Process.Signal(syscall.SIGKILL)
	_ = first.Wait()
	restarted := time.Now()
	second := child("2")
	defer func() { _ = second.Process.Signal(syscall.SIGKILL); _ = second.Wait() }()
	kafkatest.Eventually(t, 60*time.Second, "restarted process copies records", func() bool { _, ok := out.first("2"); return ok })
	at, _ := out.first("2")
	resumed := at.Sub(restarted)
	t.Logf("restarted static member: first output %v after the restart (dynamic member: the 30s session timeout)", resumed.Round(time.Millisecond))
	if resumed > 15*time.Second {
		t.Errorf("restarted process took %v to make progress; want well under the 30s session timeout", resumed)
	}

	stopLoad()
	<-loadDone
	mu.Lock()
	all := append([]string(nil), produced...)
	mu.Unlock()
	kafkatest.Eventually(t, 60*time.Second, fmt.Sprintf("all %d inputs copied", len(all)), func() bool { return out.count(all) == len(all) })
}

func restartChild(t *testing.T, gen string) {
	if os.Getenv("CRASH_BROKERS") == "" {
		t.Skip("child only")
	}
	env := &kafkatest.Env{Brokers: strings.Split(os.Getenv("CRASH_BROKERS"), ","), Prefix: os.Getenv("CRASH_PREFIX"), DeadLetter: os.Getenv("CRASH_PREFIX") + "dlq"}
	env.Kafka = pipeline.DefaultKafkaConfig()
	env.Kafka.Brokers = env.Brokers
	st := &genStage{copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}, gen}
	cfg := staticConfig()
	cfg.CommitInterval = 200 * time.Millisecond
	env.StartWith(t, st, cfg, pipeline.Deps{Logger: zap.NewNop(), InstanceID: "copy-" + env.Prefix})
	time.Sleep(2 * time.Minute) // killed long before this
	fmt.Println("child was not killed")
}

// genStage copies like copyStage and marks each output with its process's
// generation in a "gen" header.
type genStage struct {
	copyStage
	gen string
}

func (s *genStage) Process(_ context.Context, b *pipeline.Batch) error {
	for _, r := range b.Records {
		b.Emit(&kgo.Record{Topic: s.out, Key: r.Key, Value: r.Value, Headers: []kgo.RecordHeader{{Key: "gen", Value: []byte(s.gen)}}})
	}
	return nil
}

// TestStaticMemberCleanShutdownHandsPartitionsOverAtOnce stops one of two
// static members cleanly: it leaves the group explicitly, so the other
// takes its partitions at once rather than after its 30s session timeout.
func TestStaticMemberCleanShutdownHandsPartitionsOverAtOnce(t *testing.T) {
	env := newEnv(t, 4)
	a := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	b := &copyStage{name: "copy", in: inTopic(env), out: outTopic(env)}
	_, stopA := env.StartWith(t, a, staticConfig(), pipeline.Deps{InstanceID: "a-" + env.Prefix})
	_, _ = env.StartWith(t, b, staticConfig(), pipeline.Deps{InstanceID: "b-" + env.Prefix})
	kafkatest.Eventually(t, 60*time.Second, "both members own partitions", func() bool {
		if a.seen.Load() > 0 && b.seen.Load() > 0 {
			return true
		}
		produceN(t, env, inTopic(env), 16, 1)
		return false
	})
	stopA()
	stopped := time.Now()
	before := b.seen.Load()
	produceN(t, env, inTopic(env), 16, 5)
	// Some of the new records may be ones the stopped member had fetched
	// but not finished: b copies at least the 80 new ones.
	kafkatest.Eventually(t, 20*time.Second, "the remaining member copies every new record", func() bool { return b.seen.Load() >= before+80 })
	t.Logf("partitions handed over %v after the clean shutdown", time.Since(stopped).Round(time.Millisecond))
}
