package deliver_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/deliver"
	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

// fakeEndpoints is a hand-written deliver.Endpoints.
type fakeEndpoints struct {
	mu       sync.Mutex
	eps      map[string]deliver.Endpoint
	disabled []string
}

func newEndpoints(eps ...deliver.Endpoint) *fakeEndpoints {
	f := &fakeEndpoints{eps: map[string]deliver.Endpoint{}}
	for _, ep := range eps {
		f.set(ep)
	}
	return f
}

func (f *fakeEndpoints) set(ep deliver.Endpoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.eps[ep.WorkspaceID+"/"+ep.ID] = ep
}

func (f *fakeEndpoints) Endpoint(ws, id string) (deliver.Endpoint, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ep, ok := f.eps[ws+"/"+id]
	return ep, ok
}

func (f *fakeEndpoints) Disable(_ context.Context, ws, id, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ep := f.eps[ws+"/"+id]
	ep.Enabled = false
	f.eps[ws+"/"+id] = ep
	f.disabled = append(f.disabled, ws+"/"+id+": "+reason)
	return nil
}

func (f *fakeEndpoints) disabledCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.disabled...)
}

func endpoint(id, url string) deliver.Endpoint {
	return deliver.Endpoint{ID: id, WorkspaceID: "ws_1", URL: url, Enabled: true}
}

// testConfig is DefaultConfig with a fast runtime, private networks
// allowed (httptest listens on loopback) and short waits.
func testConfig() deliver.Config {
	c := deliver.DefaultConfig()
	c.Runtime.CommitInterval = 50 * time.Millisecond
	c.Runtime.RevokeTimeout = 2 * time.Second
	c.Runtime.RetryBackoff = 10 * time.Millisecond
	c.Runtime.RetryBackoffMax = 50 * time.Millisecond
	c.Runtime.FetchMaxWait = 20 * time.Millisecond
	c.Runtime.SessionTimeout = 10 * time.Second
	c.AllowPrivateNetworks = true
	c.Linger = 50 * time.Millisecond
	c.Timeout = 5 * time.Second
	c.SpillDelay = 200 * time.Millisecond
	return c
}

// testEnv is one test's Kafka, Redis and topics, with the tier topics of cfg.
type testEnv struct {
	*topicstest.Env
	redis redis.UniversalClient
}

func newEnv(t testing.TB, partitions int32, cfg deliver.Config) *testEnv {
	t.Helper()
	env := topicstest.New(t, partitions)
	for _, tier := range cfg.TierNames() {
		env.CreateTopic(t, env.Topics.Retry(tier), partitions)
	}
	rdb, _ := kafkatest.Redis(t)
	return &testEnv{Env: env, redis: rdb}
}

// addTiers creates the tier topics of another configuration.
func (e *testEnv) addTiers(t testing.TB, partitions int32, cfg deliver.Config) {
	for _, tier := range cfg.TierNames() {
		e.CreateTopic(t, e.Topics.Retry(tier), partitions)
	}
}

type running struct {
	stage *deliver.Stage
	r     *pipeline.Runner
	stop  func() // graceful: Shutdown, drain, Close
	kill  func() // abrupt: cancel and abandon without Shutdown
}

