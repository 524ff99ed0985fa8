package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
)

const (
	sqliteBusy = sqlite3.SQLITE_BUSY
)

const meetingColumns = `id, account, arn, external_meeting_id, meeting_host_id, media_region,
	primary_meeting_id, tenant_ids, features, notifications, network_type, created_at,
	token_hash, request_hash, version, batch_audio, batch_video, batch_content, batch_version,
	transcribing, transcription_config, batch_pins`

const attendeeColumns = `meeting_id, id, external_user_id, join_token, seq,
	caps_audio, caps_video, caps_content, caps_version`

// The statements, prepared once per pool at Open (see stmtCache).
const (
	qMeeting         = `SELECT ` + meetingColumns + ` FROM meetings WHERE id = ?`
	qMeetingByToken  = `SELECT ` + meetingColumns + ` FROM meetings WHERE account = ? AND token_hash = ? AND token_hash <> ''`
	qReplicas        = `SELECT id FROM meetings WHERE primary_meeting_id = ? AND primary_meeting_id <> '' ORDER BY id`
	qAttendee        = `SELECT ` + attendeeColumns + ` FROM attendees WHERE meeting_id = ? AND id = ?`
	qAttendeeByExtID = `SELECT ` + attendeeColumns + ` FROM attendees WHERE meeting_id = ? AND external_user_id = ?`
	qAttendees       = `SELECT ` + attendeeColumns + ` FROM attendees WHERE meeting_id = ? AND seq > ? ORDER BY seq LIMIT ?`
	qCountAttendees  = `SELECT count(*) FROM attendees WHERE meeting_id = ?`
	qTags            = `SELECT key, value FROM tags WHERE meeting_id = ? ORDER BY key`
	qExpired         = `SELECT id FROM meetings WHERE created_at < ? ORDER BY created_at, id LIMIT ?`
	qInsertMeeting   = `INSERT INTO meetings (` + meetingColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qUpdateMeeting   = `UPDATE meetings SET version = ?, batch_audio = ?, batch_video = ?, batch_content = ?, batch_version = ?, transcribing = ?, transcription_config = ?, batch_pins = ? WHERE id = ?`
	qDeleteMeeting   = `DELETE FROM meetings WHERE id = ?`
	qInsertAttendee  = `INSERT INTO attendees (meeting_id, id, external_user_id, join_token, caps_audio, caps_video, caps_content, caps_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qSetAttendeeCaps = `UPDATE attendees SET caps_audio = ?, caps_video = ?, caps_content = ?, caps_version = ? WHERE meeting_id = ? AND id = ?`
	qDeleteAttendee  = `DELETE FROM attendees WHERE meeting_id = ? AND id = ?`
	qAttendeesByID   = `SELECT ` + attendeeColumns + ` FROM attendees WHERE meeting_id = ? AND id IN (SELECT value FROM json_each(?))`
	qPutTag          = `INSERT INTO tags (meeting_id, key, value) VALUES (?, ?, ?) ON CONFLICT (meeting_id, key) DO UPDATE SET value = excluded.value`
	qDeleteTag       = `DELETE FROM tags WHERE meeting_id = ? AND key = ?`

	// Group commit (group.go): each Update's fn runs inside this savepoint.
	qSavepoint  = `SAVEPOINT fn`
	qRelease    = `RELEASE fn`
	qRollbackTo = `ROLLBACK TO fn`
)

// qReadAttendee is Store.ReadAttendee: ?1 the meeting, ?2 the attendee. The
// attendee columns are NULL when the meeting has no such attendee.
var qReadAttendee = `SELECT ` + qualified("m", meetingColumns) + `, ` + qualified("a", attendeeColumns) + `
FROM meetings AS m LEFT JOIN attendees AS a ON a.meeting_id = m.id AND a.id = ?2
WHERE m.id = ?1`

// qualified prefixes each of the comma-separated columns with alias.
func qualified(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

var readQueries = []string{
	qMeeting, qMeetingByToken, qReplicas, qAttendee, qAttendeeByExtID, qAttendees,
	qCountAttendees, qTags, qExpired, qReadAttendee, qAttendeesByID,
}

var writeQueries = []string{
	qInsertMeeting, qUpdateMeeting, qDeleteMeeting, qInsertAttendee, qSetAttendeeCaps,
	qDeleteAttendee, qPutTag, qDeleteTag, qSavepoint, qRelease, qRollbackTo,
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

// touch records that the transaction writes rows of this meeting.
func (t *tx) touch(meetingID string) {
	if t.live == nil {
		return
	}
	if t.touched == nil {
		t.touched = map[string]struct{}{}
	}
	t.touched[meetingID] = struct{}{}
}

// logChange records a write that succeeded, for the live state.
func (t *tx) logChange(c change) {
	if t.live != nil {
		t.changes = append(t.changes, c)
	}
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
	return t.meeting(ctx, qMeeting, id)
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
	return t.meeting(ctx, qMeeting, id)
}

// MeetingByToken implements meetings.ReadTx. An empty tokenHash never matches.
func (t *tx) MeetingByToken(ctx context.Context, account, tokenHash string) (meetings.MeetingRecord, error) {
	return t.meeting(ctx, qMeetingByToken, account, tokenHash)
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

// scanMeeting scans the meetingColumns of the current row, then into extra
// the columns that follow them.
func scanMeeting(rows *sql.Rows, extra ...any) (meetings.MeetingRecord, error) {
	var (
		m                      meetings.MeetingRecord
		tenants, notifications sql.NullString
		features               string
		createdAt              int64
		batchA, batchV, batchC sql.NullString
		transcribing           int64
		transcriptionConfig    []byte
		pins                   sql.NullString
	)
	dest := append([]any{&m.ID, &m.Account, &m.ARN, &m.ExternalMeetingID, &m.MeetingHostID, &m.MediaRegion,
		&m.PrimaryMeetingID, &tenants, &features, &notifications, &m.NetworkType, &createdAt,
		&m.TokenHash, &m.RequestHash, &m.Version, &batchA, &batchV, &batchC, &m.BatchVersion,
		&transcribing, &transcriptionConfig, &pins}, extra...)
	err := rows.Scan(dest...)
	if err != nil {
		return m, mapErr(err)
	}
	if tenants.Valid {
		m.TenantIDs = []string{}
		if err := json.Unmarshal([]byte(tenants.String), &m.TenantIDs); err != nil {
			return m, fmt.Errorf("sqlite: meeting %s: tenant_ids: %w", m.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(features), &m.Features); err != nil {
		return m, fmt.Errorf("sqlite: meeting %s: features: %w", m.ID, err)
	}
	if notifications.Valid {
		m.Notifications = new(meetings.Notifications)
		if err := json.Unmarshal([]byte(notifications.String), m.Notifications); err != nil {
			return m, fmt.Errorf("sqlite: meeting %s: notifications: %w", m.ID, err)
		}
	}
	m.CreatedAt = time.UnixMicro(createdAt).UTC()
	if batchA.Valid {
		m.Batch = &meetings.Capabilities{Audio: batchA.String, Video: batchV.String, Content: batchC.String}
	}
	m.Transcribing = transcribing != 0
	if transcriptionConfig != nil {
		m.TranscriptionConfig = transcriptionConfig
	}
	if pins.Valid {
		if err := json.Unmarshal([]byte(pins.String), &m.BatchPins); err != nil {
			return m, fmt.Errorf("sqlite: meeting %s: batch_pins: %w", m.ID, err)
		}
	}
	return m, nil
}

// Replicas implements meetings.ReadTx; ids are sorted.
func (t *tx) Replicas(ctx context.Context, id string) ([]string, error) {
	return t.ids(ctx, qReplicas, id)
}

// ExpiredMeetings implements meetings.ReadTx; oldest first.
func (t *tx) ExpiredMeetings(ctx context.Context, createdBefore time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	return t.ids(ctx, qExpired, createdBefore.UnixMicro(), limit)
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
	return t.attendee(ctx, qAttendee, meetingID, attendeeID)
}

// AttendeeByExternalUserID implements meetings.ReadTx.
func (t *tx) AttendeeByExternalUserID(ctx context.Context, meetingID, externalUserID string) (meetings.AttendeeRecord, error) {
	return t.attendee(ctx, qAttendeeByExtID, meetingID, externalUserID)
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
	return mapErr(rows.Scan(&a.MeetingID, &a.ID, &a.ExternalUserID, &a.JoinToken, &a.Seq,
		&a.Caps.Audio, &a.Caps.Video, &a.Caps.Content, &a.CapsVersion))
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
	return t.attendeeList(ctx, qAttendees, meetingID, afterSeq, limit)
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
	rows, err := t.query(ctx, qCountAttendees, meetingID)
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
	rows, err := t.query(ctx, qTags, meetingID)
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
	var tenants, notifications any
	if m.TenantIDs != nil {
		b, err := json.Marshal(m.TenantIDs)
		if err != nil {
			return fmt.Errorf("sqlite: meeting %s: tenant ids: %w", m.ID, err)
		}
		tenants = string(b)
	}
	features, err := json.Marshal(m.Features)
	if err != nil {
		return fmt.Errorf("sqlite: meeting %s: features: %w", m.ID, err)
	}
	if m.Notifications != nil {
		b, err := json.Marshal(m.Notifications)
		if err != nil {
			return fmt.Errorf("sqlite: meeting %s: notifications: %w", m.ID, err)
		}
		notifications = string(b)
	}
	pins, err := pinsArg(m)
	if err != nil {
		return err
	}
	t.touch(m.ID)
	ba, bv, bc := batchArgs(m.Batch)
	_, err = t.exec(ctx, qInsertMeeting,
		m.ID, m.Account, m.ARN, m.ExternalMeetingID, m.MeetingHostID, m.MediaRegion,
		m.PrimaryMeetingID, tenants, string(features), notifications, m.NetworkType, m.CreatedAt.UnixMicro(),
		m.TokenHash, m.RequestHash, m.Version, ba, bv, bc, m.BatchVersion,
		boolInt(m.Transcribing), blob(m.TranscriptionConfig), pins)
	if err == nil {
		t.logChange(insertMeetingChange{cloneMeeting(m)})
	}
	return err
}

// UpdateMeeting implements meetings.Tx. ErrNoRecord if the meeting is absent.
func (t *tx) UpdateMeeting(ctx context.Context, m meetings.MeetingRecord) error {
	pins, err := pinsArg(m)
	if err != nil {
		return err
	}
	t.touch(m.ID)
	ba, bv, bc := batchArgs(m.Batch)
	err = t.execOne(ctx, "update meeting", qUpdateMeeting,
		m.Version, ba, bv, bc, m.BatchVersion, boolInt(m.Transcribing), blob(m.TranscriptionConfig), pins, m.ID)
	if err == nil {
		t.logChange(updateMeetingChange{cloneMeeting(m)})
	}
	return err
}

// DeleteMeeting implements meetings.Tx; attendees and tags go with it
// (ON DELETE CASCADE). ErrNoRecord if the meeting is absent.
func (t *tx) DeleteMeeting(ctx context.Context, id string) error {
	t.touch(id)
	err := t.execOne(ctx, "delete meeting", qDeleteMeeting, id)
	if err == nil {
		t.logChange(deleteMeetingChange{id})
	}
	return err
}

// InsertAttendee implements meetings.Tx. ErrNoRecord if the meeting is absent.
func (t *tx) InsertAttendee(ctx context.Context, a meetings.AttendeeRecord) (int64, error) {
	t.touch(a.MeetingID)
	res, err := t.exec(ctx, qInsertAttendee, a.MeetingID, a.ID, a.ExternalUserID, a.JoinToken,
		a.Caps.Audio, a.Caps.Video, a.Caps.Content, a.CapsVersion)
	if err != nil {
		return 0, err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, mapErr(err)
	}
	a.Seq = seq
	t.logChange(insertAttendeeChange{a})
	return seq, nil
}

// SetAttendeeCaps implements meetings.Tx.
func (t *tx) SetAttendeeCaps(ctx context.Context, meetingID, attendeeID string, caps meetings.Capabilities, version int64) error {
	t.touch(meetingID)
	err := t.execOne(ctx, "set attendee capabilities", qSetAttendeeCaps,
		caps.Audio, caps.Video, caps.Content, version, meetingID, attendeeID)
	if err == nil {
		t.logChange(setCapsChange{meetingID, attendeeID, caps, version})
	}
	return err
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

// DeleteAttendee implements meetings.Tx.
func (t *tx) DeleteAttendee(ctx context.Context, meetingID, attendeeID string) error {
	t.touch(meetingID)
	err := t.execOne(ctx, "delete attendee", qDeleteAttendee, meetingID, attendeeID)
	if err == nil {
		t.logChange(deleteAttendeeChange{meetingID, attendeeID})
	}
	return err
}

// PutTags implements meetings.Tx. ErrNoRecord if the meeting is absent.
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

// pinsArg binds BatchPins: NULL when there are none, a JSON object
// otherwise.
func pinsArg(m meetings.MeetingRecord) (any, error) {
	if len(m.BatchPins) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m.BatchPins)
	if err != nil {
		return nil, fmt.Errorf("sqlite: meeting %s: batch pins: %w", m.ID, err)
	}
	return string(b), nil
}

func batchArgs(c *meetings.Capabilities) (a, v, ct any) {
	if c == nil {
		return nil, nil, nil
	}
	return c.Audio, c.Video, c.Content
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// blob binds nil as NULL and anything else (even empty) as a BLOB.
func blob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
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
