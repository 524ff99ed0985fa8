package media

import (
	"context"
	"encoding/json"
	"time"

	"github.com/carillon-dev/carillon/internal/media/mixer"
	"github.com/carillon-dev/carillon/internal/meetings"
)

// CapabilitiesTopic is the server-only data message topic on which an
// attendee's sessions are told that its capabilities changed. The SDK cannot
// send a topic with ':' (its send check allows letters, digits, '-' and
// '_'), and the server drops such topics from clients, so the message cannot
// be forged.
const CapabilitiesTopic = "carillon:capabilities"

// CapabilitiesNotice is the JSON of a CapabilitiesTopic message.
type CapabilitiesNotice struct {
	AttendeeId   string                `json:"AttendeeId"`
	Capabilities meetings.Capabilities `json:"Capabilities"`
	// Renegotiate is true when video or content changed: an upgrade takes
	// effect once the client subscribes again, which the SDK does by itself
	// when its INDEX changes.
	Renegotiate bool `json:"Renegotiate"`
}

// routes is a meeting's routing table: the capability triple of every
// attendee with a session, by attendee id. It is immutable; a change swaps
// in a new one (Room.routes), so the media hot path reads one pointer.
type routes struct {
	caps map[string]meetings.Capabilities
}

func (rt *routes) get(attendeeID string) meetings.Capabilities {
	if c, ok := rt.caps[attendeeID]; ok {
		return c
	}
	// An attendee the table does not know yet (joining) has what its
	// grant said; until then nothing is allowed.
	return meetings.Capabilities{Audio: meetings.None, Video: meetings.None, Content: meetings.None}
}

// getOr is get, with a default for an attendee the table does not know.
func (rt *routes) getOr(attendeeID string, def meetings.Capabilities) meetings.Capabilities {
	if c, ok := rt.caps[attendeeID]; ok {
		return c
	}
	return def
}

// mayPublish: a camera needs Video Send, a content share Content Send.
func (rt *routes) mayPublish(s *Session) bool {
	c := rt.get(s.baseAttendeeID)
	if s.content {
		return meetings.CanSend(c.Content)
	}
	return meetings.CanSend(c.Video)
}

// mayView: a camera needs Video Receive, a content share Content Receive.
func (rt *routes) mayView(receiver *Session, src *videoSource) bool {
	c := rt.get(receiver.baseAttendeeID)
	if src.publisher.content {
		return meetings.CanReceive(c.Content)
	}
	return meetings.CanReceive(c.Video)
}

// mixRouting turns the table into the mixer's rules: a sender without
// Audio Send is in no mix, a receiver without Audio Receive gets nothing.
func (rt *routes) mixRouting() *mixer.Routing {
	return &mixer.Routing{
		MaySend:    func(owner string) bool { return meetings.CanSend(rt.get(owner).Audio) },
		MayReceive: func(owner string) bool { return meetings.CanReceive(rt.get(owner).Audio) },
	}
}

// scheduleRefresh re-reads the capabilities of the room's attendees from
// the domain, once for any number of changes that arrive meanwhile.
func (r *Room) scheduleRefresh() {
	r.mu.Lock()
	if r.refreshing {
		r.refreshAgain = true
		r.mu.Unlock()
		return
	}
	r.refreshing = true
	r.mu.Unlock()
	go func() {
		for {
			r.refresh()
			r.mu.Lock()
			if !r.refreshAgain || r.ended {
				r.refreshing = false
				r.mu.Unlock()
				return
			}
			r.refreshAgain = false
			r.mu.Unlock()
		}
	}()
}

func (r *Room) refresh() {
	r.mu.Lock()
	seen := map[string]bool{}
	var ids []string
	for _, s := range r.sessions {
		if !seen[s.baseAttendeeID] {
			seen[s.baseAttendeeID] = true
			ids = append(ids, s.baseAttendeeID)
		}
	}
	r.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(r.hub.ctx, 10*time.Second)
	defer cancel()
	caps, err := r.hub.cfg.Domain.LiveCapabilities(ctx, r.meetingID, ids)
	if err != nil {
		r.hub.cfg.Log.Warn("media: reading capabilities", "meeting", r.meetingID, "err", err)
		return
	}
	r.applyCapabilities(caps)
}

// applyCapabilities swaps in a routing table with these triples and makes
// the live media follow it at once: one swap for the whole change, so no
// session ever sees half of a batch.
func (r *Room) applyCapabilities(update map[string]meetings.Capabilities) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return
	}
	old := r.routes.Load()
	next := &routes{caps: make(map[string]meetings.Capabilities, len(old.caps)+len(update))}
	for id, c := range old.caps {
		next.caps[id] = c
	}
	changed := map[string]meetings.Capabilities{}
	for id, c := range update {
		if prev, ok := old.caps[id]; !ok || prev != c {
			changed[id] = c
		}
		next.caps[id] = c
	}
	if len(changed) == 0 {
		return
	}
	r.routes.Store(next)
	r.mix.SetRouting(next.mixRouting())

	for _, s := range r.sessions {
		c, ok := changed[s.baseAttendeeID]
		if !ok {
			continue
		}
		prev := old.get(s.baseAttendeeID)
		switch {
		case s.content && !meetings.CanSend(c.Content):
			// A content share whose attendee may no longer share ends.
			wasPresent := s.present
			r.dropLocked(s)
			s.client.End(StatusAttendeeRemoved)
			if wasPresent {
				r.broadcastLocked(Presence{StreamID: s.streamID})
			}
			continue
		case !next.mayPublish(s):
			r.unpublishLocked(s) // remembered in s.offered, back when allowed
		case s.published.Load() == nil && s.offered != nil:
			// Send is back and the client still offers its camera: announce
			// it again now, without waiting for the user to toggle it.
			r.publishLocked(s, *s.offered)
		}
		if !s.content {
			renegotiate := prev.Video != c.Video || prev.Content != c.Content
			body, _ := json.Marshal(CapabilitiesNotice{AttendeeId: s.baseAttendeeID, Capabilities: c, Renegotiate: renegotiate})
			if s.present {
				s.client.Data([]DataMessage{{Topic: CapabilitiesTopic, Data: body, IngestTimeNs: r.hub.cfg.Clock.Now().UnixNano()}})
			}
		}
	}
	// Receivers that lost a kind of video stop getting it now; their INDEX
	// no longer lists it, so the SDK drops those tiles.
	for _, s := range r.sessions {
		if _, ok := changed[s.baseAttendeeID]; ok {
			go s.detachForbidden()
		}
	}
	r.broadcastIndexLocked()
}

// detachForbidden stops forwarding to this session the videos it may no
// longer receive.
func (s *Session) detachForbidden() {
	rt := s.room.routes.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs {
		if src := sub.source.Load(); src != nil && !rt.mayView(s, src) {
			src.remove(sub)
			sub.source.Store(nil)
		}
	}
}
