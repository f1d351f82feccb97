package evaluate_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/evaluate"
	"github.com/leadflow/leadflow/stages/topics"
)

// BenchmarkProcess runs batches of 100 lead changes of 500 leads (4
// sessions each) through a workspace with 6 automations: new_lead and
// new_session webhooks on a company-only segment (the miss cache), on a
// session segment, and on no segment. Steady state: most claims are
// already in the fired cache and most company misses in the miss cache,
// as in production; the Redis is miniredis. ns/op is per batch.
func BenchmarkProcess(b *testing.B) {
	rdb, prefix := kafkatest.Redis(b)
	ctl := newFakeControl()
	ctl.add(func() {
		ctl.webhooks["wh_a"] = control.Webhook{ID: "wh_a", WorkspaceID: ws, URL: "http://x", Enabled: true}
		ctl.segments["seg_co"] = control.Segment{ID: "seg_co", WorkspaceID: ws, Filter: json.RawMessage(
			`{"all":[{"field":"company.industry","op":"in","value":["Machinery","Industrial Automation"]},{"field":"company.geo.country_code","op":"in","value":["FI","SE"]}]}`)}
		ctl.segments["seg_pv"] = control.Segment{ID: "seg_pv", WorkspaceID: ws, Filter: json.RawMessage(
			`{"all":[{"field":"lead.pageviews_count","op":"gte","value":2},{"field":"session.pageviews.path","op":"contains","value":"pricing"}]}`)}
		for _, t := range []control.Trigger{control.TriggerNewLead, control.TriggerNewSession} {
			ctl.autos = append(ctl.autos,
				webhookAuto("aut_co_"+string(t), t, "seg_co", "wh_a"),
				webhookAuto("aut_pv_"+string(t), t, "seg_pv", "wh_a"),
				webhookAuto("aut_all_"+string(t), t, "", "wh_a"))
		}
	})
	st, err := evaluate.New(evaluate.DefaultConfig(), evaluate.Deps{
		Topics: topics.Names{LeadChanges: "changes", Deliveries: "deliveries"}, Redis: rdb, KeyPrefix: prefix,
		Control: ctl, Contacts: evaluate.LocalContacts{}, Companies: companies{}, Sessions: &fakeSessions{},
		Logger: zap.NewNop(), Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		b.Fatal(err)
	}
	const leadsN, sessions, batch = 500, 4, 100
	retail := "Retail"
	records := func(pass string) []*kgo.Record {
		var recs []*kgo.Record
		for i := range leadsN * sessions {
			lead, sess := i%leadsN, i/leadsN
			ch := change(schemas.ChangeSessionUpdated, fmt.Sprintf("%s%d", pass, i), fmt.Sprintf("s%d_%d", lead, sess), int64(1+sess))
			ch.LeadKey = schemas.LeadKey(ws, fmt.Sprintf("lead%d.example", lead))
			if lead%2 == 0 {
				ch.Lead.Company.Industry = &retail // misses seg_co
			}
			v, err := json.Marshal(&ch)
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, &kgo.Record{Topic: "changes", Key: []byte(ch.LeadKey), Value: v})
		}
		return recs
	}
	ctx := context.Background()
	run := func(recs []*kgo.Record, i int) {
		start := (i * batch) % len(recs)
		bt := &pipeline.Batch{Topic: "changes", Records: recs[start : start+batch]}
		if err := st.Process(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	// Pass a makes every claim; the benchmark runs pass b, the same leads
	// and sessions with other event ids, so its claims are taken (the
	// fired cache answers them after the first round).
	a, later := records("a"), records("b")
	for i := range len(a) / batch {
		run(a, i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		run(later, i)
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/change")
}
