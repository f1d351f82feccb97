package leads

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/schemas"
)

func TestRevokedPartitionNeverUsesItsStaleCache(t *testing.T) {
	f := newFixture(t, testStageConfig())
	a, b := f.s, f.newStage()
	a.PartitionAssigned("hits", 0)
	f.run(a, f.rec(pv("e1", "s1", 0, 5, "https://acme.io/"))) // a caches the lead
	// A rebalance: b owns the partition for a while and moves the lead on.
	a.PartitionRevoked("hits", 0)
	if a.cached.entries.Load() != 0 {
		t.Fatalf("%d leads cached after the revoke", a.cached.entries.Load())
	}
	b.PartitionAssigned("hits", 0)
	f.run(b, f.rec(pv("e2", "s1", time.Minute, 5, "https://acme.io/b")))
	b.PartitionRevoked("hits", 0)
	// a gets it back and must start from Redis, with b's hit in it.
	a.PartitionAssigned("hits", 0)
	o := f.run(a, f.rec(pv("e3", "s1", 2*time.Minute, 5, "https://acme.io/c")))
	if c := o.changes(t)[0]; c.Stats.Pageviews != 3 || len(c.Lead.RecentSessions[0].Pageviews) != 3 {
		t.Fatalf("after getting the partition back: stats %+v; want 3 pageviews", c.Stats)
	}
}

func TestCacheIsBoundedAndSharedByPartitions(t *testing.T) {
	cfg := testStageConfig()
	cfg.CacheSize = 10
	f := newFixture(t, cfg)
	f.s.PartitionAssigned("hits", 0)
	f.s.PartitionAssigned("hits", 1)
	for p := int32(0); p < 2; p++ {
		f.part = p
		var recs []*kgo.Record
		for i := 0; i < 30; i++ {
			h := pv("e"+itoa(i)+"p"+itoa(int(p)), "s", 0, 1, "https://acme.io/")
			h.CompanyDomain = "c" + itoa(i) + "p" + itoa(int(p)) + ".com"
			recs = append(recs, f.rec(h))
		}
		f.run(nil, recs...)
	}
	if n := f.s.cached.entries.Load(); n != 10 {
		t.Fatalf("%d leads cached, want the bound 10 (5 per partition)", n)
	}
	f.s.PartitionRevoked("hits", 1)
	if n := f.s.cached.entries.Load(); n != 5 {
		t.Fatalf("%d leads cached after revoking one of two partitions, want 5", n)
	}
}

