package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlrow"
)

const (
	sqliteBusy = sqlite3.SQLITE_BUSY
)

// dialect is how this engine stores what the SQL engines store differently:
// times as Unix microseconds (INTEGER), booleans as 0 or 1.
var dialect = sqlrow.Dialect{
	Name: "sqlite",
	Time: func(t time.Time) any { return t.UnixMicro() },
	Bool: func(b bool) any {
		if b {
			return int64(1)
		}
		return int64(0)
	},
}

// The statements, prepared once per pool at Open (see stmtCache). The ones
// both engines share come from sqlrow.
var (
	qInsertMeeting  = dialect.InsertMeeting()
	qInsertAttendee = dialect.InsertAttendee()
	qInsertKey      = dialect.InsertKey()
	qReadAttendee   = dialect.ReadAttendee()
)

const (
	qAttendeesByID = `SELECT ` + sqlrow.AttendeeColumns + ` FROM attendees WHERE meeting_id = ? AND id IN (SELECT value FROM json_each(?))`
	qPutTag        = `INSERT INTO tags (meeting_id, key, value) VALUES (?, ?, ?) ON CONFLICT (meeting_id, key) DO UPDATE SET value = excluded.value`
	qDeleteTag     = `DELETE FROM tags WHERE meeting_id = ? AND key = ?`
	qInsertEvent   = `INSERT INTO events (meeting_id, occurred_at, request_id, access_key_id, type, attendee_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)`

	// Group commit (group.go): each Update's fn runs inside this savepoint.
	qSavepoint  = `SAVEPOINT fn`
	qRelease    = `RELEASE fn`
	qRollbackTo = `ROLLBACK TO fn`
)

// readQueries are prepared on both pools, writeQueries on the writer's.
var readQueries = []string{
	sqlrow.SelectMeeting, sqlrow.SelectMeetingByToken, sqlrow.SelectReplicas, sqlrow.SelectAttendee,
	sqlrow.SelectAttendeeByExtID, sqlrow.SelectAttendees, sqlrow.CountAttendees, sqlrow.SelectTags,
	sqlrow.SelectExpired, qReadAttendee, qAttendeesByID,
	sqlrow.CountMeetings, sqlrow.SelectEvents, sqlrow.SelectKey, sqlrow.SelectKeys,
}

var writeQueries = []string{
	qInsertMeeting, sqlrow.UpdateMeeting, sqlrow.DeleteMeeting, qInsertAttendee, sqlrow.SetAttendeeCaps,
	sqlrow.DeleteAttendee, qPutTag, qDeleteTag, qSavepoint, qRelease, qRollbackTo,
	qInsertEvent, qInsertKey, sqlrow.DeleteKey,
}

// stmtCache holds statements prepared on a pool, so that a transaction does
// not parse its SQL again: sql.Tx.StmtContext reuses the statement when it
// was prepared on the transaction's connection, and prepares it there (once
// per connection) otherwise.
type stmtCache map[string]*sql.Stmt

func prepare(ctx context.Context, db *sql.DB, queries []string) (stmtCache, error) {
	c := make(stmtCache, len(queries))
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			for _, st := range c {
				st.Close()
			}
			return nil, fmt.Errorf("sqlite: prepare %q: %w", q, err)
		}
		c[q] = st
	}
	return c, nil
}

// tx implements meetings.Tx over one database/sql transaction. View hands it
// out as a meetings.ReadTx on a query-only connection.
type tx struct {
	tx    *sql.Tx
	stmts stmtCache
	// detached is set on the writer's transactions, which many Update calls
	// share (group commit): a statement checks the context it is given and
	// fails with its error when that context is done, but runs under
	// context.Background(), so that one caller's cancellation never reaches
	// the driver. (A cancelled context makes the driver interrupt the
	// statement, and SQLite may then roll back the whole transaction, with
	// the other callers' writes.) It also spares the driver and
	// database/sql a watcher goroutine each per statement, which is why
	// View's transactions are detached too: their statements are local,
	// bounded reads that are cheaper to finish than to interrupt.
	detached bool
	// live is the live state (live.go) on the writer's transactions when
	// it is on, nil otherwise.
	live *liveState
	// touched collects the meetings whose rows the transaction wrote (even
	// in savepoints rolled back since): the live state drops them if COMMIT
	// fails, and LockMeeting reads them from SQL.
	touched map[string]struct{}
	// changes is what the transaction wrote, for the live state to apply
	// once it commits.
	changes []change
}

