// Package postgres is Carillon's PostgreSQL storage engine, behind the
// meetings.Store interface, for several stateless nodes sharing one database
// (issue 3).
//
// It uses github.com/jackc/pgx/v5, the maintained native PostgreSQL driver:
// binary protocol, automatic prepared-statement caching per connection, and
// typed server errors (*pgconn.PgError with the SQLSTATE), which the engine
// maps to store.ErrDuplicate, store.ErrNoRecord and
// store.ErrUnavailable (see classify).
//
// Concurrency (D10): Update runs in READ COMMITTED; LockMeeting is
// SELECT ... FOR UPDATE, so writers of one meeting serialize on its row lock
// across connections and nodes while writers of different meetings do not
// contend. Unique keys (meeting id, ClientRequestToken hash per account,
// attendee id and ExternalUserId per meeting) are enforced by unique indexes,
// so a race between nodes ends in ErrDuplicate for the loser. Transactions
// that PostgreSQL aborts to break a deadlock or a serialization conflict run
// again. View runs in a REPEATABLE READ READ ONLY transaction: one snapshot
// for all its reads.
//
// Connections: a pgxpool.Pool (pgx's maintained pool). It pings a
// connection idle for more than a second before handing it out, destroys
// connections that broke or were released inside a transaction, retires
// them after MaxConnLifetime and MaxConnIdleTime, and dials new ones on
// demand.
//
// Faults: connections are dialled with a bounded timeout and every session
// has statement and lock timeouts, so when the database is unreachable or
// restarting calls fail fast with an error that matches
// store.ErrUnavailable instead of hanging (see also dialGate); new
// connections are dialled on demand, so the engine recovers by itself when
// the database is back.
//
// Durability: Update returns nil only after COMMIT succeeded, i.e. (with
// PostgreSQL's default synchronous_commit=on) after the commit record is
// flushed to the server's WAL.
//
// Schema: versioned migrations embedded from migrations/, applied by Open
// (see migrate).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlrow"
)

// Defaults for the zero values of Options.
const (
	DefaultConnectTimeout   = 2 * time.Second
	DefaultStatementTimeout = 3 * time.Second
	DefaultLockTimeout      = 2 * time.Second
	// DefaultOperationTimeout bounds a whole call on the client side. It is
	// what makes a call fail fast when the network to the database goes
	// silent: statement_timeout is enforced by the unreachable server, and a
	// connection released moments ago is handed out without a ping.
	DefaultOperationTimeout = 4 * time.Second
	DefaultMaxConnLifetime  = time.Hour
	DefaultMaxConnIdleTime  = 5 * time.Minute

	// pingIdleTimeout bounds the liveness ping of a connection that sat
	// idle for more than a second, before it is handed out.
	pingIdleTimeout = 2 * time.Second

	// dialBackoff: after a failed connection attempt, callers that would
	// dial fail at once for this long (see dialGate).
	dialBackoff = 250 * time.Millisecond

	// closeWait bounds how long Close waits for connections to close.
	closeWait = 2 * time.Second

	// idleInTransactionTimeout ends a session that sits in an open
	// transaction (a stuck or partitioned node) so that it cannot hold a
	// meeting's row lock forever.
	idleInTransactionTimeout = time.Minute
)

// maxRetries bounds how many times Update runs fn again after a deadlock or
// serialization failure (or a stale connection at BEGIN).
const maxRetries = 4

// Options configures Open.
type Options struct {
	// URL is the database, as a postgres:// URL or a key=value DSN (see
	// pgxpool.ParseConfig). Parameters in it (sslmode, search_path,
	// target_session_attrs=read-write, default_query_exec_mode, ...) apply;
	// of pgxpool's pool_* parameters, those that the fields below also set
	// (pool_max_conns, pool_max_conn_lifetime, pool_max_conn_idle_time,
	// pool_health_check_period, pool_ping_timeout) are overridden by them.
	URL string
	// OnCommit, when set, is called after each committed write transaction
	// with 1 (PostgreSQL commits every Update on its own) and how long
	// COMMIT took (metrics). It must be quick.
	OnCommit func(groupSize int, d time.Duration)
	// Logger receives start-up, migration, retry and shutdown messages; nil
	// discards them.
	Logger *slog.Logger
	// MaxConns bounds the connections this node opens; 0 means
	// max(8, 2*GOMAXPROCS). Mind the server's max_connections times the
	// number of nodes.
	MaxConns int
	// ConnectTimeout bounds one connection attempt; 0 means the URL's
	// connect_timeout if it has one, else DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// StatementTimeout and LockTimeout are the sessions' statement_timeout
	// and lock_timeout; 0 means the default, negative means none (the
	// server's setting). A statement or lock wait that runs out fails with
	// ErrUnavailable.
	StatementTimeout time.Duration
	LockTimeout      time.Duration
	// OperationTimeout bounds one Update or View (all its attempts) on the
	// client side when ctx has no earlier deadline: it covers what server
	// timeouts cannot, such as a network partition in the middle of a
	// query. 0 means DefaultOperationTimeout, negative means none.
	OperationTimeout time.Duration
	// MaxConnLifetime and MaxConnIdleTime retire connections; 0 means the
	// default, negative means never.
	MaxConnLifetime time.Duration
	MaxConnIdleTime time.Duration
}

