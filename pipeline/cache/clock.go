package cache

// clock is the table behind Cache: a CLOCK (second-chance) cache, which
// evicts about as an LRU does without one. A hit only sets its entry's
// used bit, where an LRU moves a list node to the front; the entries are
// one slice of slots and an index of slot numbers, so a cache whose keys
// and values hold no pointers holds none either and costs the garbage
// collector nothing to scan (an LRU's list is one pointer-linked node per
// entry). To evict, the hand sweeps the slots: a used entry loses its bit
// and is passed over once, the first unused one goes.
//
// It is not safe for concurrent use; Cache locks around it.
type clock[K comparable, V any] struct {
	index map[K]int32 // slot of each key
	slots []slot[K, V]
	free  []int32 // removed entries' slots, taken before any is evicted
	size  int     // most slots
	hand  int     // next slot the sweep looks at
}

type slot[K comparable, V any] struct {
	k    K
	v    V
	used bool // got since the hand last passed
}

func newClock[K comparable, V any](size int) *clock[K, V] {
	return &clock[K, V]{index: make(map[K]int32), size: size}
}

func (c *clock[K, V]) len() int { return len(c.index) }

// get returns the value of k and marks it used.
func (c *clock[K, V]) get(k K) (V, bool) {
	i, ok := c.index[k]
	if !ok {
		var zero V
		return zero, false
	}
	s := &c.slots[i]
	s.used = true
	return s.v, true
}

// add sets the value of k, marking it used if it was present; a new key
// takes a free slot or the one the sweep evicts, reported as evicted.
func (c *clock[K, V]) add(k K, v V) (evicted bool) {
	if i, ok := c.index[k]; ok {
		s := &c.slots[i]
		s.v, s.used = v, true
		return false
	}
	var i int
	if n := len(c.free); n > 0 {
		i, c.free = int(c.free[n-1]), c.free[:n-1]
	} else if len(c.slots) < c.size {
		c.slots = append(c.slots, slot[K, V]{})
		i = len(c.slots) - 1
	} else {
		i, evicted = c.sweep()
	}
	c.slots[i] = slot[K, V]{k: k, v: v}
	c.index[k] = int32(i)
	return evicted
}

// sweep evicts an entry and returns its slot: the first unused one from
// the hand on, clearing the used bits it passes (at most one full turn
// clears them all, so the second turn finds one). Every slot is live: a
// removed one is taken from free first.
func (c *clock[K, V]) sweep() (i int, evicted bool) {
	for {
		i = c.hand
		c.hand++
		if c.hand == len(c.slots) {
			c.hand = 0
		}
		if s := &c.slots[i]; s.used {
			s.used = false
		} else {
			delete(c.index, s.k)
			return i, true
		}
	}
}

// remove deletes k; its slot, which holds no reference to k or its value
// any more, is the next add's.
func (c *clock[K, V]) remove(k K) {
	i, ok := c.index[k]
	if !ok {
		return
	}
	delete(c.index, k)
	c.slots[i] = slot[K, V]{}
	c.free = append(c.free, i)
}

// purge deletes every entry.
func (c *clock[K, V]) purge() {
	clear(c.index)
	clear(c.slots)
	c.slots, c.free, c.hand = c.slots[:0], c.free[:0], 0
}
