// Package cache is the one bounded in-process cache of leadflow's stages,
// with Prometheus hit, miss and eviction counters per named cache. It
// knows nothing of the stages' domain.
//
// Cache is safe for concurrent use (one mutex per cache) and evicts by
// CLOCK, an approximation of least-recently-used that costs a hit no more
// than setting a bit and holds no pointers of its own (clock.go). LRU
// (github.com/hashicorp/golang-lru/v2) is a strict least-recently-used
// map for one goroutine, whose owner decides when to evict. Both hold at
// most their size in entries (LRU: as its owner bounds it), whatever the
// input.
package cache

import (
	"fmt"
	"sync"
)

// MaxSize is the largest size New takes; it keeps a typo in a size
// setting from asking for an unbounded cache.
const MaxSize = 100_000_000

// Cache maps K to V, evicting an entry not used lately when full (CLOCK:
// the first the sweep finds unused since it last passed). A cache of size
// 0 keeps nothing (every Get misses). It is safe for concurrent use; the
// zero value is not usable, use New.
type Cache[K comparable, V any] struct {
	mu   sync.Mutex
	c    *clock[K, V] // nil: size 0
	size int
	m    *Metrics
}

// New returns a cache of at most size entries (0: none) that counts its
// lookups and evictions in m (nil: not counted).
func New[K comparable, V any](size int, m *Metrics) (*Cache[K, V], error) {
	if size < 0 || size > MaxSize {
		return nil, fmt.Errorf("cache %s: size %d is outside [0, %d]", m.name(), size, MaxSize)
	}
	c := &Cache[K, V]{size: size, m: m}
	if size > 0 {
		c.c = newClock[K, V](size)
	}
	return c, nil
}

// Size returns the most entries the cache holds.
func (c *Cache[K, V]) Size() int { return c.size }

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int {
	if c.c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.c.len()
}

// Get returns the value of k and marks it used; it counts a hit or a
// miss.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	if c.c == nil {
		c.m.miss()
		var zero V
		return zero, false
	}
	c.mu.Lock()
	v, ok := c.c.get(k)
	c.mu.Unlock()
	c.m.lookup(ok)
	return v, ok
}

// Add sets the value of k and marks it used, evicting an entry not used
// lately if the cache is full.
func (c *Cache[K, V]) Add(k K, v V) {
	if c.c == nil {
		return
	}
	c.mu.Lock()
	evicted := c.c.add(k, v)
	c.mu.Unlock()
	if evicted {
		c.m.evicted()
	}
}

// AddIfAbsent adds k with v unless k is present, and reports whether it
// added it; it counts a hit (present) or a miss (added). A present k keeps
// its value and is marked used (a sighting is a use). Check and insert
// are one atomic step: of concurrent callers with the same k, exactly one
// gets true. A cache of size 0 adds nothing and always reports true.
func (c *Cache[K, V]) AddIfAbsent(k K, v V) bool {
	if c.c == nil {
		c.m.miss()
		return true
	}
	c.mu.Lock()
	_, present := c.c.get(k)
	evicted := false
	if !present {
		evicted = c.c.add(k, v)
	}
	c.mu.Unlock()
	if evicted {
		c.m.evicted()
	}
	c.m.lookup(present)
	return !present
}

// Remove deletes k if present.
func (c *Cache[K, V]) Remove(k K) {
	if c.c != nil {
		c.mu.Lock()
		c.c.remove(k)
		c.mu.Unlock()
	}
}

// Purge deletes every entry.
func (c *Cache[K, V]) Purge() {
	if c.c != nil {
		c.mu.Lock()
		c.c.purge()
		c.mu.Unlock()
	}
}
