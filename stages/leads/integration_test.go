package leads

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

// traffic is a generated run of hits with the totals they must add up to.
type traffic struct {
	hits   []schemas.Hit                // in production order, duplicates included
	events map[string]bool              // distinct event ids
	want   map[string]schemas.LeadStats // by lead key
}

// genTraffic makes hits for leads leads: sessions sessions each (an hour
// apart, so each is a new session), pages pageviews per session, each
// followed by pings pings with growing time_spent, leads interleaved;
// every dupEvery-th hit is sent again a few hits later (a duplicate event
// id at a new offset).
func genTraffic(leads, sessions, pages, pings, dupEvery int) *traffic {
	tr := &traffic{events: map[string]bool{}, want: map[string]schemas.LeadStats{}}
	perLead := make([][]schemas.Hit, leads)
	for l := 0; l < leads; l++ {
		domain := fmt.Sprintf("co%d.com", l)
		st := schemas.LeadStats{}
		for s := 0; s < sessions; s++ {
			st.Sessions++
			at := time.Duration(s) * time.Hour
			for p := 0; p < pages; p++ {
				page := fmt.Sprintf("https://site.io/l%d/s%d/p%d?utm_source=x", l, s, p)
				id := fmt.Sprintf("%s-%d-%d", domain, s, p)
				h := pv(id, fmt.Sprintf("sess-%d", l), at, 1, page)
				h.CompanyDomain = domain
				perLead[l] = append(perLead[l], h)
				st.Pageviews++
				for k := 1; k <= pings; k++ {
					at += 10 * time.Second
					g := ping(fmt.Sprintf("%s-%d", id, k), h.SessionID, at, int64(1+10*k), page)
					g.CompanyDomain = domain
					perLead[l] = append(perLead[l], g)
				}
				st.TotalDuration += int64(1 + 10*pings)
				at += 10 * time.Second
			}
		}
		tr.want[schemas.LeadKey("ws_1", domain)] = st
	}
	n := 0
	for i := 0; ; i++ {
		more := false
		for l := range perLead {
			if i >= len(perLead[l]) {
				continue
			}
			more = true
			tr.hits = append(tr.hits, perLead[l][i])
			tr.events[perLead[l][i].EventID] = true
			if n++; dupEvery > 0 && n%dupEvery == 0 && i >= 3 {
				tr.hits = append(tr.hits, perLead[l][i-3])
			}
		}
		if !more {
			return tr
		}
	}
}

func (tr *traffic) records(topic string) []*kgo.Record {
	recs := make([]*kgo.Record, len(tr.hits))
	for i := range tr.hits {
		h := &tr.hits[i]
		recs[i] = &kgo.Record{Topic: topic, Key: h.AppendKey(nil), Value: h.AppendJSON(nil)}
	}
	return recs
}

func runtimeForTests() pipeline.RuntimeConfig { return kafkatest.RuntimeConfig() }

type runningStage struct {
	r     *pipeline.Runner
	stage *Stage
	stop  func()
}

// startStage runs the leads stage under a pipeline.Runner until stop.
func startStage(t *testing.T, env *topicstest.Env, rdb redis.UniversalClient, cfg Config, log *zap.Logger) *runningStage {
	t.Helper()
	if log == nil {
		log = zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel))
	}
	if os.Getenv("LEADFLOW_LEADS_CRASH_CHILD") == "" {
		cleanupRedis(t, rdb, env.Topics.Prefix)
	}
	st, err := New(cfg, Deps{Topics: env.Topics, Redis: rdb, KeyPrefix: env.Topics.Prefix, Logger: log,
		Registerer: prometheus.NewRegistry(), Companies: testCompanies()})
	if err != nil {
		t.Fatal(err)
	}
	r, stop := env.Start(t, st, cfg.Runtime, log)
	return &runningStage{r: r, stage: st, stop: stop}
}

// storedStats reads every lead's lifetime counters from Redis.
func storedStats(t *testing.T, rdb redis.UniversalClient, prefix string, tr *traffic) map[string]schemas.LeadStats {
	t.Helper()
	s := newStore(rdb, prefix, time.Hour, nil)
	out := map[string]schemas.LeadStats{}
	for k := range tr.want {
		fields, err := rdb.HGetAll(context.Background(), s.redisKey(k)).Result()
		if err != nil {
			continue // Redis is down for a moment in some tests
		}
		if l := decodeLoaded(fields, func(*leadState) bool { return false }); l.err == nil && l.cur != nil {
			out[k] = l.cur.stats
		}
	}
	return out
}

