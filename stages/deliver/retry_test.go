package deliver_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/deliver"
)

func fail500(_ int, w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusInternalServerError)
}

// TestRetriesGoThroughEveryTierThenDeadLetter runs a shortened schedule
// where every wait goes through its retry topic.
func TestRetriesGoThroughEveryTierThenDeadLetter(t *testing.T) {
	cfg := testConfig()
	cfg.RetrySchedule = []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
	cfg.InProcessRetryMax = 0 // only the immediate retry stays in process
	cfg.BreakerFailures = 100
	env := newEnv(t, 2, cfg)
	rec := newRecorder(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("upstream down"))
	})
	run := startStage(t, env, cfg, newEndpoints(endpoint("wh_a", rec.url("/a"))))
	env.produce(t, request(1, "wh_a", schemas.EventNewLead, subject(1)), request(2, "wh_a", schemas.EventNewLead, subject(2)))

	dl := env.Consume(t, env.Topics.DeliveriesDLQ, 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= 1 })
	got := rec.arrivals()
	if len(got) != 5 {
		t.Fatalf("%d attempts, want 5 (1 + 4 retries)", len(got))
	}
	waits := append([]time.Duration{0}, cfg.RetrySchedule...)
	for i, a := range got {
		if string(a.body) != string(got[0].body) || a.header.Get("webhook-id") != got[0].header.Get("webhook-id") {
			t.Errorf("attempt %d: body or webhook-id changed between retries", i+1)
		}
		if i > 0 {
			if gap := a.at.Sub(got[i-1].at); gap < waits[i] {
				t.Errorf("attempt %d came %s after the previous one, before its wait of %s", i+1, gap, waits[i])
			}
		}
	}
	for _, d := range cfg.RetrySchedule[1:] {
		topic := env.Topics.Retry(deliver.TierName(d))
		recs := env.Consume(t, topic, 10*time.Second, func(r []*kgo.Record) bool { return len(r) >= 1 })
		if h := header(recs[0], deliver.HeaderMessageID); h != got[0].header.Get("webhook-id") {
			t.Errorf("%s record carries webhook-id %q, want %q", topic, h, got[0].header.Get("webhook-id"))
		}
	}
	d := dl[0]
	for k, want := range map[string]string{
		pipeline.HeaderReason: deliver.ReasonRetriesExhausted, pipeline.HeaderStage: "deliver",
		deliver.HeaderAttempt: "5", deliver.HeaderMessageID: got[0].header.Get("webhook-id"),
		deliver.HeaderLastStatus: "502", deliver.HeaderWebhook: "wh_a",
	} {
		if h := header(d, k); h != want {
			t.Errorf("dead letter header %s = %q, want %q", k, h, want)
		}
	}
	if e := header(d, pipeline.HeaderError); !strings.Contains(e, "HTTP 502: upstream down") {
		t.Errorf("dead letter error = %q, want the last error", e)
	}
	reqs, err := deliver.DecodeEnvelope(d.Value)
	if err != nil || len(reqs) != 2 || reqs[0].ID != "req_1" || reqs[1].ID != "req_2" {
		t.Fatalf("dead letter holds %v (%v), want requests req_1, req_2", reqs, err)
	}
	kafkatest.Eventually(t, 5*time.Second, "attempt log", func() bool {
		as, err := run.stage.AttemptLog().Recent(context.Background(), "ws_1", "wh_a", 10)
		if err != nil || len(as) != 5 {
			return false
		}
		return as[0].Outcome == deliver.OutcomeDLQ && as[0].Attempt == 5 && as[4].Attempt == 1 &&
			as[4].Outcome == deliver.OutcomeRetry && as[0].StatusCode == 502 && as[0].Subjects == 2
	})
}