// Store is the PostgreSQL engine. It implements meetings.Store.
type Store struct {
	pool        *pgxpool.Pool
	log         *slog.Logger
	opTimeout   time.Duration
	onCommit    func(groupSize int, d time.Duration) // nil: none
	pingTimeout time.Duration

	calls store.Gate // admits calls until Close
}

var _ meetings.Store = (*Store)(nil)

// Open connects to the database and brings its schema up to date (see
// migrate). It fails with ErrSchemaTooNew if the database was migrated by a
// newer Carillon, and with an error matching store.ErrUnavailable if the
// database cannot be reached within the connect timeout.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.URL == "" {
		return nil, errors.New("postgres: Options.URL is required")
	}
	pcfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err) // pgx redacts the password
	}
	cfg := pcfg.ConnConfig
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case opts.ConnectTimeout > 0:
		cfg.ConnectTimeout = opts.ConnectTimeout
	case cfg.ConnectTimeout == 0:
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	setParam := func(name string, d, def time.Duration) {
		switch {
		case d < 0:
		case d == 0 && cfg.RuntimeParams[name] != "":
		default:
			if d == 0 {
				d = def
			}
			cfg.RuntimeParams[name] = strconv.FormatInt(max(d.Milliseconds(), 1), 10)
		}
	}
	setParam("statement_timeout", opts.StatementTimeout, DefaultStatementTimeout)
	setParam("lock_timeout", opts.LockTimeout, DefaultLockTimeout)
	setParam("idle_in_transaction_session_timeout", 0, idleInTransactionTimeout)
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "carillon"
	}
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = max(8, 2*runtime.GOMAXPROCS(0))
	}
	pcfg.MaxConns = int32(min(maxConns, math.MaxInt32))
	pcfg.MaxConnLifetime = orDefault(opts.MaxConnLifetime, DefaultMaxConnLifetime) // 0: never (pgxpool)
	pcfg.MaxConnIdleTime = orDefault(opts.MaxConnIdleTime, DefaultMaxConnIdleTime)
	if pcfg.MaxConnIdleTime == 0 {
		pcfg.MaxConnIdleTime = math.MaxInt64 // pgxpool: 0 would close every idle connection
	} else {
		// The health check retires idle connections; run it often enough
		// that they go within about a quarter of MaxConnIdleTime.
		pcfg.HealthCheckPeriod = max(pcfg.MaxConnIdleTime/4, 100*time.Millisecond)
	}
	pcfg.PingTimeout = pingIdleTimeout
	gate := &dialGate{backoff: dialBackoff}
	pcfg.BeforeConnect = gate.beforeConnect
	cfg.Tracer = gate
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{
		log:         log,
		opTimeout:   orDefault(opts.OperationTimeout, DefaultOperationTimeout),
		pingTimeout: cfg.ConnectTimeout + time.Second,
		pool:        pool,
		onCommit:    opts.OnCommit,
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	log.Info("postgres store open", "host", cfg.Host, "port", cfg.Port, "database", cfg.Database,
		"schema_version", len(migrations), "max_conns", maxConns)
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return def
	}
	return d
}

var errPoolClosed = fmt.Errorf("postgres: store is closed: %w", store.ErrUnavailable)

// enter registers a call in flight, or fails once Close has begun.
func (s *Store) enter() error {
	if !s.calls.Enter() {
		return errPoolClosed
	}
	return nil
}

// bound applies OperationTimeout to ctx unless ctx ends earlier.
func (s *Store) bound(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return ctx, func() {}
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, d, errOperationTimeout)
}

