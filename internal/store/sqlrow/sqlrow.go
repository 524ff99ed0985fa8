// Package sqlrow is the row codec both SQL engines (internal/store/sqlite
// and internal/store/postgres) share: the column lists of their tables, the
// statements that read them (the same SQL in both but for placeholders),
// how a record becomes the arguments of an INSERT or UPDATE, and how a
// scanned row becomes a record again. The engines keep only what differs
// between them: how a time and a boolean are stored (Dialect), and the
// statements one of them writes differently (upserts, locks, id lists).
//
// Scan destinations work with both drivers: database/sql (modernc.org/sqlite)
// and pgx both scan NULL into a nil []byte or a nil *string, and both call
// sql.Scanner (timeCol, boolCol) with the driver's own value of the column.
package sqlrow

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/carillon-dev/carillon/internal/access"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
)

// Dialect is how an engine binds the values its SQL types differ in.
type Dialect struct {
	// Name prefixes error messages ("sqlite", "postgres").
	Name string
	// Time binds a time: Unix microseconds (INTEGER) or a timestamptz.
	Time func(time.Time) any
	// Bool binds a boolean: 0/1 (INTEGER) or a boolean.
	Bool func(bool) any
	// Dollar numbers placeholders $1, $2... instead of ?.
	Dollar bool
}

