package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ErrSchemaTooNew is returned by Open when the database was migrated by a
// newer Carillon: its schema version is above the newest this code knows.
var ErrSchemaTooNew = errors.New("postgres: database schema is newer than this version of Carillon supports")

// migrationLockKey is the pg_advisory_xact_lock key that serializes
// migrations between nodes starting at the same moment (advisory locks are
// scoped to one database). Arbitrary, fixed forever: "carillon" in ASCII.
const migrationLockKey int64 = 0x636172696c6c6f6e

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one file of migrations/: NNNN_name.sql brings the schema from
// version NNNN-1 to NNNN. Append only: never edit a released migration.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations are the embedded migrations in version order; loadMigrations
// checks that they are numbered 1..N without gaps.
var migrations = mustLoadMigrations()

func mustLoadMigrations() []migration {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		panic(err)
	}
	return ms
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("postgres: migration %s: name must be NNNN_description.sql", base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("postgres: migrations must be numbered 1..N without gaps; %s is number %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the newest schema version this code knows.
func SchemaVersion() int { return len(migrations) }

// migrate brings the schema up to date in one transaction that holds a
// transaction-scoped advisory lock: nodes starting together queue on the
// lock, the first applies the missing migrations, the others then find
// nothing to do. PostgreSQL DDL is transactional, so a failed migration
// leaves the schema as it was.
func (s *Store) migrate(ctx context.Context) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return classify(ctx, err)
	}
	defer c.Release()

	tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", classify(ctx, err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// A migration may legitimately outlast the per-statement limits that
	// protect request traffic; Open's ctx bounds it instead.
	for _, q := range []string{
		`SET LOCAL statement_timeout = 0`,
		`SET LOCAL lock_timeout = 0`,
		`SELECT pg_advisory_xact_lock($1)`,
		`CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = []any{migrationLockKey}
		}
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return fmt.Errorf("postgres: migrate: %w", classify(ctx, err))
		}
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("postgres: migrate: %w", classify(ctx, err))
	}
	if current > len(migrations) {
		return fmt.Errorf("%w: the database has schema version %d, this code knows up to %d", ErrSchemaTooNew, current, len(migrations))
	}
	for _, m := range migrations[current:] {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.name, classify(ctx, err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.name, classify(ctx, err))
		}
		s.log.Info("postgres schema migrated", "version", m.version, "migration", m.name)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", classify(ctx, err))
	}
	return nil
}
