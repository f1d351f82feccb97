package latency

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestIndexBoundsAgree(t *testing.T) {
	prevHi := int64(-1)
	for i := range numBuckets - 1 {
		lo, hi := bounds(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if index(lo) != i || index(hi) != i {
			t.Fatalf("bucket %d [%d,%d]: index(lo)=%d index(hi)=%d", i, lo, hi, index(lo), index(hi))
		}
		if lo >= 2*half && float64(hi-lo+1)/float64(lo) > 1.0/half+1e-9 {
			t.Fatalf("bucket %d [%d,%d] is wider than 1/%d", i, lo, hi, half)
		}
		prevHi = hi
	}
}

func TestQuantilesAgainstSortedSample(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var vals []time.Duration
	for range 100000 {
		// Log-normal-ish latencies from 100µs to a few seconds.
		d := time.Duration(float64(time.Millisecond) * (0.1 + r.ExpFloat64()*r.ExpFloat64()*50))
		d = d.Truncate(time.Microsecond)
		vals = append(vals, d)
		h.Record(d)
	}
	slices.Sort(vals)
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		rank := int(float64(len(vals))*q+0.999999) - 1
		rank = max(0, min(rank, len(vals)-1))
		want := vals[rank]
		got := h.Quantile(q)
		if got < want || float64(got-want) > float64(want)/half+float64(time.Microsecond) {
			t.Errorf("q%.3f = %v, exact %v", q, got, want)
		}
	}
	if h.Count() != 100000 || h.Min() != vals[0] || h.Max() != vals[len(vals)-1] {
		t.Fatalf("count %d min %v max %v", h.Count(), h.Min(), h.Max())
	}
}

func TestMergeAndReset(t *testing.T) {
	var a, b, all Histogram
	for i := range 1000 {
		d := time.Duration(i) * time.Millisecond
		all.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	if a != all {
		t.Fatal("merged histogram differs from the one that saw everything")
	}
	a.Reset()
	if a.Count() != 0 || a.Quantile(0.99) != 0 || a.Mean() != 0 {
		t.Fatal("reset histogram not empty")
	}
}

func TestExtremes(t *testing.T) {
	var h Histogram
	h.Record(-time.Second)
	h.Record(0)
	h.Record(200 * time.Hour * 24 * 365)
	if h.Min() != 0 || h.Quantile(0.5) != 0 {
		t.Fatalf("min %v p50 %v", h.Min(), h.Quantile(0.5))
	}
	if h.Quantile(1) != h.Max() {
		t.Fatalf("p100 %v max %v", h.Quantile(1), h.Max())
	}
}

func TestBuckets(t *testing.T) {
	var h Histogram
	if h.Buckets(10) != nil {
		t.Fatal("buckets of an empty histogram")
	}
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	bs := h.Buckets(20)
	var n uint64
	for i, b := range bs {
		n += b.Count
		if b.High < b.Low || (i > 0 && b.Low < bs[i-1].Low) {
			t.Fatalf("bucket %d: %+v", i, b)
		}
	}
	if n != 1000 {
		t.Fatalf("buckets hold %d values, want 1000", n)
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i%5000) * time.Millisecond)
	}
}
