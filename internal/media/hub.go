// Package media is Carillon's media plane: the live side of meetings. A Hub
// holds the meetings that have sessions on this node (rooms); each session is
// one attendee connection (a signaling socket and a WebRTC peer). The
// signaling layer decodes the Chime protocol and drives sessions; the domain
// (meetings) feeds the hub its committed changes, so that a deleted attendee
// or meeting leaves the media plane at once.
package media

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carillon-dev/carillon/internal/media/mixer"
	"github.com/carillon-dev/carillon/internal/meetings"
)

// Domain is what the media plane needs from the domain layer.
type Domain interface {
	// RecordPresence appends a presence event to the meeting's history.
	RecordPresence(ctx context.Context, meetingID, attendeeID, eventType string) error
	// EndMeeting ends a meeting by itself (the idle timer).
	EndMeeting(ctx context.Context, meetingID string) error
	// LiveCapabilities reads the current triples of these attendees.
	LiveCapabilities(ctx context.Context, meetingID string, attendeeIDs []string) (map[string]meetings.Capabilities, error)
}

// Config configures a Hub.
type Config struct {
	WebRTC *WebRTC
	Domain Domain
	// IdleTimeout ends a meeting that has had no session for this long (D20;
	// AWS: 5 minutes). Zero disables the idle end.
	IdleTimeout time.Duration
	Clock       Clock // nil: the real clock
	Log         *slog.Logger
	// Audio configures each meeting's audio mixer (mix-minus by default).
	Audio mixer.Config
}

// Hub is the media plane of one node.
type Hub struct {
	cfg     Config
	ctx     context.Context // the hub's life: background work stops with it
	records chan presenceRecord
	// forwarded counts video packets sent to subscribers (metrics).
	forwarded atomic.Uint64

	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool
}

// NewHub starts a hub; it stops when ctx ends.
func NewHub(ctx context.Context, cfg Config) *Hub {
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{cfg: cfg, ctx: ctx, rooms: map[string]*Room{}, records: make(chan presenceRecord, 4096)}
	go h.recordLoop()
	go func() {
		<-ctx.Done()
		h.shutdown()
	}()
	return h
}

// room returns the live room of a meeting, creating it when create is set.
func (h *Hub) room(meetingID string, create bool) *Room {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[meetingID]
	if r == nil && create && !h.closed {
		var err error
		if r, err = newRoom(h, meetingID); err != nil {
			h.cfg.Log.Error("media: starting a meeting's mixer", "meeting", meetingID, "err", err)
			return nil
		}
		h.rooms[meetingID] = r
	}
	return r
}

// forget removes an ended room.
func (h *Hub) forget(r *Room) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rooms[r.meetingID] == r {
		delete(h.rooms, r.meetingID)
	}
}

// Join admits a session for an authorized attendee. The session is not yet
// present: it becomes present when its media connects.
func (h *Hub) Join(req JoinRequest, client Client) (*Session, error) {
	r := h.room(req.Grant.MeetingID, true)
	if r == nil {
		return nil, ErrShuttingDown
	}
	s, err := r.join(req, client)
	if err == nil {
		// A capability change committed between the token check and now
		// is not lost: the room reads its attendees' triples again.
		r.scheduleRefresh()
	}
	return s, err
}

// OnEvent applies a change this node committed to the live rooms. It never
// blocks on I/O, so the domain may call it on its commit path. A meeting
// created here is placed here: its idle timer starts at creation, as AWS
// ends a meeting nobody joins.
func (h *Hub) OnEvent(e meetings.Event) {
	if e.Type == meetings.EventMeetingCreated {
		if h.cfg.IdleTimeout > 0 {
			if r := h.room(e.MeetingID, true); r != nil {
				r.apply(e)
			}
		}
		return
	}
	h.OnFeedEvent(e)
}

// OnFeedEvent applies a change any node committed (the store's change
// feed) to the rooms this node holds; other meetings are not this node's
// concern. An event seen both ways is applied once.
func (h *Hub) OnFeedEvent(e meetings.Event) {
	if r := h.room(e.MeetingID, false); r != nil {
		r.apply(e)
	}
}

// Stats is a snapshot of the hub for metrics and the console.
type Stats struct {
	Rooms, Sessions int
	// ForwardedVideoPackets counts video RTP packets sent to subscribers
	// since the hub started.
	ForwardedVideoPackets uint64
}

// Stats counts live rooms and sessions.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	rooms := make([]*Room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	st := Stats{Rooms: len(rooms), ForwardedVideoPackets: h.forwarded.Load()}
	for _, r := range rooms {
		st.Sessions += r.sessionCount()
	}
	return st
}

// Connected returns the attendee ids with a present session in a meeting.
func (h *Hub) Connected(meetingID string) []string {
	r := h.room(meetingID, false)
	if r == nil {
		return nil
	}
	return r.presentAttendees()
}

// shutdown ends every session as the server stops: the clients reconnect
// (close code 4500-4599 means "try again"), to this node once it is back.
func (h *Hub) shutdown() {
	h.mu.Lock()
	h.closed = true
	rooms := h.rooms
	h.rooms = map[string]*Room{}
	h.mu.Unlock()
	for _, r := range rooms {
		r.closeAll(CloseServerRestart)
	}
}

// presenceRecord is a presence event waiting to be written to the history.
type presenceRecord struct{ meetingID, attendeeID, event string }

// recordPresence queues a presence event. One writer keeps them in order;
// when the store is so slow that the queue fills, events are dropped (and
// logged) rather than holding up the media plane.
func (h *Hub) recordPresence(p presenceRecord) {
	select {
	case h.records <- p:
	default:
		h.cfg.Log.Warn("presence event dropped: history queue full", "meeting", p.meetingID, "event", p.event)
	}
}

func (h *Hub) recordLoop() {
	for {
		select {
		case <-h.ctx.Done():
			return
		case p := <-h.records:
			ctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), 10*time.Second)
			if err := h.cfg.Domain.RecordPresence(ctx, p.meetingID, p.attendeeID, p.event); err != nil {
				h.cfg.Log.Warn("recording presence", "meeting", p.meetingID, "attendee", p.attendeeID, "event", p.event, "err", err)
			}
			cancel()
		}
	}
}
