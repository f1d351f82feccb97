package deliver_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/deliver"
)

// The published status shows an endpoint that keeps failing with its
// breaker open (since when, why) and its subjects retrying, and a slow one
// with requests in flight and subjects queued; every key it writes has a
// TTL; a stopped stage's status is gone at once. Runs on miniredis, and on
// the real Redis when LEADFLOW_REDIS_ADDR is set.
func TestStatusPublishesBreakerAndQueues(t *testing.T) {
	cfg := breakerConfig()
	env := newEnv(t, 1, cfg)
	failing := newRecorder(t, fail500)
	release := make(chan struct{})
	slow := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	run := startStage(t, env, cfg, newEndpoints(endpoint("wh_fail", failing.url("/a")), endpoint("wh_slow", slow.url("/b"))))
	var reqs []schemas.DeliveryRequest
	for i := range 10 {
		reqs = append(reqs, request(i, "wh_fail", schemas.EventNewLead, subject(i)))
	}
	for i := 10; i < 15; i++ {
		reqs = append(reqs, request(i, "wh_slow", schemas.EventNewLead, subject(i)))
	}
	env.produce(t, reqs...)

	ctx := context.Background()
	prefix := env.Topics.Prefix
	var got map[string]deliver.WebhookState
	kafkatest.Eventually(t, 20*time.Second, "an open breaker with retrying subjects and a slow endpoint with queued ones", func() bool {
		var err error
		got, _, err = deliver.ReadWebhookStates(ctx, env.redis, prefix, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		f, s := got["ws_1/wh_fail"], got["ws_1/wh_slow"]
		return f.Breaker == deliver.BreakerOpen && f.Retrying >= 8 && s.InFlight == 1 && s.Queued >= 3
	})
	f := got["ws_1/wh_fail"]
	if f.BreakerSince.IsZero() || time.Since(f.BreakerSince) > time.Minute || !strings.Contains(f.BreakerReason, "2 failed attempts in a row") {
		t.Errorf("open breaker since %v because %q; want a recent time and the failures", f.BreakerSince, f.BreakerReason)
	}
	if f.Processes != 1 {
		t.Errorf("processes = %d, want 1", f.Processes)
	}
	if s := got["ws_1/wh_slow"]; s.Breaker != deliver.BreakerClosed || s.Retrying != 0 {
		t.Errorf("slow endpoint = %+v, want a closed breaker and nothing retrying", s)
	}
	local := run.stage.WebhookStates()
	if len(local) != 2 || local[0].WebhookID != "wh_fail" {
		t.Errorf("WebhookStates = %+v, want the open breaker first of 2", local)
	}

	keys, err := env.redis.Keys(ctx, prefix+"{deliver:state}*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Errorf("status keys %v, want the registry and one hash", keys)
	}
	for _, k := range keys {
		if ttl := env.redis.PTTL(ctx, k).Val(); ttl <= 0 || ttl > deliver.StatusTTL {
			t.Errorf("%s: TTL %s, want within (0, %s]", k, ttl, deliver.StatusTTL)
		}
	}

	run.stop()
	after, n, err := deliver.ReadWebhookStates(ctx, env.redis, prefix, time.Now())
	if err != nil || n != 0 || len(after) != 0 {
		t.Errorf("after Close: %d processes, %v, %v; want none", n, after, err)
	}
}

// ReadWebhookStates sums the processes' states of a webhook (the worst
// breaker, its oldest since, the counts added) and leaves out a process
// whose registry entry has expired, even if its hash is still there.
func TestReadWebhookStatesSumsLiveProcesses(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	ctx := context.Background()
	prefix := kafkatest.Prefix(t)
	now := time.Now()
	put := func(inst string, expires time.Time, sts ...deliver.WebhookState) {
		t.Helper()
		key := deliver.StatusKey(prefix, inst)
		for _, st := range sts {
			v, _ := json.Marshal(st)
			if err := rdb.HSet(ctx, key, st.WorkspaceID+"/"+st.WebhookID, v).Err(); err != nil {
				t.Fatal(err)
			}
		}
		rdb.PExpire(ctx, key, time.Minute)
		rdb.ZAdd(ctx, deliver.StatusRegistryKey(prefix), redisZ(expires, inst))
		rdb.PExpire(ctx, deliver.StatusRegistryKey(prefix), time.Minute)
		t.Cleanup(func() { rdb.Del(context.Background(), key, deliver.StatusRegistryKey(prefix)) })
	}
	t1, t2 := now.Add(-time.Minute).Truncate(time.Millisecond), now.Add(-30*time.Second).Truncate(time.Millisecond)
	put("p1", now.Add(5*time.Second),
		deliver.WebhookState{WorkspaceID: "ws", WebhookID: "a", Breaker: deliver.BreakerOpen, BreakerSince: t2, BreakerReason: "later", Queued: 1, Retrying: 4, InFlight: 0},
		deliver.WebhookState{WorkspaceID: "ws", WebhookID: "b", Breaker: deliver.BreakerClosed, Queued: 7, InFlight: 2})
	put("p2", now.Add(5*time.Second),
		deliver.WebhookState{WorkspaceID: "ws", WebhookID: "a", Breaker: deliver.BreakerOpen, BreakerSince: t1, BreakerReason: "earlier", Queued: 2, Retrying: 1, InFlight: 1},
		deliver.WebhookState{WorkspaceID: "ws", WebhookID: "b", Breaker: deliver.BreakerHalfOpen, BreakerSince: t2, Queued: 1})
	put("gone", now.Add(-time.Second),
		deliver.WebhookState{WorkspaceID: "ws", WebhookID: "a", Breaker: deliver.BreakerClosed, Queued: 100})

	got, n, err := deliver.ReadWebhookStates(ctx, rdb, prefix, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("processes read = %d, want 2 (the expired one left out)", n)
	}
	a := got["ws/a"]
	if a.Breaker != deliver.BreakerOpen || !a.BreakerSince.Equal(t1) || a.BreakerReason != "earlier" ||
		a.Queued != 3 || a.Retrying != 5 || a.InFlight != 1 || a.Processes != 2 {
		t.Errorf("ws/a = %+v; want open since %v (earlier), queued 3, retrying 5, in flight 1, 2 processes", a, t1)
	}
	b := got["ws/b"]
	if b.Breaker != deliver.BreakerHalfOpen || b.Queued != 8 || b.InFlight != 2 {
		t.Errorf("ws/b = %+v; want half_open (worse than closed), queued 8, in flight 2", b)
	}
	if len(got) != 2 {
		t.Errorf("got %d webhooks, want 2", len(got))
	}
}

func redisZ(expires time.Time, inst string) redis.Z {
	return redis.Z{Score: float64(expires.UnixMilli()), Member: inst}
}

// A missing registry reads as no process, without an error.
func TestReadWebhookStatesEmpty(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	got, n, err := deliver.ReadWebhookStates(context.Background(), rdb, kafkatest.Prefix(t)+strconv.Itoa(1), time.Now())
	if err != nil || n != 0 || len(got) != 0 {
		t.Errorf("ReadWebhookStates = %v, %d, %v; want nothing", got, n, err)
	}
}
