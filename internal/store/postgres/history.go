package postgres

// The audit history (D12) and the per-account meeting count behind
// --max-meetings: meetings.HistoryReadTx and meetings.HistoryTx on the
// engine's transactions. Schema: migrations/0002_history_access_keys.sql.

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store/sqlrow"
)

// accountLockClass is the first key of the two-key
// pg_advisory_xact_lock(int, int) that LockAccount takes; the second is a
// hash of the account. PostgreSQL keeps the two-key space apart from the
// one-key space of migrationLockKey. Arbitrary, fixed forever: "acct" in
// ASCII.
const accountLockClass int32 = 0x61636374

var (
	qCountMeetings = dialect.SQL(sqlrow.CountMeetings)
	qEvents        = dialect.SQL(sqlrow.SelectEvents)
)

const (
	qLockAccount = `SELECT pg_advisory_xact_lock($1::int4, $2::int4)`
	// One statement for the whole slice. The subquery's ORDER BY (which
	// keeps it from being flattened) feeds the rows to the insert in slice
	// order, so the identity hands out increasing seqs in that order.
	qAppendEvents = `INSERT INTO events (meeting_id, occurred_at, request_id, access_key_id, type, attendee_id, data)
	SELECT m, o, r, k, ty, a, d::json
	FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
		WITH ORDINALITY AS e (m, o, r, k, ty, a, d, ord)
	ORDER BY ord
	RETURNING seq`
)

var _ meetings.HistoryTx = (*tx)(nil)

// CountMeetings implements meetings.HistoryReadTx (index
// meetings_account_created_at). In an Update (READ COMMITTED) it sees every
// meeting committed before it started, hence the ones committed by an
// Update that held the account's lock before this one (LockAccount).
func (t *tx) CountMeetings(ctx context.Context, account string, createdAfter time.Time) (int, error) {
	var n int
	if err := t.tx.QueryRow(ctx, qCountMeetings, account, createdAfter).Scan(&n); err != nil {
		return 0, t.fail(ctx, err)
	}
	return n, nil
}

// Events implements meetings.HistoryReadTx (index events_meeting_seq).
// Events of a meeting that never existed or was deleted are returned like
// any others.
func (t *tx) Events(ctx context.Context, meetingID string, afterSeq int64, limit int) ([]meetings.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, qEvents, meetingID, afterSeq, limit)
	if err != nil {
		return nil, t.fail(ctx, err)
	}
	defer rows.Close()
	var out []meetings.Event
	for rows.Next() {
		var r sqlrow.Event
		if err := rows.Scan(r.Dest()...); err != nil {
			return nil, t.fail(ctx, err)
		}
		out = append(out, r.Record())
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(ctx, err)
	}
	return out, nil
}

// LockAccount implements meetings.HistoryTx with a transaction-scoped
// advisory lock on (accountLockClass, hash of the account): Updates that
// lock one account serialize across connections and nodes, until their
// transaction ends; a second LockAccount of the same account in one
// transaction returns at once. Two accounts whose hashes collide merely
// share a lock. A wait longer than the lock timeout fails with
// ErrUnavailable; a deadlock (two accounts locked in opposite orders) is
// broken by PostgreSQL and the Update runs again.
func (t *tx) LockAccount(ctx context.Context, account string) error {
	if _, err := t.tx.Exec(ctx, qLockAccount, accountLockClass, accountLockKey(account)); err != nil {
		return t.fail(ctx, err)
	}
	return nil
}

// accountLockKey is the FNV-1a hash of the account: computed here rather
// than with hashtext(), which PostgreSQL does not promise to keep stable
// across versions.
func accountLockKey(account string) int32 {
	h := fnv.New32a()
	h.Write([]byte(account))
	return int32(h.Sum32())
}

// AppendEvents implements meetings.HistoryTx in one statement: the events
// are inserted in order and events[i].Seq is set to the Seq assigned to each.
// Data must be nil (stored as NULL, read back as nil) or one valid JSON
// document (stored and read back byte for byte); an empty Data counts as nil.
func (t *tx) AppendEvents(ctx context.Context, events []meetings.Event) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	var (
		mids, reqs, keys, types, atts = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		times                         = make([]time.Time, n)
		data                          = make([]*string, n)
	)
	for i, e := range events {
		if len(e.Data) > 0 {
			if !json.Valid(e.Data) {
				return fmt.Errorf("postgres: append events: event %d (%s) of meeting %s: Data is not valid JSON", i, e.Type, e.MeetingID)
			}
			d := string(e.Data)
			data[i] = &d
		}
		mids[i], times[i], reqs[i], keys[i], types[i], atts[i] = e.MeetingID, e.Time, e.RequestID, e.AccessKeyID, e.Type, e.AttendeeID
	}
	rows, err := t.tx.Query(ctx, qAppendEvents, mids, times, reqs, keys, types, atts, data)
	if err != nil {
		return t.fail(ctx, err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return t.fail(ctx, err)
	}
	if len(seqs) != n {
		return fmt.Errorf("postgres: append events: %d rows inserted, want %d", len(seqs), n)
	}
	slices.Sort(seqs) // RETURNING's order is not promised; the seqs follow slice order
	for i := range events {
		events[i].Seq = seqs[i]
	}
	return t.notifyEvents(ctx, events)
}