// SQL returns q with its ? placeholders written for the dialect. The shared
// statements use no ? other than placeholders.
func (d Dialect) SQL(q string) string {
	if !d.Dollar {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Values returns "(?, ?, ...)" with n placeholders, written for the dialect.
func (d Dialect) Values(n int) string {
	return d.SQL("(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")")
}

// The columns of each table, in the order the codec binds and scans them.
const (
	MeetingColumns = `id, account, arn, external_meeting_id, meeting_host_id, media_region,
	primary_meeting_id, tenant_ids, features, notifications, network_type, created_at,
	token_hash, request_hash, version, batch_audio, batch_video, batch_content, batch_version,
	transcribing, transcription_config, batch_pins, media_url`
	meetingColumnCount = 23

	AttendeeColumns = `meeting_id, id, external_user_id, join_token, seq,
	caps_audio, caps_video, caps_content, caps_version`

	// The columns InsertAttendee binds: seq is the database's.
	attendeeInsertColumns = `meeting_id, id, external_user_id, join_token, caps_audio, caps_video, caps_content, caps_version`
	attendeeInsertCount   = 8

	KeyColumns     = `access_key_id, name, sealed_secret, actions, meeting_arns, created_at`
	keyColumnCount = 6

	EventColumns = `seq, meeting_id, occurred_at, request_id, access_key_id, type, attendee_id, data`
)

// Statements both engines run as they are (placeholders written with
// Dialect.SQL).
const (
	SelectMeeting         = `SELECT ` + MeetingColumns + ` FROM meetings WHERE id = ?`
	SelectMeetingByToken  = `SELECT ` + MeetingColumns + ` FROM meetings WHERE account = ? AND token_hash = ? AND token_hash <> ''`
	SelectReplicas        = `SELECT id FROM meetings WHERE primary_meeting_id = ? AND primary_meeting_id <> '' ORDER BY id`
	SelectAttendee        = `SELECT ` + AttendeeColumns + ` FROM attendees WHERE meeting_id = ? AND id = ?`
	SelectAttendeeByExtID = `SELECT ` + AttendeeColumns + ` FROM attendees WHERE meeting_id = ? AND external_user_id = ?`
	SelectAttendees       = `SELECT ` + AttendeeColumns + ` FROM attendees WHERE meeting_id = ? AND seq > ? ORDER BY seq LIMIT ?`
	CountAttendees        = `SELECT count(*) FROM attendees WHERE meeting_id = ?`
	SelectTags            = `SELECT key, value FROM tags WHERE meeting_id = ? ORDER BY key`
	SelectExpired         = `SELECT id FROM meetings WHERE created_at < ? ORDER BY created_at, id LIMIT ?`
	UpdateMeeting         = `UPDATE meetings SET version = ?, batch_audio = ?, batch_video = ?, batch_content = ?, batch_version = ?, transcribing = ?, transcription_config = ?, batch_pins = ? WHERE id = ?`
	DeleteMeeting         = `DELETE FROM meetings WHERE id = ?`
	SetAttendeeCaps       = `UPDATE attendees SET caps_audio = ?, caps_video = ?, caps_content = ?, caps_version = ? WHERE meeting_id = ? AND id = ?`
	DeleteAttendee        = `DELETE FROM attendees WHERE meeting_id = ? AND id = ?`
	CountMeetings         = `SELECT count(*) FROM meetings WHERE account = ? AND created_at >= ?`
	SelectEvents          = `SELECT ` + EventColumns + ` FROM events WHERE meeting_id = ? AND seq > ? ORDER BY seq LIMIT ?`
	SelectKey             = `SELECT ` + KeyColumns + ` FROM access_keys WHERE access_key_id = ?`
	SelectKeys            = `SELECT ` + KeyColumns + ` FROM access_keys ORDER BY created_at, access_key_id`
	DeleteKey             = `DELETE FROM access_keys WHERE access_key_id = ?`
)

// InsertMeeting, InsertAttendee and InsertKey return the INSERT of the
// codec's columns; an engine may append a conflict clause.
func (d Dialect) InsertMeeting() string {
	return `INSERT INTO meetings (` + MeetingColumns + `) VALUES ` + d.Values(meetingColumnCount)
}

func (d Dialect) InsertAttendee() string {
	return `INSERT INTO attendees (` + attendeeInsertColumns + `) VALUES ` + d.Values(attendeeInsertCount)
}

func (d Dialect) InsertKey() string {
	return `INSERT INTO access_keys (` + KeyColumns + `) VALUES ` + d.Values(keyColumnCount)
}

// ReadAttendee is Store.ReadAttendee's statement: a meeting and, when it
// has it, one attendee, in one SELECT (the attendee columns are NULL when it
// has not). Its arguments are the meeting id, then the attendee id.
func (d Dialect) ReadAttendee() string {
	q := `SELECT ` + Qualified("m", MeetingColumns) + `, ` + Qualified("a", AttendeeColumns) + `
FROM meetings AS m LEFT JOIN attendees AS a ON a.meeting_id = m.id AND a.id = ?2
WHERE m.id = ?1`
	if d.Dollar {
		return strings.NewReplacer("?1", "$1", "?2", "$2").Replace(q)
	}
	return q
}

// Qualified prefixes each of the comma-separated columns with alias.
func Qualified(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// MeetingArgs are the arguments of InsertMeeting, in MeetingColumns order.
func (d Dialect) MeetingArgs(m meetings.MeetingRecord) ([]any, error) {
	tenants, err := jsonOrNull(m.TenantIDs == nil, m.TenantIDs)
	if err != nil {
		return nil, d.errorf("meeting %s: tenant ids: %w", m.ID, err)
	}
	features, err := json.Marshal(m.Features)
	if err != nil {
		return nil, d.errorf("meeting %s: features: %w", m.ID, err)
	}
	notifications, err := jsonOrNull(m.Notifications == nil, m.Notifications)
	if err != nil {
		return nil, d.errorf("meeting %s: notifications: %w", m.ID, err)
	}
	pins, err := d.pins(m)
	if err != nil {
		return nil, err
	}
	ba, bv, bc := batchArgs(m.Batch)
	return []any{
		m.ID, m.Account, m.ARN, m.ExternalMeetingID, m.MeetingHostID, m.MediaRegion,
		m.PrimaryMeetingID, tenants, string(features), notifications, m.NetworkType, d.Time(m.CreatedAt),
		m.TokenHash, m.RequestHash, m.Version, ba, bv, bc, m.BatchVersion,
		d.Bool(m.Transcribing), blob(m.TranscriptionConfig), pins, m.MediaURL,
	}, nil
}

// UpdateMeetingArgs are the arguments of UpdateMeeting: the mutable fields,
// then the id.
func (d Dialect) UpdateMeetingArgs(m meetings.MeetingRecord) ([]any, error) {
	pins, err := d.pins(m)
	if err != nil {
		return nil, err
	}
	ba, bv, bc := batchArgs(m.Batch)
	return []any{m.Version, ba, bv, bc, m.BatchVersion, d.Bool(m.Transcribing), blob(m.TranscriptionConfig), pins, m.ID}, nil
}

// AttendeeArgs are the arguments of InsertAttendee.
func AttendeeArgs(a meetings.AttendeeRecord) []any {
	return []any{a.MeetingID, a.ID, a.ExternalUserID, a.JoinToken, a.Caps.Audio, a.Caps.Video, a.Caps.Content, a.CapsVersion}
}

// SetCapsArgs are the arguments of SetAttendeeCaps.
func SetCapsArgs(meetingID, attendeeID string, caps meetings.Capabilities, version int64) []any {
	return []any{caps.Audio, caps.Video, caps.Content, version, meetingID, attendeeID}
}

// KeyArgs are the arguments of InsertKey. Nil Actions and MeetingARNs are
// stored as empty lists, a nil secret as an empty one (NOT NULL).
func (d Dialect) KeyArgs(k access.Key) ([]any, error) {
	actions, err := jsonList(k.Actions)
	if err != nil {
		return nil, d.errorf("insert key %s: actions: %w", k.AccessKeyID, err)
	}
	arns, err := jsonList(k.MeetingARNs)
	if err != nil {
		return nil, d.errorf("insert key %s: meeting ARNs: %w", k.AccessKeyID, err)
	}
	secret := k.SealedSecret
	if secret == nil {
		secret = []byte{}
	}
	return []any{k.AccessKeyID, k.Name, secret, actions, arns, d.Time(k.CreatedAt)}, nil
}

// pins binds BatchPins: NULL when there are none, a JSON object otherwise.
func (d Dialect) pins(m meetings.MeetingRecord) (any, error) {
	if len(m.BatchPins) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m.BatchPins)
	if err != nil {
		return nil, d.errorf("meeting %s: batch pins: %w", m.ID, err)
	}
	return string(b), nil
}

func (d Dialect) errorf(format string, args ...any) error {
	return fmt.Errorf(d.Name+": "+format, args...)
}

// jsonOrNull binds v as JSON text, or NULL when null is set.
func jsonOrNull(null bool, v any) (any, error) {
	if null {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func batchArgs(c *meetings.Capabilities) (a, v, ct any) {
	if c == nil {
		return nil, nil, nil
	}
	return c.Audio, c.Video, c.Content
}

// blob binds nil as NULL and anything else (even empty) as bytes.
func blob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// jsonList encodes a list as a JSON array; nil is the empty array.
func jsonList(l []string) (string, error) {
	if l == nil {
		l = []string{}
	}
	b, err := json.Marshal(l)
	return string(b), err
}

// parseList decodes a JSON array; it is never nil.
func parseList(b []byte) ([]string, error) {
	l := []string{}
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, err
	}
	if l == nil { // JSON null
		l = []string{}
	}
	return l, nil
}

// timeCol scans a time stored either way: Unix microseconds or a
// timestamp. It is always UTC. (Not an embedded time.Time: its promoted
// Unmarshal methods would offer a driver other ways to scan.)
type timeCol struct{ t time.Time }

// Scan implements sql.Scanner.
func (t *timeCol) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		t.t = time.UnixMicro(v).UTC()
	case time.Time:
		t.t = v.UTC()
	default:
		return fmt.Errorf("sqlrow: cannot scan %T into a time", src)
	}
	return nil
}

// boolCol scans a boolean stored either way: 0/1 or a boolean.
type boolCol struct{ b bool }

// Scan implements sql.Scanner.
func (b *boolCol) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		b.b = v != 0
	case bool:
		b.b = v
	default:
		return fmt.Errorf("sqlrow: cannot scan %T into a boolean", src)
	}
	return nil
}

