package enrich

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
	"github.com/leadflow/leadflow/schemas/sampledata"
	"github.com/leadflow/leadflow/stages/topics"
)

// sampleSet is a sample data set (the guide's networks and 60 generated
// companies), generated once per test binary.
var sampleSet = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "enrich-test-*")
	if err != nil {
		return "", err
	}
	return dir, sampledata.Generate(context.Background(), sampledata.Options{Seed: 3, Companies: 60, OutDir: dir})
})

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := sampleSet(); err == nil {
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

// fixture is a stage on the sample set, with what it needs at hand.
type fixture struct {
	s         *Stage
	reg       *prometheus.Registry
	dir       string
	companies CompanyMap
	nets      []dataset.NetworkRecord
}

func newFixture(t testing.TB, cfg Config, ipdbPath string, companies Companies) *fixture {
	t.Helper()
	dir, err := sampleSet()
	if err != nil {
		t.Fatal(err)
	}
	cm, err := dataset.LoadCompanies(filepath.Join(dir, dataset.CompaniesFile))
	if err != nil {
		t.Fatal(err)
	}
	nets, err := dataset.LoadNetworks(filepath.Join(dir, dataset.NetworksFile))
	if err != nil {
		t.Fatal(err)
	}
	if ipdbPath == "" {
		ipdbPath = filepath.Join(dir, dataset.IPDBFile)
	}
	if companies == nil {
		companies = CompanyMap(cm)
	}
	reg := prometheus.NewRegistry()
	// The clock is the guide's hit time: the events the tests send are
	// dated then, inside the default max_event_age and max_event_ahead.
	s, err := New(cfg, Deps{Topics: topics.New("t."), Registerer: reg, IPDatabase: ipdbPath, Companies: companies,
		Now: func() time.Time { return schemas.GuideHitTime().Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return &fixture{s: s, reg: reg, dir: dir, companies: CompanyMap(cm), nets: nets}
}

// network returns the i-th network of the set of type typ.
func (f *fixture) network(t testing.TB, typ string, i int) dataset.NetworkRecord {
	t.Helper()
	for _, n := range f.nets {
		if n.NetworkType == typ && n.Network.Addr().Is4() {
			if i == 0 {
				return n
			}
			i--
		}
	}
	t.Fatalf("the sample set has too few %s networks", typ)
	return dataset.NetworkRecord{}
}

// fakeSink collects a batch's outputs.
type fakeSink struct {
	pipeline.OwnBuffers
	out  []*kgo.Record
	dead []deadLetter
}

type deadLetter struct {
	rec *kgo.Record
	err error
}

func (f *fakeSink) Emit(r *kgo.Record) { f.out = append(f.out, r) }
func (f *fakeSink) DeadLetter(r *kgo.Record, err error) {
	f.dead = append(f.dead, deadLetter{r, err})
}

func (f *fakeSink) topic(name string) []*kgo.Record {
	var out []*kgo.Record
	for _, r := range f.out {
		if r.Topic == name {
			out = append(out, r)
		}
	}
	return out
}

// run processes values as one batch and returns the outputs.
func (f *fixture) run(t testing.TB, values ...[]byte) *fakeSink {
	t.Helper()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: "t.sessions.raw", Key: []byte("k"), Value: v, Offset: int64(i)}
	}
	var sk fakeSink
	if err := f.s.process(recs, &sk); err != nil {
		t.Fatal(err)
	}
	return &sk
}

// event returns a valid raw event from ip with user agent ua, numbered n.
func event(n int, ip, ua string) schemas.RawEvent {
	ev := schemas.GuideNetcontrolEvent()
	ev.EventID = "e" + strconv.Itoa(n)
	ev.SessionID = "s" + strconv.Itoa(n)
	ev.IP = ip
	ev.UserAgent = ua
	ev.URL = "https://www.example.com/pricing?utm_source=google&utm_medium=cpc"
	return ev
}

func encode(ev schemas.RawEvent) []byte { return ev.AppendJSON(nil) }

func decodeHit(t testing.TB, r *kgo.Record) schemas.Hit {
	t.Helper()
	var h schemas.Hit
	if err := h.UnmarshalJSON(r.Value); err != nil {
		t.Fatalf("hit %s does not decode: %v", r.Value, err)
	}
	return h
}

// reasonOf is the dead-letter reason the runtime would write.
func reasonOf(err error) string {
	var r pipeline.Reasoned
	if errors.As(err, &r) {
		return r.Reason()
	}
	return "invalid"
}

const (
	safariMac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
	chromeWin = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	chromeAnd = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
	googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)

func addr(n dataset.NetworkRecord, i uint64) string { return n.HostAddr(i).String() }

// value reads a counter or gauge.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// series counts the series of metric name in reg.
func series(reg *prometheus.Registry, name string) (int, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.Metric), nil
		}
	}
	return 0, nil
}

func firstKey(rs []*kgo.Record) string {
	if len(rs) == 0 {
		return ""
	}
	return string(rs[0].Key)
}
