package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBuckets(t *testing.T) {
	// Exact below 256; then each bucket holds the values of its range and no others, and is
	// at most 1/128 of its values wide.
	for v := uint64(0); v < 256; v++ {
		if b := bucketOf(v); b != int(v) || bucketMax(b) != v {
			t.Fatalf("value %d: bucket %d, max %d", v, b, bucketMax(b))
		}
	}
	last := bucketOf(maxTracked)
	for b := 1; b <= last; b++ {
		lo, hi := bucketMax(b-1)+1, bucketMax(b)
		if hi < lo || bucketOf(lo) != b || bucketOf(hi) != b {
			t.Fatalf("bucket %d: [%d, %d] maps to %d..%d", b, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		if width := hi - lo + 1; width > 1 && float64(width) > float64(lo)/128 {
			t.Fatalf("bucket %d: [%d, %d] is too wide", b, lo, hi)
		}
	}
	if bucketMax(last) != maxTracked {
		t.Fatalf("last bucket ends at %d", bucketMax(last))
	}
	if n := len(newHistogram().counts); n != last+1 {
		t.Fatalf("%d buckets allocated, need %d", n, last+1)
	}
}

func TestPercentiles(t *testing.T) {
	h := newHistogram()
	for v := uint64(1); v <= 1000; v++ {
		h.record(v)
	}
	// Rank floor(q·n)+1, as the Java tool: 501, 951, 991, 1000; values above 255 come back
	// as the top of their 2- or 4-wide bucket.
	for _, tc := range []struct {
		q    float64
		want uint64
	}{{0.5, 501}, {0.95, 951}, {0.99, 991}, {0.999, 1000}, {0.1, 101}} {
		if got := h.percentile(tc.q); got != tc.want {
			t.Errorf("p%v = %d, want %d", tc.q*100, got, tc.want)
		}
	}
	if h.max != 1000 || h.mean() != 500.5 || h.n != 1000 {
		t.Errorf("max %d, mean %v, n %d", h.max, h.mean(), h.n)
	}

	// Log-normal latencies: every percentile within 1/128 of the exact one.
	rng := rand.New(rand.NewPCG(1, 2))
	h = newHistogram()
	var vals []uint64
	for range 100_000 {
		v := uint64(math.Exp(rng.NormFloat64()*1.5 + 7))
		vals = append(vals, v)
		h.record(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))]
		got := h.percentile(q)
		if got < exact || float64(got-exact) > float64(exact)/128 {
			t.Errorf("p%v = %d, exact %d", q*100, got, exact)
		}
	}
	if h.max != vals[len(vals)-1] || h.percentile(0.9999999) != h.max {
		t.Errorf("max %d, want %d", h.max, vals[len(vals)-1])
	}

	if empty := newHistogram(); empty.percentile(0.5) != 0 || empty.mean() != 0 {
		t.Error("empty histogram reports values")
	}
	h = newHistogram()
	h.record(math.MaxUint64) // clamped, not out of range
	if h.max != maxTracked || h.percentile(0.5) != maxTracked {
		t.Errorf("huge value: max %d, p50 %d", h.max, h.percentile(0.5))
	}
}

func TestHistogramRecordAllocs(t *testing.T) {
	h := newHistogram()
	if n := testing.AllocsPerRun(1000, func() { h.record(12345) }); n != 0 {
		t.Errorf("record allocates %v times", n)
	}
}