// record is how the transaction writes meeting and attendee rows, the ones
// the live state mirrors: it marks the meeting touched, runs the change's
// SQL and, when that succeeded, logs the change for the writer to apply to
// the live state once the transaction commits (live.go). No write method
// runs that SQL any other way, so none can leave the live state stale.
func (t *tx) record(ctx context.Context, c change) error {
	if t.live == nil {
		return c.write(ctx, t)
	}
	if t.touched == nil {
		t.touched = map[string]struct{}{}
	}
	t.touched[c.meeting()] = struct{}{}
	if err := c.write(ctx, t); err != nil {
		return err
	}
	t.changes = append(t.changes, c.owned())
	return nil
}

var _ meetings.Tx = (*tx)(nil)

// readTx is what View hands out: only the read methods, so that a caller
// cannot type-assert its way to writes (the connection is query-only anyway).
type readTx struct{ meetings.ReadTx }

// stmtCtx is the context a statement runs under; see tx.detached.
func (t *tx) stmtCtx(ctx context.Context) (context.Context, error) {
	if !t.detached {
		return ctx, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.Background(), nil
}

func (t *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx, err := t.stmtCtx(ctx)
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	if st := t.stmts[q]; st != nil {
		rows, err = t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	} else {
		rows, err = t.tx.QueryContext(ctx, q, args...)
	}
	return rows, mapErr(err)
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx, err := t.stmtCtx(ctx)
	if err != nil {
		return nil, err
	}
	var res sql.Result
	if st := t.stmts[q]; st != nil {
		res, err = t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	} else {
		res, err = t.tx.ExecContext(ctx, q, args...)
	}
	return res, mapErr(err)
}

// execOne runs a statement that must touch exactly one row: ErrNoRecord if it
// touched none.
func (t *tx) execOne(ctx context.Context, what string, q string, args ...any) error {
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return mapErr(err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", what, store.ErrNoRecord)
	}
	return nil
}

// Meeting implements meetings.ReadTx.
func (t *tx) Meeting(ctx context.Context, id string) (meetings.MeetingRecord, error) {
	return t.meeting(ctx, sqlrow.SelectMeeting, id)
}

// LockMeeting implements meetings.Tx. Write transactions already hold the
// database's write lock (BEGIN IMMEDIATE), so it is a read: from the live
// state when it holds the meeting and no write of this transaction touched
// it (then what is held is what is committed), from SQL otherwise. As with
// ReadAttendee, the record shares what it points to with the live state.
func (t *tx) LockMeeting(ctx context.Context, id string) (meetings.MeetingRecord, error) {
	if lm := t.heldUntouched(id); lm != nil {
		if err := ctx.Err(); err != nil {
			return meetings.MeetingRecord{}, err
		}
		return lm.m, nil
	}
	return t.meeting(ctx, sqlrow.SelectMeeting, id)
}

// MeetingByToken implements meetings.ReadTx. An empty tokenHash never matches.
func (t *tx) MeetingByToken(ctx context.Context, account, tokenHash string) (meetings.MeetingRecord, error) {
	return t.meeting(ctx, sqlrow.SelectMeetingByToken, account, tokenHash)
}

func (t *tx) meeting(ctx context.Context, q string, args ...any) (meetings.MeetingRecord, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return meetings.MeetingRecord{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return meetings.MeetingRecord{}, mapErr(err)
		}
		return meetings.MeetingRecord{}, fmt.Errorf("sqlite: meeting: %w", store.ErrNoRecord)
	}
	m, err := scanMeeting(rows)
	if err != nil {
		return meetings.MeetingRecord{}, err
	}
	return m, mapErr(rows.Close())
}

