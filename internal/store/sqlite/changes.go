package sqlite

// The writes of meeting and attendee rows, the rows the live state
// (live.go) mirrors. Each is a change: tx.record runs its SQL and logs it,
// and once the transaction has committed the writer applies it to the live
// state. A write method is one call of tx.record, so none can write those
// rows without the live state learning of it.

import (
	"context"
	"time"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store/sqlrow"
)

// A change is one write of a transaction.
type change interface {
	// meeting is the meeting whose rows it writes.
	meeting() string
	// write runs its SQL in t; it may complete the change (a new
	// attendee's Seq).
	write(ctx context.Context, t *tx) error
	// owned returns the change as the live state keeps it, sharing nothing
	// with the records the caller passed (which it may change afterwards).
	owned() change
	// apply applies it to the live state (writer only, mu held).
	apply(l *liveState)
}

type (
	insertMeetingChange  struct{ m meetings.MeetingRecord }
	updateMeetingChange  struct{ m meetings.MeetingRecord }
	deleteMeetingChange  struct{ id string }
	insertAttendeeChange struct{ a meetings.AttendeeRecord }
	setCapsChange        struct {
		meetingID, attendeeID string
		caps                  meetings.Capabilities
		version               int64
	}
	deleteAttendeeChange struct{ meetingID, attendeeID string }
)

func (c insertMeetingChange) meeting() string   { return c.m.ID }
func (c updateMeetingChange) meeting() string   { return c.m.ID }
func (c deleteMeetingChange) meeting() string   { return c.id }
func (c *insertAttendeeChange) meeting() string { return c.a.MeetingID }
func (c setCapsChange) meeting() string         { return c.meetingID }
func (c deleteAttendeeChange) meeting() string  { return c.meetingID }

func (c insertMeetingChange) write(ctx context.Context, t *tx) error {
	args, err := dialect.MeetingArgs(c.m)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, qInsertMeeting, args...)
	return err
}

func (c updateMeetingChange) write(ctx context.Context, t *tx) error {
	args, err := dialect.UpdateMeetingArgs(c.m)
	if err != nil {
		return err
	}
	return t.execOne(ctx, "update meeting", sqlrow.UpdateMeeting, args...)
}

func (c deleteMeetingChange) write(ctx context.Context, t *tx) error {
	return t.execOne(ctx, "delete meeting", sqlrow.DeleteMeeting, c.id)
}

func (c *insertAttendeeChange) write(ctx context.Context, t *tx) error {
	res, err := t.exec(ctx, qInsertAttendee, sqlrow.AttendeeArgs(c.a)...)
	if err != nil {
		return err
	}
	if c.a.Seq, err = res.LastInsertId(); err != nil {
		return mapErr(err)
	}
	return nil
}

func (c setCapsChange) write(ctx context.Context, t *tx) error {
	return t.execOne(ctx, "set attendee capabilities", sqlrow.SetAttendeeCaps,
		sqlrow.SetCapsArgs(c.meetingID, c.attendeeID, c.caps, c.version)...)
}

func (c deleteAttendeeChange) write(ctx context.Context, t *tx) error {
	return t.execOne(ctx, "delete attendee", sqlrow.DeleteAttendee, c.meetingID, c.attendeeID)
}

func (c insertMeetingChange) owned() change   { return insertMeetingChange{cloneMeeting(c.m)} }
func (c updateMeetingChange) owned() change   { return updateMeetingChange{cloneMeeting(c.m)} }
func (c deleteMeetingChange) owned() change   { return c }
func (c *insertAttendeeChange) owned() change { return &insertAttendeeChange{c.a} }
func (c setCapsChange) owned() change         { return c }
func (c deleteAttendeeChange) owned() change  { return c }

// cloneMeeting copies what m points to, so that the live state shares
// nothing with the caller that wrote m, and makes it what reading it back
// from the database gives (CreatedAt in UTC, to the microsecond).
func cloneMeeting(m meetings.MeetingRecord) meetings.MeetingRecord {
	m.CreatedAt = time.UnixMicro(m.CreatedAt.UnixMicro()).UTC()
	if m.TenantIDs != nil {
		m.TenantIDs = append([]string{}, m.TenantIDs...)
	}
	if m.Notifications != nil {
		n := *m.Notifications
		m.Notifications = &n
	}
	if m.Batch != nil {
		b := internCaps(*m.Batch)
		m.Batch = &b
	}
	if m.TranscriptionConfig != nil {
		m.TranscriptionConfig = append([]byte{}, m.TranscriptionConfig...)
	}
	if len(m.BatchPins) == 0 {
		m.BatchPins = nil // as the database gives it back
	} else {
		pins := make(map[string]meetings.Capabilities, len(m.BatchPins))
		for id, c := range m.BatchPins {
			pins[id] = internCaps(c)
		}
		m.BatchPins = pins
	}
	return m
}

func (c insertMeetingChange) apply(l *liveState) {
	l.remove(c.m.ID)
	l.meetings[c.m.ID] = &liveMeeting{m: c.m, attendees: map[string]liveAttendee{}}
}

func (c updateMeetingChange) apply(l *liveState) {
	lm := l.meetings[c.m.ID]
	if lm == nil {
		return
	}
	// A new record: readers may hold the old one.
	m := lm.m
	m.Version, m.Batch, m.BatchVersion, m.BatchPins = c.m.Version, c.m.Batch, c.m.BatchVersion, c.m.BatchPins
	m.Transcribing, m.TranscriptionConfig = c.m.Transcribing, c.m.TranscriptionConfig
	lm.m = m
}

func (c deleteMeetingChange) apply(l *liveState) { l.remove(c.id) }

func (c *insertAttendeeChange) apply(l *liveState) {
	lm := l.meetings[c.a.MeetingID]
	if lm == nil {
		return
	}
	if _, ok := lm.attendees[c.a.ID]; !ok {
		l.size++
	}
	lm.put(c.a)
	l.evict(c.a.MeetingID)
}

func (c setCapsChange) apply(l *liveState) {
	lm := l.meetings[c.meetingID]
	if lm == nil {
		return
	}
	if a, ok := lm.attendees[c.attendeeID]; ok {
		lm.attendees[c.attendeeID] = a.withCaps(c.meetingID, c.attendeeID, c.caps, c.version)
	}
}

func (c deleteAttendeeChange) apply(l *liveState) {
	lm := l.meetings[c.meetingID]
	if lm == nil {
		return
	}
	if _, ok := lm.attendees[c.attendeeID]; ok {
		delete(lm.attendees, c.attendeeID)
		l.size--
	}
}
