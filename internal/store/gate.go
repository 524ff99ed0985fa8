package store

import (
	"sync"
)

// Gate admits an engine's calls until the engine closes: Close refuses new
// calls and waits for the ones in flight. The zero Gate is open.
type Gate struct {
	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
}

// Enter admits a call, or reports false once Close has begun. Every call
// admitted must Leave.
func (g *Gate) Enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.inflight.Add(1)
	return true
}

// Leave ends a call that Enter admitted.
func (g *Gate) Leave() { g.inflight.Done() }

// Close refuses new calls and waits for the ones in flight. It reports
// false if Close had been called before (and then does not wait).
func (g *Gate) Close() bool {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return false
	}
	g.closed = true
	g.mu.Unlock()
	g.inflight.Wait()
	return true
}
