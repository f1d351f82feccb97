package system_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/system"
)

// Regression (issue 12): after traffic, Redis kept new_lead claims and
// reveal records without a TTL (new_lead_claim_ttl and reveal_ttl were 0,
// forever), so it grew by about 200 bytes per (automation, lead) for good.
// After traffic that fires every kind of automation (new_lead and
// new_session, each with a webhook and with reveal_contacts) and a test
// request, SCAN finds no leadflow key without a TTL but the lead id
// counter. Runs on miniredis, and on the real Redis when
// LEADFLOW_REDIS_ADDR is set.
func TestEveryRedisKeyExpires(t *testing.T) {
	sys, cfg := startSystem(t)
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	wh := admin(t, sys, "/webhooks", map[string]any{"url": srv.URL + "/hook", "name": "ttl", "secret": e2eSecret})
	per := admin(t, sys, "/personas", map[string]any{"name": "sales VPs", "seniorities": []string{"vp"}, "departments": []string{"sales"}})
	for _, trigger := range []string{"new_lead", "new_session"} {
		admin(t, sys, "/automations", map[string]any{"name": trigger + " webhook", "trigger": trigger,
			"action": map[string]any{"type": "webhook", "webhook_id": wh}})
		admin(t, sys, "/automations", map[string]any{"name": trigger + " reveal", "trigger": trigger,
			"action": map[string]any{"type": "reveal_contacts", "persona_id": per, "webhook_ids": []string{wh}}})
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+sys.HTTPAddr().String()+"/v1/workspaces/"+e2eWorkspace+"/webhooks/"+wh+"/test", nil)
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}

	now := time.Now().UTC()
	chrome := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	var raw []*kgo.Record
	for i, ip := range []string{"203.0.113.10", "198.51.100.23", "203.0.113.11"} {
		id := []string{"mdx1", "nc1", "mdx2"}[i]
		raw = append(raw, &kgo.Record{Topic: sys.Topics().Raw, Key: []byte("s_" + id),
			Value: rawEvent(id, ip, chrome, "https://www.example.com/pricing", now.Add(time.Duration(i)*time.Second).Format(time.RFC3339))})
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), raw...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// Two leads (MDX twice, in two sessions), three sessions, and MDX's
	// sales VP revealed.
	kafkatest.Eventually(t, 90*time.Second, "new_lead x2, new_session x3, contact_revealed", func() bool {
		s := rc.subjects()
		return len(s[schemas.EventNewLead]) >= 2 && len(s[schemas.EventNewSession]) >= 3 && len(s[schemas.EventContactRevealed]) >= 1
	})

	rdb := redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr})
	defer rdb.Close()
	u, err := system.MeasureRedis(context.Background(), rdb, cfg.Redis.KeyPrefix, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{system.KindLead, system.KindAttemptLog, system.KindLeadIDs} {
		if u.Kinds[kind] == nil || u.Kinds[kind].Keys == 0 {
			t.Errorf("no %s key found: the traffic did not reach every kind of key (found %v)", kind, u.Kinds)
		}
	}
	// Every claim is a field of its lead's hash: the new_session claims
	// were keys of their own until 2026-12 (170 bytes each).
	if old := u.Kinds[system.KindOldClaim]; old != nil {
		t.Errorf("%d claim keys of their own; want every claim in its lead's hash", old.Keys)
	}
	if len(u.Unbounded) > 0 {
		t.Errorf("keys without a TTL: %v", u.Unbounded)
	}
	if ids := u.Kinds[system.KindLeadIDs]; ids != nil && ids.Keys != 1 {
		t.Errorf("lead id counters: %d, want 1", ids.Keys)
	}
}

// MeasureRedis sorts keys by kind, counts those without a TTL, names every
// one but the lead id counter, and leaves keys of other prefixes alone.
func TestMeasureRedisNamesKeysWithoutTTL(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	ctx := context.Background()
	p := kafkatest.Prefix(t)
	for key, ttl := range map[string]time.Duration{
		p + "lead:{ws|a.com}":            time.Hour,
		p + "lead-ids":                   0,
		p + "{ws|a.com}:fired:aut:s1":    0,
		p + "deliveries:{ws/wh}":         time.Hour,
		"other-" + p + "lead:{ws|a.com}": 0,
	} {
		if err := rdb.Set(ctx, key, "x", ttl).Err(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Del(context.Background(), key) })
	}
	u, err := system.MeasureRedis(ctx, rdb, p, 1)
	if err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[string][2]int64{system.KindLead: {1, 0}, system.KindLeadIDs: {1, 1}, system.KindOldClaim: {1, 1}, system.KindAttemptLog: {1, 0}} {
		if k := u.Kinds[kind]; k == nil || k.Keys != want[0] || k.NoTTL != want[1] {
			t.Errorf("%s: %+v, want %d keys, %d without a TTL", kind, k, want[0], want[1])
		}
	}
	if len(u.Unbounded) != 1 || u.Unbounded[0] != p+"{ws|a.com}:fired:aut:s1" {
		t.Errorf("unbounded = %v, want only the claim (the lead id counter is expected to have no TTL)", u.Unbounded)
	}
	var out strings.Builder
	if _, err := u.WriteTo(&out); err != nil || !strings.Contains(out.String(), "WARNING: no TTL: "+p+"{ws|a.com}:fired:aut:s1") {
		t.Errorf("report %q (err %v) does not name the key without a TTL", out.String(), err)
	}
}
