// Package ratelimit throttles requests per access key with token buckets.
package ratelimit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is a sustained rate and a burst.
type Rate struct {
	PerSecond float64
	Burst     int
}

// AWS is the documented Chime SDK Meetings quota: 10 requests/s, burst 20.
var AWS = Rate{PerSecond: 10, Burst: 20}

// ParseRate reads a --rate-limit value: "" or "off" (no limit), "aws", or
// "RPS/BURST" (e.g. "100/200").
func ParseRate(s string) (*Rate, error) {
	switch s {
	case "", "off":
		return nil, nil
	case "aws":
		r := AWS
		return &r, nil
	}
	rps, burst, ok := strings.Cut(s, "/")
	r := Rate{}
	var err error
	if ok {
		r.PerSecond, err = strconv.ParseFloat(rps, 64)
		if err == nil {
			r.Burst, err = strconv.Atoi(burst)
		}
	}
	if !ok || err != nil || !(r.PerSecond > 0) || math.IsInf(r.PerSecond, 0) || r.Burst < 1 {
		return nil, fmt.Errorf("rate limit %q: want off, aws, or RPS/BURST with RPS > 0 and BURST >= 1", s)
	}
	return &r, nil
}

// Limiter keeps one token bucket per key. Buckets idle long enough to be
// full again are dropped, so memory follows the number of active keys.
type Limiter struct {
	rate Rate
	now  func() time.Time

	mu       sync.Mutex
	buckets  map[string]*bucket
	lastScan time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a Limiter; now is the clock (nil: time.Now).
func New(rate Rate, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: rate, now: now, buckets: map[string]*bucket{}}
}

// Allow takes a token from key's bucket. When the bucket is empty it returns
// false and how long until the next token.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropFull(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(l.rate.Burst), last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(float64(l.rate.Burst), b.tokens+elapsed*l.rate.PerSecond)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate.PerSecond * float64(time.Second))
	return false, wait
}

// Exhausted reports whether key's bucket holds less than one token, without
// taking one, and how long until it holds one.
func (l *Limiter) Exhausted(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return false, 0
	}
	tokens := b.tokens
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		tokens = math.Min(float64(l.rate.Burst), tokens+elapsed*l.rate.PerSecond)
	}
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) / l.rate.PerSecond * float64(time.Second))
}

// dropFull forgets buckets that have refilled completely, once per refill
// period at most.
func (l *Limiter) dropFull(now time.Time) {
	full := time.Duration(float64(l.rate.Burst) / l.rate.PerSecond * float64(time.Second))
	if now.Sub(l.lastScan) < full {
		return
	}
	l.lastScan = now
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
}
