package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carillon-dev/carillon/internal/meetings"
)

// pool is a small bounded pool of *pgx.Conn.
//
// It stands in for pgxpool, which needs github.com/jackc/puddle/v2: that
// module has no go.sum entry in this repository yet (and go.mod/go.sum are
// not this package's to edit). The engine only uses acquire/release around
// pgx.Tx, so moving to pgxpool is a local change: acquire becomes
// pgxpool.Pool.Acquire, and the health rules below are pgxpool's defaults.
//
// Health: a connection is dropped on release when the driver closed it
// (network failure, cancelled query), when it is not idle (a transaction
// left open), or when it is older than maxLifetime; an idle connection is
// pinged before reuse when it sat idle more than pingAfter (so a database
// restart costs the first request nothing), and closed by a janitor when it
// sat idle more than maxIdleTime. New connections are dialled on demand, so
// the pool recovers by itself when the database comes back; for
// dialBackoff after a failed attempt, callers that would dial fail at once
// instead (when the database is unreachable, a queue of callers each
// waiting out a connect timeout would be a hang).
type pool struct {
	cfg         *pgx.ConnConfig
	sem         chan struct{} // one token per open or opening connection in use
	maxLifetime time.Duration
	maxIdleTime time.Duration
	pingAfter   time.Duration
	pingTimeout time.Duration

	// dialBackoff: after a failed connection attempt, callers that find no
	// idle connection fail at once for this long instead of dialling.
	dialBackoff time.Duration

	mu              sync.Mutex
	idle            []*poolConn // LIFO: the most recently used connection first
	closed          bool
	dialErr         error // the last connection attempt's error; nil after a success
	dialFailedUntil time.Time
	stop            chan struct{}
	done            chan struct{}
}

type poolConn struct {
	conn     *pgx.Conn
	created  time.Time
	released time.Time
}

var errPoolClosed = fmt.Errorf("postgres: store is closed: %w", meetings.ErrUnavailable)

func newPool(cfg *pgx.ConnConfig, maxConns int, maxLifetime, maxIdleTime time.Duration) *pool {
	p := &pool{
		cfg:         cfg,
		sem:         make(chan struct{}, maxConns),
		maxLifetime: maxLifetime,
		maxIdleTime: maxIdleTime,
		pingAfter:   time.Second,
		pingTimeout: 2 * time.Second,
		dialBackoff: 250 * time.Millisecond,
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	go p.janitor()
	return p
}

// acquire returns a connection for the caller's exclusive use; release must
// follow. It waits for a free slot as long as ctx allows.
func (p *pool) acquire(ctx context.Context) (*poolConn, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("postgres: waiting for a connection: %w", ctx.Err())
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			<-p.sem
			return nil, errPoolClosed
		}
		var pc *poolConn
		if n := len(p.idle); n > 0 {
			pc = p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
		}
		p.mu.Unlock()
		if pc == nil {
			break
		}
		if pc.conn.IsClosed() || p.expired(pc, time.Now()) {
			p.closeConn(pc)
			continue
		}
		if time.Since(pc.released) > p.pingAfter {
			pctx, cancel := context.WithTimeout(ctx, p.pingTimeout)
			err := pc.conn.Ping(pctx)
			cancel()
			if err != nil {
				p.closeConn(pc)
				if ctx.Err() != nil {
					<-p.sem
					return nil, fmt.Errorf("postgres: %w", ctx.Err())
				}
				continue
			}
		}
		return pc, nil
	}
	p.mu.Lock()
	lastErr, until := p.dialErr, p.dialFailedUntil
	p.mu.Unlock()
	if lastErr != nil && time.Now().Before(until) {
		// A connection attempt failed moments ago: fail at once rather
		// than queue every caller behind another attempt that will most
		// likely time out too.
		<-p.sem
		return nil, fmt.Errorf("postgres: database unreachable (retrying in %v): %w: %w",
			time.Until(until).Round(time.Millisecond), meetings.ErrUnavailable, lastErr)
	}
	conn, err := pgx.ConnectConfig(ctx, p.cfg)
	p.mu.Lock()
	switch {
	case err == nil:
		p.dialErr = nil
	case ctx.Err() == nil:
		p.dialErr, p.dialFailedUntil = err, time.Now().Add(p.dialBackoff)
	}
	p.mu.Unlock()
	if err != nil {
		<-p.sem
		return nil, err
	}
	return &poolConn{conn: conn, created: time.Now()}, nil
}

// release hands a connection back, or closes it if it is no longer fit for
// reuse.
func (p *pool) release(pc *poolConn) {
	defer func() { <-p.sem }()
	now := time.Now()
	if pc.conn.IsClosed() || pc.conn.PgConn().IsBusy() || pc.conn.PgConn().TxStatus() != 'I' || p.expired(pc, now) {
		p.closeConn(pc)
		return
	}
	pc.released = now
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.closeConn(pc)
		return
	}
	p.idle = append(p.idle, pc)
	p.mu.Unlock()
}

func (p *pool) expired(pc *poolConn, now time.Time) bool {
	return p.maxLifetime > 0 && now.Sub(pc.created) > p.maxLifetime
}

func (p *pool) closeConn(pc *poolConn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	pc.conn.Close(ctx)
}

// flushIdle closes every idle connection. Called when a connection turns
// out to have been closed by the server (a restart, a failover,
// pg_terminate_backend): the other idle ones most likely were too, and
// each would otherwise cost a failed round trip.
func (p *pool) flushIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, pc := range idle {
		p.closeConn(pc)
	}
}

// janitor closes connections idle for longer than maxIdleTime, so that a
// node gives back connections it no longer needs.
func (p *pool) janitor() {
	defer close(p.done)
	if p.maxIdleTime <= 0 {
		<-p.stop
		return
	}
	t := time.NewTicker(max(p.maxIdleTime/4, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			var stale []*poolConn
			p.mu.Lock()
			keep := p.idle[:0]
			for _, pc := range p.idle {
				if now.Sub(pc.released) > p.maxIdleTime || p.expired(pc, now) {
					stale = append(stale, pc)
				} else {
					keep = append(keep, pc)
				}
			}
			clear(p.idle[len(keep):])
			p.idle = keep
			p.mu.Unlock()
			for _, pc := range stale {
				p.closeConn(pc)
			}
		}
	}
}

// close closes the idle connections and makes acquire fail; connections in
// use are closed when released.
func (p *pool) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	var errs []error
	for _, pc := range idle {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		errs = append(errs, pc.conn.Close(ctx))
		cancel()
	}
	return errors.Join(errs...)
}
