package deliver_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/deliver"
	"github.com/leadflow/leadflow/stages/deliver/sink"
)

func TestSendTestSendsTheGuideSampleSignedAndLogsIt(t *testing.T) {
	var got []json.RawMessage
	var event string
	s := sink.New(sink.Config{Secret: "k", Tolerance: time.Minute, Quiet: true,
		OnDelivery: func(ev string, subjects []json.RawMessage, _ http.Header, _ time.Time) { event, got = ev, subjects }})
	srv := newSinkServer(t, s)
	rdb, _ := kafkatest.Redis(t)
	log := deliver.NewAttemptLog(rdb, kafkatest.Prefix(t), 10, time.Hour)
	ep := endpoint("wh_t", srv+"/hook")
	ep.Secret = "k"
	cfg := testConfig()
	a, err := deliver.SendTest(context.Background(), ep, cfg, "9.9", log)
	if err != nil {
		t.Fatal(err)
	}
	if a.Outcome != deliver.OutcomeSuccess || a.StatusCode != 200 || !a.Test || a.Subjects != 1 || a.Event != "new_lead" {
		t.Fatalf("attempt = %+v", a)
	}
	lead := schemas.GuideNetcontrolLead()
	if event != "new_lead" || len(got) != 1 || string(got[0]) != string(lead.AppendJSON(nil)) {
		t.Errorf("sink got %s %s, want the guide's new_lead sample", event, got)
	}
	as, err := log.Recent(context.Background(), "ws_1", "wh_t", 5)
	if err != nil || len(as) != 1 || as[0].MessageID != a.MessageID {
		t.Errorf("attempt log = %+v, %v", as, err)
	}
	if _, err := deliver.SendTest(context.Background(), endpoint("x", "ftp://example.com"), cfg, "", nil); !errors.Is(err, deliver.ErrBadURL) {
		t.Errorf("SendTest with an ftp URL: %v, want ErrBadURL", err)
	}
}

// TestReplayRequeuesDeadLettersOnce dead-letters requests for real, replays
// one webhook's, then everything, then again: each dead letter is replayed
// once, with its original request ids, and delivered.
func TestReplayRequeuesDeadLettersOnce(t *testing.T) {
	cfg := testConfig()
	cfg.RetrySchedule = nil
	env := newEnv(t, 2, cfg)
	var healthy atomic.Bool
	rec := newRecorder(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if healthy.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	})
	startStage(t, env, cfg, newEndpoints(endpoint("wh_a", rec.url("/a")), endpoint("wh_b", rec.url("/b"))))
	env.produce(t,
		request(1, "wh_a", schemas.EventNewLead, subject(1)), request(2, "wh_a", schemas.EventNewLead, subject(2)),
		request(3, "wh_b", schemas.EventNewLead, subject(3)))
	env.Consume(t, env.Topics.DeliveriesDLQ, 20*time.Second, func(r []*kgo.Record) bool { return len(r) >= 2 })
	healthy.Store(true)

	ctx := context.Background()
	var progressed int
	n, err := deliver.Replay(ctx, env.Kafka, env.Topics, "wh_b", func(k int) { progressed = k })
	if err != nil || n != 1 || progressed != 1 {
		t.Fatalf("Replay(wh_b) = %d, %v (progress %d); want 1", n, err, progressed)
	}
	kafkatest.Eventually(t, 20*time.Second, "wh_b redelivered", func() bool { return len(rec.subjectsFor("/b")) >= 2 })
	if n, err = deliver.Replay(ctx, env.Kafka, env.Topics, "", nil); err != nil || n != 2 {
		t.Fatalf("Replay(all) = %d, %v; want 2 (wh_a's two; wh_b's was replayed already)", n, err)
	}
	kafkatest.Eventually(t, 20*time.Second, "wh_a redelivered", func() bool { return len(rec.subjectsFor("/a")) >= 4 })
	for _, wh := range []string{"", "wh_a", "wh_b"} {
		if n, err := deliver.Replay(ctx, env.Kafka, env.Topics, wh, nil); err != nil || n != 0 {
			t.Errorf("Replay(%q) again = %d, %v; want 0", wh, n, err)
		}
	}
	// The replayed records are the original requests, byte for byte.
	replayed := env.Consume(t, env.Topics.Deliveries, 10*time.Second, func(r []*kgo.Record) bool { return len(r) >= 6 })
	var ids []string
	for _, r := range replayed[3:] {
		var req schemas.DeliveryRequest
		if err := json.Unmarshal(r.Value, &req); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, req.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"req_1", "req_2", "req_3"}) {
		t.Errorf("replayed request ids %v", ids)
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	if err := deliver.DefaultConfig().Validate("stages.deliver"); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	c := deliver.DefaultConfig()
	c.MaxSubjects = 0
	c.RetrySchedule = []time.Duration{time.Minute, -1}
	c.Runtime.MaxBatchRecords = 0
	err := c.Validate("stages.deliver")
	if !errors.Is(err, pipeline.ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
	for _, field := range []string{"stages.deliver.max_subjects", "stages.deliver.retry_schedule[1]", "stages.deliver.runtime.max_batch_records"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}

func TestTiersAndTierNames(t *testing.T) {
	c := deliver.DefaultConfig()
	var names []string
	for _, d := range c.Tiers() {
		names = append(names, deliver.TierName(d))
	}
	if !slices.Equal(names, []string{"1s", "1m", "5m", "30m", "2h"}) { // 1s: spill_delay, the queue-full tier consumed again almost at once
		t.Errorf("default tiers %v", names)
	}
	for d, want := range map[time.Duration]string{50 * time.Millisecond: "50ms", 30 * time.Second: "30s", 90 * time.Minute: "1h30m", 90 * time.Second: "1m30s", 24 * time.Hour: "24h"} {
		if got := deliver.TierName(d); got != want {
			t.Errorf("TierName(%s) = %q, want %q", d, got, want)
		}
	}
}
