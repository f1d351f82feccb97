package evaluate

import (
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/leadflow/leadflow/pipeline/cache"
	"github.com/leadflow/leadflow/stages/leadstore"
)

// firedCache remembers claims already made (key -> owner), bounded by
// fired_cache_size entries, those not used lately evicted (pipeline/cache
// "evaluate_fired", CLOCK); older than maxAge (half the lead TTL, so that
// a lead that expired and comes back is checked in Redis again), it starts
// over.
// It only saves round trips: Redis stays the truth. It holds 128-bit
// hashes of keys and 64-bit hashes of owners, not the strings. A key
// collision (about 2^-128 per pair) would skip a claim; an owner
// collision only costs a round trip (the claim is then checked in Redis).
type firedCache struct {
	c      *cache.Cache[[2]uint64, uint64]
	maxAge time.Duration
	now    func() time.Time
	seed   [2]maphash.Seed

	mu      sync.Mutex
	started time.Time // when the cache was last emptied
}

// firedTaken is the owner of a claim someone else made: never the hash of
// an owner (ownerHash sets the lowest bit).
const firedTaken = 0

func newFiredCache(size int, maxAge time.Duration, now func() time.Time, m *cache.Metrics) (*firedCache, error) {
	c, err := cache.New[[2]uint64, uint64](size, m)
	if err != nil {
		return nil, err
	}
	return &firedCache{c: c, maxAge: maxAge, now: now, started: now(),
		seed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}, nil
}

// expire starts over when the cache is older than maxAge. Process calls
// it once per batch.
func (c *firedCache) expire() {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.started) > c.maxAge {
		c.c.Purge()
		c.started = now
	}
}

// key is the cache's key of a claim: two independent 64-bit hashes of its
// lead's hash, automation and session, hashed in place (no string built).
func (c *firedCache) key(cl *leadstore.Claim) [2]uint64 {
	var k [2]uint64
	for i := range k {
		var h maphash.Hash
		h.SetSeed(c.seed[i])
		h.WriteString(cl.Key)
		h.WriteByte(0)
		h.WriteString(cl.Automation)
		h.WriteByte(0)
		h.WriteString(cl.SessionKey)
		k[i] = h.Sum64()
	}
	return k
}

// ownerHash is the hash of an owner (an event id) the cache stores.
func (c *firedCache) ownerHash(owner string) uint64 { return maphash.String(c.seed[0], owner) | 1 }

// get returns the hash of the owner of the claim of key (firedTaken when
// someone else made it), if the cache remembers it.
func (c *firedCache) get(key [2]uint64) (uint64, bool) { return c.c.Get(key) }

func (c *firedCache) put(key [2]uint64, owner uint64) {
	if c.c.Size() > 0 {
		c.c.Add(key, owner)
	}
}

// Names of the stage's caches, the cache label of
// leadflow_cache_lookups_total and leadflow_cache_evictions_total.
const (
	cacheNameFired = "evaluate_fired"
	cacheNameMiss  = "evaluate_miss"
)

// newCaches creates the fired and miss caches and registers their metrics.
func (s *Stage) newCaches() error {
	fm, err := cache.NewMetrics(s.d.Registerer, cacheNameFired)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if s.fired, err = newFiredCache(s.cfg.FiredCacheSize, s.d.LeadTTL/2, s.d.Now, fm); err != nil {
		return fmt.Errorf("evaluate: stages.evaluate.fired_cache_size: %w", err)
	}
	mm, err := cache.NewMetrics(s.d.Registerer, cacheNameMiss)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if s.misses, err = newMissCache(s.cfg.MissCacheSize, mm); err != nil {
		return fmt.Errorf("evaluate: stages.evaluate.miss_cache_size: %w", err)
	}
	return nil
}
