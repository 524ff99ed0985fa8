package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlrow"
)

// dialect: PostgreSQL stores times as timestamptz and booleans as boolean,
// which pgx binds from time.Time and bool as they are.
var dialect = sqlrow.Dialect{
	Name:   "postgres",
	Time:   func(t time.Time) any { return t },
	Bool:   func(b bool) any { return b },
	Dollar: true,
}

// The statements. pgx prepares each one once per connection and caches it
// (QueryExecModeCacheStatement, unless the URL chooses another mode). The
// ones both engines share come from sqlrow.
//
// Inserts use ON CONFLICT DO NOTHING and report "no row" as ErrDuplicate:
// a conflict then leaves the transaction usable, like the embedded engine,
// instead of aborting it as a unique_violation would.
var (
	qMeeting         = dialect.SQL(sqlrow.SelectMeeting)
	qLockMeeting     = qMeeting + ` FOR UPDATE`
	qMeetingByToken  = dialect.SQL(sqlrow.SelectMeetingByToken)
	qReplicas        = dialect.SQL(sqlrow.SelectReplicas)
	qAttendee        = dialect.SQL(sqlrow.SelectAttendee)
	qAttendeeByExtID = dialect.SQL(sqlrow.SelectAttendeeByExtID)
	qAttendees       = dialect.SQL(sqlrow.SelectAttendees)
	qCountAttendees  = dialect.SQL(sqlrow.CountAttendees)
	qTags            = dialect.SQL(sqlrow.SelectTags)
	qExpired         = dialect.SQL(sqlrow.SelectExpired)
	qInsertMeeting   = dialect.InsertMeeting() + ` ON CONFLICT DO NOTHING`
	qUpdateMeeting   = dialect.SQL(sqlrow.UpdateMeeting)
	qDeleteMeeting   = dialect.SQL(sqlrow.DeleteMeeting)
	qInsertAttendee  = dialect.InsertAttendee() + ` ON CONFLICT DO NOTHING RETURNING seq`
	qSetAttendeeCaps = dialect.SQL(sqlrow.SetAttendeeCaps)
	qDeleteAttendee  = dialect.SQL(sqlrow.DeleteAttendee)
	qReadAttendee    = dialect.ReadAttendee()
)

const (
	qAttendeesByID = `SELECT ` + sqlrow.AttendeeColumns + ` FROM attendees WHERE meeting_id = $1 AND id = ANY ($2::text[])`
	qPutTags       = `INSERT INTO tags (meeting_id, key, value) SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS t (k, v) ON CONFLICT (meeting_id, key) DO UPDATE SET value = excluded.value`
	qDeleteTags    = `DELETE FROM tags WHERE meeting_id = $1 AND key = ANY ($2::text[])`
)

// tx implements meetings.Tx over one pgx transaction; View hands it out as a
// meetings.ReadTx in a read-only transaction.
type tx struct {
	tx pgx.Tx
	// retry is set when a statement failed because PostgreSQL aborted the
	// transaction for a deadlock or a serialization failure: whatever fn
	// then returns, running it again may succeed.
	retry bool
}

var _ meetings.Tx = (*tx)(nil)

// fail classifies a statement's error.
func (t *tx) fail(ctx context.Context, err error) error {
	if retryable(err) {
		t.retry = true
	}
	return classify(ctx, err)
}