// startStage runs a deliver stage until the test ends.
func startStage(t testing.TB, env *testEnv, cfg deliver.Config, eps deliver.Endpoints) *running {
	t.Helper()
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	st, err := deliver.New(cfg, deliver.Deps{
		Topics: env.Topics, Redis: env.redis, KeyPrefix: env.Topics.Prefix,
		Logger: log, Registerer: prometheus.NewRegistry(), Endpoints: eps, Version: "test-1.2",
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := pipeline.NewMetrics(pipeline.MetricsDeps{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	r, err := pipeline.NewRunner(st, cfg.Runtime, pipeline.Deps{
		Logger: log, Metrics: m, Kafka: env.Kafka,
		Group: env.Topics.Group(st.Name()), DeadLetterTopic: env.Topics.DLQ,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx, 5*time.Second)
	}()
	var once sync.Once
	stop := func(shutdown bool) {
		once.Do(func() {
			if shutdown {
				st.Shutdown()
			}
			cancel()
			<-done
			_ = st.Close(context.Background())
		})
	}
	t.Cleanup(func() { stop(true) })
	return &running{stage: st, r: r, stop: func() { stop(true) }, kill: func() { stop(false) }}
}

// request is a delivery request as evaluate produces it.
func request(id int, webhook, event string, subject string) schemas.DeliveryRequest {
	return schemas.DeliveryRequest{
		ID: "req_" + strconv.Itoa(id), WorkspaceID: "ws_1", WebhookID: webhook, AutomationID: "aut_1",
		Event: event, Subject: json.RawMessage(subject),
		TriggeredAt: time.Unix(1700000000, 0).Add(time.Duration(id) * time.Millisecond).UTC(),
		EventTime:   time.Unix(1700000000, 0).UTC(),
	}
}

func subject(id int) string {
	return `{"id":` + strconv.Itoa(id) + `,"name":"lead ` + strconv.Itoa(id) + `"}`
}

func records(t testing.TB, topic string, reqs ...schemas.DeliveryRequest) []*kgo.Record {
	t.Helper()
	out := make([]*kgo.Record, len(reqs))
	for i, r := range reqs {
		v, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = &kgo.Record{Topic: topic, Key: []byte(r.WebhookID), Value: v}
	}
	return out
}

func (e *testEnv) produce(t testing.TB, reqs ...schemas.DeliveryRequest) {
	t.Helper()
	e.Produce(t, records(t, e.Topics.Deliveries, reqs...)...)
}

// arrival is one request a recorder received.
type arrival struct {
	at      time.Time
	body    []byte
	header  http.Header
	event   string
	ids     []int
	webhook string // the path the request was sent to
	remote  string // the client's address: one per connection
}

// recorder is an httptest server that records every request and answers
// with respond (200 when nil).
type recorder struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []arrival
	respond func(n int, w http.ResponseWriter, r *http.Request) // n counts requests from 1
}

func newRecorder(t testing.TB, respond func(n int, w http.ResponseWriter, r *http.Request)) *recorder {
	rec := &recorder{respond: respond}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Event    string `json:"event"`
			Subjects []struct {
				ID int `json:"id"`
			} `json:"subjects"`
		}
		_ = json.Unmarshal(body, &p)
		a := arrival{at: time.Now(), body: body, header: r.Header.Clone(), event: p.Event, webhook: r.URL.Path, remote: r.RemoteAddr}
		for _, s := range p.Subjects {
			a.ids = append(a.ids, s.ID)
		}
		rec.mu.Lock()
		rec.got = append(rec.got, a)
		n := len(rec.got)
		rec.mu.Unlock()
		if rec.respond != nil {
			rec.respond(n, w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) arrivals() []arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]arrival(nil), r.got...)
}

// reset forgets what arrived so far.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// countFor returns how many subjects arrived at path (without copying
// the arrivals: cheap enough to poll).
func (r *recorder) countFor(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for i := range r.got {
		if r.got[i].webhook == path {
			n += len(r.got[i].ids)
		}
	}
	return n
}

// subjectsFor returns the subject ids that arrived at path, in arrival order.
func (r *recorder) subjectsFor(path string) []int {
	var out []int
	for _, a := range r.arrivals() {
		if a.webhook == path {
			out = append(out, a.ids...)
		}
	}
	return out
}

func (r *recorder) url(path string) string { return r.srv.URL + path }

// checkSubjectsWhole fails t unless every subject that arrived at the
// recorders is byte for byte the subject(id) it was sent as.
func checkSubjectsWhole(t *testing.T, recs ...*recorder) {
	t.Helper()
	for _, r := range recs {
		for _, a := range r.arrivals() {
			var p struct {
				Subjects []json.RawMessage `json:"subjects"`
			}
			if err := json.Unmarshal(a.body, &p); err != nil || len(p.Subjects) != len(a.ids) {
				t.Fatalf("%s: body does not decode (%v): %.200s", a.webhook, err, a.body)
			}
			for i, s := range p.Subjects {
				if want := subject(a.ids[i]); string(s) != want {
					t.Fatalf("%s: subject %s, want %s", a.webhook, s, want)
				}
			}
		}
	}
}

func header(rec *kgo.Record, key string) string {
	for _, h := range rec.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func seq(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

func fmtIDs(ids []int) string {
	if len(ids) > 20 {
		return fmt.Sprint(ids[:20]) + "..."
	}
	return fmt.Sprint(ids)
}
