package cache

import (
	"math/rand/v2"
	"testing"
)

// TestClockSecondChance: the sweep passes over an entry used since it
// last passed once, and evicts the first unused one.
func TestClockSecondChance(t *testing.T) {
	c := newClock[int, int](4)
	for i := range 4 {
		c.add(i, i)
	}
	c.get(0)
	c.get(2)
	if !c.add(4, 4) { // passes 0, evicts 1
		t.Fatal("add to a full clock did not evict")
	}
	if _, ok := c.get(1); ok {
		t.Fatal("1 (unused) survived; 0 (used) was before it")
	}
	c.add(5, 5) // passes 2, evicts 3
	if _, ok := c.get(3); ok {
		t.Fatal("3 survived; want it evicted after 2 got its second chance")
	}
	// 0 and 2 lost their bits when the hand passed: both get one more
	// chance only if used again. 2 is; 0 is not, so it goes next.
	c.get(2)
	c.add(6, 6)
	if _, ok := c.get(0); ok {
		t.Fatal("0 survived a second pass without being used")
	}
	for _, k := range []int{2, 4, 5, 6} {
		if v, ok := c.get(k); !ok || v != k {
			t.Errorf("get(%d) = %d, %v", k, v, ok)
		}
	}
	if c.len() != 4 {
		t.Errorf("len = %d, want 4", c.len())
	}
}

// TestClockRemovedSlotIsReused: a removed entry's slot is taken by a later
// add without evicting anyone, and holds nothing of the removed entry.
func TestClockRemovedSlotIsReused(t *testing.T) {
	c := newClock[string, *int](3)
	one := 1
	c.add("a", &one)
	c.add("b", &one)
	c.add("c", &one)
	c.remove("b")
	if s := c.slots[1]; s.k != "" || s.v != nil {
		t.Fatalf("removed slot still holds %q, %v", s.k, s.v)
	}
	if c.add("d", &one) {
		t.Fatal("add evicted although a slot was free")
	}
	if c.len() != 3 || len(c.slots) != 3 {
		t.Fatalf("len %d, slots %d; want 3 and 3", c.len(), len(c.slots))
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s missing", k)
		}
	}
	c.purge()
	if c.len() != 0 || len(c.slots) != 0 {
		t.Fatalf("after purge: len %d, slots %d", c.len(), len(c.slots))
	}
	c.add("e", &one)
	if _, ok := c.get("e"); !ok {
		t.Fatal("add after purge lost its key")
	}
}

// TestClockIndexMatchesSlots checks, after random operations, that the
// index and the slots agree and the size bound holds.
func TestClockIndexMatchesSlots(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	c := newClock[int, int](50)
	for range 20000 {
		k := r.IntN(200)
		switch r.IntN(4) {
		case 0, 1:
			c.add(k, k*10)
		case 2:
			if v, ok := c.get(k); ok && v != k*10 {
				t.Fatalf("get(%d) = %d", k, v)
			}
		case 3:
			c.remove(k)
		}
		if len(c.slots) > 50 || c.len() > 50 {
			t.Fatalf("slots %d, len %d: over the size 50", len(c.slots), c.len())
		}
	}
	for k, i := range c.index {
		if c.slots[i].k != k {
			t.Fatalf("index says %d is in slot %d, which holds %d", k, i, c.slots[i].k)
		}
	}
	if c.len()+len(c.free) != len(c.slots) {
		t.Fatalf("%d indexed + %d free != %d slots", c.len(), len(c.free), len(c.slots))
	}
}
