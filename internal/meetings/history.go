package meetings

import (
	"context"
	"time"
)

// HistoryReadTx and HistoryTx are the store methods behind --max-meetings
// and the audit history (D12); ReadTx and Tx include them.
type HistoryReadTx interface {
	// CountMeetings returns how many meetings of account were created at or
	// after createdAfter (the live ones, --max-meetings).
	CountMeetings(ctx context.Context, account string, createdAfter time.Time) (int, error)
	// Events returns up to limit events of a meeting with Seq > afterSeq, in
	// Seq order. Events outlive their meeting: DeleteMeeting keeps them.
	Events(ctx context.Context, meetingID string, afterSeq int64, limit int) ([]Event, error)
}

type HistoryTx interface {
	HistoryReadTx
	// LockAccount holds a lock on the account until the transaction ends, so
	// that meeting creations of one account serialize across nodes (the
	// --max-meetings count). The account needs no row of its own.
	LockAccount(ctx context.Context, account string) error
	// AppendEvents adds events to the history in order and sets each
	// events[i].Seq (store-wide, increasing, never reused). Nil or empty Data
	// reads back as nil; Data that is not valid JSON is an error. Append a
	// meeting's events in the transaction that locks, creates or deletes it,
	// so that on PostgreSQL they commit in Seq order.
	AppendEvents(ctx context.Context, events []Event) error
}

// Event is one entry of a meeting's history: the audit trail of D12. Data is
// a JSON document whose shape depends on Type.
type Event struct {
	Seq         int64
	MeetingID   string
	Time        time.Time
	RequestID   string
	AccessKeyID string
	Type        string
	AttendeeID  string // attendee events only
	Data        []byte
}
