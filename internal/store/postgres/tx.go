package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
)

const meetingColumns = `id, account, arn, external_meeting_id, meeting_host_id, media_region,
	primary_meeting_id, tenant_ids, features, notifications, network_type, created_at,
	token_hash, request_hash, version, batch_audio, batch_video, batch_content, batch_version,
	transcribing, transcription_config, batch_pins`

const attendeeColumns = `meeting_id, id, external_user_id, join_token, seq,
	caps_audio, caps_video, caps_content, caps_version`

// The statements. pgx prepares each one once per connection and caches it
// (QueryExecModeCacheStatement, unless the URL chooses another mode).
//
// Inserts use ON CONFLICT DO NOTHING and report "no row" as ErrDuplicate:
// a conflict then leaves the transaction usable, like the embedded engine,
// instead of aborting it as a unique_violation would.
const (
	qMeeting         = `SELECT ` + meetingColumns + ` FROM meetings WHERE id = $1`
	qLockMeeting     = qMeeting + ` FOR UPDATE`
	qMeetingByToken  = `SELECT ` + meetingColumns + ` FROM meetings WHERE account = $1 AND token_hash = $2 AND token_hash <> ''`
	qReplicas        = `SELECT id FROM meetings WHERE primary_meeting_id = $1 AND primary_meeting_id <> '' ORDER BY id`
	qAttendee        = `SELECT ` + attendeeColumns + ` FROM attendees WHERE meeting_id = $1 AND id = $2`
	qAttendeeByExtID = `SELECT ` + attendeeColumns + ` FROM attendees WHERE meeting_id = $1 AND external_user_id = $2`
	qAttendees       = `SELECT ` + attendeeColumns + ` FROM attendees WHERE meeting_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`
	qCountAttendees  = `SELECT count(*) FROM attendees WHERE meeting_id = $1`
	qTags            = `SELECT key, value FROM tags WHERE meeting_id = $1 ORDER BY key`
	qExpired         = `SELECT id FROM meetings WHERE created_at < $1 ORDER BY created_at, id LIMIT $2`
	qInsertMeeting   = `INSERT INTO meetings (` + meetingColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) ON CONFLICT DO NOTHING`
	qUpdateMeeting   = `UPDATE meetings SET version = $1, batch_audio = $2, batch_video = $3, batch_content = $4, batch_version = $5, transcribing = $6, transcription_config = $7, batch_pins = $8 WHERE id = $9`
	qDeleteMeeting   = `DELETE FROM meetings WHERE id = $1`
	qInsertAttendee  = `INSERT INTO attendees (meeting_id, id, external_user_id, join_token, caps_audio, caps_video, caps_content, caps_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING seq`
	qSetAttendeeCaps = `UPDATE attendees SET caps_audio = $1, caps_video = $2, caps_content = $3, caps_version = $4 WHERE meeting_id = $5 AND id = $6`
	qDeleteAttendee  = `DELETE FROM attendees WHERE meeting_id = $1 AND id = $2`
	qAttendeesByID   = `SELECT ` + attendeeColumns + ` FROM attendees WHERE meeting_id = $1 AND id = ANY ($2::text[])`
	qPutTags         = `INSERT INTO tags (meeting_id, key, value) SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS t (k, v) ON CONFLICT (meeting_id, key) DO UPDATE SET value = excluded.value`
	qDeleteTags      = `DELETE FROM tags WHERE meeting_id = $1 AND key = ANY ($2::text[])`
)

// qReadAttendee is Store.ReadAttendee: $1 the meeting, $2 the attendee. The
// attendee columns are NULL when the meeting has no such attendee.
var qReadAttendee = `SELECT ` + qualified("m", meetingColumns) + `, ` + qualified("a", attendeeColumns) + `
FROM meetings AS m LEFT JOIN attendees AS a ON a.meeting_id = m.id AND a.id = $2
WHERE m.id = $1`

// qualified prefixes each of the comma-separated columns with alias.
func qualified(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

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
	var r meetingRow
	if err := t.tx.QueryRow(ctx, q, args...).Scan(r.dest()...); err != nil {
		return meetings.MeetingRecord{}, t.fail(ctx, err)
	}
	return r.record()
}

// meetingRow receives the meetingColumns of a row.
type meetingRow struct {
	m                      meetings.MeetingRecord
	tenants, notifications []byte
	features               []byte
	batchA, batchV, batchC *string
	pins                   *string
}

// dest returns the Scan destinations of the meetingColumns, then extra.
func (r *meetingRow) dest(extra ...any) []any {
	m := &r.m
	return append([]any{&m.ID, &m.Account, &m.ARN, &m.ExternalMeetingID,
		&m.MeetingHostID, &m.MediaRegion, &m.PrimaryMeetingID, &r.tenants, &r.features, &r.notifications,
		&m.NetworkType, &m.CreatedAt, &m.TokenHash, &m.RequestHash, &m.Version,
		&r.batchA, &r.batchV, &r.batchC, &m.BatchVersion, &m.Transcribing, &m.TranscriptionConfig, &r.pins}, extra...)
}

// record decodes the scanned row.
func (r *meetingRow) record() (meetings.MeetingRecord, error) {
	m := r.m
	m.CreatedAt = m.CreatedAt.UTC()
	if r.tenants != nil {
		m.TenantIDs = []string{}
		if err := json.Unmarshal(r.tenants, &m.TenantIDs); err != nil {
			return meetings.MeetingRecord{}, fmt.Errorf("postgres: meeting %s: tenant_ids: %w", m.ID, err)
		}
	}
	if err := json.Unmarshal(r.features, &m.Features); err != nil {
		return meetings.MeetingRecord{}, fmt.Errorf("postgres: meeting %s: features: %w", m.ID, err)
	}
	if r.notifications != nil {
		m.Notifications = new(meetings.Notifications)
		if err := json.Unmarshal(r.notifications, m.Notifications); err != nil {
			return meetings.MeetingRecord{}, fmt.Errorf("postgres: meeting %s: notifications: %w", m.ID, err)
		}
	}
	if r.batchA != nil && r.batchV != nil && r.batchC != nil {
		m.Batch = &meetings.Capabilities{Audio: *r.batchA, Video: *r.batchV, Content: *r.batchC}
	}
	if r.pins != nil {
		if err := json.Unmarshal([]byte(*r.pins), &m.BatchPins); err != nil {
			return meetings.MeetingRecord{}, fmt.Errorf("postgres: meeting %s: batch_pins: %w", m.ID, err)
		}
	}
	return m, nil
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
	return row.Scan(&a.MeetingID, &a.ID, &a.ExternalUserID, &a.JoinToken, &a.Seq,
		&a.Caps.Audio, &a.Caps.Video, &a.Caps.Content, &a.CapsVersion)
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
	var tenants, notifications any
	if m.TenantIDs != nil {
		b, err := json.Marshal(m.TenantIDs)
		if err != nil {
			return fmt.Errorf("postgres: meeting %s: tenant ids: %w", m.ID, err)
		}
		tenants = string(b)
	}
	features, err := json.Marshal(m.Features)
	if err != nil {
		return fmt.Errorf("postgres: meeting %s: features: %w", m.ID, err)
	}
	if m.Notifications != nil {
		b, err := json.Marshal(m.Notifications)
		if err != nil {
			return fmt.Errorf("postgres: meeting %s: notifications: %w", m.ID, err)
		}
		notifications = string(b)
	}
	pins, err := pinsArg(m)
	if err != nil {
		return err
	}
	ba, bv, bc := batchArgs(m.Batch)
	tag, err := t.tx.Exec(ctx, qInsertMeeting,
		m.ID, m.Account, m.ARN, m.ExternalMeetingID, m.MeetingHostID, m.MediaRegion,
		m.PrimaryMeetingID, tenants, string(features), notifications, m.NetworkType, m.CreatedAt,
		m.TokenHash, m.RequestHash, m.Version, ba, bv, bc, m.BatchVersion,
		m.Transcribing, m.TranscriptionConfig, pins)
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
	pins, err := pinsArg(m)
	if err != nil {
		return err
	}
	ba, bv, bc := batchArgs(m.Batch)
	return t.execOne(ctx, "update meeting", qUpdateMeeting,
		m.Version, ba, bv, bc, m.BatchVersion, m.Transcribing, m.TranscriptionConfig, pins, m.ID)
}

// pinsArg binds BatchPins: NULL when there are none, a JSON object
// otherwise.
func pinsArg(m meetings.MeetingRecord) (*string, error) {
	if len(m.BatchPins) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m.BatchPins)
	if err != nil {
		return nil, fmt.Errorf("postgres: meeting %s: batch pins: %w", m.ID, err)
	}
	s := string(b)
	return &s, nil
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
	err := t.tx.QueryRow(ctx, qInsertAttendee, a.MeetingID, a.ID, a.ExternalUserID, a.JoinToken,
		a.Caps.Audio, a.Caps.Video, a.Caps.Content, a.CapsVersion).Scan(&seq)
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
		caps.Audio, caps.Video, caps.Content, version, meetingID, attendeeID)
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

func batchArgs(c *meetings.Capabilities) (a, v, ct any) {
	if c == nil {
		return nil, nil, nil
	}
	return c.Audio, c.Video, c.Content
}