func statsDiff(got, want map[string]schemas.LeadStats) string {
	var b strings.Builder
	for k, w := range want {
		if g := got[k]; g != w {
			fmt.Fprintf(&b, "%s: %+v, want %+v; ", k, g, w)
		}
	}
	return b.String()
}

// checkChanges reads leads.changes until every event appears, and checks
// that a lead has one id and one new_lead event, and a session one
// new_session event, however often they were emitted.
func checkChanges(t *testing.T, env *topicstest.Env, tr *traffic) {
	t.Helper()
	var chs []schemas.LeadChange
	seen := map[string]bool{}
	env.Consume(t, env.Topics.LeadChanges, 90*time.Second, func(recs []*kgo.Record) bool {
		for _, r := range recs[len(chs):] {
			var c schemas.LeadChange
			if err := json.Unmarshal(r.Value, &c); err != nil {
				t.Fatalf("change does not decode: %v", err)
			}
			chs = append(chs, c)
			seen[c.EventID] = true
		}
		return len(seen) >= len(tr.events)
	})
	for id := range seen {
		if !tr.events[id] {
			t.Fatalf("change for unknown event %s", id)
		}
	}
	ids, newLead, newSession := map[string]int64{}, map[string]string{}, map[string]string{}
	for _, c := range chs {
		if id, ok := ids[c.LeadKey]; ok && id != c.Lead.ID {
			t.Fatalf("lead %s has ids %d and %d", c.LeadKey, id, c.Lead.ID)
		}
		ids[c.LeadKey] = c.Lead.ID
		first := map[string]map[string]string{schemas.ChangeNewLead: newLead, schemas.ChangeNewSession: newSession}[c.Kind]
		key := c.LeadKey
		if c.Kind == schemas.ChangeNewSession {
			key = c.SessionKey
		}
		if first != nil {
			if ev, ok := first[key]; ok && ev != c.EventID {
				t.Fatalf("%s of %s caused by %s and by %s", c.Kind, key, ev, c.EventID)
			}
			first[key] = c.EventID
		}
	}
	if len(newLead) != len(tr.want) {
		t.Fatalf("%d leads got a new_lead change, want %d", len(newLead), len(tr.want))
	}
}

func TestStageThroughKafkaAndRedis(t *testing.T) {
	env := topicstest.New(t, 3)
	rdb, _ := kafkatest.Redis(t)
	tr := genTraffic(20, 3, 3, 2, 7)
	env.Produce(t, tr.records(env.Topics.Hits)...)
	cfg := testStageConfig()
	cfg.Runtime = runtimeForTests()
	cfg.Runtime.MaxBatchRecords = 50
	startStage(t, env, rdb, cfg, nil)
	kafkatest.Eventually(t, 60*time.Second, "every hit applied once", func() bool {
		return statsDiff(storedStats(t, rdb, env.Topics.Prefix, tr), tr.want) == ""
	})
	checkChanges(t, env, tr)
}

// TestCrashMidBatchLosesNothingAndCountsOnce kills a child process running
// the stage with SIGKILL three times in the middle of its work, then lets
// an in-process stage finish: every lead's lifetime counters must equal
// its distinct hits, and every hit's change must have been emitted.
func TestCrashMidBatchLosesNothingAndCountsOnce(t *testing.T) {
	if os.Getenv("LEADFLOW_LEADS_CRASH_CHILD") != "" {
		crashChild(t)
		return
	}
	env := topicstest.New(t, 3)
	rdb, redisAddr := kafkatest.Redis(t)
	tr := genTraffic(40, 3, 4, 3, 5)
	env.Produce(t, tr.records(env.Topics.Hits)...)
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashMidBatchLosesNothingAndCountsOnce$", "-test.v")
		cmd.Env = append(os.Environ(), "LEADFLOW_LEADS_CRASH_CHILD=1", "CRASH_BROKERS="+strings.Join(env.Brokers, ","),
			"CRASH_PREFIX="+env.Topics.Prefix, "CRASH_REDIS="+redisAddr)
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		want := (round + 1) * len(tr.hits) / 5
		env.Consume(t, env.Topics.LeadChanges, 60*time.Second, func(r []*kgo.Record) bool { return len(r) >= want })
		_ = cmd.Process.Signal(syscall.SIGKILL)
		t.Logf("round %d: killed the child after %d changes", round, want)
		_ = cmd.Wait()
	}
	cfg := testStageConfig()
	cfg.Runtime = runtimeForTests()
	cfg.Runtime.SessionTimeout = 6 * time.Second // the killed member leaves the group sooner
	run := startStage(t, env, rdb, cfg, nil)
	kafkatest.Eventually(t, 90*time.Second, "every hit applied exactly once after the crashes", func() bool {
		return statsDiff(storedStats(t, rdb, env.Topics.Prefix, tr), tr.want) == ""
	})
	checkChanges(t, env, tr)
	if n := testutilCount(run.stage.m.replayMismatch); n != 0 {
		t.Fatalf("%v replays did not rebuild the stored state", n)
	}
	t.Logf("last owner: replays exact %v, latest state %v, nothing to emit %v; duplicates skipped %v",
		testutilCount(run.stage.m.replays[replayExact]), testutilCount(run.stage.m.replays[replayLatest]),
		testutilCount(run.stage.m.replays[replaySilent]), testutilCount(run.stage.m.skipped[skipDuplicate]))
}

