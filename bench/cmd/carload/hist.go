package main

import (
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram in the spirit of HdrHistogram:
// values (nanoseconds) below 256 have their own bucket, larger values fall in
// buckets 1/128 to 1/256 of their magnitude wide, so every quantile it reports
// is within 0.8% of the exact sample. Memory is fixed (about 67 KiB) however
// long the run, and two histograms merge by adding counts.
type hist struct {
	counts [64*128 + 256]uint64
	n      uint64
	max    int64
	min    int64
	sum    int64
}

func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	u := uint64(v)
	if u < 256 {
		return int(u)
	}
	shift := bits.Len64(u) - 8
	return shift*128 + int(u>>uint(shift))
}

// bucketMid returns the midpoint of bucket i (the value reported for it).
func bucketMid(i int) int64 {
	if i < 256 {
		return int64(i)
	}
	shift := (i >> 7) - 1
	lo := int64(i-shift*128) << uint(shift)
	return lo + (int64(1)<<uint(shift))/2
}

func (h *hist) record(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

func (h *hist) merge(o *hist) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// quantile returns the value at quantile q (0..1): the smallest bucket whose
// cumulative count reaches ceil(q*n), clamped to the exact min and max.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999999)
	if rank < 1 {
		rank = 1
	}
	if rank >= h.n {
		return time.Duration(h.max)
	}
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			v := bucketMid(i)
			if v > h.max {
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return time.Duration(v)
		}
	}
	return time.Duration(h.max)
}