// scanMeeting scans the MeetingColumns of the current row, then into extra
// the columns that follow them.
func scanMeeting(rows *sql.Rows, extra ...any) (meetings.MeetingRecord, error) {
	var r sqlrow.Meeting
	if err := rows.Scan(r.Dest(extra...)...); err != nil {
		return meetings.MeetingRecord{}, mapErr(err)
	}
	return r.Record(dialect)
}

// Replicas implements meetings.ReadTx; ids are sorted.
func (t *tx) Replicas(ctx context.Context, id string) ([]string, error) {
	return t.ids(ctx, sqlrow.SelectReplicas, id)
}

// ExpiredMeetings implements meetings.ReadTx; oldest first.
func (t *tx) ExpiredMeetings(ctx context.Context, createdBefore time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	return t.ids(ctx, sqlrow.SelectExpired, dialect.Time(createdBefore), limit)
}

func (t *tx) ids(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, mapErr(err)
		}
		ids = append(ids, id)
	}
	return ids, mapErr(rows.Err())
}

// Attendee implements meetings.ReadTx.
func (t *tx) Attendee(ctx context.Context, meetingID, attendeeID string) (meetings.AttendeeRecord, error) {
	return t.attendee(ctx, sqlrow.SelectAttendee, meetingID, attendeeID)
}

// AttendeeByExternalUserID implements meetings.ReadTx.
func (t *tx) AttendeeByExternalUserID(ctx context.Context, meetingID, externalUserID string) (meetings.AttendeeRecord, error) {
	return t.attendee(ctx, sqlrow.SelectAttendeeByExtID, meetingID, externalUserID)
}

func (t *tx) attendee(ctx context.Context, q string, args ...any) (meetings.AttendeeRecord, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return meetings.AttendeeRecord{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return meetings.AttendeeRecord{}, mapErr(err)
		}
		return meetings.AttendeeRecord{}, fmt.Errorf("sqlite: attendee: %w", store.ErrNoRecord)
	}
	var a meetings.AttendeeRecord
	if err := scanAttendee(rows, &a); err != nil {
		return a, err
	}
	return a, mapErr(rows.Close())
}

func scanAttendee(rows *sql.Rows, a *meetings.AttendeeRecord) error {
	return mapErr(rows.Scan(sqlrow.AttendeeDest(a)...))
}

// AttendeesByID implements meetings.ReadTx: from the live state when it
// holds the meeting and this transaction has not written it, else in one
// SELECT with the ids bound as one JSON array (one prepared statement
// whatever their number).
func (t *tx) AttendeesByID(ctx context.Context, meetingID string, ids []string) ([]meetings.AttendeeRecord, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if lm := t.heldUntouched(meetingID); lm != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var out []meetings.AttendeeRecord
		for _, id := range ids {
			if la, ok := lm.attendees[id]; ok {
				out = append(out, la.record(meetingID, id))
			}
		}
		return out, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("sqlite: attendees by id: %w", err)
	}
	return t.attendeeList(ctx, qAttendeesByID, meetingID, string(list))
}

// Attendees implements meetings.ReadTx.
func (t *tx) Attendees(ctx context.Context, meetingID string, afterSeq int64, limit int) ([]meetings.AttendeeRecord, error) {
	if limit <= 0 {
		return nil, nil
	}
	return t.attendeeList(ctx, sqlrow.SelectAttendees, meetingID, afterSeq, limit)
}

