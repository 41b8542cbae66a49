package main

import "math/bits"

// histogram counts latencies, in microseconds, in log-linear buckets: values below
// 2^(subBits+1) µs exactly, larger ones with subBits bits after the leading one, so a
// reported percentile is within 1/2^subBits (0.8%) of the true one. Recording is a few
// instructions and never allocates; the buckets are allocated once.
type histogram struct {
	counts []uint64
	n      uint64
	sum    uint64
	max    uint64
}

const (
	subBits = 7
	// maxTracked is the largest latency told apart, in µs (about 12 days); larger values
	// count as it.
	maxTracked = 1<<40 - 1
)

func newHistogram() *histogram {
	return &histogram{counts: make([]uint64, bucketOf(maxTracked)+1)}
}

// bucketOf returns the bucket of v µs: v itself below 2^(subBits+1), then 2^subBits
// buckets per power of two.
func bucketOf(v uint64) int {
	shift := bits.Len64(v) - subBits - 1
	if shift <= 0 {
		return int(v)
	}
	return shift<<subBits + int(v>>uint(shift))
}

// bucketMax returns the largest value that falls in bucket b.
func bucketMax(b int) uint64 {
	shift := b>>subBits - 1
	if shift <= 0 {
		return uint64(b)
	}
	m := uint64(b - shift<<subBits) // the top subBits+1 bits
	return (m+1)<<uint(shift) - 1
}

// record counts one latency of v µs.
func (h *histogram) record(v uint64) {
	v = min(v, maxTracked)
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += v
	h.max = max(h.max, v)
}

// percentile returns the latency, in µs, that q (0 < q < 1) of the recorded ones do not
// exceed, choosing the element of rank floor(q·n)+1 as kafka-producer-perf-test does on
// its sample; the bucket's largest value stands for it, capped by the largest recorded.
func (h *histogram) percentile(q float64) uint64 {
	if h.n == 0 {
		return 0
	}
	rank := min(uint64(q*float64(h.n))+1, h.n)
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(bucketMax(b), h.max)
		}
	}
	return h.max
}

// mean returns the average latency in µs.
func (h *histogram) mean() float64 {
	if h.n == 0 {
		return 0
	}
	return float64(h.sum) / float64(h.n)
}
