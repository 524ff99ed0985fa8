package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/ratelimit"
)

// TestThrottleRefillsWithTheClock: 429 ThrottlingException past the burst,
// success again once the injected clock has refilled a token (no sleeps).
func TestThrottleRefillsWithTheClock(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	limiter := ratelimit.New(ratelimit.Rate{PerSecond: 10, Burst: 2}, func() time.Time { return now })
	s, meetingID, _ := newTestServerWith(t, Options{Limiter: limiter})
	get := func() *http.Response {
		return serveSigned(t, s, http.MethodGet, "/meetings/"+meetingID, nil).Result()
	}
	for i := 0; i < 2; i++ {
		if r := get(); r.StatusCode != 200 {
			t.Fatalf("request %d of the burst: %d", i+1, r.StatusCode)
		}
	}
	r := get()
	if r.StatusCode != 429 || r.Header.Get("X-Amzn-ErrorType") != "ThrottlingException" {
		t.Fatalf("past the burst: %d %q", r.StatusCode, r.Header.Get("X-Amzn-ErrorType"))
	}
	now = now.Add(100 * time.Millisecond)
	if r := get(); r.StatusCode != 200 {
		t.Fatalf("after a refill: %d", r.StatusCode)
	}
	if r := get(); r.StatusCode != 429 {
		t.Fatalf("only one token came back, got %d", r.StatusCode)
	}
}

// TestMaxInFlight: beyond the cap, 503 ServiceUnavailableException with
// Retry-After, while the request in flight completes.
func TestMaxInFlight(t *testing.T) {
	s, meetingID, _ := newTestServerWith(t, Options{MaxInFlight: 1})
	entered, release := make(chan struct{}), make(chan struct{})
	inner := s.handlers["GetMeeting"]
	s.handlers["GetMeeting"] = func(ctx context.Context, req *request) (any, error) {
		close(entered)
		<-release
		return inner(ctx, req)
	}
	done := make(chan int)
	go func() { done <- serveSigned(t, s, http.MethodGet, "/meetings/"+meetingID, nil).Code }()
	<-entered
	r := serveSigned(t, s, http.MethodGet, "/meetings/"+meetingID, nil).Result()
	if r.StatusCode != 503 || r.Header.Get("Retry-After") == "" || r.Header.Get("X-Amzn-ErrorType") != "ServiceUnavailableException" {
		t.Fatalf("over the cap: %d %v", r.StatusCode, r.Header)
	}
	if r := serveSigned(t, s, http.MethodGet, "/carillon/health/live", nil).Code; r != 200 {
		t.Fatalf("health must not count against the cap: %d", r)
	}
	close(release)
	if code := <-done; code != 200 {
		t.Fatalf("the request in flight: %d", code)
	}
	s.handlers["GetMeeting"] = inner
	if r := serveSigned(t, s, http.MethodGet, "/meetings/"+meetingID, nil).Code; r != 200 {
		t.Fatalf("after the cap freed: %d", r)
	}
}
