// Package sqlite is Carillon's embedded storage engine: one SQLite database
// file (carillon.db) in a data directory, behind the meetings.Store interface.
//
// It uses the pure-Go driver modernc.org/sqlite through database/sql: no cgo,
// so `go run` and `go test` work on a machine that has only Go.
//
// Concurrency (D10): all writes go through one dedicated writer connection
// (a database/sql pool capped at one connection), owned by one writer
// goroutine, and every write transaction starts with BEGIN IMMEDIATE, so
// Update calls serialize, in this process and against any other process
// opening the same file. The writer commits the Update calls that queued
// while it was busy in one transaction, each in its own savepoint (group
// commit, see group.go). Reads run concurrently on a
// separate pool of query-only connections; in WAL mode they see a consistent
// snapshot and neither block nor are blocked by the writer.
//
// Durability: WAL with synchronous=FULL, so a write is on disk (fsynced)
// when Update returns nil; a group of Updates shares one fsync.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	msqlite "modernc.org/sqlite"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlrow"
)

// FileName is the name of the database file inside Options.Dir.
const FileName = "carillon.db"

// LockFileName is the file in Options.Dir that a running store holds an
// exclusive lock on (on Unix).
const LockFileName = "carillon.lock"

// ErrDirInUse is returned by Open when another process has the data
// directory open.
var ErrDirInUse = errors.New("in use by another Carillon process")

// busyTimeout is how long a connection waits for a lock held by another
// connection (another process, or a checkpoint) before SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// maxBusyRetries bounds how many times Update runs a transaction again after
// SQLITE_BUSY outlasted busyTimeout.
const maxBusyRetries = 3

// ErrSchemaTooNew is returned by Open for a database written by a newer
// Carillon: its schema version is above the newest this code knows.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this version of Carillon supports")

// errClosed is returned by every method once Close has begun.
var errClosed = fmt.Errorf("sqlite: store is closed: %w", store.ErrUnavailable)

// Options configures Open.
type Options struct {
	// Dir is the data directory; it is created (0700) when missing and holds
	// carillon.db and its WAL files.
	Dir string
	// InMemory gives a throwaway store for tests: the database lives in a
	// private temporary directory that Close removes. Dir must be empty.
	//
	// A temporary file, rather than SQLite's shared-cache in-memory database
	// (file:x?mode=memory&cache=shared), keeps the engine identical to the
	// durable one: shared-cache memory databases cannot use WAL and lock
	// whole tables, so a reader running beside the writer fails at once with
	// SQLITE_LOCKED (which busy_timeout does not cover) instead of reading
	// its snapshot. Only fsync is skipped (synchronous=OFF).
	InMemory bool
	// Logger receives start-up, migration and shutdown messages; nil
	// discards them.
	Logger *slog.Logger
	// LiveAttendees bounds the live state (live.go): how many attendees,
	// with their meetings, are kept in memory. 0 keeps none: the live state
	// is off and every read is SQL. DefaultLiveAttendees is carillon
	// serve's default.
	LiveAttendees int
	// OnCommit, when set, is called by the writer after each COMMIT with
	// the number of Update calls it committed and how long COMMIT took
	// (metrics). It must be quick.
	OnCommit func(groupSize int, d time.Duration)
}

// Store is the SQLite engine. It implements meetings.Store.
type Store struct {
	w       *sql.DB // one connection: the writer
	r       *sql.DB // query-only readers
	wStmts  stmtCache
	rStmts  stmtCache
	log     *slog.Logger
	path    string
	tempDir string       // InMemory: removed by Close
	unlock  func() error // releases the data directory lock
	live    *liveState   // nil when off
	loads   chan string  // meetings readers want loaded; nil when live is nil

	calls store.Gate // admits calls until Close

	queue      chan *request // Update -> writer goroutine
	writerDone chan struct{} // closed when the writer goroutine ends
	carry      []*request    // writer only: requests for the next group
	exited     *goexit       // writer only: set when a fn calls runtime.Goexit
	stats      writerStats
	onCommit   func(groupSize int, d time.Duration) // nil: none
}

var _ meetings.Store = (*Store)(nil)

