package deliver_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/deliver/sink"
)

const benchSecret = "bench-secret"

// benchSubject is a 200-byte subject.
func benchSubject(i int) string {
	s := `{"id":` + strconv.Itoa(i) + `,"email":"lead` + strconv.Itoa(i) + `@example.com","pad":"`
	return s + strings.Repeat("x", 200-len(s)-2) + `"}`
}

// benchSink is a verifying sink on loopback that records first and last arrival.
type benchSink struct {
	url         string
	subjects    atomic.Int64
	requests    atomic.Int64
	mu          sync.Mutex
	first, last time.Time
}

func newBenchSink(b *testing.B) *benchSink {
	bs := &benchSink{}
	s := sink.New(sink.Config{Secret: benchSecret, Quiet: true, OnDelivery: func(_ string, subjects []json.RawMessage, _ http.Header, at time.Time) {
		bs.mu.Lock()
		if bs.first.IsZero() {
			bs.first = at
		}
		bs.last = at
		bs.mu.Unlock()
		bs.requests.Add(1)
		bs.subjects.Add(int64(len(subjects)))
	}})
	srv := httptest.NewServer(s)
	b.Cleanup(srv.Close)
	bs.url = srv.URL
	return bs
}

func (bs *benchSink) report(b *testing.B) {
	bs.mu.Lock()
	d := bs.last.Sub(bs.first).Seconds()
	bs.mu.Unlock()
	if d > 0 {
		b.ReportMetric(float64(bs.requests.Load()-1)/d, "req/s")
		b.ReportMetric(float64(bs.subjects.Load())/d, "subjects/s")
	}
}

// benchStage delivers b.N subjects through the stage (Kafka, decode,
// batching, signing, HTTP, attempt log, commits) to one endpoint on
// loopback. req/s and subjects/s are measured from the first to the last
// arrival at the sink, so they exclude the consumer group join.
func benchStage(b *testing.B, maxSubjects int) {
	cfg := testConfig()
	cfg.MaxSubjects = maxSubjects
	cfg.Linger = 5 * time.Millisecond
	cfg.QueueSize = 20000
	cfg.Runtime.MaxBatchRecords = 1000
	if v := os.Getenv("BENCH_FETCH_MAX_BYTES"); v != "" {
		n, _ := strconv.Atoi(v)
		cfg.Runtime.FetchMaxBytes = int32(n)
	}
	env := newEnv(b, 1, cfg)
	bs := newBenchSink(b)
	ep := endpoint("wh_bench", bs.url+"/hook")
	ep.Secret = benchSecret
	var recs []*kgo.Record
	for i := range b.N {
		recs = append(recs, records(b, env.Topics.Deliveries, request(i, "wh_bench", schemas.EventNewLead, benchSubject(i)))...)
	}
	for i := 0; i < len(recs); i += 10000 {
		env.Produce(b, recs[i:min(i+10000, len(recs))]...)
	}
	recs = nil
	b.ReportAllocs()
	b.ResetTimer()
	startStage(b, env, cfg, newEndpoints(ep))
	kafkatest.Eventually(b, 10*time.Minute, "all subjects delivered", func() bool { return bs.subjects.Load() >= int64(b.N) })
	b.StopTimer()
	bs.report(b)
}

func BenchmarkStageMaxSubjects1(b *testing.B)   { benchStage(b, 1) }
func BenchmarkStageMaxSubjects100(b *testing.B) { benchStage(b, 100) }

// BenchmarkBareClientLoop is the yardstick: net/http POSTs of the same
// one-subject bodies with the same two HMACs to the same sink, from
// max_in_flight (4) goroutines, with nothing else.
func BenchmarkBareClientLoop(b *testing.B) {
	bs := newBenchSink(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true}}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				body := schemas.AppendPayload(nil, schemas.EventNewLead, [][]byte{[]byte(benchSubject(i))})
				req, _ := http.NewRequest(http.MethodPost, bs.url+"/hook", bytes.NewReader(body))
				id, ts := "msg_"+strconv.Itoa(i), strconv.FormatInt(time.Now().Unix(), 10)
				m := hmac.New(sha256.New, []byte(benchSecret))
				m.Write(body)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", "leadflow/bench")
				req.Header.Set("Signature", hex.EncodeToString(m.Sum(nil)))
				m = hmac.New(sha256.New, []byte(benchSecret))
				m.Write([]byte(id + "." + ts + "."))
				m.Write(body)
				req.Header.Set("webhook-id", id)
				req.Header.Set("webhook-timestamp", ts)
				req.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	bs.report(b)
}