func crashChild(t *testing.T) {
	env := topicstest.Existing(strings.Split(os.Getenv("CRASH_BROKERS"), ","), os.Getenv("CRASH_PREFIX"))
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("CRASH_REDIS")})
	// Slow every Redis round trip a little so that the kill lands mid-batch.
	rdb.AddHook(slowHook(5 * time.Millisecond))
	cfg := testStageConfig()
	cfg.Runtime = runtimeForTests()
	cfg.Runtime.MaxBatchRecords = 13
	cfg.Runtime.CommitInterval = 300 * time.Millisecond
	cfg.Runtime.SessionTimeout = 6 * time.Second
	startStage(t, env, rdb, cfg, zap.NewNop())
	time.Sleep(2 * time.Minute) // killed long before this
	fmt.Println("child was not killed")
}

type slowHook time.Duration

func (h slowHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h slowHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h slowHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		time.Sleep(time.Duration(h))
		return next(ctx, cmds)
	}
}

// TestRedisOutageMidRunResumesWithNothingLost cuts Redis while the stage
// works (miniredis: closed and restarted on its address with its data; a
// real Redis: every connection through a TCP proxy cut and refused), then
// brings it back: the stage must report not ready meanwhile, resume, and
// apply every hit exactly once.
func TestRedisOutageMidRunResumesWithNothingLost(t *testing.T) {
	env := topicstest.New(t, 3)
	var addr string
	var cut, restore func()
	if real := os.Getenv(kafkatest.EnvRedis); real != "" {
		p := newProxy(t, real)
		addr, cut, restore = p.addr(), p.cut, p.restore
	} else {
		m := miniredis.RunT(t)
		addr, cut = m.Addr(), m.Close
		restore = func() {
			if err := m.Restart(); err != nil {
				t.Fatal(err)
			}
		}
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond, MaxRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	tr := genTraffic(20, 2, 3, 3, 6)
	recs := tr.records(env.Topics.Hits)
	half := len(recs) / 2
	env.Produce(t, recs[:half]...)
	cfg := testStageConfig()
	cfg.Runtime = runtimeForTests()
	cfg.Runtime.MaxBatchRecords = 20
	run := startStage(t, env, rdb, cfg, nil)
	env.Consume(t, env.Topics.LeadChanges, 60*time.Second, func(r []*kgo.Record) bool { return len(r) >= half/3 })

	cut()
	env.Produce(t, recs[half:]...)
	kafkatest.Eventually(t, 30*time.Second, "stage reports not ready while Redis is down", func() bool { return run.r.Ready() != nil })
	restore()
	kafkatest.Eventually(t, 60*time.Second, "every hit applied exactly once after the outage", func() bool {
		return statsDiff(storedStats(t, rdb, env.Topics.Prefix, tr), tr.want) == ""
	})
	kafkatest.Eventually(t, 10*time.Second, "ready again", func() bool { return run.r.Ready() == nil })
	checkChanges(t, env, tr)
}

// proxy forwards TCP connections to a target until cut: then it closes
// every connection and refuses new ones until restored.
type proxy struct {
	t      *testing.T
	target string
	ln     net.Listener
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: target, ln: ln, conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); p.cut(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); p.serve(c) }()
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		_ = c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		p.mu.Unlock()
		_ = c.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *proxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}
