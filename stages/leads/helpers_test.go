package leads

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/leadstore"
	"github.com/leadflow/leadflow/stages/topics"
)

// outputs is a fake pipeline.Batch: it collects what process emits.
type outputs struct {
	pipeline.OwnBuffers
	// sessions completes the changes' subjects (nil: left as emitted).
	sessions *leadstore.SessionStore
	recs     []*kgo.Record
	dead     []*kgo.Record
	reasons  []error
}

func (o *outputs) Emit(r *kgo.Record) { o.recs = append(o.recs, r) }
func (o *outputs) DeadLetter(r *kgo.Record, err error) {
	o.dead = append(o.dead, r)
	o.reasons = append(o.reasons, err)
}

// changes decodes the emitted LeadChanges and completes their subjects
// as evaluate does: the company from the directory (ResolveCompany) and
// the older sessions from Redis (leadstore.SessionStore.Complete), every
// session part they refer to must still be stored.
func (o *outputs) changes(t testing.TB) []schemas.LeadChange {
	t.Helper()
	out := make([]schemas.LeadChange, len(o.recs))
	for i, r := range o.recs {
		if err := json.Unmarshal(r.Value, &out[i]); err != nil {
			t.Fatalf("change %d does not decode: %v\n%s", i, err, r.Value)
		}
		if string(r.Key) != out[i].LeadKey {
			t.Fatalf("change %d key %q, lead_key %q", i, r.Key, out[i].LeadKey)
		}
		if !out[i].CompanyRef {
			t.Fatalf("change %d carries its company whole:\n%s", i, r.Value)
		}
		out[i].ResolveCompany(testCompanies().Company)
	}
	if o.sessions != nil {
		chs := make([]*schemas.LeadChange, len(out))
		for i := range out {
			chs[i] = &out[i]
		}
		missing, err := o.sessions.Complete(context.Background(), chs)
		if err != nil || missing != 0 {
			t.Fatalf("completing the subjects: %d parts missing, error %v", missing, err)
		}
	}
	return out
}

// companies is a fake directory.
type companies map[string]schemas.Company

func (c companies) Company(d string) (schemas.Company, bool) { co, ok := c[d]; return co, ok }

func testCompanies() companies {
	return companies{"netcontrol.com": schemas.GuideNetcontrol(), "mdxtechnology.com": schemas.GuideMDX()}
}

// refSubject is the lead subject l as a change carries it: its company
// by reference (schemas.LeadChange.CompanyRef).
func refSubject(l *schemas.Lead) []byte {
	whole := l.Company.AppendLeadJSON(nil)
	return bytes.Replace(l.AppendJSON(nil), whole, l.Company.AppendRefJSON(nil), 1)
}

// fixture runs a Stage's process directly, with offsets it numbers.
type fixture struct {
	t      testing.TB
	s      *Stage
	cfg    Config
	rdb    redis.UniversalClient
	prefix string
	part   int32
	off    int64
	now    time.Time
}

func testStageConfig() Config {
	c := DefaultConfig()
	c.Runtime = pipeline.DefaultRuntimeConfig()
	return c
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	rdb, _ := kafkatest.Redis(t)
	f := &fixture{t: t, cfg: cfg, rdb: rdb, prefix: kafkatest.Prefix(t), now: time.Now()}
	cleanupRedis(t, rdb, f.prefix)
	f.s = f.newStage()
	return f
}

