package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carillon-dev/carillon/internal/meetings"
)

// feedChannel is the PostgreSQL NOTIFY channel of the change feed: every
// transaction that appends history events notifies their headers, and
// PostgreSQL delivers them to every listening node when (and only when) it
// commits.
const feedChannel = "carillon_events"

// maxNotifyBytes keeps each payload under PostgreSQL's 8000-byte limit.
const maxNotifyBytes = 7000

// feedEvent is an event's header as notified: the feed says what changed;
// a node that needs more reads the store.
type feedEvent struct {
	Seq        int64  `json:"s"`
	MeetingID  string `json:"m"`
	Type       string `json:"t"`
	AttendeeID string `json:"a,omitempty"`
}

// notifyEvents queues the notification of events in the transaction.
func (t *tx) notifyEvents(ctx context.Context, events []meetings.Event) error {
	batch := make([]feedEvent, 0, len(events))
	size := 2
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		b, err := json.Marshal(batch)
		if err != nil {
			return err
		}
		batch, size = batch[:0], 2
		if _, err := t.tx.Exec(ctx, `SELECT pg_notify($1, $2)`, feedChannel, string(b)); err != nil {
			return t.fail(ctx, err)
		}
		return nil
	}
	for _, e := range events {
		fe := feedEvent{Seq: e.Seq, MeetingID: e.MeetingID, Type: e.Type, AttendeeID: e.AttendeeID}
		n := 40 + len(fe.MeetingID) + len(fe.Type) + len(fe.AttendeeID)
		if size+n > maxNotifyBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, fe)
		size += n
	}
	return flush()
}

// Listen implements meetings.ChangeFeed: it calls fn with every event any
// node commits, this node's included, until ctx ends. It holds one
// connection of its own and reconnects after a failure; events committed
// while it is disconnected are not delivered (the history has them).
func (s *Store) Listen(ctx context.Context, fn func(meetings.Event)) error {
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, fn)
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("postgres: change feed interrupted; reconnecting", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (s *Store) listenOnce(ctx context.Context, fn func(meetings.Event)) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	dialCtx, cancel := context.WithTimeout(ctx, s.opTimeout)
	conn, err := pgx.ConnectConfig(dialCtx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+feedChannel); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var batch []feedEvent
		if json.Unmarshal([]byte(n.Payload), &batch) != nil {
			continue
		}
		for _, e := range batch {
			fn(meetings.Event{Seq: e.Seq, MeetingID: e.MeetingID, Type: e.Type, AttendeeID: e.AttendeeID})
		}
	}
}