// Meeting receives the MeetingColumns of a row.
type Meeting struct {
	m                      meetings.MeetingRecord
	tenants, notifications []byte
	features               []byte
	createdAt              timeCol
	transcribing           boolCol
	batchA, batchV, batchC *string
	pins                   []byte
}

// Dest returns the Scan destinations of the MeetingColumns, then extra.
func (r *Meeting) Dest(extra ...any) []any {
	m := &r.m
	return append([]any{&m.ID, &m.Account, &m.ARN, &m.ExternalMeetingID,
		&m.MeetingHostID, &m.MediaRegion, &m.PrimaryMeetingID, &r.tenants, &r.features, &r.notifications,
		&m.NetworkType, &r.createdAt, &m.TokenHash, &m.RequestHash, &m.Version,
		&r.batchA, &r.batchV, &r.batchC, &m.BatchVersion, &r.transcribing, &m.TranscriptionConfig, &r.pins, &m.MediaURL}, extra...)
}

// Record decodes the scanned row.
func (r *Meeting) Record(d Dialect) (meetings.MeetingRecord, error) {
	m := r.m
	m.CreatedAt = r.createdAt.t
	m.Transcribing = r.transcribing.b
	if r.tenants != nil {
		m.TenantIDs = []string{}
		if err := json.Unmarshal(r.tenants, &m.TenantIDs); err != nil {
			return meetings.MeetingRecord{}, d.errorf("meeting %s: tenant_ids: %w", m.ID, err)
		}
	}
	if err := json.Unmarshal(r.features, &m.Features); err != nil {
		return meetings.MeetingRecord{}, d.errorf("meeting %s: features: %w", m.ID, err)
	}
	if r.notifications != nil {
		m.Notifications = new(meetings.Notifications)
		if err := json.Unmarshal(r.notifications, m.Notifications); err != nil {
			return meetings.MeetingRecord{}, d.errorf("meeting %s: notifications: %w", m.ID, err)
		}
	}
	if r.batchA != nil && r.batchV != nil && r.batchC != nil {
		m.Batch = &meetings.Capabilities{Audio: *r.batchA, Video: *r.batchV, Content: *r.batchC}
	}
	if r.pins != nil {
		if err := json.Unmarshal(r.pins, &m.BatchPins); err != nil {
			return meetings.MeetingRecord{}, d.errorf("meeting %s: batch_pins: %w", m.ID, err)
		}
	}
	return m, nil
}

