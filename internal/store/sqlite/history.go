package sqlite

// The audit history (D12) and the per-account meeting count behind
// --max-meetings: meetings.HistoryReadTx and meetings.HistoryTx on the
// engine's transactions. Schema: migration 2 in schema.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store/sqlrow"
)

var (
	_ meetings.HistoryTx     = (*tx)(nil)
	_ meetings.HistoryReadTx = readTx{}
)

// CountMeetings implements meetings.HistoryReadTx (index
// meetings_account_created_at).
func (t *tx) CountMeetings(ctx context.Context, account string, createdAfter time.Time) (int, error) {
	rows, err := t.query(ctx, sqlrow.CountMeetings, account, dialect.Time(createdAfter))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, mapErr(err)
		}
	}
	return n, mapErr(rows.Err())
}

// Events implements meetings.HistoryReadTx (index events_meeting_seq).
// Events of a meeting that never existed or was deleted are returned like
// any others.
func (t *tx) Events(ctx context.Context, meetingID string, afterSeq int64, limit int) ([]meetings.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := t.query(ctx, sqlrow.SelectEvents, meetingID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meetings.Event
	for rows.Next() {
		var r sqlrow.Event
		if err := rows.Scan(r.Dest()...); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, r.Record())
	}
	return out, mapErr(rows.Err())
}

// LockAccount implements meetings.HistoryTx. It is a no-op, and needs to be
// nothing more: every write transaction already holds SQLite's database-wide
// write lock (BEGIN IMMEDIATE, which also excludes other processes), and the
// writer goroutine runs the Update fns of a group one after the other on its
// one connection, each seeing the writes of those before it. A count followed
// by an insert in one fn therefore cannot interleave with another fn's.
func (t *tx) LockAccount(ctx context.Context, account string) error {
	return ctx.Err()
}

// AppendEvents implements meetings.HistoryTx: the events are inserted in
// order and events[i].Seq is set to the Seq assigned to each. Data must be
// nil (stored as NULL, read back as nil) or one valid JSON document (stored
// and read back byte for byte); an empty Data counts as nil.
func (t *tx) AppendEvents(ctx context.Context, events []meetings.Event) error {
	if err := validEvents(events); err != nil {
		return err
	}
	for i := range events {
		e := &events[i]
		var data any
		if len(e.Data) > 0 {
			data = string(e.Data)
		}
		res, err := t.exec(ctx, qInsertEvent, e.MeetingID, dialect.Time(e.Time), e.RequestID, e.AccessKeyID,
			e.Type, e.AttendeeID, data)
		if err != nil {
			return err
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return mapErr(err)
		}
		e.Seq = seq
	}
	return nil
}

// validEvents checks the events' Data before anything is written, so that
// both engines reject the same input with the same error.
func validEvents(events []meetings.Event) error {
	for i, e := range events {
		if len(e.Data) > 0 && !json.Valid(e.Data) {
			return fmt.Errorf("sqlite: append events: event %d (%s) of meeting %s: Data is not valid JSON", i, e.Type, e.MeetingID)
		}
	}
	return nil
}

// readTx (View's transaction) exposes the history's read side too.

// CountMeetings implements meetings.HistoryReadTx.
func (r readTx) CountMeetings(ctx context.Context, account string, createdAfter time.Time) (int, error) {
	return r.ReadTx.(meetings.HistoryReadTx).CountMeetings(ctx, account, createdAfter)
}

// Events implements meetings.HistoryReadTx.
func (r readTx) Events(ctx context.Context, meetingID string, afterSeq int64, limit int) ([]meetings.Event, error) {
	return r.ReadTx.(meetings.HistoryReadTx).Events(ctx, meetingID, afterSeq, limit)
}
