package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carillon-dev/carillon/internal/access"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

func TestAccountLockKey(t *testing.T) {
	// Fixed forever: nodes of different builds share the lock.
	if got := accountLockKey("111122223333"); got != accountLockKey("111122223333") {
		t.Fatal("accountLockKey is not deterministic")
	}
	if accountLockKey("111122223333") == accountLockKey("444455556666") {
		t.Error("two sample accounts share a lock key")
	}
	if int64(accountLockClass) == migrationLockKey {
		t.Error("account lock class equals the migration lock key")
	}
}

// A database migrated to version 1 by the previous code migrates to the
// current version on Open and keeps its meetings.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	dbURL := freshSchema(t, freshDatabase(t))
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	id := storetest.NewID()
	created := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
		migrations[0].sql,
		`INSERT INTO schema_migrations (version, name) VALUES (1, '` + migrations[0].name + `')`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("version 1 schema: %v", err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO meetings (id, account, arn, external_meeting_id, meeting_host_id, media_region,
		primary_meeting_id, features, network_type, created_at, token_hash, request_hash, version, batch_version, transcribing)
		VALUES ($1, 'acct', 'arn', '', '', 'us-east-1', '', '{}', '', $2, '', '', 1, 0, false)`, id, created); err != nil {
		t.Fatal(err)
	}

	s := openStore(t, Options{URL: dbURL})
	var v int
	if err := conn.QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || v < 2 {
		t.Errorf("schema version after Open = %d (code knows %d), want at least 2", v, SchemaVersion())
	}
	err = s.Update(ctx, func(tx meetings.Tx) error {
		h := tx.(meetings.HistoryTx)
		if err := h.LockAccount(ctx, "acct"); err != nil {
			return err
		}
		if n, err := h.CountMeetings(ctx, "acct", created); err != nil || n != 1 {
			t.Errorf("CountMeetings of the version-1 meeting = %d, %v; want 1", n, err)
		}
		return h.AppendEvents(ctx, []meetings.Event{{MeetingID: id, Time: created, Type: "MeetingCreated"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InsertKey(ctx, access.Key{AccessKeyID: "AKIA1", CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	// A second store on the migrated schema finds nothing to do.
	s2 := openStore(t, Options{URL: dbURL})
	if _, err := s2.Key(ctx, "AKIA1"); err != nil {
		t.Errorf("Key from another store: %v", err)
	}
}

// LockAccount blocks an Update that locks the same account until the holder
// ends, and does not block one that locks another account.
func TestLockAccountBlocks(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{URL: freshSchema(t, freshDatabase(t))})
	locked, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- s.Update(ctx, func(tx meetings.Tx) error {
			if err := tx.(meetings.HistoryTx).LockAccount(ctx, "acct-a"); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	lockIn := func(account string) chan error {
		done := make(chan error, 1)
		go func() {
			done <- s.Update(ctx, func(tx meetings.Tx) error {
				return tx.(meetings.HistoryTx).LockAccount(ctx, account)
			})
		}()
		return done
	}
	other := lockIn("acct-b")
	select {
	case err := <-other:
		if err != nil {
			t.Errorf("LockAccount(other account): %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Error("LockAccount of another account waited for the holder")
	}
	same := lockIn("acct-a")
	select {
	case err := <-same:
		t.Errorf("LockAccount(same account) returned %v while the lock was held", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-same:
		if err != nil {
			t.Errorf("LockAccount(same account) after release: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Error("LockAccount of the same account still waiting after the holder committed")
	}
}

// A lock wait beyond the lock timeout fails with ErrUnavailable.
func TestLockAccountTimeout(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{URL: freshSchema(t, freshDatabase(t)), LockTimeout: 100 * time.Millisecond})
	locked, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- s.Update(ctx, func(tx meetings.Tx) error {
			if err := tx.(meetings.HistoryTx).LockAccount(ctx, "acct"); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	err := s.Update(ctx, func(tx meetings.Tx) error { return tx.(meetings.HistoryTx).LockAccount(ctx, "acct") })
	close(release)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("LockAccount past the lock timeout = %v, want ErrUnavailable", err)
	}
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
}
