package bench

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/bench/report"
	"github.com/leadflow/leadflow/bench/traffic"
	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/topics"
)

// startFakePipeline creates the topics under a fresh prefix on the test
// brokers, starts a fake pipeline consuming the raw topic, and returns the
// options of a short external run of scenario against it (400 events/s
// for 2 s, 2 workspaces) for the test to complete.
func startFakePipeline(t *testing.T, scenario string) (*fakePipeline, Options) {
	t.Helper()
	brokers := kafkatest.Brokers(t)
	prefix := kafkatest.Prefix(t)
	names := topics.New(prefix)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	tc := pipeline.DefaultTopicsConfig()
	tc.Partitions, tc.ReplicationFactor = 3, 1
	if err := pipeline.EnsureTopics(context.Background(), kadm.NewClient(cl), tc, names.Specs(nil)); err != nil {
		t.Fatal(err)
	}
	fake := newFakePipeline(t, testData(t), brokers, names.Raw)
	return fake, Options{
		Scenario: scenario, External: true, Brokers: brokers, HTTPAddr: strings.TrimPrefix(fake.srv.URL, "http://"),
		AdminToken: fake.token, TopicPrefix: prefix, DataDir: testDataDir(t),
		Rate: 400, Duration: 2 * time.Second, Warmup: time.Second, DrainTimeout: 10 * time.Second, SettleTime: 100 * time.Millisecond,
		Traffic: traffic.Config{Seed: 3, Workspaces: 2},
	}
}

// TestRunAgainstFakePipeline runs the whole harness in external mode
// against a fake pipeline: setup through the admin API, produce, receive
// signed webhooks over HTTP, check correctness, measure latency, write the
// report.
func TestRunAgainstFakePipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the harness for several seconds")
	}
	_, o := startFakePipeline(t, "fake")
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	o.Traffic.MalformedShare = 0.01
	o.AutomationsPerWorkspace, o.SlowShare, o.SlowDelay, o.FailingShare = 4, 0.25, 20*time.Millisecond, 0.25
	o.Out = out
	o.LeadflowPID = os.Getpid()                    // the fake pipeline runs in this process
	o.RedisAddr = os.Getenv("LEADFLOW_REDIS_ADDR") // "" on kfake/miniredis: not measured
	res, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	checkCost(t, res, o.RedisAddr != "")
	c := res.Correctness
	if !c.Checked || !c.Pass || c.Total.Expected == 0 || c.Total.Unexpected != 0 {
		t.Fatalf("correctness %+v", c)
	}
	for _, class := range []string{"healthy", "slow"} {
		if k := c.ByEndpoint[class]; k.Expected == 0 || k.Missing != 0 || k.Delivered != k.Expected {
			t.Fatalf("%s endpoints: %+v", class, k)
		}
	}
	if k := c.ByEndpoint["failing"]; k.Expected == 0 || k.Delivered != 0 {
		t.Fatalf("failing endpoints (always 500, the fake does not retry): %+v", k)
	}
	if res.Deliveries.Failed == 0 || res.Deliveries.Rejected != 0 {
		t.Fatalf("deliveries %+v", res.Deliveries)
	}
	if res.Latency.Count == 0 || res.Latency.P99Ms <= 0 || res.Latency.P99Ms > 5000 {
		t.Fatalf("latency %+v", res.Latency)
	}
	if len(res.Stages) != 1 || res.Stages[0].Name != "enrich" || res.Stages[0].In == 0 {
		t.Fatalf("stages %+v", res.Stages)
	}
	if res.Produced.Events < 800 || res.Produced.ByKind["company"] == 0 || res.Produced.ByKind["malformed"] == 0 {
		t.Fatalf("produced %+v", res.Produced)
	}
	if len(res.Timeline) < 3 {
		t.Fatalf("timeline has %d samples", len(res.Timeline))
	}
	back, err := report.ReadResult(filepath.Join(out, report.ResultFile))
	if err != nil || back.Correctness.Total != c.Total {
		t.Fatalf("result.json: %v %+v", err, back)
	}
	for _, f := range []string{report.HTMLFile, report.SummaryFile} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	t.Logf("verdict %+v; p99 %.0fms; %d expected", res.Verdict, res.Latency.P99Ms, c.Total.Expected)
}

