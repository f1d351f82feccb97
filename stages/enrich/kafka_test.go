package enrich_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
	"github.com/leadflow/leadflow/schemas/sampledata"
	"github.com/leadflow/leadflow/stages/enrich"
	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

// TestThroughKafka runs the stage under the pipeline runtime against Kafka
// (kfake, or the broker in LEADFLOW_KAFKA_BROKERS) on a generated sample
// set of 300 companies, with a mix of good, bot, ISP, hosting, education,
// unknown-IP and malformed events: the hits topic gets exactly the good
// ones keyed workspace|domain, the companies topic each company of a good
// event once, and the dead-letter topic the malformed ones with headers.
func TestThroughKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	env := topicstest.New(t, 3)
	dir := t.TempDir()
	if err := sampledata.Generate(context.Background(), sampledata.Options{Seed: 11, Companies: 300, OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	companies, err := dataset.LoadCompanies(filepath.Join(dir, dataset.CompaniesFile))
	if err != nil {
		t.Fatal(err)
	}
	nets, err := dataset.LoadNetworks(filepath.Join(dir, dataset.NetworksFile))
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string][]dataset.NetworkRecord{}
	for _, n := range nets {
		byType[n.NetworkType] = append(byType[n.NetworkType], n)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	uas := []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
	}
	bots := []string{
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"python-requests/2.31.0",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
	}
	var (
		recs       []*kgo.Record
		wantHits   = map[string]string{} // event_id -> key
		wantDomain = map[string]bool{}
		wantDead   = map[string]string{} // record key -> reason
		wantDrops  = map[string]int{}
	)
	add := func(n int, ip, ua, drop string) {
		ev := schemas.GuideNetcontrolEvent()
		ev.EventID = "ev-" + strconv.Itoa(n)
		ev.SessionID = "s-" + strconv.Itoa(n%97)
		ev.WorkspaceID = "ws_" + strconv.Itoa(n%3)
		ev.IP, ev.UserAgent = ip, ua
		ev.URL = "https://www.example.com/p/" + strconv.Itoa(n) + "?utm_source=t"
		recs = append(recs, &kgo.Record{Topic: env.Topics.Raw, Key: []byte(ev.SessionID), Value: ev.AppendJSON(nil)})
		if drop != "" {
			wantDrops[drop]++
		}
	}
	n := 0
	good := func(nr dataset.NetworkRecord) {
		n++
		add(n, nr.HostAddr(uint64(n)).String(), uas[n%len(uas)], "")
		wantHits["ev-"+strconv.Itoa(n)] = "ws_" + strconv.Itoa(n%3) + "|" + nr.CompanyDomain
		wantDomain[nr.CompanyDomain] = true
	}
	business := byType[schemas.NetworkBusiness]
	for range 200 {
		good(business[rng.IntN(len(business))])
	}
	for _, typ := range []string{schemas.NetworkISP, schemas.NetworkHosting, schemas.NetworkEducation} {
		for range 25 {
			n++
			nr := byType[typ][rng.IntN(len(byType[typ]))]
			add(n, nr.HostAddr(uint64(n)).String(), uas[n%len(uas)], typ)
		}
	}
	for range 30 {
		n++
		add(n, business[rng.IntN(len(business))].HostAddr(uint64(n)).String(), bots[n%len(bots)], enrich.DropBot)
	}
	for range 20 {
		n++
		add(n, "10.0."+strconv.Itoa(n%250)+".1", uas[0], enrich.DropUnknownIP)
	}
	for i := range 24 {
		key := "bad-" + strconv.Itoa(i)
		var v []byte
		var reason string
		switch i % 3 {
		case 0:
			v, reason = []byte(`{"event_id": "x", `), enrich.ReasonBadJSON
		case 1:
			v, reason = []byte(`{"event_id":"x","workspace_id":"w","session_id":"s","type":"pageview","url":"https://a.example/","timestamp":"2024-05-15T10:55:50Z"}`), enrich.ReasonInvalidField
		case 2:
			v, reason = bytes.Repeat([]byte("x"), 70_000), enrich.ReasonTooLarge
		}
		recs = append(recs, &kgo.Record{Topic: env.Topics.Raw, Key: []byte(key), Value: v})
		wantDead[key] = reason
	}
	rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	env.Produce(t, recs...)

	cfg := enrich.DefaultConfig()
	cfg.Runtime.CommitInterval = 50 * time.Millisecond
	cfg.Runtime.FetchMaxWait = 50 * time.Millisecond
	cfg.Runtime.SessionTimeout = 10 * time.Second
	cfg.Runtime.MaxBatchRecords = 64
	reg := prometheus.NewRegistry()
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	st, err := enrich.New(cfg, enrich.Deps{Topics: env.Topics, Logger: log, Registerer: reg,
		IPDatabase: filepath.Join(dir, dataset.IPDBFile), Companies: enrich.CompanyMap(companies),
		Now: func() time.Time { return schemas.GuideHitTime().Add(time.Minute) }}) // the events' 2024 times are recent
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	m, err := pipeline.NewMetrics(pipeline.MetricsDeps{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	r, err := pipeline.NewRunner(st, cfg.Runtime, pipeline.Deps{Logger: log, Metrics: m,
		Group: env.Topics.Group(st.Name()), DeadLetterTopic: env.Topics.DLQ, Kafka: env.Kafka})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, 5*time.Second) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runner: %v", err)
		}
	}()

	// Everything consumed is committed only once its outputs are in Kafka:
	// wait for the group to commit the whole input, then count outputs.
	waitCommitted(t, env, env.Topics.Group(enrich.Name), env.Topics.Raw, 60*time.Second)

	hits := env.Consume(t, env.Topics.Hits, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= len(wantHits) })
	if got := endOffsets(t, env, env.Topics.Hits); got != int64(len(wantHits)) {
		t.Errorf("hits topic holds %d records, want exactly %d", got, len(wantHits))
	}
	seen := map[string]bool{}
	for _, rec := range hits {
		var h schemas.Hit
		if err := h.UnmarshalJSON(rec.Value); err != nil {
			t.Fatalf("hit %s: %v", rec.Value, err)
		}
		want, ok := wantHits[h.EventID]
		switch {
		case !ok:
			t.Errorf("unexpected hit %s (a dropped event?)", h.EventID)
		case string(rec.Key) != want:
			t.Errorf("hit %s keyed %q, want %q", h.EventID, rec.Key, want)
		case seen[h.EventID]:
			t.Errorf("hit %s twice", h.EventID)
		case h.Browser == "" || h.DeviceType == "" || h.Location == nil || h.NetworkType != schemas.NetworkBusiness:
			t.Errorf("hit %s not enriched: %s", h.EventID, rec.Value)
		}
		seen[h.EventID] = true
	}

	cos := env.Consume(t, env.Topics.Companies, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= len(wantDomain) })
	if got := endOffsets(t, env, env.Topics.Companies); got != int64(len(wantDomain)) {
		t.Errorf("companies topic holds %d records, want exactly %d (each company of a good event once)", got, len(wantDomain))
	}
	for _, rec := range cos {
		c, ok := companies[string(rec.Key)]
		if !ok || !wantDomain[string(rec.Key)] {
			t.Errorf("unexpected company record %s", rec.Key)
			continue
		}
		if !bytes.Equal(rec.Value, c.AppendJSON(nil)) {
			t.Errorf("company %s = %s, want the companies file's record", rec.Key, rec.Value)
		}
	}

	dead := env.Consume(t, env.Topics.DLQ, 30*time.Second, func(rs []*kgo.Record) bool { return len(rs) >= len(wantDead) })
	if got := endOffsets(t, env, env.Topics.DLQ); got != int64(len(wantDead)) {
		t.Errorf("dlq holds %d records, want exactly %d", got, len(wantDead))
	}
	for _, rec := range dead {
		h := map[string]string{}
		for _, hd := range rec.Headers {
			h[hd.Key] = string(hd.Value)
		}
		want, ok := wantDead[string(rec.Key)]
		if !ok {
			t.Errorf("unexpected dead letter %q", rec.Key)
			continue
		}
		if h[pipeline.HeaderReason] != want || h[pipeline.HeaderStage] != enrich.Name ||
			h[pipeline.HeaderSourceTopic] != env.Topics.Raw || h[pipeline.HeaderSourceOffset] == "" ||
			h[pipeline.HeaderSourcePartition] == "" || h[pipeline.HeaderError] == "" {
			t.Errorf("dead letter %s headers = %v, want reason %s, stage enrich, source %s", rec.Key, h, want, env.Topics.Raw)
		}
		if want == enrich.ReasonInvalidField && !strings.Contains(h[pipeline.HeaderError], `field "ip"`) {
			t.Errorf("dead letter %s error %q does not name the field ip", rec.Key, h[pipeline.HeaderError])
		}
	}

	for reason, want := range wantDrops {
		if got := metric(t, reg, "leadflow_enrich_dropped_total", reason); got != float64(want) {
			t.Errorf(`leadflow_enrich_dropped_total{reason=%q} = %v, want %d`, reason, got, want)
		}
	}
}

func waitCommitted(t *testing.T, env *topicstest.Env, group, topic string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ends, err := env.Admin.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	kafkatest.Eventually(t, timeout, "the enrich group to commit every input record", func() bool {
		committed, err := env.Admin.FetchOffsets(ctx, group)
		if err != nil {
			return false
		}
		ok := true
		ends.Each(func(o kadm.ListedOffset) {
			c, found := committed.Lookup(topic, o.Partition)
			if !found || c.At < o.Offset {
				ok = false
			}
		})
		return ok
	})
}

// endOffsets sums a topic's end offsets: every record ever produced to it.
func endOffsets(t *testing.T, env *topicstest.Env, topic string) int64 {
	t.Helper()
	ends, err := env.Admin.ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

func metric(t *testing.T, reg *prometheus.Registry, name, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.Counter.GetValue()
				}
			}
		}
	}
	panic(fmt.Sprintf("no %s{reason=%q}", name, reason))
}
