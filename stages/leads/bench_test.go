package leads

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/topics"
)

// benchMix generates a realistic stream of hits for one partition: many
// leads, each with an open session; most hits are pings (time spent
// grows) and pageviews in existing sessions, a few start new sessions.
type benchMix struct {
	rng    *rand.Rand
	part   int32
	off    int64
	at     time.Time
	leads  []benchLead
	loc    schemas.Location
	nevent int
}

type benchLead struct {
	domain  string
	session int
	page    int
	spent   int64
}

func newBenchMix(part int32, leads int, seed uint64) *benchMix {
	m := &benchMix{rng: rand.New(rand.NewPCG(seed, 7)), part: part, at: t0, loc: schemas.GuideNetcontrolVisitorLocation()}
	for i := 0; i < leads; i++ {
		m.leads = append(m.leads, benchLead{domain: fmt.Sprintf("company-%d-%d.com", part, i)})
	}
	return m
}

// next returns the next record; lead i (when i >= 0) or a random lead.
func (m *benchMix) next(i int) *kgo.Record {
	if i < 0 {
		i = m.rng.IntN(len(m.leads))
	}
	l := &m.leads[i]
	m.at = m.at.Add(time.Millisecond)
	typ := schemas.TypePing
	switch r := m.rng.IntN(100); {
	case l.page == 0 || r < 3: // a new session (a new visitor, or one coming back)
		l.session++
		l.page, l.spent = 1, 0
		typ = schemas.TypePageview
	case r < 28:
		l.page++
		l.spent = 0
		typ = schemas.TypePageview
	default:
		l.spent += 10
	}
	m.nevent++
	page := fmt.Sprintf("https://www.example-saas.com/product/feature-%d?utm_source=newsletter&utm_medium=email&ref=%d", l.page, l.session)
	h := schemas.Hit{
		EventID: fmt.Sprintf("%016x-%08x-4c1e-8f55-%d", m.rng.Uint64(), m.nevent, m.part), WorkspaceID: "ws_bench",
		SessionID: fmt.Sprintf("s-%s-%d", l.domain, l.session), VisitorID: "v_1", Type: typ, Timestamp: m.at,
		URL: page, Host: "www.example-saas.com", Path: page[len("https://www.example-saas.com"):], Referrer: "https://www.google.com/",
		TimeSpent: l.spent, UTMSource: "newsletter", UTMMedium: "email", Browser: "Chrome", OperatingSystem: "Windows",
		DeviceType: "desktop", Location: &m.loc, CompanyDomain: l.domain, NetworkType: schemas.NetworkBusiness,
	}
	r := &kgo.Record{Topic: "hits", Partition: m.part, Offset: m.off, Key: h.AppendKey(nil), Value: h.AppendJSON(nil), Timestamp: m.at}
	m.off++
	return r
}

// discard counts the outputs and drops them.
type discard struct {
	pipeline.ScratchBuffers
	n, bytes int
}

func (d *discard) Emit(r *kgo.Record)                { d.n++; d.bytes += len(r.Value) }
func (d *discard) DeadLetter(r *kgo.Record, _ error) { panic("dead letter in benchmark") }

