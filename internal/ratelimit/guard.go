package ratelimit

import (
	"context"
	"net"
	"net/http"
	"time"
)

// FailureGuard limits what failed authentication may cost, per source
// address, with a budget of its own: each failure takes a token from the
// address's bucket, and an address whose bucket is empty is refused before
// any work is done for it (no body read, no signature check, no in-flight
// slot). Callers that authenticate never spend from it, so a flood of
// unsigned or badly signed requests from one address cannot take the
// capacity signed callers need.
//
// Every unauthenticated entry point uses the same guard: the API and its
// admin routes today, WebSocket upgrades and console sign-ins as they come.
//
// A refused request is also held for HoldFor before its answer (while at
// most MaxHeld are held at once; beyond, the answer is immediate): a flood
// on a few connections then slows to a few requests a second per
// connection instead of costing the server, and the network, thousands of
// refusals a second.
type FailureGuard struct {
	buckets *Limiter
	held    chan struct{}
	holdFor time.Duration
}

// Holding refused requests: how long, and how many at once (each held
// request is a parked goroutine and an open connection).
const (
	HoldFor = time.Second
	MaxHeld = 256
)

// NewFailureGuard returns a guard allowing rate failures per address; nil
// rate means no guard (every method of a nil *FailureGuard is a no-op).
func NewFailureGuard(rate *Rate, now func() time.Time) *FailureGuard {
	if rate == nil {
		return nil
	}
	return &FailureGuard{buckets: New(*rate, now), held: make(chan struct{}, MaxHeld), holdFor: HoldFor}
}

// Hold delays the answer to a refused request by HoldFor, unless MaxHeld
// requests are held already or ctx ends first.
func (g *FailureGuard) Hold(ctx context.Context) {
	if g == nil || g.holdFor <= 0 {
		return
	}
	select {
	case g.held <- struct{}{}:
	default:
		return
	}
	defer func() { <-g.held }()
	t := time.NewTimer(g.holdFor)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Refused reports whether source has spent its budget, and how long until it
// may try again. It takes no token.
func (g *FailureGuard) Refused(source string) (bool, time.Duration) {
	if g == nil {
		return false, 0
	}
	return g.buckets.Exhausted(source)
}

// Failed charges one failed authentication to source.
func (g *FailureGuard) Failed(source string) {
	if g != nil {
		g.buckets.Allow(source)
	}
}

// Source is the address a request is charged to: the peer's IP, without
// its port (a client opens many connections).
func Source(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
