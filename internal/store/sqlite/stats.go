package sqlite

import (
	"context"
	"time"
)

const qLiveCounts = `SELECT
	(SELECT count(*) FROM meetings WHERE created_at >= ?1),
	(SELECT count(*) FROM attendees a JOIN meetings m ON m.id = a.meeting_id WHERE m.created_at >= ?1)`

// LiveCounts implements meetings.LiveCounter: the meetings created at or
// after createdAfter and their attendees, read on a reader connection (for
// the live-meeting gauges, at each metrics scrape).
func (s *Store) LiveCounts(ctx context.Context, createdAfter time.Time) (meetings, attendees int, err error) {
	if err := s.enter(); err != nil {
		return 0, 0, err
	}
	defer s.calls.Leave()
	err = s.r.QueryRowContext(ctx, qLiveCounts, createdAfter.UnixMicro()).Scan(&meetings, &attendees)
	return meetings, attendees, mapErr(err)
}
