// Package faultproxy is a TCP proxy for fault tests: it stands between a
// node and the shared PostgreSQL server and can be taken down, brought back
// on the same address, black-holed or frozen, so tests simulate outages and
// partitions without touching the shared server. Only tests import it.
package faultproxy

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy to the shared PostgreSQL server that a test can
// take down (listener closed, every proxied connection reset) and bring back
// on the same address, to simulate a database outage without touching the
// shared server. In black-hole mode it accepts connections and never answers
// (a database host that stopped responding).
type Proxy struct {
	t      testing.TB
	target string
	Addr   string

	mu        sync.Mutex
	ln        net.Listener
	conns     map[net.Conn]struct{}
	blackhole bool
	frozen    chan struct{} // non-nil while frozen: forwarding waits on it
}

// Start listens on a free loopback port and forwards to target until the
// test ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{t: t, target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.Addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Down)
	return p
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
}

// track registers c so that Down closes it; false (and c closed) when the
// proxy is already down.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) handle(c net.Conn) {
	if !p.track(c) {
		return
	}
	p.mu.Lock()
	hole := p.blackhole
	p.mu.Unlock()
	if hole {
		return // held open, never answered, until Down
	}
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(s) {
		c.Close()
		return
	}
	go p.pipe(s, c)
	go p.pipe(c, s)
}

// pipe copies src to dst; while the proxy is frozen, what it reads is held
// back (never delivered) until Down.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			frozen := p.frozen
			p.mu.Unlock()
			if frozen != nil {
				<-frozen
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Freeze is a network partition: open connections stay open but nothing
// more is delivered, and new connections are accepted but never answered.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen == nil {
		p.frozen = make(chan struct{})
	}
	p.blackhole = true
}

// Down closes the listener and every proxied connection: connections reset,
// new ones refused.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	if p.frozen != nil {
		close(p.frozen)
		p.frozen = nil
	}
}

// Up listens again on the same address; blackhole selects the mode.
func (p *Proxy) Up(blackhole bool) {
	p.t.Helper()
	p.mu.Lock()
	p.blackhole = blackhole
	p.mu.Unlock()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger for a moment after Close
		if ln, err = net.Listen("tcp", p.Addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.Addr, err)
	}
	p.serve(ln)
}
