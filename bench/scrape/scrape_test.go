package scrape

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestParse(t *testing.T) {
	text := `# HELP leadflow_records_in_total Records fetched by a stage.
# TYPE leadflow_records_in_total counter
leadflow_records_in_total{stage="enrich"} 1234
leadflow_records_out_total{stage="enrich",topic="leadflow.hits"} 1.5e3
weird{a="x\"y,z}",b="\\"} 2 1700000000000
bare 7
`
	got, err := Parse(strings.NewReader(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].Value != 1234 || got[0].Labels["stage"] != "enrich" || got[1].Value != 1500 ||
		got[2].Labels["a"] != `x"y,z}` || got[2].Labels["b"] != `\` || got[2].Value != 2 || got[3].Name != "bare" {
		t.Fatalf("parsed %+v", got)
	}
	if _, err := Parse(strings.NewReader("x{a=1} 2\n"), nil); err == nil {
		t.Fatal("malformed labels accepted")
	}
}

// TestScrapeRealRegistry scrapes what client_golang serves, with the
// metric shapes of pipeline.Metrics, from two "processes".
func TestScrapeRealRegistry(t *testing.T) {
	newProc := func(in float64) *httptest.Server {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		recIn := prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRecordsIn}, []string{"stage"})
		recOut := prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRecordsOut}, []string{"stage", "topic"})
		lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricLag}, []string{"stage", "topic", "partition"})
		inflight := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricInflight}, []string{"stage"})
		reg.MustRegister(recIn, recOut, lag, inflight)
		inflight.WithLabelValues("deliver").Set(in)
		recIn.WithLabelValues("enrich").Add(in)
		recOut.WithLabelValues("enrich", "leadflow.hits").Add(in / 2)
		recOut.WithLabelValues("enrich", "leadflow.companies").Add(1)
		lag.WithLabelValues("enrich", "leadflow.sessions.raw", "0").Set(5)
		lag.WithLabelValues("enrich", "leadflow.sessions.raw", "1").Set(6)
		return httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	}
	a, b := newProc(100), newProc(300)
	defer a.Close()
	defer b.Close()
	s := &Scraper{URLs: []string{a.URL, b.URL}}
	snap, err := s.Scrape(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.RecordsIn["enrich"] != 400 || snap.RecordsOut["enrich"] != 202 || snap.RecordsOutByTopic["enrich leadflow.hits"] != 200 {
		t.Fatalf("records %+v %+v", snap.RecordsIn, snap.RecordsOutByTopic)
	}
	if snap.Lag["enrich"] != 22 || snap.TotalLag() != 22 || snap.TotalInflight() != 400 || snap.Backlog() != 422 {
		t.Fatalf("lag %+v", snap.Lag)
	}
	if snap.HeapInuse <= 0 || snap.AllocBytes <= 0 {
		t.Fatalf("heap in use %v, allocated %v", snap.HeapInuse, snap.AllocBytes)
	}
	if snap.CPUSeconds <= 0 || snap.RSS <= 0 {
		t.Logf("process metrics unavailable on this platform: cpu %v rss %v", snap.CPUSeconds, snap.RSS)
	}
	bad := httptest.NewServer(http.NotFoundHandler())
	defer bad.Close()
	if _, err := (&Scraper{URLs: []string{bad.URL}}).Scrape(context.Background()); err == nil {
		t.Fatal("404 scrape succeeded")
	}
}