// Open opens (creating when needed) the database and brings its schema up
// to date. It fails with ErrSchemaTooNew if the database is newer than the
// code.
func Open(ctx context.Context, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{log: log, onCommit: opts.OnCommit}
	syncMode := "FULL"
	switch {
	case opts.InMemory && opts.Dir != "":
		return nil, errors.New("sqlite: Options.Dir and Options.InMemory are exclusive")
	case opts.InMemory:
		dir, err := os.MkdirTemp("", "carillon-sqlite-")
		if err != nil {
			return nil, fmt.Errorf("sqlite: temporary directory: %w", err)
		}
		s.tempDir = dir
		s.path = filepath.Join(dir, FileName)
		syncMode = "OFF"
	case opts.Dir != "":
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: data directory: %w", err)
		}
		abs, err := filepath.Abs(filepath.Join(opts.Dir, FileName))
		if err != nil {
			return nil, fmt.Errorf("sqlite: data directory: %w", err)
		}
		s.path = abs
	default:
		return nil, errors.New("sqlite: Options.Dir is required (or InMemory)")
	}
	// An InMemory store's directory is private to this process already.
	exclusive := opts.InMemory
	if !opts.InMemory {
		unlock, ok, err := lockDir(filepath.Dir(s.path))
		if err != nil {
			return nil, err
		}
		s.unlock, exclusive = unlock, ok
	}
	if opts.LiveAttendees < 0 {
		return nil, fmt.Errorf("sqlite: Options.LiveAttendees is %d, want 0 or more", opts.LiveAttendees)
	}
	if exclusive && opts.LiveAttendees > 0 {
		s.live = newLiveState(opts.LiveAttendees)
		s.loads = make(chan string, loadQueue)
	}
	if err := s.open(ctx, syncMode); err != nil {
		s.closeDBs()
		if s.tempDir != "" {
			os.RemoveAll(s.tempDir)
		}
		if s.unlock != nil {
			s.unlock()
		}
		return nil, err
	}
	s.queue = make(chan *request, queueSize)
	s.writerDone = make(chan struct{})
	go s.writer()
	log.Info("sqlite store open", "path", s.path, "schema_version", len(migrations), "in_memory", opts.InMemory)
	return s, nil
}

func (s *Store) open(ctx context.Context, synchronous string) error {
	busy := fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds())
	// The writer comes first: it switches the file to WAL (a persistent
	// setting) before any reader connects.
	wq := url.Values{
		"_pragma": {busy, "foreign_keys(1)", "journal_mode(WAL)", "synchronous(" + synchronous + ")"},
		"_txlock": {"immediate"},
	}
	w, err := sql.Open("sqlite", s.dsn(wq))
	if err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	s.w = w
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", s.path, err)
	}
	if mode != "wal" {
		return fmt.Errorf("sqlite: open %s: journal_mode is %q, want wal", s.path, mode)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}

	rq := url.Values{
		"_pragma": {busy, "query_only(1)"},
		"_txlock": {"deferred"},
	}
	r, err := sql.Open("sqlite", s.dsn(rq))
	if err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	s.r = r
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", s.path, err)
	}

	if s.wStmts, err = prepare(ctx, w, append(readQueries[:len(readQueries):len(readQueries)], writeQueries...)); err != nil {
		return err
	}
	if s.rStmts, err = prepare(ctx, r, readQueries); err != nil {
		return err
	}
	return nil
}

func (s *Store) dsn(q url.Values) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(s.path), RawQuery: q.Encode()}).String()
}

// migrate applies the missing migrations in one write transaction.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
	version    INTEGER NOT NULL PRIMARY KEY,
	applied_at INTEGER NOT NULL -- Unix microseconds, UTC
) STRICT`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("%w: %s has schema version %d, this code knows up to %d", ErrSchemaTooNew, s.path, current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("sqlite: migration %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`, v, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("sqlite: migration %d: %w", v, err)
		}
		s.log.Info("sqlite schema migrated", "path", s.path, "version", v)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// enter registers a call in flight, or fails once Close has begun.
func (s *Store) enter() error {
	if !s.calls.Enter() {
		return errClosed
	}
	return nil
}

