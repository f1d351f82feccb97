package cache

import (
	"math"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// LRU maps K to V in least-recently-used order for one goroutine: it is
// not safe for concurrent use. It never evicts on its own: its owner adds
// freely while entries are in use (a batch) and evicts with RemoveOldest
// when they no longer are, so an entry is never evicted under its user. The zero value
// is not usable; use NewLRU.
type LRU[K comparable, V any] struct {
	l *simplelru.LRU[K, V]
	m *Metrics
}

// NewLRU returns an empty LRU that counts its lookups and evictions in m
// (nil: not counted).
func NewLRU[K comparable, V any](m *Metrics) *LRU[K, V] {
	// The library's own bound is never reached: the owner bounds the LRU.
	l, err := simplelru.NewLRU[K, V](math.MaxInt, nil)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return &LRU[K, V]{l: l, m: m}
}

// Len returns the number of entries.
func (c *LRU[K, V]) Len() int { return c.l.Len() }

// Get returns the value of k and marks it most recently used; it counts
// a hit or a miss.
func (c *LRU[K, V]) Get(k K) (V, bool) {
	v, ok := c.l.Get(k)
	c.m.lookup(ok)
	return v, ok
}

// Peek returns the value of k without marking it used or counting it.
func (c *LRU[K, V]) Peek(k K) (V, bool) { return c.l.Peek(k) }

// Add sets the value of k and marks it most recently used.
func (c *LRU[K, V]) Add(k K, v V) { c.l.Add(k, v) }

// Remove deletes k and reports whether it was present.
func (c *LRU[K, V]) Remove(k K) bool { return c.l.Remove(k) }

// RemoveOldest evicts the least recently used entry and returns it; ok
// is false when the LRU is empty. It counts an eviction. Owners bound the
// LRU with it, by count or by a weight of their own (parts, bytes).
func (c *LRU[K, V]) RemoveOldest() (k K, v V, ok bool) {
	k, v, ok = c.l.RemoveOldest()
	if ok {
		c.m.evictedN(1)
	}
	return k, v, ok
}

// Purge deletes every entry.
func (c *LRU[K, V]) Purge() { c.l.Purge() }
