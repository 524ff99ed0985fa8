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

// A database of schema version 2 holds the exclusions of its batches as
// attendee rows pinned at the batch's version; after migration 3 those
// attendees keep their triple, the others the batch's, and a new batch
// carries the pinned triple over into BatchPins.
func TestMigrateFromVersion2KeepsPinnedRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(filepath.Join(dir, FileName))+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	id, pinnedID, otherID := storetest.NewID(), storetest.NewID(), storetest.NewID()
	for _, q := range []string{
		`CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`,
		migrations[0], migrations[1],
		`INSERT INTO schema_version (version, applied_at) VALUES (1, 0), (2, 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("version 2 schema: %v", err)
		}
	}
	// Batch (None, None, None) at version 5; pinnedID was excluded from it.
	if _, err := db.Exec(`INSERT INTO meetings (id, account, arn, external_meeting_id, meeting_host_id, media_region,
		primary_meeting_id, features, network_type, created_at, token_hash, request_hash, version,
		batch_audio, batch_video, batch_content, batch_version, transcribing)
		VALUES (?, 'acct', 'arn', '', '', 'us-east-1', '', '{}', '', 0, '', '', 5, 'None', 'None', 'None', 5, 0)`, id); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct {
		id      string
		version int
	}{{pinnedID, 5}, {otherID, 1}} {
		if _, err := db.Exec(`INSERT INTO attendees (meeting_id, id, external_user_id, join_token, caps_audio, caps_video, caps_content, caps_version)
			VALUES (?, ?, ?, 'jt', 'SendReceive', 'SendReceive', 'None', ?)`, id, a.id, a.id, a.version); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openDir(t, dir)
	defer s.Close()
	own := meetings.Capabilities{Audio: meetings.SendReceive, Video: meetings.SendReceive, Content: meetings.None}
	none := meetings.Capabilities{Audio: meetings.None, Video: meetings.None, Content: meetings.None}
	effective := func(attendeeID string) meetings.Capabilities {
		t.Helper()
		m, a, found, err := s.ReadAttendee(ctx, id, attendeeID)
		if err != nil || !found {
			t.Fatalf("ReadAttendee: %v, found %v", err, found)
		}
		return meetings.EffectiveCapabilities(&m, &a)
	}
	if got := effective(pinnedID); got != own {
		t.Errorf("attendee excluded before the migration: %v, want %v", got, own)
	}
	if got := effective(otherID); got != none {
		t.Errorf("attendee not excluded: %v, want %v", got, none)
	}
	send := meetings.Capabilities{Audio: meetings.Send, Video: meetings.None, Content: meetings.None}
	if err := storetest.BatchExcept(s, id, []string{pinnedID}, send); err != nil {
		t.Fatal(err)
	}
	if got := effective(pinnedID); got != own {
		t.Errorf("after a new batch excluding it again: %v, want %v", got, own)
	}
	if got := effective(otherID); got != send {
		t.Errorf("after a new batch: %v, want %v", got, send)
	}
}