// TestCacheIsBoundedByBytes: cache_max_bytes evicts the least recently
// used leads when their estimated heap exceeds it, although cache_size
// would hold them (issue 17: a count alone let 26,000 leads of up to 20
// sessions each fill gigabytes), and the kept leads are the newest.
func TestCacheIsBoundedByBytes(t *testing.T) {
	cfg := testStageConfig()
	cfg.CacheSize = 1000
	f := newFixture(t, cfg)
	f.s.PartitionAssigned("hits", 0)
	lead := func(i int) *kgo.Record {
		h := pv("e"+itoa(i), "s", 0, 1, "https://acme.io/"+strings.Repeat("p", 200))
		h.CompanyDomain = "c" + itoa(i) + ".com"
		return f.rec(h)
	}
	f.run(nil, lead(0))
	pc := f.s.parts[0]
	one := pc.bytes
	if one < 500 {
		t.Fatalf("one lead with a 220-byte URL weighs %d bytes; want an estimate of its heap", one)
	}
	// Room for about 4 leads.
	f.s.cfg.CacheMaxBytes = 4*one + one/2
	f.s.mu.Lock()
	f.s.sizeCachesLocked()
	f.s.mu.Unlock()
	for i := 1; i < 20; i++ {
		f.run(nil, lead(i))
	}
	if n := f.s.cached.entries.Load(); n != 4 {
		t.Fatalf("%d leads cached, want 4 (the byte bound, %d bytes of %d each)", n, f.s.cfg.CacheMaxBytes, one)
	}
	if pc.bytes > f.s.cfg.CacheMaxBytes {
		t.Fatalf("cache holds %d bytes, over the bound %d", pc.bytes, f.s.cfg.CacheMaxBytes)
	}
	if g := f.s.cached.bytes.Load(); g != pc.bytes {
		t.Fatalf("leadflow_leads_cache_bytes would say %d, the partition cache holds %d", g, pc.bytes)
	}
	for i := 16; i < 20; i++ {
		if pc.peek("ws_1|c"+itoa(i)+".com") == nil {
			t.Errorf("lead %d (one of the 4 newest) was evicted", i)
		}
	}
	// A lead's weight grows with its sessions, and the count follows.
	e := pc.peek("ws_1|c19.com")
	w0 := e.weight
	h := pv("e-more", "s2", time.Hour, 1, "https://acme.io/"+strings.Repeat("q", 200))
	h.CompanyDomain = "c19.com"
	f.run(nil, f.rec(h))
	if e.weight <= w0 || pc.peek("ws_1|c19.com") != e {
		t.Fatalf("lead 19 weighs %d after a second session (was %d), cached %v; want more, still cached", e.weight, w0, pc.peek("ws_1|c19.com") == e)
	}
	if pc.bytes > f.s.cfg.CacheMaxBytes {
		t.Fatalf("cache holds %d bytes after lead 19 grew, over the bound %d", pc.bytes, f.s.cfg.CacheMaxBytes)
	}
	if g := f.s.cached.bytes.Load(); g != pc.bytes {
		t.Fatalf("leadflow_leads_cache_bytes would say %d after lead 19 grew, the partition cache holds %d", g, pc.bytes)
	}
	f.s.PartitionRevoked("hits", 0)
	if pc.bytes != 0 || f.s.cached.bytes.Load() != 0 {
		t.Fatalf("%d bytes counted after the revoke (stage total %d)", pc.bytes, f.s.cached.bytes.Load())
	}
}

func TestNoCacheReadsEveryBatchFromRedis(t *testing.T) {
	cfg := testStageConfig()
	cfg.CacheSize = 0
	f := newFixture(t, cfg)
	for i := 0; i < 5; i++ {
		f.run(nil, f.rec(pv("e"+itoa(i), "s1", time.Duration(i)*time.Second, 1, "https://acme.io/"+itoa(i))))
	}
	if st := f.state(lead1); st.stats != (schemas.LeadStats{Sessions: 1, Pageviews: 5, TotalDuration: 5}) || len(st.sessions[0].pvs) != 5 {
		t.Fatalf("stats %+v", st.stats)
	}
	if got := testutilCount(f.s.m.cacheMisses); got != 5 {
		t.Fatalf("cache misses = %v, want 5", got)
	}
	if got := testutilCount(f.s.m.roundTrips[opLoad]); got != 5 {
		t.Fatalf("load round trips = %v, want 5", got)
	}
}

func TestOldCacheEntriesAreReadAgain(t *testing.T) {
	f := newFixture(t, testStageConfig())
	f.run(nil, f.rec(pv("e1", "s1", 0, 1, "https://acme.io/")))
	f.run(nil, f.rec(pv("e2", "s1", time.Second, 1, "https://acme.io/")))
	if got := testutilCount(f.s.m.cacheHits); got != 1 {
		t.Fatalf("cache hits = %v, want 1", got)
	}
	f.now = f.now.Add(f.cfg.CacheMaxAge + time.Second)
	f.run(nil, f.rec(pv("e3", "s1", 2*time.Second, 1, "https://acme.io/")))
	if got := testutilCount(f.s.m.cacheMisses); got != 2 {
		t.Fatalf("cache misses = %v, want 2 (the old entry is read again)", got)
	}
}