// errOperationTimeout is the cause of a context that bound cut short: the
// engine's own limit ran out, so the database is too slow or unreachable.
var errOperationTimeout = fmt.Errorf("postgres: operation timed out: %w (%w)", store.ErrUnavailable, context.DeadlineExceeded)

var (
	writeTxOptions = pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite}
	readTxOptions  = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
)

// Update implements meetings.Store: fn runs in a READ COMMITTED transaction
// that commits when fn returns nil. An error from fn is returned unchanged
// after rolling back; a panic in fn is rolled back and returned as an error
// (runFn). If PostgreSQL aborted the transaction for a deadlock
// or a serialization failure, fn runs again (at most maxRetries times).
func (s *Store) Update(ctx context.Context, fn func(tx meetings.Tx) error) error {
	return s.run(ctx, writeTxOptions, func(t *tx) error { return fn(t) })
}

// View implements meetings.Store: fn runs in a REPEATABLE READ READ ONLY
// transaction, so all its reads see one snapshot. An error from fn is
// returned unchanged.
func (s *Store) View(ctx context.Context, fn func(tx meetings.ReadTx) error) error {
	return s.run(ctx, readTxOptions, func(t *tx) error { return fn(t) })
}

func (s *Store) run(ctx context.Context, opts pgx.TxOptions, fn func(*tx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.calls.Leave()
	ctx, cancel := s.bound(ctx, s.opTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		retry, err := s.attempt(ctx, opts, fn)
		if err == nil || !retry || attempt >= maxRetries || ctx.Err() != nil {
			return err
		}
		s.log.Warn("postgres transaction aborted; retrying", "attempt", attempt+1, "err", err)
		// Jittered exponential backoff: 5 ms, 10 ms, 20 ms, ... so that
		// the transactions that collided do not collide again.
		d := time.Duration(5<<attempt) * time.Millisecond
		d = d/2 + rand.N(d)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
	}
}

// attempt runs fn once; retry reports whether running it again may succeed.
func (s *Store) attempt(ctx context.Context, opts pgx.TxOptions, fn func(*tx) error) (retry bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		// The pool already dialled with a bounded timeout: fail fast.
		return false, classify(ctx, err)
	}
	defer conn.Release() // destroys the connection if it broke or is still in a transaction
	ptx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		// BEGIN has no effect, so a connection that broke under it (the
		// server restarted or ended the session since the connection was
		// last used) may simply be replaced.
		broken := ctx.Err() == nil && (connectionError(err) || conn.Conn().IsClosed())
		if broken {
			s.flushIdle()
		}
		return broken, classify(ctx, err)
	}
	t := &tx{tx: ptx}
	if err := s.runFn(ctx, t, fn); err != nil {
		rollback(ctx, ptx)
		return t.retry && !errors.Is(err, store.ErrAborted), err
	}
	if opts.AccessMode == pgx.ReadOnly {
		// Nothing to commit; ending the transaction either way is the same.
		err = ptx.Rollback(ctx)
	} else {
		commitStart := time.Now()
		err = ptx.Commit(ctx)
		if s.onCommit != nil && err == nil {
			s.onCommit(1, time.Since(commitStart))
		}
	}
	if err != nil {
		if errors.Is(err, pgx.ErrTxCommitRollback) {
			// fn ignored a failed statement and returned nil: the
			// transaction was aborted, nothing was written.
			return false, fmt.Errorf("postgres: transaction aborted by an earlier error that was not returned: %w", err)
		}
		// A commit that fails on a lost connection has an unknown outcome:
		// it is reported (ErrUnavailable), never silently run again.
		return retryable(err), classify(ctx, err)
	}
	return false, nil
}

// runFn runs fn on the caller's goroutine. A panic in fn is returned as an
// error matching store.ErrAborted (attempt rolls back). On runtime.Goexit
// the transaction is rolled back here and the goroutine ends as Goexit
// demands; the deferred Release and calls.Leave still run, so the store
// serves on.
func (s *Store) runFn(ctx context.Context, t *tx, fn func(*tx) error) error {
	return store.CallAborting(s.log, "postgres", func() error { return fn(t) }, func(error) { rollback(ctx, t.tx) })
}

// rollback ends a failed transaction, even once ctx has ended. On failure
// pgx closes the connection and Release destroys it.
func rollback(ctx context.Context, ptx pgx.Tx) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	ptx.Rollback(rctx)
}