// newStage returns another stage on the same Redis and prefix: a new
// process after a crash, or another member of the group.
func (f *fixture) newStage() *Stage {
	f.t.Helper()
	s, err := New(f.cfg, Deps{
		Topics: topics.New(f.prefix), Redis: f.rdb, KeyPrefix: f.prefix,
		Companies: testCompanies(), Now: func() time.Time { return f.now },
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// run processes recs as one batch on stage s (f.s if nil).
func (f *fixture) run(s *Stage, recs ...*kgo.Record) *outputs {
	f.t.Helper()
	o, err := f.try(s, recs...)
	if err != nil {
		f.t.Fatalf("process: %v", err)
	}
	return o
}

func (f *fixture) try(s *Stage, recs ...*kgo.Record) (*outputs, error) {
	if s == nil {
		s = f.s
	}
	o := &outputs{sessions: f.sessions()}
	err := s.process(context.Background(), f.part, recs, o)
	return o, err
}

// sessions returns a SessionStore on the fixture's Redis, without a
// cache (so that it reads what is stored).
func (f *fixture) sessions() *leadstore.SessionStore {
	return leadstore.NewSessionStore(f.rdb, f.prefix, 0, nil)
}

// rec wraps a hit as the next record of the partition.
func (f *fixture) rec(h schemas.Hit) *kgo.Record {
	r := &kgo.Record{
		Topic: "hits", Partition: f.part, Offset: f.off,
		Key: h.AppendKey(nil), Value: h.AppendJSON(nil),
		Timestamp: time.UnixMilli(1_700_000_000_000 + f.off),
	}
	f.off++
	return r
}

// state reads a lead's stored state back from Redis.
func (f *fixture) state(leadKey string) *leadState {
	f.t.Helper()
	fields, err := f.rdb.HGetAll(context.Background(), f.s.store.redisKey(leadKey)).Result()
	if err != nil {
		f.t.Fatal(err)
	}
	l := decodeLoaded(fields, func(*leadState) bool { return false })
	if l.err != nil {
		f.t.Fatalf("stored state of %s: %v", leadKey, l.err)
	}
	return l.cur
}

var t0 = time.Date(2024, 5, 15, 10, 0, 0, 0, time.UTC)

// hit builds a business-network hit of lead ws_1|acme.com.
func hit(id, sid, typ string, at time.Duration, spent int64, page string) schemas.Hit {
	u, _ := url.Parse(page)
	h := schemas.Hit{
		EventID: id, WorkspaceID: "ws_1", SessionID: sid, Type: typ, Timestamp: t0.Add(at),
		URL: page, Host: u.Host, Path: schemas.PagePath(u), TimeSpent: spent,
		Browser: "Chrome", OperatingSystem: "Windows", DeviceType: "desktop",
		CompanyDomain: "acme.com", NetworkType: schemas.NetworkBusiness,
	}
	return h
}

func pv(id, sid string, at time.Duration, spent int64, page string) schemas.Hit {
	return hit(id, sid, schemas.TypePageview, at, spent, page)
}

func ping(id, sid string, at time.Duration, spent int64, page string) schemas.Hit {
	return hit(id, sid, schemas.TypePing, at, spent, page)
}

func itoa(i int) string { return strconv.Itoa(i) }

// randomHits is a stream of random hits of lead ws_1|acme.com, in event
// time order: pageviews and pings of sessions (session ids) coming and
// going, pages whose URLs need escaping, some hits without referrer,
// browser or location.
type randomHits struct {
	rng      *rand.Rand
	sessions int
	at       time.Duration
	spent    map[string]int64
	n        int
}

func newRandomHits(seed uint64, sessions int) *randomHits {
	return &randomHits{rng: rand.New(rand.NewPCG(seed, seed+1)), sessions: sessions, spent: map[string]int64{}}
}

func (r *randomHits) next() schemas.Hit {
	rng := r.rng
	sid := "s" + itoa(rng.IntN(r.sessions))
	r.at += time.Duration(rng.IntN(20)) * time.Minute / 10
	page := "https://acme.io/p" + itoa(rng.IntN(9))
	if rng.IntN(2) == 0 {
		page += "?q=\"x\"&y=é" // escapes: decoded into a string of its own
	}
	id := "e" + itoa(r.n)
	r.n++
	var h schemas.Hit
	if rng.IntN(3) == 0 {
		r.spent[sid] += int64(rng.IntN(30))
		h = ping(id, sid, r.at, r.spent[sid], page)
	} else {
		r.spent[sid] = int64(rng.IntN(5))
		h = pv(id, sid, r.at, r.spent[sid], page)
	}
	if rng.IntN(5) == 0 {
		h.Referrer, h.Browser, h.Location = "", "", nil
	}
	return h
}

func testutilCount(c prometheus.Counter) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

// cleanupRedis deletes the keys under prefix when t ends, so that tests
// and benchmarks leave nothing behind in a shared real Redis.
func cleanupRedis(t testing.TB, rdb redis.UniversalClient, prefix string) {
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			if keys = append(keys, iter.Val()); len(keys) == 1000 {
				_ = rdb.Unlink(ctx, keys...).Err()
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			_ = rdb.Unlink(ctx, keys...).Err()
		}
	})
}
