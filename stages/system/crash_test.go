package system_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
	"github.com/leadflow/leadflow/schemas/sampledata"
	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/system"
	"github.com/leadflow/leadflow/stages/topics"
)

// TestPipelineKilledRepeatedlyDeliversEverything runs every stage in a
// child process, kills it with SIGKILL three times while traffic flows,
// restarts it, and checks that every expected webhook subject arrived at
// least once: no crash of a leadflow process loses a webhook.
func TestPipelineKilledRepeatedlyDeliversEverything(t *testing.T) {
	if os.Getenv("LEADFLOW_PIPELINE_CHILD") != "" {
		pipelineChild(t)
		return
	}
	t.Setenv(pipeline.PoisonRecycledEnv, "1") // the children's recycled buffers come back overwritten
	brokers, redisAddr := kafkatest.Brokers(t), ""
	if kafkatest.Real() {
		_, redisAddr = kafkatest.Redis(t)
	} else {
		infra, err := system.StartDevInfra("127.0.0.1:0", "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(infra.Close)
		brokers, redisAddr = []string{infra.KafkaAddr}, infra.RedisAddr
	}
	prefix := kafkatest.Prefix(t)
	cacheDir := t.TempDir()
	dataDir, err := sampledata.EnsureDefault(context.Background(), cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	// Topics, and the automations written straight to the control topic.
	cfg := childConfig(brokers, redisAddr, prefix)
	names := topics.New(prefix)
	ensureTopics(t, cfg, names)
	store, err := control.New(cfg.Kafka, names.Control, control.WithLogger(zap.NewNop()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := store.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wh := control.Webhook{ID: control.NewID(control.KindWebhook), WorkspaceID: e2eWorkspace, URL: srv.URL, Name: "crash",
		Secret: control.NewSecret(e2eSecret), MaxSubjects: 50, Enabled: true}
	for _, e := range []control.Entity{wh,
		control.Automation{ID: control.NewID(control.KindAutomation), WorkspaceID: e2eWorkspace, Name: "leads", Trigger: control.TriggerNewLead, Enabled: true,
			Action: control.Action{Type: control.ActionWebhook, WebhookID: wh.ID}},
		control.Automation{ID: control.NewID(control.KindAutomation), WorkspaceID: e2eWorkspace, Name: "sessions", Trigger: control.TriggerNewSession, Enabled: true,
			Action: control.Action{Type: control.ActionWebhook, WebhookID: wh.ID}},
	} {
		if err := store.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	// Traffic: 40 companies, 2 sessions each of 3 pageviews.
	nets, err := dataset.LoadNetworks(filepath.Join(dataDir, dataset.NetworksFile))
	if err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	wantLeads, wantSessions := map[string]bool{}, 0
	base := time.Now().UTC().Add(-time.Hour)
	for _, n := range nets {
		if len(wantLeads) == 40 {
			break
		}
		if n.NetworkType != schemas.NetworkBusiness || wantLeads[n.CompanyDomain] || !n.Network.Addr().Is4() {
			continue
		}
		wantLeads[n.CompanyDomain] = true
		for s := 0; s < 2; s++ {
			wantSessions++
			sid := fmt.Sprintf("s_%s_%d", n.CompanyDomain, s)
			for p := 0; p < 3; p++ {
				ts := base.Add(time.Duration(len(recs)) * time.Second).Format(time.RFC3339Nano)
				ev := fmt.Sprintf(`{"event_id":"%s_%d","workspace_id":%q,"session_id":%q,"type":"pageview","ip":%q,"user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36","url":"https://www.example.com/p%d","timestamp":%q}`,
					sid, p, e2eWorkspace, sid, n.HostAddr(1), p, ts)
				recs = append(recs, &kgo.Record{Topic: names.Raw, Key: []byte(sid), Value: []byte(ev)})
			}
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPipelineKilledRepeatedlyDeliversEverything$")
		cmd.Env = append(os.Environ(), "LEADFLOW_PIPELINE_CHILD=1", "CHILD_BROKERS="+strings.Join(brokers, ","),
			"CHILD_REDIS="+redisAddr, "CHILD_PREFIX="+prefix, "CHILD_CACHE="+cacheDir)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	// Produce in thirds; kill the pipeline after each third, mid-work.
	third := len(recs) / 3
	for round := 0; round < 3; round++ {
		cmd := start()
		chunk := recs[round*third:]
		if round < 2 {
			chunk = chunk[:third]
		}
		if err := cl.ProduceSync(ctx, chunk...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		before := len(rc.requests())
		kafkatest.Eventually(t, 60*time.Second, "some webhooks arrive before the kill", func() bool { return len(rc.requests()) > before })
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	final := start()
	defer func() { _ = final.Process.Signal(syscall.SIGINT); _ = final.Wait() }()
	deadline := time.Now().Add(120 * time.Second)
	for {
		leads, sessions := distinctSubjects(t, rc)
		if len(leads) >= len(wantLeads) && sessions >= wantSessions {
			break
		}
		if time.Now().After(deadline) {
			var missing []string
			for d := range wantLeads {
				if !leads[d] {
					missing = append(missing, d)
				}
			}
			for _, d := range missing {
				t.Logf("%s: raw %d, hits %d, lead changes %d, deliveries %d", d,
					countContaining(t, brokers, names.Raw, d), countContaining(t, brokers, names.Hits, d),
					countContaining(t, brokers, names.LeadChanges, d), countContaining(t, brokers, names.Deliveries, d))
			}
			t.Fatalf("after 120s: new_lead for %d of %d leads (missing %v), new_session for %d of %d sessions",
				len(leads), len(wantLeads), missing, sessions, wantSessions)
		}
		time.Sleep(100 * time.Millisecond)
	}
	leads, _ := distinctSubjects(t, rc)
	for d := range wantLeads {
		if !leads[d] {
			t.Errorf("no new_lead for %s", d)
		}
	}
	dups, sameID := duplicates(t, rc)
	t.Logf("%d requests for %d leads and %d sessions after 3 SIGKILLs; %d duplicate subjects, %d of them (%.0f%%) under a webhook-id already received with that subject",
		len(rc.requests()), len(wantLeads), wantSessions, dups, sameID, 100*float64(sameID)/float64(max(dups, 1)))
}

// duplicates counts the subjects received more than once (each arrival
// after the first), and those of them that came under a webhook-id that
// already brought the same subject: the duplicates a receiver that
// de-duplicates by webhook-id (Standard Webhooks) recognises (issue 12).
func duplicates(t *testing.T, rc *receiver) (dups, sameID int) {
	ids := map[string]map[string]bool{} // subject -> webhook-ids it came under
	for _, r := range rc.requests() {
		id := r.headers.Get("webhook-id")
		for _, s := range r.payload.Subjects {
			var l schemas.Lead
			if err := json.Unmarshal(s, &l); err != nil {
				t.Fatal(err)
			}
			key := r.payload.Event + "|" + l.Company.Domain
			if r.payload.Event == schemas.EventNewSession && len(l.RecentSessions) > 0 {
				key += "|" + l.RecentSessions[0].StartedAt.String()
			}
			seen := ids[key]
			if seen == nil {
				ids[key] = map[string]bool{id: true}
				continue
			}
			dups++
			if seen[id] {
				sameID++
			}
			seen[id] = true
		}
	}
	return dups, sameID
}

// distinctSubjects returns the companies with a new_lead and the number of
// distinct sessions with a new_session (by lead and session start).
func distinctSubjects(t *testing.T, rc *receiver) (map[string]bool, int) {
	leads := map[string]bool{}
	sessions := map[string]bool{}
	for event, subs := range rc.subjects() {
		for _, s := range subs {
			var l schemas.Lead
			if err := json.Unmarshal(s, &l); err != nil {
				t.Fatal(err)
			}
			switch event {
			case schemas.EventNewLead:
				leads[l.Company.Domain] = true
			case schemas.EventNewSession:
				if len(l.RecentSessions) > 0 {
					sessions[l.Company.Domain+"|"+l.RecentSessions[0].StartedAt.String()] = true
				}
			}
		}
	}
	return leads, len(sessions)
}

func childConfig(brokers []string, redisAddr, prefix string) configs.Config {
	cfg := configs.DevDefault()
	cfg.Kafka.Brokers = brokers
	cfg.Redis.Addr = redisAddr
	cfg.Topics.Prefix = prefix
	cfg.Redis.KeyPrefix = prefix
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Stages.Deliver.Linger = 100 * time.Millisecond
	// CRASH_STABLE_BATCHES=false measures the duplicates of batches cut by
	// count and linger alone (before issue 12).
	if os.Getenv("CRASH_STABLE_BATCHES") == "false" {
		cfg.Stages.Deliver.StableBatches = false
	}
	for _, rt := range []*pipeline.RuntimeConfig{&cfg.Stages.Enrich.Runtime, &cfg.Stages.Leads.Runtime, &cfg.Stages.Evaluate.Runtime, &cfg.Stages.Deliver.Runtime} {
		rt.CommitInterval = 100 * time.Millisecond
		rt.SessionTimeout = 6 * time.Second   // a killed member leaves the group quickly
		rt.RebalanceTimeout = 5 * time.Second // and does not hold up rebalances for long
		rt.RevokeTimeout = 2 * time.Second    // (the rebalance timeout must exceed it)
		rt.MaxBatchRecords = 20               // many batches, so kills land mid-run
	}
	return cfg
}

func ensureTopics(t *testing.T, cfg configs.Config, names topics.Names) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	tc := cfg.Topics
	tc.ReplicationFactor = 1
	if err := pipeline.EnsureTopics(context.Background(), kadm.NewClient(cl), tc, names.Specs(cfg.Stages.Deliver.TierNames())); err != nil {
		t.Fatal(err)
	}
}

// pipelineChild is the child process: every stage, until killed.
func pipelineChild(t *testing.T) {
	cfg := childConfig(strings.Split(os.Getenv("CHILD_BROKERS"), ","), os.Getenv("CHILD_REDIS"), os.Getenv("CHILD_PREFIX"))
	log := zap.NewNop()
	if os.Getenv("CHILD_LOG") != "" {
		log, _ = zap.NewDevelopment(zap.IncreaseLevel(zap.InfoLevel))
	}
	sys, err := system.New(context.Background(), system.Options{Config: cfg, Dev: true, CacheDir: os.Getenv("CHILD_CACHE"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := sys.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// countContaining counts the records of topic whose key or value contains s.
func countContaining(t *testing.T, brokers []string, topic, s string) int {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n := 0
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if strings.Contains(string(r.Key), s) || strings.Contains(string(r.Value), s) {
				n++
			}
		})
	}
	return n
}
