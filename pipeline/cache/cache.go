// Package cache is the one bounded in-process cache of leadflow's stages:
// a least-recently-used map (github.com/hashicorp/golang-lru/v2) with
// Prometheus hit, miss and eviction counters per named cache. It knows
// nothing of the stages' domain.
//
// Cache is safe for concurrent use (one mutex per cache); LRU is the same
// for one goroutine, whose owner decides when to trim it. Both hold at
// most their size in entries (LRU: after Trim), whatever the input.
package cache

import (
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"
)

// MaxSize is the largest size New takes; it keeps a typo in a size
// setting from asking for an unbounded cache.
const MaxSize = 100_000_000

// Cache maps K to V, evicting the least recently used entry when full. A
// cache of size 0 keeps nothing (every Get misses). It is safe for
// concurrent use; the zero value is not usable, use New.
type Cache[K comparable, V any] struct {
	c    *lru.Cache[K, V] // nil: size 0
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
		l, err := lru.New[K, V](size)
		if err != nil {
			return nil, fmt.Errorf("cache %s: %w", m.name(), err)
		}
		c.c = l
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
	return c.c.Len()
}

// Get returns the value of k and marks it most recently used; it counts
// a hit or a miss.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	if c.c == nil {
		c.m.miss()
		var zero V
		return zero, false
	}
	v, ok := c.c.Get(k)
	c.m.lookup(ok)
	return v, ok
}

// Add sets the value of k and marks it most recently used, evicting the
// least recently used entry if the cache is full.
func (c *Cache[K, V]) Add(k K, v V) {
	if c.c == nil {
		return
	}
	if c.c.Add(k, v) {
		c.m.evicted()
	}
}

// AddIfAbsent adds k with v unless k is present, and reports whether it
// added it; it counts a hit (present) or a miss (added). A present k keeps
// its value and is marked most recently used. Check and insert are one
// atomic step: of concurrent callers with the same k, exactly one gets
// true. A cache of size 0 adds nothing and always reports true.
func (c *Cache[K, V]) AddIfAbsent(k K, v V) bool {
	if c.c == nil {
		c.m.miss()
		return true
	}
	present, evicted := c.c.ContainsOrAdd(k, v)
	if evicted {
		c.m.evicted()
	}
	c.m.lookup(present)
	if present {
		// ContainsOrAdd leaves recency alone; a sighting is a use. (If k
		// was evicted in between, this Get misses and changes nothing.)
		c.c.Get(k)
	}
	return !present
}

// Remove deletes k if present.
func (c *Cache[K, V]) Remove(k K) {
	if c.c != nil {
		c.c.Remove(k)
	}
}

// Purge deletes every entry.
func (c *Cache[K, V]) Purge() {
	if c.c != nil {
		c.c.Purge()
	}
}
