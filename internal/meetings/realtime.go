package meetings

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
)

// Events of the real-time attendee channel, recorded in the meeting's
// history so that the events issue can publish them (Chime's event names).
const (
	EventAttendeeJoined         = "AttendeeJoined"
	EventAttendeeLeft           = "AttendeeLeft"
	EventAttendeeDropped        = "AttendeeDropped"
	EventAttendeeContentJoined  = "AttendeeContentJoined"
	EventAttendeeContentLeft    = "AttendeeContentLeft"
	EventAttendeeContentDropped = "AttendeeContentDropped"

	EventAttendeeVideoStarted        = "AttendeeVideoStarted"
	EventAttendeeVideoStopped        = "AttendeeVideoStopped"
	EventAttendeeContentVideoStarted = "AttendeeContentVideoStarted"
	EventAttendeeContentVideoStopped = "AttendeeContentVideoStopped"
)

// Errors of AuthorizeJoin. The signaling layer maps them to the close codes
// the Chime SDK understands; they say nothing about the token itself.
var (
	// ErrJoinRefused: the token is malformed, unknown, belongs to a deleted
	// attendee or to an attendee of another meeting.
	ErrJoinRefused = errors.New("join refused: attendee unavailable")
	// ErrMeetingGone: the meeting was deleted or has ended.
	ErrMeetingGone = errors.New("meeting has ended")
)

// JoinGrant is what a valid JoinToken admits to: one attendee of one live
// meeting.
type JoinGrant struct {
	MeetingID      string
	AttendeeID     string
	ExternalUserID string
	Capabilities   Capabilities
	// EndsAt is when the meeting ends by age (D20).
	EndsAt time.Time
}

// AuthorizeJoin checks an attendee's JoinToken against a meeting. The token
// is compared in constant time and never appears in an error. It needs no
// caller: the token is the credential.
func (s *Service) AuthorizeJoin(ctx context.Context, meetingID, joinToken string) (JoinGrant, error) {
	attendeeID, ok := attendeeOfToken(joinToken)
	if !ok {
		return JoinGrant{}, ErrJoinRefused
	}
	m, a, found, err := s.store.ReadAttendee(ctx, normalizeID(meetingID), attendeeID)
	if errors.Is(err, store.ErrNoRecord) || (err == nil && s.expired(&m)) {
		return JoinGrant{}, ErrMeetingGone
	}
	if err != nil {
		return JoinGrant{}, err
	}
	if !found || subtle.ConstantTimeCompare([]byte(a.JoinToken), []byte(joinToken)) != 1 {
		return JoinGrant{}, ErrJoinRefused
	}
	return JoinGrant{
		MeetingID:      m.ID,
		AttendeeID:     a.ID,
		ExternalUserID: a.ExternalUserID,
		Capabilities:   EffectiveCapabilities(&m, &a),
		EndsAt:         m.CreatedAt.Add(s.cfg.MaxMeetingDuration),
	}, nil
}

// attendeeOfToken reads the attendee id a token of joinToken's shape names.
func attendeeOfToken(token string) (string, bool) {
	if len(token) > 256 {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", false
	}
	id, _, ok := strings.Cut(string(raw), ":")
	if !ok || len(id) != 36 {
		return "", false
	}
	return strings.ToLower(id), true
}

// RecordPresence appends a presence event (EventAttendeeJoined and the
// others above) to a meeting's history. A meeting that no longer exists is
// not an error: its attendees' sessions are ending with it.
func (s *Service) RecordPresence(ctx context.Context, meetingID, attendeeID, eventType string) error {
	return s.updateIfExists(ctx, meetingID, func(tx Tx, id string) error {
		return s.record(ctx, tx, id, eventType, attendeeID, nil)
	})
}