// BenchmarkProcess measures the stage on two partitions in parallel (one
// per core), against miniredis or the Redis of LEADFLOW_REDIS_ADDR, in
// batches of 500 hits (the runtime's default), after every lead has been
// created and cached. It reports hits/s and Redis round trips per hit.
//
//	go test -run '^$' -bench BenchmarkProcess -benchtime 400000x ./stages/leads/
func BenchmarkProcess(b *testing.B) {
	const partitions, leadsPerPartition, batch = 2, 10000, 500
	rdb, _ := kafkatest.Redis(b)
	prefix := kafkatest.Prefix(b)
	cleanupRedis(b, rdb, prefix)
	cfg := testStageConfig()
	s, err := New(cfg, Deps{Topics: topics.New("bench."), Redis: rdb, KeyPrefix: prefix, Companies: testCompanies()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	streams := make([][]*kgo.Record, partitions)
	for p := range streams {
		m := newBenchMix(int32(p), leadsPerPartition, uint64(p))
		var warm []*kgo.Record
		for i := range m.leads { // every lead's first hit: created and cached before the clock runs
			warm = append(warm, m.next(i))
		}
		for i := 0; i < len(warm); i += batch {
			if err := s.process(ctx, int32(p), warm[i:min(i+batch, len(warm))], &discard{}); err != nil {
				b.Fatal(err)
			}
		}
		for i := 0; i < b.N/partitions+1; i++ {
			streams[p] = append(streams[p], m.next(-1))
		}
	}
	rts := func() (n float64) {
		for _, c := range s.m.roundTrips {
			n += testutilCount(c)
		}
		return n
	}
	before := rts()
	outs := make([]discard, partitions)
	redisCPU := func() float64 { return redisServerCPU(rdb) }
	cpu0, rcpu0 := processCPU(), redisCPU()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for p := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs := streams[p]
			for i := 0; i < len(recs); i += batch {
				if err := s.process(ctx, int32(p), recs[i:min(i+batch, len(recs))], &outs[p]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu, rcpu := processCPU()-cpu0, redisCPU()-rcpu0
	hits := 0
	changes, bytes := 0, 0
	for p := range streams {
		hits += len(streams[p])
		changes += outs[p].n
		bytes += outs[p].bytes
	}
	b.ReportMetric(float64(hits)/elapsed.Seconds(), "hits/s")
	b.ReportMetric((rts()-before)/float64(hits), "roundtrips/hit")
	b.ReportMetric(float64(bytes)/float64(max(changes, 1)), "B/change")
	// CPU per hit of this process (with miniredis, the Redis server too)
	// and of a real Redis server: on a busy shared machine the wall-clock
	// rate varies with the neighbours, the CPU cost does not.
	b.ReportMetric(cpu.Seconds()*1e6/float64(hits), "cpu-µs/hit")
	b.ReportMetric(rcpu*1e6/float64(hits), "redis-cpu-µs/hit")
}

// processCPU is the user+system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisServerCPU is a real Redis server's used CPU in seconds (INFO cpu),
// or 0 for miniredis (whose CPU is this process's).
func redisServerCPU(rdb redis.UniversalClient) float64 {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		return 0
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return total
}

// BenchmarkEncodeChange measures encoding one LeadChange of a lead with
// five sessions of five pageviews.
func BenchmarkEncodeChange(b *testing.B) {
	e := &entry{key: "ws_bench|netcontrol.com", ws: "ws_bench"}
	co := schemas.GuideNetcontrol()
	e.company = co.AppendLeadJSON(nil)
	m := newBenchMix(0, 1, 1)
	st := genesis(42, 0)
	r := newRules(DefaultConfig())
	var h hitInfo
	for i := 0; i < 30; i++ {
		rec := m.next(0)
		if err := decodeHit(rec, &h); err != nil {
			b.Fatal(err)
		}
		if i%6 == 0 {
			h.SessionID = "s" + itoa(i)
		}
		r.apply(st, &h)
	}
	c, out := changeEncoder{recent: 5}, &discard{}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for range b.N {
		n += len(c.encode(out, e, st, st.sessions[0], kindUpdated, &h))
	}
	b.SetBytes(int64(n / b.N))
}

// BenchmarkAppendHead measures encoding the head of a lead at the bench's
// steady state (20 sessions of five pageviews, settled: one decoded, four
// frozen, 15 cold), with the frozen and cold sessions' parts kept
// (session.headEnc) and encoded again.
func BenchmarkAppendHead(b *testing.B) {
	cfg := DefaultConfig()
	st := genesis(42, 0)
	r := newRules(cfg)
	m := newBenchMix(0, 1, 1)
	var h hitInfo
	for i := range 100 {
		if err := decodeHit(m.next(0), &h); err != nil {
			b.Fatal(err)
		}
		h.SessionID = "s" + itoa(i/5)
		h.hash = eventHash(h.EventID)
		r.apply(st, &h)
	}
	for _, s := range st.sessions {
		s.metaWritten, s.pvWritten = true, s.pvTotal
	}
	st.settle(cfg.RecentSessions)
	if len(st.sessions) != cfg.MaxSessions {
		b.Fatalf("%d sessions, want %d", len(st.sessions), cfg.MaxSessions)
	}
	kept := make([][]byte, len(st.sessions))
	for i, s := range st.sessions {
		kept[i] = s.headEnc
	}
	for _, tc := range []struct {
		name string
		keep bool
	}{{"kept", true}, {"again", false}} {
		b.Run(tc.name, func(b *testing.B) {
			for i, s := range st.sessions {
				s.headEnc = nil
				if tc.keep {
					s.headEnc = kept[i]
				}
			}
			var buf []byte
			b.ReportAllocs()
			for range b.N {
				buf = appendHead(buf[:0], st)
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

// BenchmarkOverwrittenFields measures what a write finds to drop for a
// lead with ten sessions in each of its heads, as at steady state, whose
// last write added a pageview to one of them.
func BenchmarkOverwrittenFields(b *testing.B) {
	const sessions = 10
	e := &entry{}
	for g := uint64(1); g <= 4; g++ {
		h := headRefs{gen: g, valid: true}
		for seq := uint64(1); seq <= sessions; seq++ {
			h.refs = append(h.refs, sessRef{seq: seq, from: 2, to: 5 + g})
		}
		e.heads[g%replayHeads] = h
	}
	st := &leadState{gen: 5}
	for seq := uint64(1); seq <= sessions; seq++ {
		st.sessions = append(st.sessions, &session{seq: seq, pvTotal: 10, spent: make([]int64, 8)})
	}
	var dst []string
	b.ReportAllocs()
	for b.Loop() {
		dst = overwrittenFields(dst[:0], e, st)
	}
	if len(dst) != 0 {
		b.Fatalf("dropped %v", dst)
	}
}
