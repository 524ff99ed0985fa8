package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/access"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

func schemaVersion(t *testing.T, s *Store) int {
	t.Helper()
	var v int
	if err := s.r.QueryRow(`SELECT max(version) FROM schema_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A database written by the version-1 code (meetings only) migrates to
// version 2 on Open and keeps its meetings.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	id := storetest.NewID()
	created := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	for _, q := range []string{
		`CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`,
		migrations[0],
		`INSERT INTO schema_version (version, applied_at) VALUES (1, 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("version 1 schema: %v", err)
		}
	}
	if _, err := db.Exec(`INSERT INTO meetings (id, account, arn, external_meeting_id, meeting_host_id, media_region,
		primary_meeting_id, features, network_type, created_at, token_hash, request_hash, version, batch_version, transcribing)
		VALUES (?, 'acct', 'arn', '', '', 'us-east-1', '', '{}', '', ?, '', '', 1, 0, 0)`, id, created.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openDir(t, dir)
	if v := schemaVersion(t, s); v != len(migrations) || v < 2 {
		t.Errorf("schema version after Open = %d (code knows %d), want at least 2", v, len(migrations))
	}
	events := []meetings.Event{{MeetingID: id, Time: created, RequestID: "r", Type: "MeetingCreated", Data: []byte(`{}`)}}
	err = s.Update(ctx, func(tx meetings.Tx) error {
		h := tx.(meetings.HistoryTx)
		if n, err := h.CountMeetings(ctx, "acct", created); err != nil || n != 1 {
			t.Errorf("CountMeetings of the version-1 meeting = %d, %v; want 1", n, err)
		}
		return h.AppendEvents(ctx, events)
	})
	if err != nil {
		t.Fatal(err)
	}
	key := access.Key{AccessKeyID: "AKIA1", Name: "k", SealedSecret: []byte{1}, CreatedAt: created}
	if err := s.InsertKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened: nothing to migrate, everything kept.
	s = openDir(t, dir)
	defer s.Close()
	if v := schemaVersion(t, s); v != len(migrations) {
		t.Errorf("schema version after reopen = %d, want %d", v, len(migrations))
	}
	err = s.View(ctx, func(tx meetings.ReadTx) error {
		if _, err := tx.Meeting(ctx, id); err != nil {
			return err
		}
		got, err := tx.(meetings.HistoryReadTx).Events(ctx, id, 0, 10)
		if len(got) != 1 || got[0].Seq != events[0].Seq {
			t.Errorf("Events after reopen = %+v, want seq %d", got, events[0].Seq)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Key(ctx, key.AccessKeyID); err != nil {
		t.Errorf("Key after reopen: %v", err)
	}
}

// Seqs stay increasing across a reopen, even when the newest events were
// the last rows (AUTOINCREMENT persists the high-water mark).
func TestEventSeqSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	appendOne := func(s *Store) int64 {
		t.Helper()
		ev := []meetings.Event{{MeetingID: "m", Time: time.Now(), Type: "T"}}
		if err := s.Update(ctx, func(tx meetings.Tx) error { return tx.(meetings.HistoryTx).AppendEvents(ctx, ev) }); err != nil {
			t.Fatal(err)
		}
		return ev[0].Seq
	}
	s := openDir(t, dir)
	first := appendOne(s)
	if _, err := s.w.Exec(`DELETE FROM events`); err != nil { // as a future retention job might
		t.Fatal(err)
	}
	s.Close()
	s = openDir(t, dir)
	defer s.Close()
	if second := appendOne(s); second <= first {
		t.Errorf("Seq after reopen = %d, want above %d", second, first)
	}
}