// AttendeeDest returns the Scan destinations of the AttendeeColumns.
func AttendeeDest(a *meetings.AttendeeRecord) []any {
	return []any{&a.MeetingID, &a.ID, &a.ExternalUserID, &a.JoinToken, &a.Seq,
		&a.Caps.Audio, &a.Caps.Video, &a.Caps.Content, &a.CapsVersion}
}

// NullAttendee receives the AttendeeColumns of an outer join, NULL when the
// row has no attendee.
type NullAttendee struct {
	meetingID, id, ext, token, audio, video, content *string
	seq, version                                     *int64
}

// Dest returns the Scan destinations of the AttendeeColumns.
func (r *NullAttendee) Dest() []any {
	return []any{&r.meetingID, &r.id, &r.ext, &r.token, &r.seq, &r.audio, &r.video, &r.content, &r.version}
}

// Record returns the attendee, or false when the row had none.
func (r *NullAttendee) Record() (meetings.AttendeeRecord, bool) {
	if r.id == nil {
		return meetings.AttendeeRecord{}, false
	}
	return meetings.AttendeeRecord{
		MeetingID: *r.meetingID, ID: *r.id, ExternalUserID: *r.ext, JoinToken: *r.token, Seq: *r.seq,
		Caps:        meetings.Capabilities{Audio: *r.audio, Video: *r.video, Content: *r.content},
		CapsVersion: *r.version,
	}, true
}

// Key receives the KeyColumns of a row.
type Key struct {
	k             access.Key
	actions, arns []byte
	createdAt     timeCol
}

// Dest returns the Scan destinations of the KeyColumns.
func (r *Key) Dest() []any {
	return []any{&r.k.AccessKeyID, &r.k.Name, &r.k.SealedSecret, &r.actions, &r.arns, &r.createdAt}
}

// Record decodes the scanned row.
func (r *Key) Record(d Dialect) (access.Key, error) {
	k := r.k
	var err error
	if k.Actions, err = parseList(r.actions); err != nil {
		return access.Key{}, d.errorf("key %s: actions: %w", k.AccessKeyID, err)
	}
	if k.MeetingARNs, err = parseList(r.arns); err != nil {
		return access.Key{}, d.errorf("key %s: meeting ARNs: %w", k.AccessKeyID, err)
	}
	if k.SealedSecret == nil {
		k.SealedSecret = []byte{}
	}
	k.CreatedAt = r.createdAt.t
	return k, nil
}

// Event receives the EventColumns of a row.
type Event struct {
	e  meetings.Event
	at timeCol
}

// Dest returns the Scan destinations of the EventColumns.
func (r *Event) Dest() []any {
	e := &r.e
	return []any{&e.Seq, &e.MeetingID, &r.at, &e.RequestID, &e.AccessKeyID, &e.Type, &e.AttendeeID, &e.Data}
}

// Record returns the scanned event.
func (r *Event) Record() meetings.Event {
	e := r.e
	e.Time = r.at.t
	return e
}

// ReadAttendeeRow receives a row of Dialect.ReadAttendee.
type ReadAttendeeRow struct {
	m Meeting
	a NullAttendee
}

// Dest returns the row's Scan destinations.
func (r *ReadAttendeeRow) Dest() []any { return r.m.Dest(r.a.Dest()...) }

// Records decodes the row: the meeting and, when found, the attendee.
func (r *ReadAttendeeRow) Records(d Dialect) (meetings.MeetingRecord, meetings.AttendeeRecord, bool, error) {
	m, err := r.m.Record(d)
	if err != nil {
		return meetings.MeetingRecord{}, meetings.AttendeeRecord{}, false, err
	}
	a, found := r.a.Record()
	return m, a, found, nil
}

// OneKey is the outcome of a lookup of one access key by id: the key, or
// ErrNoRecord when the lookup found none.
func (d Dialect) OneKey(keys []access.Key, err error, accessKeyID string) (access.Key, error) {
	if err != nil {
		return access.Key{}, err
	}
	if len(keys) == 0 {
		return access.Key{}, d.errorf("key %s: %w", accessKeyID, store.ErrNoRecord)
	}
	return keys[0], nil
}