func (t *tx) attendeeList(ctx context.Context, q string, args ...any) ([]meetings.AttendeeRecord, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meetings.AttendeeRecord
	for rows.Next() {
		var a meetings.AttendeeRecord
		if err := scanAttendee(rows, &a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, mapErr(rows.Err())
}

// CountAttendees implements meetings.ReadTx.
func (t *tx) CountAttendees(ctx context.Context, meetingID string) (int, error) {
	rows, err := t.query(ctx, sqlrow.CountAttendees, meetingID)
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

// Tags implements meetings.ReadTx.
func (t *tx) Tags(ctx context.Context, meetingID string) ([]meetings.Tag, error) {
	rows, err := t.query(ctx, sqlrow.SelectTags, meetingID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meetings.Tag
	for rows.Next() {
		var tag meetings.Tag
		if err := rows.Scan(&tag.Key, &tag.Value); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, tag)
	}
	return out, mapErr(rows.Err())
}

// InsertMeeting implements meetings.Tx.
func (t *tx) InsertMeeting(ctx context.Context, m meetings.MeetingRecord) error {
	return t.record(ctx, insertMeetingChange{m})
}

// UpdateMeeting implements meetings.Tx. ErrNoRecord if the meeting is absent.
func (t *tx) UpdateMeeting(ctx context.Context, m meetings.MeetingRecord) error {
	return t.record(ctx, updateMeetingChange{m})
}

// DeleteMeeting implements meetings.Tx; attendees and tags go with it
// (ON DELETE CASCADE). ErrNoRecord if the meeting is absent.
func (t *tx) DeleteMeeting(ctx context.Context, id string) error {
	return t.record(ctx, deleteMeetingChange{id})
}

// InsertAttendee implements meetings.Tx. ErrNoRecord if the meeting is absent.
func (t *tx) InsertAttendee(ctx context.Context, a meetings.AttendeeRecord) (int64, error) {
	c := &insertAttendeeChange{a}
	if err := t.record(ctx, c); err != nil {
		return 0, err
	}
	return c.a.Seq, nil
}

// SetAttendeeCaps implements meetings.Tx.
func (t *tx) SetAttendeeCaps(ctx context.Context, meetingID, attendeeID string, caps meetings.Capabilities, version int64) error {
	return t.record(ctx, setCapsChange{meetingID, attendeeID, caps, version})
}

// DeleteAttendee implements meetings.Tx.
func (t *tx) DeleteAttendee(ctx context.Context, meetingID, attendeeID string) error {
	return t.record(ctx, deleteAttendeeChange{meetingID, attendeeID})
}

// heldUntouched returns the live state's meeting when it is held and no
// write of this transaction touched it (then it is what is committed, and
// only this goroutine, the writer, can change it), nil otherwise.
func (t *tx) heldUntouched(meetingID string) *liveMeeting {
	if t.live == nil {
		return nil
	}
	if _, touched := t.touched[meetingID]; touched {
		return nil
	}
	return t.live.meetings[meetingID]
}

// PutTags implements meetings.Tx. ErrNoRecord if the meeting is absent. The
// live state holds no tags: tag writes need not go through record.
func (t *tx) PutTags(ctx context.Context, meetingID string, tags []meetings.Tag) error {
	for _, tag := range tags {
		if _, err := t.exec(ctx, qPutTag, meetingID, tag.Key, tag.Value); err != nil {
			return err
		}
	}
	return nil
}

// DeleteTags implements meetings.Tx.
func (t *tx) DeleteTags(ctx context.Context, meetingID string, keys []string) error {
	for _, k := range keys {
		if _, err := t.exec(ctx, qDeleteTag, meetingID, k); err != nil {
			return err
		}
	}
	return nil
}

// mapErr turns SQLite constraint errors into the store's sentinel errors:
// a unique or primary key violation is ErrDuplicate, a foreign key violation
// (a row for a meeting that does not exist) is ErrNoRecord. The driver error
// stays in the chain.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var se *msqlite.Error
	if !errors.As(err, &se) {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: %w", store.ErrNoRecord)
		}
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("sqlite: %w: %w", store.ErrDuplicate, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("sqlite: %w: %w", store.ErrNoRecord, err)
	}
	return fmt.Errorf("sqlite: %w", err)
}