// execOne runs a statement that must touch exactly one row: ErrNoRecord if
// it touched none.
func (t *tx) execOne(ctx context.Context, what, q string, args ...any) error {
	tag, err := t.tx.Exec(ctx, q, args...)
	if err != nil {
		return t.fail(ctx, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: %w", what, store.ErrNoRecord)
	}
	return nil
}

// Meeting implements meetings.ReadTx.
func (t *tx) Meeting(ctx context.Context, id string) (meetings.MeetingRecord, error) {
	return t.meeting(ctx, qMeeting, id)
}

// LockMeeting implements meetings.Tx: SELECT ... FOR UPDATE holds the row
// lock until the transaction ends, across connections and nodes. A wait
// longer than the lock timeout fails with ErrUnavailable.
func (t *tx) LockMeeting(ctx context.Context, id string) (meetings.MeetingRecord, error) {
	return t.meeting(ctx, qLockMeeting, id)
}

// MeetingByToken implements meetings.ReadTx. An empty tokenHash never matches.
func (t *tx) MeetingByToken(ctx context.Context, account, tokenHash string) (meetings.MeetingRecord, error) {
	return t.meeting(ctx, qMeetingByToken, account, tokenHash)
}

func (t *tx) meeting(ctx context.Context, q string, args ...any) (meetings.MeetingRecord, error) {
	var r sqlrow.Meeting
	if err := t.tx.QueryRow(ctx, q, args...).Scan(r.Dest()...); err != nil {
		return meetings.MeetingRecord{}, t.fail(ctx, err)
	}
	return r.Record(dialect)
}

// Replicas implements meetings.ReadTx; ids are sorted (byte order).
func (t *tx) Replicas(ctx context.Context, id string) ([]string, error) {
	return t.ids(ctx, qReplicas, id)
}

// ExpiredMeetings implements meetings.ReadTx; oldest first.
func (t *tx) ExpiredMeetings(ctx context.Context, createdBefore time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	return t.ids(ctx, qExpired, createdBefore, limit)
}

func (t *tx) ids(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, t.fail(ctx, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, t.fail(ctx, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, nil
}

// Attendee implements meetings.ReadTx.
func (t *tx) Attendee(ctx context.Context, meetingID, attendeeID string) (meetings.AttendeeRecord, error) {
	return t.attendee(ctx, qAttendee, meetingID, attendeeID)
}

// AttendeeByExternalUserID implements meetings.ReadTx.
func (t *tx) AttendeeByExternalUserID(ctx context.Context, meetingID, externalUserID string) (meetings.AttendeeRecord, error) {
	return t.attendee(ctx, qAttendeeByExtID, meetingID, externalUserID)
}

func (t *tx) attendee(ctx context.Context, q string, args ...any) (meetings.AttendeeRecord, error) {
	var a meetings.AttendeeRecord
	if err := scanAttendee(t.tx.QueryRow(ctx, q, args...), &a); err != nil {
		return meetings.AttendeeRecord{}, t.fail(ctx, err)
	}
	return a, nil
}

func scanAttendee(row pgx.Row, a *meetings.AttendeeRecord) error {
	return row.Scan(sqlrow.AttendeeDest(a)...)
}

// Attendees implements meetings.ReadTx.
func (t *tx) Attendees(ctx context.Context, meetingID string, afterSeq int64, limit int) ([]meetings.AttendeeRecord, error) {
	if limit <= 0 {
		return nil, nil
	}
	return t.attendeeList(ctx, qAttendees, meetingID, afterSeq, limit)
}

// AttendeesByID implements meetings.ReadTx in one SELECT (= ANY of the ids).
func (t *tx) AttendeesByID(ctx context.Context, meetingID string, ids []string) ([]meetings.AttendeeRecord, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return t.attendeeList(ctx, qAttendeesByID, meetingID, ids)
}

func (t *tx) attendeeList(ctx context.Context, q string, args ...any) ([]meetings.AttendeeRecord, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, t.fail(ctx, err)
	}
	defer rows.Close()
	var out []meetings.AttendeeRecord
	for rows.Next() {
		var a meetings.AttendeeRecord
		if err := scanAttendee(rows, &a); err != nil {
			return nil, t.fail(ctx, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(ctx, err)
	}
	return out, nil
}

// CountAttendees implements meetings.ReadTx.
func (t *tx) CountAttendees(ctx context.Context, meetingID string) (int, error) {
	var n int
	if err := t.tx.QueryRow(ctx, qCountAttendees, meetingID).Scan(&n); err != nil {
		return 0, t.fail(ctx, err)
	}
	return n, nil
}

// Tags implements meetings.ReadTx; sorted by key in byte order.
func (t *tx) Tags(ctx context.Context, meetingID string) ([]meetings.Tag, error) {
	rows, err := t.tx.Query(ctx, qTags, meetingID)
	if err != nil {
		return nil, t.fail(ctx, err)
	}
	defer rows.Close()
	var out []meetings.Tag
	for rows.Next() {
		var tag meetings.Tag
		if err := rows.Scan(&tag.Key, &tag.Value); err != nil {
			return nil, t.fail(ctx, err)
		}
		out = append(out, tag)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(ctx, err)
	}
	return out, nil
}

// InsertMeeting implements meetings.Tx. ErrDuplicate if the id or the
// (Account, TokenHash) is taken; a concurrent uncommitted insert of the same
// key is waited for, and is a duplicate if it commits.
func (t *tx) InsertMeeting(ctx context.Context, m meetings.MeetingRecord) error {
	args, err := dialect.MeetingArgs(m)
	if err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, qInsertMeeting, args...)
	if err != nil {
		return t.fail(ctx, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: insert meeting %s: %w", m.ID, store.ErrDuplicate)
	}
	return nil
}

// UpdateMeeting implements meetings.Tx. ErrNoRecord if the meeting is
// absent. None of the columns it writes is indexed, so the update is HOT.
func (t *tx) UpdateMeeting(ctx context.Context, m meetings.MeetingRecord) error {
	args, err := dialect.UpdateMeetingArgs(m)
	if err != nil {
		return err
	}
	return t.execOne(ctx, "update meeting", qUpdateMeeting, args...)
}

// DeleteMeeting implements meetings.Tx; attendees and tags go with it
// (ON DELETE CASCADE). ErrNoRecord if the meeting is absent.
func (t *tx) DeleteMeeting(ctx context.Context, id string) error {
	return t.execOne(ctx, "delete meeting", qDeleteMeeting, id)
}

// InsertAttendee implements meetings.Tx. ErrDuplicate if the attendee id or
// the ExternalUserID is taken in the meeting; ErrNoRecord if the meeting is
// absent.
func (t *tx) InsertAttendee(ctx context.Context, a meetings.AttendeeRecord) (int64, error) {
	var seq int64
	err := t.tx.QueryRow(ctx, qInsertAttendee, sqlrow.AttendeeArgs(a)...).Scan(&seq)
	if err == pgx.ErrNoRows {
		return 0, fmt.Errorf("postgres: insert attendee %s: %w", a.ID, store.ErrDuplicate)
	}
	if err != nil {
		return 0, t.fail(ctx, err)
	}
	return seq, nil
}

// SetAttendeeCaps implements meetings.Tx. A HOT update: no indexed column
// changes.
func (t *tx) SetAttendeeCaps(ctx context.Context, meetingID, attendeeID string, caps meetings.Capabilities, version int64) error {
	return t.execOne(ctx, "set attendee capabilities", qSetAttendeeCaps,
		sqlrow.SetCapsArgs(meetingID, attendeeID, caps, version)...)
}

// DeleteAttendee implements meetings.Tx.
func (t *tx) DeleteAttendee(ctx context.Context, meetingID, attendeeID string) error {
	return t.execOne(ctx, "delete attendee", qDeleteAttendee, meetingID, attendeeID)
}

// PutTags implements meetings.Tx in one statement. When a key repeats, the
// last value wins (as if the tags were put one by one). ErrNoRecord if the
// meeting is absent.
func (t *tx) PutTags(ctx context.Context, meetingID string, tags []meetings.Tag) error {
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, 0, len(tags))
	values := make([]string, 0, len(tags))
	index := make(map[string]int, len(tags))
	for _, tag := range tags {
		if i, ok := index[tag.Key]; ok {
			values[i] = tag.Value
			continue
		}
		index[tag.Key] = len(keys)
		keys = append(keys, tag.Key)
		values = append(values, tag.Value)
	}
	if _, err := t.tx.Exec(ctx, qPutTags, meetingID, keys, values); err != nil {
		return t.fail(ctx, err)
	}
	return nil
}

// DeleteTags implements meetings.Tx in one statement.
func (t *tx) DeleteTags(ctx context.Context, meetingID string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if _, err := t.tx.Exec(ctx, qDeleteTags, meetingID, keys); err != nil {
		return t.fail(ctx, err)
	}
	return nil
}