func TestRetryThenSuccessDeliversOnce(t *testing.T) {
	cfg := testConfig()
	cfg.RetrySchedule = []time.Duration{0, 100 * time.Millisecond, 100 * time.Millisecond}
	cfg.InProcessRetryMax = 0
	env := newEnv(t, 1, cfg)
	rec := newRecorder(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	startStage(t, env, cfg, newEndpoints(endpoint("wh_a", rec.url("/a"))))
	env.produce(t, request(1, "wh_a", schemas.EventNewLead, subject(1)))
	kafkatest.Eventually(t, 20*time.Second, "third attempt", func() bool { return rec.count() >= 3 })
	time.Sleep(500 * time.Millisecond)
	if n := rec.count(); n != 3 {
		t.Fatalf("%d attempts, want 3 (the third succeeded)", n)
	}
	if off := committedOf(t, env, env.Topics.Deliveries); off != 1 {
		t.Errorf("deliveries committed offset %d, want 1", off)
	}
}

// TestRetryAfterIsHonouredWithoutUsingAttempts answers 429 with
// Retry-After three times; with one retry allowed the request would be
// dead-lettered if backpressure used up attempts.
func TestRetryAfterIsHonouredWithoutUsingAttempts(t *testing.T) {
	cfg := testConfig()
	cfg.RetrySchedule = []time.Duration{0}
	env := newEnv(t, 1, cfg)
	rec := newRecorder(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 3 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	run := startStage(t, env, cfg, newEndpoints(endpoint("wh_a", rec.url("/a"))))
	env.produce(t, request(1, "wh_a", schemas.EventNewLead, subject(1)))
	kafkatest.Eventually(t, 20*time.Second, "delivered after three 429s", func() bool { return rec.count() >= 4 })
	got := rec.arrivals()
	for i := 1; i < len(got); i++ {
		if gap := got[i].at.Sub(got[i-1].at); gap < time.Second-20*time.Millisecond {
			t.Errorf("attempt %d came %s after a Retry-After of 1s", i+1, gap)
		}
	}
	as, err := run.stage.AttemptLog().Recent(context.Background(), "ws_1", "wh_a", 10)
	kafkatest.Eventually(t, 5*time.Second, "attempt log", func() bool {
		as, err = run.stage.AttemptLog().Recent(context.Background(), "ws_1", "wh_a", 10)
		return err == nil && len(as) == 4
	})
	if as[0].Outcome != deliver.OutcomeSuccess || as[0].Attempt != 1 || as[1].Outcome != deliver.OutcomeBackpressure {
		t.Errorf("attempt log = %+v; want backpressure then success, all as attempt 1", as)
	}
	if n := countRecords(t, env, env.Topics.DeliveriesDLQ); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
}

func TestGoneDisablesEndpointAndDeadLetters(t *testing.T) {
	cfg := testConfig()
	env := newEnv(t, 1, cfg)
	var calls atomic.Int64
	rec := newRecorder(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusGone)
	})
	eps := newEndpoints(endpoint("wh_a", rec.url("/a")))
	startStage(t, env, cfg, eps)
	env.produce(t, request(1, "wh_a", schemas.EventNewLead, subject(1)))
	dl := env.Consume(t, env.Topics.DeliveriesDLQ, 20*time.Second, func(r []*kgo.Record) bool { return len(r) >= 1 })
	if h := header(dl[0], pipeline.HeaderReason); h != deliver.ReasonDisabled {
		t.Errorf("dead letter reason %q, want disabled", h)
	}
	if d := eps.disabledCalls(); len(d) != 1 || !strings.HasPrefix(d[0], "ws_1/wh_a: ") {
		t.Fatalf("Disable calls = %v, want one for ws_1/wh_a", d)
	}
	// Later requests for the disabled endpoint are dead-lettered unsent.
	env.produce(t, request(2, "wh_a", schemas.EventNewLead, subject(2)))
	env.Consume(t, env.Topics.DeliveriesDLQ, 20*time.Second, func(r []*kgo.Record) bool { return len(r) >= 2 })
	if n := calls.Load(); n != 1 {
		t.Errorf("%d requests sent, want 1 (none after 410)", n)
	}
}

// TestCircuitBreakerOpensProbesAndCloses: three failures open the breaker;
// nothing is sent for the cooldown; one probe follows; a failed probe
// doubles the cooldown; a successful one closes the breaker.
func TestCircuitBreakerOpensProbesAndCloses(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSubjects = 1
	cfg.BreakerFailures = 3
	cfg.BreakerCooldown = 300 * time.Millisecond
	cfg.BreakerCooldownMax = time.Second
	cfg.InProcessRetryMax = 2 * time.Second // the cooldowns wait in process
	cfg.RetrySchedule = []time.Duration{0, 0, 0, 0, 0, 0, 0, 0}
	env := newEnv(t, 1, cfg)
	var healthy atomic.Bool
	rec := newRecorder(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if healthy.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	})
	startStage(t, env, cfg, newEndpoints(endpoint("wh_a", rec.url("/a"))))
	env.produce(t, request(1, "wh_a", schemas.EventNewLead, subject(1)))
	kafkatest.Eventually(t, 20*time.Second, "first probe", func() bool { return rec.count() >= 4 })
	healthy.Store(true) // the second probe succeeds
	kafkatest.Eventually(t, 20*time.Second, "second probe", func() bool { return rec.count() >= 5 })
	got := rec.arrivals()
	if gap := got[3].at.Sub(got[2].at); gap < cfg.BreakerCooldown-20*time.Millisecond {
		t.Errorf("first probe %s after the breaker opened, want >= cooldown %s", gap, cfg.BreakerCooldown)
	}
	if gap := got[4].at.Sub(got[3].at); gap < 2*cfg.BreakerCooldown-20*time.Millisecond {
		t.Errorf("second probe %s after the failed first, want >= doubled cooldown %s", gap, 2*cfg.BreakerCooldown)
	}
	// Closed: new requests flow at once.
	start := time.Now()
	env.produce(t, request(2, "wh_a", schemas.EventNewLead, subject(2)), request(3, "wh_a", schemas.EventNewLead, subject(3)))
	kafkatest.Eventually(t, 5*time.Second, "after close", func() bool { return rec.count() >= 7 })
	if d := time.Since(start); d > time.Second {
		t.Errorf("requests after the breaker closed took %s", d)
	}
}

