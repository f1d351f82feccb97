package enrich

import (
	"context"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
	"github.com/leadflow/leadflow/schemas/sampledata"
	"github.com/leadflow/leadflow/stages/topics"
)

// discard is a sink that keeps nothing.
type discard struct {
	pipeline.ScratchBuffers
	n int
}

func (d *discard) Emit(*kgo.Record)              { d.n++ }
func (d *discard) DeadLetter(*kgo.Record, error) { d.n++ }

// benchEvents returns n typical raw events as the DESIGN 1.2 example: a
// pageview or ping from a business network of a 300-company sample set,
// one of eight common browsers, a page URL with a UTM parameter. With
// guideURL, the URL is the guide's long one with ten query parameters.
func benchEvents(b *testing.B, n int, guideURL bool) (*Stage, []*kgo.Record) {
	b.Helper()
	dir := b.TempDir()
	if err := sampledata.Generate(context.Background(), sampledata.Options{Seed: 5, Companies: 300, OutDir: dir}); err != nil {
		b.Fatal(err)
	}
	cm, err := dataset.LoadCompanies(filepath.Join(dir, dataset.CompaniesFile))
	if err != nil {
		b.Fatal(err)
	}
	nets, err := dataset.LoadNetworks(filepath.Join(dir, dataset.NetworksFile))
	if err != nil {
		b.Fatal(err)
	}
	var business []dataset.NetworkRecord
	for _, nr := range nets {
		if nr.NetworkType == schemas.NetworkBusiness {
			business = append(business, nr)
		}
	}
	s, err := New(DefaultConfig(), Deps{Topics: topics.New("b."), Registerer: prometheus.NewRegistry(),
		IPDatabase: filepath.Join(dir, dataset.IPDBFile), Companies: CompanyMap(cm)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close(context.Background()) })
	uas := []string{
		safariMac, chromeWin, chromeAnd,
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
	}
	recs := make([]*kgo.Record, n)
	for i := range recs {
		nr := business[i%len(business)]
		ev := schemas.RawEvent{
			EventID: "0b7c6f0e-9a4e-4c1e-8f55-" + strconv.Itoa(100000000000+i), WorkspaceID: "ws_" + strconv.Itoa(i%20),
			SessionID: "s_" + strconv.Itoa(i/5), VisitorID: "v_" + strconv.Itoa(i/10), Type: schemas.TypePageview,
			IP: nr.HostAddr(uint64(i)).String(), UserAgent: uas[i%len(uas)],
			URL:      "https://www.example.com/pricing?utm_source=google",
			Referrer: "https://www.google.com/", TimeSpent: 14, Timestamp: "2024-05-15T10:55:50Z",
		}
		if i%3 == 0 {
			ev.Type = schemas.TypePing
			ev.URL = "https://www.example.com/blog/post-" + strconv.Itoa(i%50)
		}
		if guideURL {
			ev.URL = schemas.GuidePageURL
		}
		recs[i] = &kgo.Record{Topic: "b.sessions.raw", Key: []byte(ev.SessionID), Value: ev.AppendJSON(nil)}
	}
	// Warm the caches (user agents, IP records, companies sent).
	if err := s.process(recs, &discard{}); err != nil {
		b.Fatal(err)
	}
	return s, recs
}

// BenchmarkEnrich measures the stage's per-record work (decode, bot check,
// IP and user-agent lookups, URL parts, encoding the hit and its key)
// with warm caches. One op is one event; the per-batch work (a database
// snapshot, metrics) is amortised over batches of 500 as in production.
// allocs/event and B/event are exact averages (allocs/op is rounded down).
func BenchmarkEnrich(b *testing.B) {
	for _, bc := range []struct {
		name  string
		guide bool
	}{{"typical", false}, {"guide-url", true}} {
		b.Run(bc.name, func(b *testing.B) {
			const batch = 500
			s, recs := benchEvents(b, 8*batch, bc.guide)
			var sink discard
			b.ReportAllocs()
			b.SetBytes(int64(len(recs[0].Value)))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			i := 0
			for done := 0; done < b.N; {
				n := min(batch, b.N-done)
				if err := s.process(recs[i:i+n], &sink); err != nil {
					b.Fatal(err)
				}
				done += n
				i = (i + batch) % len(recs)
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/event")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "B/event")
			if sink.n < b.N {
				b.Fatalf("%d outputs for %d events", sink.n, b.N)
			}
		})
	}
}

// BenchmarkDecodeOnlyReference is the floor under BenchmarkEnrich: only the
// schemas raw-event decoder, on the same events.
func BenchmarkDecodeOnlyReference(b *testing.B) {
	for _, bc := range []struct {
		name  string
		guide bool
	}{{"typical", false}, {"guide-url", true}} {
		b.Run(bc.name, func(b *testing.B) {
			_, recs := benchEvents(b, 4000, bc.guide)
			var dec schemas.RawDecoder
			var ev schemas.RawEvent
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := dec.Decode(recs[i%len(recs)].Value, &ev); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
