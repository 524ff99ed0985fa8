package meetings

import (
	"context"
	"time"
)

// Store is the storage engine behind the domain. Engines: internal/store/sqlite
// (embedded default) and internal/store/postgres. Every method takes a
// context; nothing assumes the engine lives in this process.
type Store interface {
	// Update runs fn in one read-write transaction and commits it when fn
	// returns nil; any error rolls everything back. The commit is durable
	// when Update returns nil. fn may be called more than once if the engine
	// must retry a serialization failure, so it must not have side effects
	// outside tx. A panic in fn rolls its writes back and Update returns an
	// error matching store.ErrAborted; so does runtime.Goexit (t.FailNow)
	// where fn runs on another goroutine than the caller's, and where it
	// runs on the caller's, Goexit ends that goroutine after the rollback.
	// Either way the engine serves on.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction with a consistent snapshot.
	View(ctx context.Context, fn func(tx ReadTx) error) error
	// ReadAttendee reads a meeting and one of its attendees (ids
	// lower-case) in one statement, without an explicit transaction: one
	// statement sees one consistent snapshot in both engines. store.ErrNoRecord
	// if the meeting is absent; attendeeFound is false, with a zero
	// AttendeeRecord, if the meeting has no such attendee.
	ReadAttendee(ctx context.Context, meetingID, attendeeID string) (m MeetingRecord, a AttendeeRecord, attendeeFound bool, err error)
	// Ping reports whether the engine can serve requests (readiness).
	Ping(ctx context.Context) error
	// Close releases the engine; pending writes are flushed.
	Close() error
}

// ReadTx is the read side of a transaction.
type ReadTx interface {
	HistoryReadTx
	// Meeting returns the meeting with this id (lower-case), or store.ErrNoRecord.
	Meeting(ctx context.Context, id string) (MeetingRecord, error)
	// MeetingByToken returns the meeting created by this account with this
	// ClientRequestToken hash, or store.ErrNoRecord.
	MeetingByToken(ctx context.Context, account, tokenHash string) (MeetingRecord, error)
	// Replicas returns the ids of the meetings whose PrimaryMeetingID is id.
	Replicas(ctx context.Context, id string) ([]string, error)
	// Attendee returns one attendee of a meeting (ids lower-case), or store.ErrNoRecord.
	Attendee(ctx context.Context, meetingID, attendeeID string) (AttendeeRecord, error)
	// AttendeeByExternalUserID returns the live attendee of the meeting with
	// this ExternalUserId (exact match), or store.ErrNoRecord.
	AttendeeByExternalUserID(ctx context.Context, meetingID, externalUserID string) (AttendeeRecord, error)
	// AttendeesByID returns the attendees of a meeting whose ids are in ids
	// (lower-case, no duplicates), in no particular order; ids that name no
	// attendee of this meeting are ignored (nil when none match).
	AttendeesByID(ctx context.Context, meetingID string, ids []string) ([]AttendeeRecord, error)
	// Attendees returns up to limit attendees of a meeting with Seq > afterSeq,
	// in Seq order.
	Attendees(ctx context.Context, meetingID string, afterSeq int64, limit int) ([]AttendeeRecord, error)
	// CountAttendees returns how many attendees the meeting has.
	CountAttendees(ctx context.Context, meetingID string) (int, error)
	// Tags returns the meeting's tags sorted by key.
	Tags(ctx context.Context, meetingID string) ([]Tag, error)
	// ExpiredMeetings returns up to limit ids of meetings created before t.
	ExpiredMeetings(ctx context.Context, createdBefore time.Time, limit int) ([]string, error)
}

// Tx is a read-write transaction.
type Tx interface {
	ReadTx
	HistoryTx
	// LockMeeting reads the meeting and holds a write lock on it until the
	// transaction ends, so that writes to one meeting serialize across
	// connections and nodes (D10). store.ErrNoRecord if absent.
	LockMeeting(ctx context.Context, id string) (MeetingRecord, error)
	// InsertMeeting stores a new meeting. store.ErrDuplicate if its id, or its
	// (Account, TokenHash), is taken.
	InsertMeeting(ctx context.Context, m MeetingRecord) error
	// UpdateMeeting writes the mutable fields of a meeting: Version, Batch,
	// BatchVersion, BatchPins, Transcribing, TranscriptionConfig.
	UpdateMeeting(ctx context.Context, m MeetingRecord) error
	// DeleteMeeting removes a meeting with its attendees and tags.
	DeleteMeeting(ctx context.Context, id string) error
	// InsertAttendee stores a new attendee and returns its Seq. store.ErrDuplicate
	// if its id or its (MeetingID, ExternalUserID) is taken.
	InsertAttendee(ctx context.Context, a AttendeeRecord) (int64, error)
	// SetAttendeeCaps sets one attendee's own triple and its version.
	// store.ErrNoRecord if absent.
	SetAttendeeCaps(ctx context.Context, meetingID, attendeeID string, caps Capabilities, version int64) error
	// DeleteAttendee removes one attendee. store.ErrNoRecord if absent.
	DeleteAttendee(ctx context.Context, meetingID, attendeeID string) error
	// PutTags adds or overwrites tags on a meeting.
	PutTags(ctx context.Context, meetingID string, tags []Tag) error
	// DeleteTags removes the tags with these keys; absent keys are ignored.
	DeleteTags(ctx context.Context, meetingID string, keys []string) error
}
