package ratelimit

import (
	"context"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBurstThenRefill(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(AWS, c.now)
	for i := 0; i < 20; i++ {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("k")
	if ok || wait != 100*time.Millisecond {
		t.Fatalf("21st request: ok=%v wait=%v, want refused with 100ms wait", ok, wait)
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("another key must have its own bucket")
	}
	c.t = c.t.Add(100 * time.Millisecond)
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("one token must be back after 100ms at 10/s")
	}
	if ok, _ := l.Allow("k"); ok {
		t.Fatal("only one token came back")
	}
	c.t = c.t.Add(time.Hour)
	for i := 0; i < 20; i++ {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("after a long pause the whole burst must be back (request %d)", i+1)
		}
	}
}

func TestIdleBucketsAreDropped(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(Rate{PerSecond: 1, Burst: 1}, c.now)
	for i := 0; i < 100; i++ {
		l.Allow(string(rune('a'+i%26)) + string(rune('a'+i/26)))
	}
	c.t = c.t.Add(time.Minute)
	l.Allow("z")
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets kept, want 1", len(l.buckets))
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]*Rate{"": nil, "off": nil, "aws": &AWS, "100/200": {100, 200}, "0.5/1": {0.5, 1}} {
		got, err := ParseRate(in)
		if err != nil || (got == nil) != (want == nil) || (got != nil && *got != *want) {
			t.Errorf("ParseRate(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"10", "10/", "/5", "0/5", "-1/5", "10/0", "x/y", "Inf/3", "NaN/3"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) accepted", in)
		}
	}
}

func TestFailureGuard(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	g := NewFailureGuard(&Rate{PerSecond: 1, Burst: 3}, c.now)
	for i := 0; i < 3; i++ {
		if refused, _ := g.Refused("192.0.2.1"); refused {
			t.Fatalf("refused after %d failures, budget 3", i)
		}
		g.Failed("192.0.2.1")
	}
	refused, wait := g.Refused("192.0.2.1")
	if !refused || wait != time.Second {
		t.Fatalf("after the budget: refused=%v wait=%v, want refused for 1s", refused, wait)
	}
	if refused, _ := g.Refused("192.0.2.2"); refused {
		t.Fatal("another address has its own budget")
	}
	// Checking takes nothing: a refill of one token allows one more try.
	c.t = c.t.Add(time.Second)
	for i := 0; i < 5; i++ {
		if refused, _ := g.Refused("192.0.2.1"); refused {
			t.Fatal("a refilled token must let the address try again")
		}
	}
	var none *FailureGuard // --auth-failure-limit off
	none.Failed("x")
	if refused, _ := none.Refused("x"); refused || NewFailureGuard(nil, nil) != nil {
		t.Fatal("a nil guard refuses nothing")
	}
}

func TestFailureGuardHold(t *testing.T) {
	g := NewFailureGuard(&Rate{PerSecond: 1, Burst: 1}, nil)
	g.holdFor = 50 * time.Millisecond
	start := time.Now()
	g.Hold(context.Background())
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("held %v, want 50ms", d)
	}
	for range MaxHeld { // every slot taken: the next refusal is answered at once
		g.held <- struct{}{}
	}
	start = time.Now()
	g.Hold(context.Background())
	if d := time.Since(start); d > 40*time.Millisecond {
		t.Fatalf("held %v with every slot taken, want no wait", d)
	}
	<-g.held
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g.holdFor = time.Hour
	g.Hold(ctx) // returns: the request is gone
}
