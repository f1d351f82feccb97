package deliver_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/deliver"
)

func TestBatchingByCount(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSubjects = 10
	cfg.MaxInFlight = 1      // so that requests also arrive in order
	cfg.Linger = time.Minute // only a full batch may go
	cfg.StableBatches = false
	env := newEnv(t, 1, cfg)
	rec := newRecorder(t, nil)
	startStage(t, env, cfg, newEndpoints(endpoint("wh_a", rec.url("/a"))))
	var reqs []schemas.DeliveryRequest
	for i := range 30 {
		reqs = append(reqs, request(i, "wh_a", schemas.EventNewLead, subject(i)))
	}
	env.produce(t, reqs...)
	kafkatest.Eventually(t, 20*time.Second, "30 subjects", func() bool { return len(rec.subjectsFor("/a")) >= 30 })
	for i, a := range rec.arrivals() {
		if len(a.ids) != 10 {
			t.Errorf("request %d has %d subjects, want 10", i, len(a.ids))
		}
	}
	if got := rec.subjectsFor("/a"); !slices.Equal(got, seq(0, 30)) {
		t.Errorf("subjects = %v, want 0..29 in order", fmtIDs(got))
	}
}

func TestBatchingByBytes(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBytes = 1024
	cfg.Linger = time.Minute
	cfg.StableBatches = false
	env := newEnv(t, 1, cfg)
	rec := newRecorder(t, nil)
	startStage(t, env, cfg, newEndpoints(endpoint("wh_a", rec.url("/a"))))
	// 300-byte subjects: three fit in 1024 bytes of body, four do not.
	pad := strings.Repeat("x", 300-len(`{"id":0,"name":""}`))
	var reqs []schemas.DeliveryRequest
	for i := range 10 {
		reqs = append(reqs, request(i, "wh_a", schemas.EventNewLead, `{"id":`+string(rune('0'+i))+`,"name":"`+pad+`"}`))
	}
	env.produce(t, reqs...)
	kafkatest.Eventually(t, 20*time.Second, "three full requests", func() bool { return rec.count() >= 3 })
	for i, a := range rec.arrivals() {
		if len(a.body) > 1024 {
			t.Errorf("request %d body is %d bytes, over max_bytes 1024", i, len(a.body))
		}
		if len(a.ids) != 3 {
			t.Errorf("request %d has %d subjects, want 3", i, len(a.ids))
		}
	}
}

func TestBatchingByLingerAndOneEventPerRequest(t *testing.T) {
	cfg := testConfig()
	cfg.Linger = 300 * time.Millisecond
	cfg.StableBatches = false
	env := newEnv(t, 1, cfg)
	rec := newRecorder(t, nil)
	startStage(t, env, cfg, newEndpoints(endpoint("wh_a", rec.url("/a"))))
	var reqs []schemas.DeliveryRequest
	for i := range 6 {
		ev := schemas.EventNewLead
		if i%2 == 1 {
			ev = schemas.EventNewSession
		}
		reqs = append(reqs, request(i, "wh_a", ev, subject(i)))
	}
	start := time.Now()
	env.produce(t, reqs...)
	kafkatest.Eventually(t, 20*time.Second, "two requests", func() bool { return rec.count() >= 2 })
	time.Sleep(200 * time.Millisecond) // nothing more may come
	got := rec.arrivals()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2 (one per event)", len(got))
	}
	for _, a := range got {
		want := []int{0, 2, 4}
		if a.event == schemas.EventNewSession {
			want = []int{1, 3, 5}
		}
		if !slices.Equal(a.ids, want) {
			t.Errorf("%s subjects = %v, want %v", a.event, a.ids, want)
		}
		if d := a.at.Sub(start); d < cfg.Linger-50*time.Millisecond {
			t.Errorf("%s request sent %s after produce, before the linger (%s)", a.event, d, cfg.Linger)
		}
	}
}

func TestSubjectsKeepTriggerOrderPerEndpoint(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSubjects = 7
	cfg.MaxInFlight = 1
	cfg.StableBatches = false // 98 and 99 in one request
	env := newEnv(t, 3, cfg)
	rec := newRecorder(t, nil)
	startStage(t, env, cfg, newEndpoints(endpoint("wh_a", rec.url("/a")), endpoint("wh_b", rec.url("/b"))))
	var reqs []schemas.DeliveryRequest
	for i := range 100 {
		reqs = append(reqs, request(i, "wh_a", schemas.EventNewLead, subject(i)), request(1000+i, "wh_b", schemas.EventNewLead, subject(1000+i)))
	}
	// Within one request, subjects go by trigger time even if produced out
	// of order: swap the trigger times of 98 and 99.
	reqs[198].TriggeredAt, reqs[196].TriggeredAt = reqs[196].TriggeredAt, reqs[198].TriggeredAt
	env.produce(t, reqs...)
	kafkatest.Eventually(t, 30*time.Second, "all subjects", func() bool {
		return len(rec.subjectsFor("/a")) >= 100 && len(rec.subjectsFor("/b")) >= 100
	})
	wantA := seq(0, 100)
	wantA[98], wantA[99] = 99, 98
	if got := rec.subjectsFor("/a"); !slices.Equal(got, wantA) {
		t.Errorf("endpoint a got %v, want trigger order", fmtIDs(got))
	}
	if got := rec.subjectsFor("/b"); !slices.Equal(got, seq(1000, 100)) {
		t.Errorf("endpoint b got %v, want trigger order", fmtIDs(got))
	}
}

// TestStableBatchesFormTheSameRequestsOnReplay (issue 12): the same
// delivery requests, once from the start and once from the middle (a
// replay after a crash starts at the last commit), form the same requests
// under the same webhook-ids from the first cut point on. Cut by count
// alone, every request of the replay shifts and gets a new webhook-id.
func TestStableBatchesFormTheSameRequestsOnReplay(t *testing.T) {
	pass := func(cfg deliver.Config, from int) []string {
		env := newEnv(t, 1, cfg)
		rec := newRecorder(t, nil)
		run := startStage(t, env, cfg, newEndpoints(endpoint("wh_a", rec.url("/a"))))
		var reqs []schemas.DeliveryRequest
		for i := from; i < 200; i++ {
			reqs = append(reqs, request(i, "wh_a", schemas.EventNewLead, subject(i)))
		}
		env.produce(t, reqs...)
		kafkatest.Eventually(t, 20*time.Second, "every subject", func() bool { return rec.countFor("/a") >= 200-from })
		run.stop()
		var ids []string
		for _, a := range rec.arrivals() {
			ids = append(ids, a.header.Get("webhook-id"))
		}
		return ids
	}
	for _, stable := range []bool{true, false} {
		cfg := testConfig()
		cfg.MaxSubjects = 20
		cfg.MaxInFlight = 1
		cfg.Linger = 200 * time.Millisecond
		cfg.StableBatches = stable
		first, replay := pass(cfg, 0), pass(cfg, 37)
		same := 0
		for _, id := range replay {
			if slices.Contains(first, id) {
				same++
			}
		}
		t.Logf("stable_batches %v: %d requests, replay from subject 37: %d requests, %d of them under a webhook-id of the first pass", stable, len(first), len(replay), same)
		if stable && same < len(replay)-1 {
			t.Errorf("stable batches: only %d of the replay's %d requests repeat a webhook-id (all but the first should)", same, len(replay))
		}
	}
}