func TestRedisRoundTripsPerBatch(t *testing.T) {
	f := newFixture(t, testStageConfig())
	var recs []*kgo.Record
	for i := 0; i < 200; i++ {
		h := pv("e"+itoa(i), "s"+itoa(i%3), time.Duration(i)*time.Second, 1, "https://acme.io/"+itoa(i))
		h.CompanyDomain = "c" + itoa(i%40) + ".com"
		recs = append(recs, f.rec(h))
	}
	rts := func() float64 {
		var n float64
		for _, c := range f.s.m.roundTrips {
			n += testutilCount(c)
		}
		return n
	}
	f.run(nil, recs[:100]...)
	if got := rts(); got != 3 {
		t.Fatalf("first batch (all new leads) took %v round trips, want 3 (load, ids, write)", got)
	}
	f.run(nil, recs[100:]...)
	if got := rts(); got != 4 {
		t.Fatalf("second batch (all cached) took %v round trips, want 1 (write)", got-3)
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate("stages.leads"); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cfg.SessionTimeout = time.Second
	cfg.MaxSessions = 2
	cfg.Runtime.MaxBatchRecords = 0
	err := cfg.Validate("stages.leads")
	for _, field := range []string{"stages.leads.session_timeout", "stages.leads.max_sessions", "stages.leads.runtime.max_batch_records"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Fatalf("Validate = %v; want it to name %s", err, field)
		}
	}
	if !errors.Is(err, pipeline.ErrInvalidConfig) {
		t.Fatalf("%v is not ErrInvalidConfig", err)
	}
	if _, err := New(cfg, Deps{}); err == nil || !strings.Contains(err.Error(), "stages.leads.session_timeout") {
		t.Fatalf("New = %v; want the config error", err)
	}
	if _, err := New(DefaultConfig(), Deps{}); err == nil || !strings.Contains(err.Error(), "Deps.Redis") {
		t.Fatalf("New without deps = %v", err)
	}
}

func TestLeadTTLIsSetAndRefreshed(t *testing.T) {
	f := newFixture(t, testStageConfig())
	ctx := context.Background()
	key := f.s.store.redisKey(lead1)
	ttl := func() time.Duration {
		d, err := f.rdb.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	f.run(nil, f.rec(pv("e1", "s1", 0, 1, "https://acme.io/")))
	if d := ttl(); d < f.cfg.LeadTTL-time.Minute {
		t.Fatalf("new lead's TTL = %v, want lead_ttl %v", d, f.cfg.LeadTTL)
	}
	// Within lead_ttl/100 of setting it, a write leaves the TTL alone...
	if err := f.rdb.Expire(ctx, key, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	f.run(nil, f.rec(pv("e2", "s1", time.Second, 1, "https://acme.io/")))
	if d := ttl(); d > time.Hour {
		t.Fatalf("TTL refreshed to %v by a write right after the last refresh", d)
	}
	// ... and later sets it again.
	f.now = f.now.Add(f.cfg.LeadTTL/100 + time.Second)
	f.run(nil, f.rec(pv("e3", "s1", 2*time.Second, 1, "https://acme.io/")))
	if d := ttl(); d < f.cfg.LeadTTL-time.Minute {
		t.Fatalf("TTL = %v after a write, want lead_ttl %v", d, f.cfg.LeadTTL)
	}
}

// TestCachedWeightMatchesARecount: the weights the cache keeps per
// session (pvBytes, sessionMeta.approxBytes) are what counting everything
// again gives, batch after batch of random hits (sessions coming and
// going, pageviews sliding out of max_pageviews).
func TestCachedWeightMatchesARecount(t *testing.T) {
	cfg := testStageConfig()
	cfg.MaxPageviews = 4
	cfg.MaxSessions = 6
	f := newFixture(t, cfg)
	f.s.PartitionAssigned("hits", 0)
	r := newRandomHits(7, 8)
	for range 40 {
		var recs []*kgo.Record
		for range 5 {
			recs = append(recs, f.rec(r.next()))
		}
		f.run(nil, recs...)
		e := f.s.parts[0].peek("ws_1|acme.com")
		if e == nil || e.st == nil {
			t.Fatal("lead not cached")
		}
		cached := e.approxBytes()
		for _, st := range append([]*leadState{e.st}, e.pres...) {
			for _, s := range st.sessions {
				s.pvw = pvWeight{}
				if s.meta != nil {
					s.meta.weight = 0
				}
			}
		}
		if recount := e.approxBytes(); recount != cached || e.weight != cached {
			t.Fatalf("after %d hits: weight %d, cached %d, counted again %d", r.n, e.weight, cached, recount)
		}
	}
}