// TestRunRevealAgainstFakePipeline runs the harness with the default 5
// automations (the fifth reveals contacts) against the fake pipeline,
// which reveals like the evaluate stage: the persona and automation are
// set up through the admin API, and every expected contact_revealed
// subject arrives once and is checked.
func TestRunRevealAgainstFakePipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the harness for several seconds")
	}
	fake, o := startFakePipeline(t, "fake-reveal")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	o.AutomationsPerWorkspace = 5
	res, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Correctness
	rv := c.ByEvent[schemas.EventContactRevealed]
	if !c.Checked || !c.Pass || rv.Expected == 0 || rv.Delivered != rv.Expected || rv.Unexpected != 0 || c.Contacts != rv.Delivered {
		t.Fatalf("correctness %+v, contact_revealed %+v", c, rv)
	}
	if len(res.Settings.Automations) != 5 || !strings.Contains(res.Settings.Automations[4], "reveal_contacts") {
		t.Fatalf("automations %q", res.Settings.Automations)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.personas) != 2 {
		t.Fatalf("%d personas, want one per workspace", len(fake.personas))
	}
	for _, pe := range fake.personas {
		if !reflect.DeepEqual(pe.Seniorities, []string{"vp", "director", "c_level"}) || !reflect.DeepEqual(pe.Departments, []string{"sales", "executive"}) ||
			len(pe.JobTitles) != 0 || len(pe.Countries) != 0 {
			t.Fatalf("persona %+v", pe)
		}
	}
	t.Logf("verdict %+v; contact_revealed %+v; total %+v", res.Verdict, rv, c.Total)
}

// TestRunEmbeddedSmoke runs the harness with the pipeline in process on
// the embedded Kafka and Redis at a tiny rate. It asserts only what holds
// whichever stages exist yet: events were produced and the report written.
func TestRunEmbeddedSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole pipeline")
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := Run(ctx, Options{Scenario: "smoke", DataDir: testDataDir(t), Rate: 200, Duration: 2 * time.Second, Warmup: time.Second,
		DrainTimeout: 10 * time.Second, SettleTime: 200 * time.Millisecond, Traffic: traffic.Config{Workspaces: 2}, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != "embedded" || res.Produced.Events < 400 || res.Produced.Errors != 0 {
		t.Fatalf("mode %s produced %+v", res.Mode, res.Produced)
	}
	checkCost(t, res, false)
	if !res.Cost.CPUIncludesLoad || !strings.Contains(res.Cost.RedisNote, "miniredis") {
		t.Fatalf("embedded cost %+v", res.Cost)
	}
	if _, err := report.ReadResult(filepath.Join(out, report.ResultFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, report.HTMLFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "pipeline.log")); err != nil {
		t.Fatal(err)
	}
	t.Logf("warnings: %q; correctness: %+v", res.Warnings, res.Correctness.Total)
}

// checkCost checks the cost figures of a short run: CPU per event from
// /proc, the high-water RSS, and Redis bytes per lead when redis is set
// (else a note why they are missing).
func checkCost(t *testing.T, res *report.Result, redis bool) {
	t.Helper()
	c := res.Cost
	if c.CPUSource != "proc" || c.Events == 0 || c.CPUMicrosPerEvent <= 0 || res.Process.HighWaterRSSMB <= 0 {
		t.Fatalf("cost %+v, high-water RSS %v MiB", c, res.Process.HighWaterRSSMB)
	}
	if redis {
		if c.RedisUsedBefore <= 0 || c.RedisUsedAfter <= 0 || c.Leads == 0 || c.Sessions < c.Leads {
			t.Fatalf("redis cost %+v", c)
		}
		return
	}
	if c.RedisNote == "" || c.RedisUsedAfter != 0 || c.Leads != 0 {
		t.Fatalf("redis cost without a Redis: %+v", c)
	}
}
