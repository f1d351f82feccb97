package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// The view adds up (in = hits + dropped + bad + waiting), names every drop
// reason, and fits 80 columns even with large numbers; so do the legend,
// the summary and a payload.
func TestDemoViewAddsUpAndFits80Columns(t *testing.T) {
	reg := prometheus.NewRegistry()
	in := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_records_in_total"}, []string{"stage"})
	hits := prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_enrich_hits_total"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_enrich_dropped_total"}, []string{"reason"})
	dead := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_dead_letters_total"}, []string{"stage", "reason"})
	changes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_leads_changes_total"}, []string{"kind"})
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_deliver_requests_total"}, []string{"outcome"})
	reg.MustRegister(in, hits, dropped, dead, changes, reqs)
	in.WithLabelValues("enrich").Add(123456789)
	in.WithLabelValues("leads").Add(5) // another stage's input is not "in"
	hits.Add(100000000)
	for r, v := range map[string]float64{"bot": 1234567, "isp": 12345678, "hosting": 1234567, "education": 123456, "unknown_ip": 1234567, "other_network": 12} {
		dropped.WithLabelValues(r).Add(v)
	}
	dead.WithLabelValues("enrich", "bad_json").Add(3)
	dead.WithLabelValues("deliver", "x").Add(7) // not a bad raw event
	changes.WithLabelValues("new_lead").Add(2000000)
	changes.WithLabelValues("new_session").Add(300000)
	changes.WithLabelValues("session_updated").Add(97000000)
	reqs.WithLabelValues("retry").Add(4)
	reqs.WithLabelValues("success").Add(9)
	c := GatherDemoCounts(reg, 123456800, map[string]int64{"new_lead": 1999999, "new_session": 2300000, "contact_revealed": 123456})

	if got := c.Hits + sum(c.Dropped) + c.Bad + c.Waiting(); got != c.In || c.In != 123456789 || c.Bad != 3 || c.Failed != 4 {
		t.Fatalf("in %.0f, hits+dropped+bad+waiting %.0f, bad %.0f, failed %.0f", c.In, got, c.Bad, c.Failed)
	}
	var b bytes.Buffer
	WriteDemoLegend(&b)
	c.Write(&b, time.Now())
	c.WriteSummary(&b, time.Minute)
	WriteDemoPayload(&b, "new_lead", []byte(`{"description": "`+strings.Repeat("long ", 40)+`"}`), "newest: curl http://127.0.0.1:45678/latest/new_lead")
	out := b.String()
	for _, want := range []string{"in 123456789 = hits 100000000 + dropped 16172847 + bad 3 +\n    waiting 7283939",
		"dropped: bot 1234567, education 123456, hosting 1234567, isp 12345678,\n    other_network 12, unknown_ip 1234567", "webhooks: new_lead 1999999", "failed 4", "Summary after 1m0s", "raw events sent (acknowledged by Kafka): 123456800"} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(l); n > DemoWidth {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
}
