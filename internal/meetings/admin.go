package meetings

import (
	"context"
	"errors"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
)

// The operations here are Carillon's own, for development and test suites,
// served on the administration API only: AWS has no ListMeetings, and no
// AWS client must see one.

// MeetingSummary is one meeting of ListMeetings, with its attendee count.
type MeetingSummary struct {
	Meeting   Meeting `json:"Meeting"`
	Attendees int     `json:"Attendees"`
}

// everyMeeting is a creation time after every meeting's: ExpiredMeetings
// (meetings created before a time, oldest first) then lists them all.
func everyMeeting() time.Time { return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) }

// ListMeetings returns up to limit live meetings, oldest first.
func (s *Service) ListMeetings(ctx context.Context, limit int) ([]MeetingSummary, error) {
	var out []MeetingSummary
	err := s.store.View(ctx, func(tx ReadTx) error {
		out = out[:0]
		// Ended meetings not yet swept are among the ids and skipped, so
		// a page may hold fewer than limit meetings.
		ids, err := tx.ExpiredMeetings(ctx, everyMeeting(), limit)
		if err != nil {
			return err
		}
		for _, id := range ids {
			m, err := tx.Meeting(ctx, id)
			if errors.Is(err, store.ErrNoRecord) || (err == nil && s.expired(&m)) {
				continue
			}
			if err != nil {
				return err
			}
			n, err := tx.CountAttendees(ctx, id)
			if err != nil {
				return err
			}
			out = append(out, MeetingSummary{Meeting: s.meetingView(&m), Attendees: n})
		}
		return nil
	})
	return out, err
}

// DeleteAllMeetings deletes every meeting, live or ended, a batch per
// transaction, and returns how many it deleted.
func (s *Service) DeleteAllMeetings(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		err := s.store.Update(ctx, func(tx Tx) error {
			n = 0
			ids, err := tx.ExpiredMeetings(ctx, everyMeeting(), 500)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := tx.DeleteMeeting(ctx, id); err != nil && !errors.Is(err, store.ErrNoRecord) {
					return err
				}
				if err := s.record(ctx, tx, id, EventMeetingDeleted, "", nil); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// LiveCounter is implemented by engines that can count live meetings and
// their attendees in one query, for the live-meeting metrics.
type LiveCounter interface {
	LiveCounts(ctx context.Context, createdAfter time.Time) (meetings, attendees int, err error)
}

// LiveCounts returns how many meetings are live and how many attendees
// they have; ok is false when the engine cannot count them.
func (s *Service) LiveCounts(ctx context.Context) (meetings, attendees int, ok bool, err error) {
	c, ok := s.store.(LiveCounter)
	if !ok {
		return 0, 0, false, nil
	}
	m, a, err := c.LiveCounts(ctx, s.now().Add(-s.cfg.MaxMeetingDuration))
	return m, a, true, err
}
