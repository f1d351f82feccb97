package lru_test

import (
	"strconv"
	"sync"
	"testing"

	"github.com/leadflow/leadflow/stages/enrich/lru"
)

func TestGetAddEvictsLeastRecentlyUsed(t *testing.T) {
	c := lru.New[string, int](3, lru.StringHash()) // one shard of 3
	if c.Cap() != 3 {
		t.Fatalf("Cap = %d, want 3", c.Cap())
	}
	c.Add("a", 1)
	c.Add("b", 2)
	c.Add("c", 3)
	if v, ok := c.Get("a"); !ok || v != 1 { // a is now the most recent
		t.Fatalf("Get(a) = %d, %v", v, ok)
	}
	c.Add("d", 4) // evicts b, the least recently used
	if _, ok := c.Get("b"); ok {
		t.Fatal("b survived eviction; want it evicted as least recently used")
	}
	for k, want := range map[string]int{"a": 1, "c": 3, "d": 4} {
		if v, ok := c.Get(k); !ok || v != want {
			t.Errorf("Get(%s) = %d, %v; want %d", k, v, ok, want)
		}
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3", c.Len())
	}
	c.Add("a", 10)
	if v, _ := c.Get("a"); v != 10 {
		t.Errorf("Add did not replace: a = %d", v)
	}
}

func TestAddIfAbsentAndRemove(t *testing.T) {
	c := lru.New[string, struct{}](10, lru.StringHash())
	if !c.AddIfAbsent("x", struct{}{}) {
		t.Fatal("first AddIfAbsent = false")
	}
	if c.AddIfAbsent("x", struct{}{}) {
		t.Fatal("second AddIfAbsent = true")
	}
	c.Remove("x")
	c.Remove("never-added")
	if !c.AddIfAbsent("x", struct{}{}) {
		t.Fatal("AddIfAbsent after Remove = false")
	}
	if c.Len() != 1 {
		t.Fatalf("Len = %d, want 1", c.Len())
	}
}

// TestHashCollisionIsAMiss uses a hash that maps every key to one value:
// a colliding key replaces the slot and never returns another key's value.
func TestHashCollisionIsAMiss(t *testing.T) {
	c := lru.New[string, string](8, func(string) uint64 { return 7 })
	c.Add("a", "A")
	if _, ok := c.Get("b"); ok {
		t.Fatal("Get(b) hit a's entry")
	}
	c.Add("b", "B")
	if v, ok := c.Get("b"); !ok || v != "B" {
		t.Fatalf("Get(b) = %q, %v", v, ok)
	}
	if _, ok := c.Get("a"); ok {
		t.Fatal("a still present after b took its slot")
	}
}

// TestBoundedWhateverTheInput adds far more distinct keys than the
// capacity, from several goroutines, and checks the bound holds.
func TestBoundedWhateverTheInput(t *testing.T) {
	c := lru.New[uint64, int](1000, lru.Uint64Hash)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50000 {
				k := uint64(g*1_000_000 + i)
				c.Add(k, i)
				if i%3 == 0 {
					c.Get(k)
				}
				if i%7 == 0 {
					c.Remove(k)
				}
			}
		}()
	}
	wg.Wait()
	if n := c.Len(); n > c.Cap() || c.Cap() > 1000+15 {
		t.Fatalf("Len = %d, Cap = %d; want Len <= Cap <= about 1000", n, c.Cap())
	}
	c.Add(42, 42)
	if v, ok := c.Get(42); !ok || v != 42 {
		t.Errorf("Get(42) after Add = %d, %v", v, ok)
	}
}

func TestSmallCapacity(t *testing.T) {
	c := lru.New[string, int](0, lru.StringHash())
	if c.Cap() != 1 {
		t.Fatalf("Cap = %d, want 1", c.Cap())
	}
	for i := range 10 {
		c.Add(strconv.Itoa(i), i)
	}
	if v, ok := c.Get("9"); !ok || v != 9 || c.Len() != 1 {
		t.Fatalf("Get(9) = %d, %v; Len %d", v, ok, c.Len())
	}
}

func BenchmarkGetHit(b *testing.B) {
	c := lru.New[string, int](10000, lru.StringHash())
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17." + strconv.Itoa(i)
		c.Add(keys[i], i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Get(keys[i%len(keys)])
		i++
	}
}
