package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/jackc/pgx/v5"
)

// dialGate makes callers fail at once, for backoff after a failed
// connection attempt, instead of dialling again. pgxpool serves idle
// connections first and dials only when it has none, so the gate, checked
// in pgxpool's BeforeConnect hook, only stops callers that would dial. When
// the database is unreachable, a queue of callers (more than MaxConns) each
// waiting out a connect timeout in turn would otherwise be a hang.
//
// The outcome of every attempt comes from pgx's ConnectTracer hook, which
// runs inside pgxpool's connection constructor, before the attempt's pool
// slot is freed: callers queued for that slot already see the failure.
// pgx.ConnConfig.Tracer must also be a QueryTracer, hence the no-op
// TraceQuery methods.
type dialGate struct {
	backoff time.Duration

	mu    sync.Mutex
	err   error // the last attempt's error; nil after a success
	until time.Time
}

// beforeConnect is pgxpool.Config.BeforeConnect.
func (g *dialGate) beforeConnect(context.Context, *pgx.ConnConfig) error {
	g.mu.Lock()
	err, until := g.err, g.until
	g.mu.Unlock()
	if err != nil && time.Now().Before(until) {
		return fmt.Errorf("postgres: database unreachable (retrying in %v): %w: %w",
			time.Until(until).Round(time.Millisecond), store.ErrUnavailable, err)
	}
	return nil
}

func (g *dialGate) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	return ctx
}

func (g *dialGate) TraceConnectEnd(ctx context.Context, d pgx.TraceConnectEndData) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case d.Err == nil:
		g.err = nil
	case ctx.Err() == nil: // not the pool closing
		g.err, g.until = d.Err, time.Now().Add(g.backoff)
	}
}

func (*dialGate) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (*dialGate) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