// Update runs fn in a write transaction on the writer connection (BEGIN
// IMMEDIATE); see meetings.Store. An error from fn is returned unchanged, and
// only fn's own writes are rolled back: the transaction may be shared with
// other Update calls (group commit, see group.go), each of which sees the
// writes of those before it. nil is returned once the transaction has
// committed (fsynced). If SQLite stays busy past the busy timeout (another
// process holds the write lock), the transaction runs again, at most
// maxBusyRetries times.
//
// fn runs on the writer goroutine, not the caller's. A panic or a
// runtime.Goexit in fn rolls back fn's writes and fails the Update with an
// error matching store.ErrAborted; the store serves on (see group.go). Statements in fn check ctx when they start but are not
// interrupted by it. ctx ending before fn starts fails the Update with
// ctx.Err() and fn never runs; once fn has started, Update waits for the
// commit.
//
// There is one writer: an Update (or a View, which is fine) must not call
// Update from inside fn; it would wait for itself until ctx ends.
func (s *Store) Update(ctx context.Context, fn func(tx meetings.Tx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.calls.Leave()
	return s.submit(ctx, fn)
}

// View runs fn in a read-only transaction on a reader connection. The
// snapshot is taken at the first read and holds until fn returns. Like the
// writer's, the transaction is detached (see tx.detached): each statement
// checks ctx when it starts and is not interrupted by it.
func (s *Store) View(ctx context.Context, fn func(tx meetings.ReadTx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.calls.Leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	sqlTx, err := s.r.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return mapErr(err)
	}
	defer sqlTx.Rollback()
	return fn(readTx{&tx{tx: sqlTx, stmts: s.rStmts, detached: true}})
}

// ReadAttendee implements meetings.Store: one prepared SELECT on a reader
// connection, in autocommit (SQLite reads one snapshot per statement).
func (s *Store) ReadAttendee(ctx context.Context, meetingID, attendeeID string) (meetings.MeetingRecord, meetings.AttendeeRecord, bool, error) {
	var none meetings.AttendeeRecord
	if err := s.enter(); err != nil {
		return meetings.MeetingRecord{}, none, false, err
	}
	defer s.calls.Leave()
	if err := ctx.Err(); err != nil {
		return meetings.MeetingRecord{}, none, false, err
	}
	// A live answer shares its pointers and slices (Batch, Features, ...)
	// with the live state: callers only read them, as the domain does.
	if s.live != nil {
		if m, a, found, held := s.live.get(meetingID, attendeeID); held {
			return m, a, found, nil
		}
	}
	// Detached like View: no watcher goroutines for one bounded SELECT.
	rows, err := s.rStmts[qReadAttendee].QueryContext(context.Background(), meetingID, attendeeID)
	if err != nil {
		return meetings.MeetingRecord{}, none, false, mapErr(err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return meetings.MeetingRecord{}, none, false, mapErr(err)
		}
		return meetings.MeetingRecord{}, none, false, fmt.Errorf("sqlite: meeting: %w", store.ErrNoRecord)
	}
	var r sqlrow.ReadAttendeeRow
	if err := rows.Scan(r.Dest()...); err != nil {
		return meetings.MeetingRecord{}, none, false, mapErr(err)
	}
	if err := rows.Close(); err != nil {
		return meetings.MeetingRecord{}, none, false, mapErr(err)
	}
	m, a, found, err := r.Records(dialect)
	if err == nil && s.live != nil {
		select {
		case s.loads <- m.ID: // the writer loads it (live.go)
		default:
		}
	}
	return m, a, found, err
}

// Ping reports whether the database answers; ErrUnavailable if not.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.calls.Leave()
	var v int
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("sqlite: ping: %w: %w", store.ErrUnavailable, err)
	}
	return nil
}

// Close stops accepting calls, waits for the ones in flight, checkpoints the
// WAL into the database file and closes it. An InMemory store's directory is
// removed. Close is idempotent.
func (s *Store) Close() error {
	if !s.calls.Close() {
		return nil
	}
	// Every Update has returned; the writer drains what is left in the queue
	// (requests whose callers gave up) and ends.
	close(s.queue)
	<-s.writerDone

	var errs []error
	if s.tempDir == "" {
		if _, err := s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: checkpoint: %w", err))
		}
	}
	errs = append(errs, s.closeDBs())
	if s.tempDir != "" {
		errs = append(errs, os.RemoveAll(s.tempDir))
	}
	if s.unlock != nil {
		errs = append(errs, s.unlock())
	}
	s.log.Info("sqlite store closed", "path", s.path)
	return errors.Join(errs...)
}

func (s *Store) closeDBs() error {
	var errs []error
	for _, c := range []stmtCache{s.rStmts, s.wStmts} {
		for _, st := range c {
			errs = append(errs, st.Close())
		}
	}
	// Readers first: the last connection to close (the writer) checkpoints
	// and removes the WAL.
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// isBusy reports whether err is SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqliteBusy
}