// ReadAttendee implements meetings.Store: one SELECT in autocommit (READ
// COMMITTED: the statement sees one snapshot), no BEGIN/COMMIT round trips.
// A connection that the server had closed is replaced once, as a read can
// safely run again.
func (s *Store) ReadAttendee(ctx context.Context, meetingID, attendeeID string) (meetings.MeetingRecord, meetings.AttendeeRecord, bool, error) {
	if err := s.enter(); err != nil {
		return meetings.MeetingRecord{}, meetings.AttendeeRecord{}, false, err
	}
	defer s.calls.Leave()
	ctx, cancel := s.bound(ctx, s.opTimeout)
	defer cancel()
	m, a, found, err := s.readAttendee(ctx, meetingID, attendeeID)
	if err != nil && ctx.Err() == nil && errors.Is(err, errBrokenConn) {
		m, a, found, err = s.readAttendee(ctx, meetingID, attendeeID)
	}
	if err != nil {
		return meetings.MeetingRecord{}, meetings.AttendeeRecord{}, false, classify(ctx, err)
	}
	return m, a, found, nil
}

func (s *Store) readAttendee(ctx context.Context, meetingID, attendeeID string) (meetings.MeetingRecord, meetings.AttendeeRecord, bool, error) {
	var none meetings.AttendeeRecord
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return meetings.MeetingRecord{}, none, false, err
	}
	defer conn.Release()
	var r sqlrow.ReadAttendeeRow
	err = conn.QueryRow(ctx, qReadAttendee, meetingID, attendeeID).Scan(r.Dest()...)
	if err != nil {
		if ctx.Err() == nil && conn.Conn().IsClosed() {
			s.flushIdle()
			return meetings.MeetingRecord{}, none, false, fmt.Errorf("%w: %w", errBrokenConn, err)
		}
		return meetings.MeetingRecord{}, none, false, err
	}
	return r.Records(dialect)
}

// Ping implements meetings.Store: nil when the database answers and
// accepts writes; an error matching store.ErrUnavailable when it is
// unreachable, restarting, or a read-only standby. It is bounded by the
// connect timeout plus one second when ctx has no earlier deadline.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.calls.Leave()
	ctx, cancel := s.bound(ctx, s.pingTimeout)
	defer cancel()
	standby, err := s.ping(ctx)
	if err != nil && ctx.Err() == nil && errors.Is(err, errBrokenConn) {
		// The server ended the session of an idle connection; one more
		// try on a new connection tells whether it is still there.
		standby, err = s.ping(ctx)
	}
	if err != nil {
		return unavailable(ctx, err)
	}
	if standby {
		return fmt.Errorf("postgres: %w: the server is a read-only standby", store.ErrUnavailable)
	}
	return nil
}

// errBrokenConn marks a failure on a connection that the failure closed.
var errBrokenConn = errors.New("connection closed")

func (s *Store) ping(ctx context.Context) (standby bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	if err := conn.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&standby); err != nil {
		if conn.Conn().IsClosed() {
			s.flushIdle()
			return false, fmt.Errorf("%w: %w", errBrokenConn, err)
		}
		return false, err
	}
	return standby, nil
}

// flushIdle is called when a connection turns out to have been closed by
// the server (a restart, a failover, pg_terminate_backend): the others most
// likely were too, and each would otherwise cost a failed round trip. The
// idle ones are closed now, the ones in use when they are released.
func (s *Store) flushIdle() { s.pool.Reset() }

// unavailable classifies err and makes sure that it matches ErrUnavailable:
// for readiness, any failure (even a timeout of the caller's context)
// means "not ready".
func unavailable(ctx context.Context, err error) error {
	err = classify(ctx, err)
	if errors.Is(err, store.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("postgres: %w: %w", store.ErrUnavailable, err)
}

// Close implements meetings.Store: it stops accepting calls, waits for the
// ones in flight and closes the connections. Every committed write is
// already durable in the database. Close is idempotent.
func (s *Store) Close() error {
	if !s.calls.Close() {
		return nil
	}
	// pgxpool.Pool.Close waits until every connection is closed, and
	// closing a connection that a cancelled query broke waits for its
	// cancel request, up to 15 s when the database does not answer (a
	// partition). Nothing is left to write by now: do not hold up shutdown
	// longer than closeWait for that; the connections finish closing in
	// the background.
	closed := make(chan struct{})
	go func() {
		s.pool.Close()
		close(closed)
	}()
	select {
	case <-closed:
		s.log.Info("postgres store closed")
	case <-time.After(closeWait):
		s.log.Warn("postgres store closed; connections still closing in the background", "waited", closeWait)
	}
	return nil
}