// EndMeeting ends a meeting by itself, exactly as DeleteMeeting would but
// recorded as MeetingEnded (D20: the idle timer). Ending a meeting that is
// already gone is not an error.
func (s *Service) EndMeeting(ctx context.Context, meetingID string) error {
	return s.updateIfExists(ctx, meetingID, func(tx Tx, id string) error {
		return s.removeMeeting(ctx, tx, id, EventMeetingEnded)
	})
}

// updateIfExists runs fn on a meeting locked in a write transaction, and
// does nothing when the meeting is gone. It needs no caller: the media
// plane acts for the meeting itself.
func (s *Service) updateIfExists(ctx context.Context, meetingID string, fn func(tx Tx, id string) error) error {
	return s.update(ctx, func(tx Tx) error {
		m, err := tx.LockMeeting(ctx, normalizeID(meetingID))
		if errors.Is(err, store.ErrNoRecord) {
			return nil
		}
		if err != nil {
			return err
		}
		return fn(tx, m.ID)
	})
}

// Watch registers fn to receive the events of every write this Service
// commits, after the commit and in commit order for each meeting. fn runs on
// the writer's goroutine and must not block. Other nodes' writes arrive
// through the store's change feed instead (ChangeFeed).
func (s *Service) Watch(fn func(Event)) {
	s.watchers.mu.Lock()
	defer s.watchers.mu.Unlock()
	s.watchers.fns = append(s.watchers.fns, fn)
}

type watchers struct {
	mu  sync.Mutex
	fns []func(Event)
}

func (s *Service) publish(events []Event) {
	s.watchers.mu.Lock()
	fns := s.watchers.fns
	s.watchers.mu.Unlock()
	for _, e := range events {
		for _, fn := range fns {
			fn(e)
		}
	}
}

// update runs fn in one store transaction (Store.Update) and, once it has
// committed, publishes the events fn appended to the watchers.
func (s *Service) update(ctx context.Context, fn func(tx Tx) error) error {
	var events []Event
	err := s.store.Update(ctx, func(tx Tx) error {
		events = events[:0] // fn may run again when the engine retries
		return fn(recordingTx{Tx: tx, events: &events})
	})
	if err == nil && len(events) > 0 {
		s.publish(events)
	}
	return err
}

// recordingTx remembers the events appended through it.
type recordingTx struct {
	Tx
	events *[]Event
}

func (r recordingTx) AppendEvents(ctx context.Context, events []Event) error {
	if err := r.Tx.AppendEvents(ctx, events); err != nil {
		return err
	}
	*r.events = append(*r.events, events...)
	return nil
}

// ChangeFeed is implemented by stores shared by several nodes: Listen calls
// fn with every event any node commits (this node's too), until ctx ends.
// Delivery is at most once and prompt; a consumer that must not miss an
// event reads the history.
type ChangeFeed interface {
	Listen(ctx context.Context, fn func(Event)) error
}

// LiveCapabilities returns the capability triple each of these attendees of
// a meeting has now (EffectiveCapabilities), for the media plane to enforce.
// Attendees that no longer exist are absent from the map; a meeting that no
// longer exists gives an empty map. Its cost is O(len(attendeeIDs)).
func (s *Service) LiveCapabilities(ctx context.Context, meetingID string, attendeeIDs []string) (map[string]Capabilities, error) {
	out := map[string]Capabilities{}
	err := s.store.View(ctx, func(tx ReadTx) error {
		clear(out)
		m, err := tx.Meeting(ctx, normalizeID(meetingID))
		if errors.Is(err, store.ErrNoRecord) {
			return nil
		}
		if err != nil {
			return err
		}
		atts, err := tx.AttendeesByID(ctx, m.ID, attendeeIDs)
		if err != nil {
			return err
		}
		for i := range atts {
			out[atts[i].ID] = EffectiveCapabilities(&m, &atts[i])
		}
		return nil
	})
	return out, err
}

// CanSend and CanReceive read one channel of a capability triple.
func CanSend(c string) bool    { return c == SendReceive || c == Send }
func CanReceive(c string) bool { return c == SendReceive || c == Receive }
