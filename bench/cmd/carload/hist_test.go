package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsContiguous(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<22; v++ {
		b := bucketOf(v)
		if b != prev && b != prev+1 {
			t.Fatalf("bucketOf(%d)=%d after %d", v, b, prev)
		}
		prev = b
	}
	if b := bucketOf(int64(time.Hour)); b >= len(hist{}.counts) {
		t.Fatalf("an hour overflows: bucket %d", b)
	}
}

func TestQuantileAccuracy(t *testing.T) {
	var h hist
	r := rand.New(rand.NewPCG(1, 2))
	var xs []int64
	for range 100000 {
		v := int64(r.ExpFloat64()*200e3) + 20e3 // ~0.02..3 ms
		xs = append(xs, v)
		h.record(time.Duration(v))
	}
	slices.Sort(xs)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		exact := xs[int(q*float64(len(xs)))-1]
		got := int64(h.quantile(q))
		if d := float64(got-exact) / float64(exact); d > 0.01 || d < -0.01 {
			t.Errorf("q%.2f: got %d want %d (%.2f%%)", q, got, exact, d*100)
		}
	}
	if int64(h.quantile(1)) != xs[len(xs)-1] {
		t.Errorf("max: got %d want %d", h.quantile(1), xs[len(xs)-1])
	}
	var a, b hist
	a.record(time.Millisecond)
	b.record(3 * time.Millisecond)
	a.merge(&b)
	if a.n != 2 || a.max != int64(3*time.Millisecond) {
		t.Errorf("merge: %+v", a.n)
	}
}