// breakerConfig is a config whose breaker opens after two failures and
// stays open for a minute, one subject per request and one in flight,
// immediate retries and a minute's spill delay.
func breakerConfig() deliver.Config {
	cfg := testConfig()
	cfg.MaxSubjects = 1
	cfg.MaxInFlight = 1
	cfg.BreakerFailures = 2
	cfg.BreakerCooldown = time.Minute
	cfg.RetrySchedule = []time.Duration{0, 0, 0}
	cfg.SpillDelay = time.Minute
	return cfg
}

// TestOpenBreakerSpillsWithoutUsingAttempts: with a long cooldown the
// queued requests go to a retry tier with attempt 0.
func TestOpenBreakerSpillsWithoutUsingAttempts(t *testing.T) {
	cfg := breakerConfig()
	env := newEnv(t, 1, cfg)
	rec := newRecorder(t, fail500)
	startStage(t, env, cfg, newEndpoints(endpoint("wh_a", rec.url("/a"))))
	var reqs []schemas.DeliveryRequest
	for i := range 10 {
		reqs = append(reqs, request(i, "wh_a", schemas.EventNewLead, subject(i)))
	}
	env.produce(t, reqs...)
	tier := env.Topics.Retry(deliver.TierName(time.Minute))
	spilled := env.Consume(t, tier, 20*time.Second, func(r []*kgo.Record) bool { return len(r) >= 10 })
	unattempted := 0
	for _, r := range spilled {
		if header(r, deliver.HeaderAttempt) == "0" {
			unattempted++
		}
	}
	if unattempted < 9 {
		t.Errorf("%d of %d tier records unattempted, want 9 (only the first request was sent)", unattempted, len(spilled))
	}
	if n := rec.count(); n != 2 {
		t.Errorf("%d requests sent, want 2 (then the breaker opened)", n)
	}
	kafkatest.Eventually(t, 10*time.Second, "every input committed once handed on", func() bool {
		return committedOf(t, env, env.Topics.Deliveries) == 10
	})
}

func committedOf(t testing.TB, env *testEnv, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := env.Admin.FetchOffsets(ctx, env.Topics.Group("deliver"))
	if errors.Is(err, kerr.GroupIDNotFound) || kerr.IsRetriable(err) {
		return 0 // not joined yet, or a broker just started has no coordinator yet
	}
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	var sum int64
	for _, ps := range offs[topic] {
		if ps.At > 0 {
			sum += ps.At
		}
	}
	return sum
}

func countRecords(t testing.TB, env *testEnv, topic string) int64 {
	t.Helper()
	ends, err := env.Admin.ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, ps := range ends[topic] {
		n += ps.Offset
	}
	return n
}

// TestLongRetryAfterIsHonouredToTheSecond: a Retry-After longer than
// in_process_retry_max (here 2 s and 3 s against 1 s) used to be rounded
// up to the next tier (1 minute by default). Now the request goes out
// when the wait ends, within a second, using up no attempt: through the
// longest tier that fits, then held in process for the rest.
func TestLongRetryAfterIsHonouredToTheSecond(t *testing.T) {
	cfg := testConfig()
	cfg.RetrySchedule = []time.Duration{0, time.Minute}
	cfg.InProcessRetryMax = time.Second
	env := newEnv(t, 1, cfg)
	waits := []string{"3", "2"}
	rec := newRecorder(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= len(waits) {
			w.Header().Set("Retry-After", waits[n-1])
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	run := startStage(t, env, cfg, newEndpoints(endpoint("wh_a", rec.url("/a"))))
	env.produce(t, request(1, "wh_a", schemas.EventNewLead, subject(1)))
	kafkatest.Eventually(t, 20*time.Second, "delivered after two long Retry-Afters", func() bool { return rec.count() >= 3 })
	got := rec.arrivals()
	for i, w := range []time.Duration{3 * time.Second, 2 * time.Second} {
		gap := got[i+1].at.Sub(got[i].at)
		t.Logf("Retry-After %s: next request %s later", w, gap.Round(time.Millisecond))
		if gap < w-20*time.Millisecond || gap > w+time.Second {
			t.Errorf("request %d came %s after a Retry-After of %s, want within a second of it", i+2, gap, w)
		}
		if got[i+1].header.Get("webhook-id") != got[0].header.Get("webhook-id") {
			t.Errorf("request %d has a new webhook-id", i+2)
		}
	}
	var as []deliver.Attempt
	kafkatest.Eventually(t, 5*time.Second, "attempt log", func() bool {
		var err error
		as, err = run.stage.AttemptLog().Recent(context.Background(), "ws_1", "wh_a", 10)
		return err == nil && len(as) == 3
	})
	if as[0].Outcome != deliver.OutcomeSuccess || as[0].Attempt != 1 {
		t.Errorf("attempt log = %+v; want success as attempt 1", as)
	}
	if st := run.stage.Stats(); st.TierWaiting != 0 {
		t.Errorf("%d records still held in process", st.TierWaiting)
	}
}
