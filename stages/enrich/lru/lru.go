// Package lru is a bounded, sharded least-recently-used cache for the
// enrich stage's hot path: user agents, decoded IP database records and
// company domains already sent.
//
// A Cache never holds more than its capacity (rounded up to a multiple of
// its shard count), whatever the input, and allocates nothing per call
// once its shards are full: evicted slots are reused. Keys are hashed once
// by the caller-supplied hash function; each shard is a mutex, a map from
// hash to slot and an intrusive doubly linked list over a slot slice. Two
// keys with the same 64-bit hash share a slot (the later one replaces the
// earlier), so a collision costs a miss, never a wrong value.
package lru

import (
	"hash/maphash"
	"sync"
)

// maxShards caps the shard count; 16 keeps lock contention low for the
// few partitions one process works on in parallel.
const maxShards = 16

// minPerShard is the least capacity a shard gets, so small caches are not
// split into uselessly tiny shards.
const minPerShard = 64

// Cache maps K to V with least-recently-used eviction. It is safe for
// concurrent use. The zero value is not usable; use New.
type Cache[K comparable, V any] struct {
	hash   func(K) uint64
	shards []shard[K, V]
	mask   uint64
}

// New returns a cache holding at most about capacity entries (at least 1;
// the bound is capacity rounded up to a multiple of the shard count).
// hash must be a good 64-bit hash of the key, such as maphash.String.
func New[K comparable, V any](capacity int, hash func(K) uint64) *Cache[K, V] {
	capacity = max(capacity, 1)
	n := 1
	for n < maxShards && capacity/(n*2) >= minPerShard {
		n *= 2
	}
	per := (capacity + n - 1) / n
	c := &Cache[K, V]{hash: hash, shards: make([]shard[K, V], n), mask: uint64(n - 1)}
	for i := range c.shards {
		c.shards[i].init(per)
	}
	return c
}

// Cap returns the most entries the cache holds.
func (c *Cache[K, V]) Cap() int { return len(c.shards) * c.shards[0].cap }

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.slots)
		s.mu.Unlock()
	}
	return n
}

func (c *Cache[K, V]) shard(h uint64) *shard[K, V] {
	// The top bits pick the shard: the map inside re-hashes h anyway.
	return &c.shards[(h>>56)&c.mask]
}

// Get returns the value of k and marks it most recently used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	h := c.hash(k)
	return c.shard(h).get(h, k)
}

// Add sets the value of k and marks it most recently used, evicting the
// least recently used entry of k's shard if the shard is full.
func (c *Cache[K, V]) Add(k K, v V) {
	h := c.hash(k)
	c.shard(h).add(h, k, v, true)
}

// AddIfAbsent adds k with v unless k is present, and reports whether it
// added it. A present k is marked most recently used and keeps its value.
// Check and insert are one atomic step: of concurrent callers with the
// same k, exactly one gets true.
func (c *Cache[K, V]) AddIfAbsent(k K, v V) bool {
	h := c.hash(k)
	return c.shard(h).add(h, k, v, false)
}

// Remove deletes k if present.
func (c *Cache[K, V]) Remove(k K) {
	h := c.hash(k)
	c.shard(h).remove(h, k)
}

// StringHash returns a hash function for string keys with a fresh random
// seed (maphash.String), for New.
func StringHash() func(string) uint64 {
	seed := maphash.MakeSeed()
	return func(s string) uint64 { return maphash.String(seed, s) }
}

// Uint64Hash is a hash function for integer keys (a splitmix64 finaliser):
// cheap, and it spreads consecutive keys over every bit, for New.
func Uint64Hash(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// none marks the end of a list.
const none = -1

type entry[K comparable, V any] struct {
	key        K
	val        V
	hash       uint64
	prev, next int32
}

type shard[K comparable, V any] struct {
	mu    sync.Mutex
	index map[uint64]int32
	slots []entry[K, V]
	// free lists slots emptied by Remove, for reuse before growing.
	free       []int32
	head, tail int32 // most and least recently used; none when empty
	cap        int
	_          [64]byte // keep neighbouring shards' locks off this cache line
}

func (s *shard[K, V]) init(capacity int) {
	s.cap = capacity
	s.head, s.tail = none, none
	s.index = make(map[uint64]int32, min(capacity, 1024))
}

func (s *shard[K, V]) get(h uint64, k K) (V, bool) {
	s.mu.Lock()
	i, ok := s.index[h]
	if !ok || s.slots[i].key != k {
		s.mu.Unlock()
		var zero V
		return zero, false
	}
	s.toFront(i)
	v := s.slots[i].val
	s.mu.Unlock()
	return v, true
}

// add inserts or (with replace) updates k; it reports whether k was absent.
func (s *shard[K, V]) add(h uint64, k K, v V, replace bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[h]; ok {
		e := &s.slots[i]
		if e.key == k {
			if replace {
				e.val = v
			}
			s.toFront(i)
			return false
		}
		// A different key with the same hash: it takes over the slot.
		e.key, e.val = k, v
		s.toFront(i)
		return true
	}
	var i int32
	switch {
	case len(s.free) > 0:
		i = s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
	case len(s.slots) < s.cap:
		s.slots = append(s.slots, entry[K, V]{})
		i = int32(len(s.slots) - 1)
	default:
		i = s.tail
		s.unlink(i)
		delete(s.index, s.slots[i].hash)
	}
	s.slots[i] = entry[K, V]{key: k, val: v, hash: h, prev: none, next: none}
	s.index[h] = i
	s.pushFront(i)
	return true
}

func (s *shard[K, V]) remove(h uint64, k K) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[h]
	if !ok || s.slots[i].key != k {
		return
	}
	s.unlink(i)
	delete(s.index, h)
	s.slots[i] = entry[K, V]{prev: none, next: none} // drop references for the GC
	s.free = append(s.free, i)
}

func (s *shard[K, V]) toFront(i int32) {
	if s.head == i {
		return
	}
	s.unlink(i)
	s.pushFront(i)
}

func (s *shard[K, V]) unlink(i int32) {
	e := &s.slots[i]
	if e.prev != none {
		s.slots[e.prev].next = e.next
	} else {
		s.head = e.next
	}
	if e.next != none {
		s.slots[e.next].prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = none, none
}

func (s *shard[K, V]) pushFront(i int32) {
	e := &s.slots[i]
	e.prev, e.next = none, s.head
	if s.head != none {
		s.slots[s.head].prev = i
	}
	s.head = i
	if s.tail == none {
		s.tail = i
	}
}
