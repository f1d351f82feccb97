package deliver_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/deliver"
	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

// deadURL returns a loopback URL nothing listens on (connection refused).
func deadURL(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr + "/dead"
}

// TestMemoryBoundedWithDeadEndpointAndLargeBacklog sends 50,000 requests
// (1 KiB subjects) to an endpoint that refuses connections, beside a
// healthy one. The in-process queue never exceeds its bounds, the heap
// stays bounded, the healthy endpoint gets everything, and every input
// record is committed because the dead endpoint's requests were handed to
// the retry tiers.
func TestMemoryBoundedWithDeadEndpointAndLargeBacklog(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 50,000 records; run without -short")
	}
	const n = 50000
	cfg := testConfig()
	cfg.QueueSize = 1000 // the healthy endpoint's 1,000 arrive in a burst: they fit
	cfg.MaxQueued = 2000
	cfg.SpillDelay = 10 * time.Minute // spilled records stay in the tier for the whole test
	cfg.RetrySchedule = []time.Duration{0, 10 * time.Minute}
	cfg.BreakerFailures = 5
	cfg.BreakerCooldown = 10 * time.Minute
	cfg.BreakerCooldownMax = 10 * time.Minute
	cfg.Runtime.PartitionMaxBytes = 4 << 20
	cfg.Runtime.MaxInflightBytes = 16 << 20
	cfg.Runtime.ProducerMaxBufferedRecords = 2000
	cfg.TierHoldMaxBytes = 4 << 20
	env := newEnv(t, 2, cfg)
	healthy := newRecorder(t, nil)

	pad := strings.Repeat("x", 1000)
	var recs []*kgo.Record
	var inputBytes int64
	for i := range n {
		wh := "wh_dead"
		if i%50 == 0 {
			wh = "wh_ok"
		}
		r := records(t, env.Topics.Deliveries, request(i, wh, schemas.EventNewLead, `{"id":`+strconv.Itoa(i)+`,"pad":"`+pad+`"}`))[0]
		inputBytes += int64(len(r.Value))
		recs = append(recs, r)
	}
	for i := 0; i < len(recs); i += 5000 {
		env.Produce(t, recs[i:min(i+5000, len(recs))]...)
	}
	recs = nil
	base := heapAlloc()

	run := startStage(t, env, cfg, newEndpoints(endpoint("wh_dead", deadURL(t)), endpoint("wh_ok", healthy.url("/ok"))))
	var peakHeap uint64
	var mu sync.Mutex
	kafkatest.Eventually(t, 3*time.Minute, "every input record committed", func() bool {
		h := heapAlloc()
		mu.Lock()
		peakHeap = max(peakHeap, h)
		mu.Unlock()
		c := committedOf(t, env, env.Topics.Deliveries)
		if testing.Verbose() {
			t.Logf("committed %d stats %+v ok %d", c, run.stage.Stats(), len(healthy.subjectsFor("/ok")))
		}
		return c == n && len(healthy.subjectsFor("/ok")) >= n/50
	})
	st := run.stage.Stats()
	if got := len(healthy.subjectsFor("/ok")); got != n/50 {
		t.Errorf("healthy endpoint got %d subjects, want %d", got, n/50)
	}
	// Queued subjects: at most max_queued (an in-process retry may put a
	// request back past it, by at most the requests in flight).
	if limit := int64(cfg.MaxQueued + cfg.MaxInFlight*cfg.MaxSubjects); st.PeakQueued > limit {
		t.Errorf("peak queued %d subjects, over max_queued %d + in flight", st.PeakQueued, cfg.MaxQueued)
	}
	// Held: queued, in flight, and hand-offs awaiting Kafka's ack (bounded
	// by the producer's buffer).
	if limit := int64(cfg.MaxQueued + cfg.MaxInFlight*cfg.MaxSubjects*2 + cfg.Runtime.ProducerMaxBufferedRecords*2); st.PeakHeld > limit {
		t.Errorf("peak held %d subjects, over %d", st.PeakHeld, limit)
	}
	// kfake keeps every record in this process: what the stage wrote to
	// the tiers is kfake's memory, not the stage's.
	var stored uint64
	if !kafkatest.Real() {
		stored = uint64(st.HandedBytes) * 2
	}
	// 96 MiB: the queue, the holds, the runtime's in-flight bound (16 MiB)
	// and what a poll brings in beyond it. The fetch size follows the
	// in-flight bound (pipeline.RuntimeConfig.FetchMaxBytes): with the
	// default 16 MiB fetch, this test's 20x-compressible subjects peaked at
	// 73-119 MiB; with it, 52-61 MiB.
	bound := base + stored + 96<<20
	t.Logf("input %d MiB; heap at start %d MiB, peak %d MiB (bound %d MiB, of which kfake's copy of the tiers %d MiB); peak queued %d, peak held %d",
		inputBytes>>20, base>>20, peakHeap>>20, bound>>20, stored>>20, st.PeakQueued, st.PeakHeld)
	if peakHeap > bound {
		t.Errorf("heap reached %d MiB, over the bound of %d MiB", peakHeap>>20, bound>>20)
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestCrashMidDeliveryDeliversEverythingAtLeastOnce kills a child process
// running the stage with SIGKILL while it delivers, twice, then lets an
// in-process stage finish: every subject arrives at least once.
func TestCrashMidDeliveryDeliversEverythingAtLeastOnce(t *testing.T) {
	if os.Getenv("DELIVER_CRASH_CHILD") != "" {
		crashChild(t)
		return
	}
	const n = 3000
	cfg := crashConfig()
	env := newEnv(t, 3, cfg)
	var mu sync.Mutex
	seen := map[int]int{}
	rec := newRecorder(t, nil)
	rec.respond = func(_ int, w http.ResponseWriter, _ *http.Request) {
		time.Sleep(2 * time.Millisecond) // slow enough to be killed mid-delivery
		w.WriteHeader(http.StatusOK)
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		seen = map[int]int{}
		for _, a := range rec.arrivals() {
			for _, id := range a.ids {
				seen[id]++
			}
		}
		return len(seen)
	}
	var reqs []schemas.DeliveryRequest
	for i := range n {
		reqs = append(reqs, request(i, "wh_"+strconv.Itoa(i%10), schemas.EventNewLead, subject(i)))
	}
	env.produce(t, reqs...)
	for round := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashMidDeliveryDeliversEverythingAtLeastOnce$", "-test.v")
		cmd.Env = append(os.Environ(), "DELIVER_CRASH_CHILD=1", "CRASH_BROKERS="+strings.Join(env.Brokers, ","),
			"CRASH_PREFIX="+env.Topics.Prefix, "CRASH_URL="+rec.srv.URL, "CRASH_REDIS="+redisAddr(t))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		kafkatest.Eventually(t, 60*time.Second, "child delivering", func() bool { return count() >= (round+1)*600 })
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	startStage(t, env, cfg, crashEndpoints(rec.srv.URL))
	kafkatest.Eventually(t, 90*time.Second, "every subject delivered", func() bool { return count() >= n })
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for i := range n {
		if seen[i] == 0 {
			t.Fatalf("subject %d never delivered", i)
		}
		dups += seen[i] - 1
	}
	t.Logf("%d subjects delivered, %d duplicates after two crashes", n, dups)
}

func crashConfig() deliver.Config {
	cfg := testConfig()
	cfg.MaxSubjects = 20
	cfg.Linger = 20 * time.Millisecond
	cfg.Runtime.MaxBatchRecords = 50
	cfg.Runtime.CommitInterval = 100 * time.Millisecond
	return cfg
}

func crashEndpoints(url string) *fakeEndpoints {
	f := newEndpoints()
	for i := range 10 {
		f.set(endpoint("wh_"+strconv.Itoa(i), url+"/"+strconv.Itoa(i)))
	}
	return f
}

func redisAddr(t testing.TB) string {
	if a := os.Getenv(kafkatest.EnvRedis); a != "" {
		return a
	}
	_, addr := kafkatest.Redis(t)
	return addr
}

func crashChild(t *testing.T) {
	env := &testEnv{Env: topicstest.Existing(strings.Split(os.Getenv("CRASH_BROKERS"), ","), os.Getenv("CRASH_PREFIX"))}
	os.Setenv(kafkatest.EnvRedis, os.Getenv("CRASH_REDIS"))
	env.redis, _ = kafkatest.Redis(t)
	startStage(t, env, crashConfig(), crashEndpoints(os.Getenv("CRASH_URL")))
	time.Sleep(time.Minute) // killed long before this
	fmt.Println("child was not killed")
}
