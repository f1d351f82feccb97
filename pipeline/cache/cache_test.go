package cache_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/leadflow/leadflow/pipeline/cache"
)

func newCache[K comparable, V any](t testing.TB, size int, m *cache.Metrics) *cache.Cache[K, V] {
	t.Helper()
	c, err := cache.New[K, V](size, m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The tests of the enrich stage's former hand-written LRU
// (stages/enrich/lru), with their assertions, now on Cache.

func TestGetAddEvictsLeastRecentlyUsed(t *testing.T) {
	c := newCache[string, int](t, 3, nil)
	if c.Size() != 3 {
		t.Fatalf("Size = %d, want 3", c.Size())
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
	c := newCache[string, struct{}](t, 10, nil)
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

// TestAddIfAbsentIsAtomic: of concurrent callers with one key, exactly
// one adds it.
func TestAddIfAbsentIsAtomic(t *testing.T) {
	c := newCache[string, struct{}](t, 100, nil)
	for round := range 50 {
		k := strconv.Itoa(round)
		var wg sync.WaitGroup
		var mu sync.Mutex
		added := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if c.AddIfAbsent(k, struct{}{}) {
					mu.Lock()
					added++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if added != 1 {
			t.Fatalf("key %s added %d times, want 1", k, added)
		}
	}
}

// TestDistinctKeysNeverShareAValue: the former LRU keyed entries by a
// 64-bit hash and had a test that a collision was a miss; Cache keys by
// the key itself, so distinct keys never return each other's values.
func TestDistinctKeysNeverShareAValue(t *testing.T) {
	c := newCache[string, string](t, 8, nil)
	c.Add("a", "A")
	if _, ok := c.Get("b"); ok {
		t.Fatal("Get(b) hit a's entry")
	}
	c.Add("b", "B")
	if v, ok := c.Get("b"); !ok || v != "B" {
		t.Fatalf("Get(b) = %q, %v", v, ok)
	}
	if v, ok := c.Get("a"); !ok || v != "A" {
		t.Fatalf("Get(a) = %q, %v after b was added", v, ok)
	}
}

// TestBoundedWhateverTheInput adds far more distinct keys than the
// size, from several goroutines, and checks the bound holds.
func TestBoundedWhateverTheInput(t *testing.T) {
	c := newCache[uint64, int](t, 1000, nil)
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
	if n := c.Len(); n > c.Size() || c.Size() != 1000 {
		t.Fatalf("Len = %d, Size = %d; want Len <= Size = 1000", n, c.Size())
	}
	c.Add(42, 42)
	if v, ok := c.Get(42); !ok || v != 42 {
		t.Errorf("Get(42) after Add = %d, %v", v, ok)
	}
}

// TestAddIfAbsentMarksPresentKeyUsed: a key seen again is used again, so
// the least recently seen is evicted, not the first added.
func TestAddIfAbsentMarksPresentKeyUsed(t *testing.T) {
	c := newCache[string, struct{}](t, 2, nil)
	c.AddIfAbsent("a", struct{}{})
	c.AddIfAbsent("b", struct{}{})
	if c.AddIfAbsent("a", struct{}{}) {
		t.Fatal("a added twice")
	}
	c.AddIfAbsent("c", struct{}{}) // evicts b, the least recently seen
	if !c.AddIfAbsent("b", struct{}{}) {
		t.Error("b survived; want it evicted as least recently seen")
	}
	if _, ok := c.Get("c"); !ok {
		t.Error("c evicted")
	}
}

func TestSmallSize(t *testing.T) {
	c := newCache[string, int](t, 1, nil)
	for i := range 10 {
		c.Add(strconv.Itoa(i), i)
	}
	if v, ok := c.Get("9"); !ok || v != 9 || c.Len() != 1 {
		t.Fatalf("Get(9) = %d, %v; Len %d", v, ok, c.Len())
	}
}

func TestSizeZeroKeepsNothing(t *testing.T) {
	c := newCache[string, int](t, 0, nil)
	c.Add("a", 1)
	if _, ok := c.Get("a"); ok || c.Len() != 0 {
		t.Fatalf("size 0 kept a (Len %d)", c.Len())
	}
	if !c.AddIfAbsent("a", 1) || !c.AddIfAbsent("a", 1) {
		t.Fatal("size 0: AddIfAbsent must always report added (nothing is remembered)")
	}
}

func TestNewRejectsSizeOutsideLimits(t *testing.T) {
	for _, n := range []int{-1, cache.MaxSize + 1} {
		if _, err := cache.New[string, int](n, nil); err == nil || !strings.Contains(err.Error(), strconv.Itoa(n)) {
			t.Errorf("New(%d) error = %v; want one naming the size", n, err)
		}
	}
}

func TestMetricsCountHitsMissesEvictions(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := cache.NewMetrics(reg, "test_cache")
	if err != nil {
		t.Fatal(err)
	}
	c := newCache[string, int](t, 2, m)
	c.Add("a", 1)
	c.Add("b", 2)
	c.Get("a")            // hit
	c.Get("x")            // miss
	c.Add("c", 3)         // evicts b
	c.AddIfAbsent("d", 4) // evicts a
	c.AddIfAbsent("d", 5) // present: no eviction
	c.Get("b")            // miss
	l := cache.NewLRU[string, int](m)
	l.Add("p", 1)
	l.Add("q", 2)
	l.Get("p")        // hit
	for l.Len() > 0 { // evicts 2
		l.RemoveOldest()
	}
	const want = `
# HELP leadflow_cache_evictions_total Entries an in-process cache evicted to stay within its size, by cache.
# TYPE leadflow_cache_evictions_total counter
leadflow_cache_evictions_total{cache="test_cache"} 4
# HELP leadflow_cache_lookups_total Lookups of an in-process cache, by cache and result (hit, miss).
# TYPE leadflow_cache_lookups_total counter
leadflow_cache_lookups_total{cache="test_cache",result="hit"} 3
leadflow_cache_lookups_total{cache="test_cache",result="miss"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.NewMetrics(reg, "test_cache"); err == nil || !strings.Contains(err.Error(), "test_cache") {
		t.Errorf("second NewMetrics with one name: error = %v; want one naming it", err)
	}
	if _, err := cache.NewMetrics(reg, "other_cache"); err != nil {
		t.Errorf("a second cache name on the same registry: %v", err)
	}
	if _, err := cache.NewMetrics(reg, "Bad Name"); err == nil {
		t.Error("NewMetrics took an invalid name")
	}
}

func TestLRURemovesLeastRecentlyUsedFirst(t *testing.T) {
	l := cache.NewLRU[string, int](nil)
	for i := range 5 {
		l.Add(strconv.Itoa(i), i)
	}
	l.Get("0") // most recent now
	if _, ok := l.Peek("1"); !ok {
		t.Fatal("Peek(1) missed")
	}
	for _, want := range []string{"1", "2", "3"} {
		if k, _, ok := l.RemoveOldest(); !ok || k != want {
			t.Fatalf("RemoveOldest = %q, %v; want %s (least recently used first)", k, ok, want)
		}
	}
	if l.Len() != 2 {
		t.Fatalf("Len %d after removing 3 of 5; want 2", l.Len())
	}
	for _, k := range []string{"0", "4"} {
		if _, ok := l.Peek(k); !ok {
			t.Errorf("%s was removed; want 1, 2, 3 (least recently used) removed", k)
		}
	}
	if !l.Remove("4") || l.Remove("4") {
		t.Error("Remove did not report presence")
	}
	l.Purge()
	if l.Len() != 0 {
		t.Errorf("Len after Purge = %d", l.Len())
	}
}

func BenchmarkGetHit(b *testing.B) {
	c := newCache[string, int](b, 10000, nil)
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

// BenchmarkGetHitLarge looks up random keys of a full cache of 200,000
// 128-bit hashes, the evaluate stage's fired cache at its default size.
func BenchmarkGetHitLarge(b *testing.B) {
	const n = 200_000
	c := newCache[[2]uint64, uint64](b, n, nil)
	keys := make([][2]uint64, n)
	for i := range keys {
		keys[i] = [2]uint64{uint64(i) * 0x9e3779b97f4a7c15, uint64(i)}
		c.Add(keys[i], uint64(i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Get(keys[(i*7919)%n])
		i++
	}
}

// BenchmarkAddEvict adds new keys to a full cache: every Add evicts.
func BenchmarkAddEvict(b *testing.B) {
	const n = 200_000
	c := newCache[[2]uint64, uint64](b, n, nil)
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		c.Add([2]uint64{i * 0x9e3779b97f4a7c15, i}, i)
		i++
	}
}
