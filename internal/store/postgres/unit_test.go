package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// These tests need no database.

func TestClassify(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	pg := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Severity: "ERROR", Code: code}) }
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want error // nil: none of the sentinels
	}{
		{"unique_violation", live, pg("23505"), store.ErrDuplicate},
		{"foreign_key_violation", live, pg("23503"), store.ErrNoRecord},
		{"no rows", live, pgx.ErrNoRows, store.ErrNoRecord},
		{"admin_shutdown", live, pg("57P01"), store.ErrUnavailable},
		{"crash_shutdown", live, pg("57P02"), store.ErrUnavailable},
		{"cannot_connect_now", live, pg("57P03"), store.ErrUnavailable},
		{"too_many_connections", live, pg("53300"), store.ErrUnavailable},
		{"connection_failure", live, pg("08006"), store.ErrUnavailable},
		{"read_only_sql_transaction (standby)", live, pg("25006"), store.ErrUnavailable},
		{"lock_not_available (lock_timeout)", live, pg("55P03"), store.ErrUnavailable},
		{"query_canceled (statement_timeout)", live, pg("57014"), store.ErrUnavailable},
		{"query_canceled by the caller", done, pg("57014"), context.Canceled},
		{"EOF", live, fmt.Errorf("read: %w", io.ErrUnexpectedEOF), store.ErrUnavailable},
		{"reset", live, &net.OpError{Op: "read", Err: syscall.ECONNRESET}, store.ErrUnavailable},
		{"refused", live, syscall.ECONNREFUSED, store.ErrUnavailable},
		{"conn closed", live, pgconn.ErrConnClosed, store.ErrUnavailable},
		{"syntax error", live, pg("42601"), nil},
		{"check_violation", live, pg("23514"), nil},
		{"deadlock_detected", live, pg("40P01"), nil},
		{"other", live, errors.New("boom"), nil},
	}
	sentinels := []error{store.ErrDuplicate, store.ErrNoRecord, store.ErrUnavailable, context.Canceled}
	for _, tc := range tests {
		got := classify(tc.ctx, tc.err)
		if !errors.Is(got, tc.err) && !errors.Is(tc.err, pgx.ErrNoRows) {
			t.Errorf("%s: classify dropped the driver error: %v", tc.name, got)
		}
		for _, s := range sentinels {
			if errors.Is(got, s) != (s == tc.want) {
				t.Errorf("%s: classify = %v; errors.Is(%v) = %v", tc.name, got, s, errors.Is(got, s))
			}
		}
	}
	if !retryable(pg("40P01")) || !retryable(pg("40001")) || retryable(pg("23505")) {
		t.Error("retryable: want true for 40P01 and 40001 only")
	}
}

func TestLoadMigrations(t *testing.T) {
	if len(migrations) == 0 || migrations[0].version != 1 {
		t.Fatalf("embedded migrations = %v", migrations)
	}
	good := fstest.MapFS{
		"migrations/0002_more.sql": {Data: []byte("B")},
		"migrations/0001_init.sql": {Data: []byte("A")},
	}
	ms, err := loadMigrations(good)
	if err != nil || len(ms) != 2 || ms[0].sql != "A" || ms[1].version != 2 {
		t.Errorf("loadMigrations = %v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":      {"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}},
		"dup":      {"migrations/0001_a.sql": {}, "migrations/001_b.sql": {}},
		"bad name": {"migrations/init.sql": {}},
		"zero":     {"migrations/0000_a.sql": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations accepted %v", name, fsys)
		}
	}
}

func TestOpenBadURL(t *testing.T) {
	if _, err := Open(context.Background(), Options{}); err == nil {
		t.Error("Open without URL succeeded")
	}
	if _, err := Open(context.Background(), Options{URL: "postgres://u:secret@[::1"}); err == nil {
		t.Error("Open with a bad URL succeeded")
	}
}
