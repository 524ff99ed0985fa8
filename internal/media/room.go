package media

import (
	"context"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carillon-dev/carillon/internal/media/mixer"
	"github.com/carillon-dev/carillon/internal/meetings"
)

// Data message limits, as the Chime SDK documents them: a topic of 1-36
// letters, digits, '-' or '_' (so a "carillon:" topic can only come from the
// server), up to 2 KiB of data, kept up to 5 minutes and 1024 messages for
// late joiners, 100 messages a second with bursts of 200 per meeting.
var topicPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,36}$`)

const (
	maxDataBytes      = 2048
	maxDataLifetimeMs = 5 * 60 * 1000
	maxRetained       = 1024
	dataRate          = 100.0
	dataBurst         = 200.0
	seenEvents        = 256 // recent event Seqs a room remembers, to ignore repeats
)

// Room is the live state of one meeting on this node.
type Room struct {
	hub       *Hub
	meetingID string
	mix       *mixer.Mixer
	ctx       context.Context
	stop      context.CancelFunc // ends the mixer and the metadata ticker
	running   bool               // the mixer runs (from the first join); guarded by mu
	routes    atomic.Pointer[routes]

	mu           sync.Mutex
	sessions     map[string]*Session // by announced attendee id (with #content)
	nextStreamID uint32
	nextVideoID  uint32
	nextGroupID  uint32
	sources      map[uint32]*videoSource // published videos by stream id
	ended        bool
	idle         Timer
	age          Timer
	seen         map[int64]struct{}
	seenOrder    []int64
	retained     []retainedMessage // with lifetime, oldest first
	tokens       float64
	tokensAt     time.Time
	refreshing   bool // a capability refresh is running
	refreshAgain bool // and another change arrived meanwhile
}

func newRoom(h *Hub, meetingID string) (*Room, error) {
	mix, err := mixer.New(h.cfg.Audio)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(h.ctx)
	r := &Room{hub: h, meetingID: meetingID, mix: mix, ctx: ctx, stop: stop, sessions: map[string]*Session{},
		sources: map[uint32]*videoSource{}, seen: map[int64]struct{}{}, tokens: dataBurst}
	r.routes.Store(&routes{caps: map[string]meetings.Capabilities{}})
	mix.SetRouting(r.routes.Load().mixRouting())
	r.mu.Lock()
	r.armIdleLocked()
	r.mu.Unlock()
	return r, nil
}

// metadataInterval is the AUDIO_METADATA rate: the SDK's guide says five
// updates a second.
const metadataInterval = 200 * time.Millisecond

// reportLevels sends every present session the volume and signal strength
// of every sender (AUDIO_METADATA), from the audio-level header extension:
// nothing is decoded for it.
func (r *Room) reportLevels(ctx context.Context) {
	t := time.NewTicker(metadataInterval)
	defer t.Stop()
	var levels []mixer.Level
	lastStats := map[string]mixer.SenderStats{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		levels = r.mix.Levels(levels[:0])
		r.mu.Lock()
		var states []AudioLevel
		for _, l := range levels {
			s := r.sessions[l.Session]
			if s == nil || !s.present {
				continue
			}
			st := AudioLevel{StreamID: s.streamID, Volume: uint32(l.Level), SignalStrength: 2}
			if snd := s.audioIn.Load(); snd != nil {
				now := snd.Stats()
				prev := lastStats[l.Session]
				got, lost := now.Received-prev.Received, now.Lost-prev.Lost
				if got+lost > 0 {
					// 0 (all lost) .. 2 (none lost), as the SDK reads it.
					st.SignalStrength = uint32(2 * got / (got + lost))
				}
				lastStats[l.Session] = now
			}
			if s.muted {
				st.Volume = 127
			}
			states = append(states, st)
		}
		if len(states) > 0 {
			for _, s := range r.sessions {
				if s.present {
					s.client.Metadata(states)
				}
			}
		}
		r.mu.Unlock()
	}
}

func (r *Room) join(req JoinRequest, client Client) (*Session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return nil, ErrMeetingEnded
	}
	g := req.Grant
	if req.Content && !meetings.CanSend(r.routes.Load().getOr(g.AttendeeID, g.Capabilities).Content) {
		return nil, ErrContentNotAllowed
	}
	r.learnLocked(g.AttendeeID, g.Capabilities)
	announced := g.AttendeeID
	if req.Content {
		announced += "#content"
	}
	r.nextStreamID++
	s := &Session{room: r, attendeeID: announced, baseAttendeeID: g.AttendeeID, externalUserID: g.ExternalUserID,
		content: req.Content, audioSessionID: req.AudioSessionID, streamID: r.nextStreamID, client: client}
	if old := r.sessions[announced]; old != nil {
		// The attendee is still present: the new session announces itself
		// with a higher stream id when it connects, and "newer id wins" in
		// the SDK, so the old one leaves no gap in the roster.
		r.dropLocked(old)
		if old.audioSessionID == req.AudioSessionID {
			old.client.Close(CloseReplaced, "reconnected")
		} else {
			old.client.End(StatusJoinedFromAnotherDevice)
		}
	}
	r.sessions[announced] = s
	if !r.running {
		// A room made at creation for its idle timer costs nothing until
		// someone joins: only then do its mixer and level reports run.
		r.running = true
		go func() { _ = r.mix.Run(r.ctx) }()
		go r.reportLevels(r.ctx)
	}
	if r.idle != nil {
		r.idle.Stop()
		r.idle = nil
	}
	if r.age == nil && !g.EndsAt.IsZero() {
		r.age = r.hub.cfg.Clock.AfterFunc(g.EndsAt.Sub(r.hub.cfg.Clock.Now()), func() { r.end() })
	}
	return s, nil
}

// index is the INDEX a session gets now.
func (r *Room) index(s *Session) Index {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.indexForLocked(s)
}

// indexForLocked lists the videos s may subscribe to: everyone's but its
// own, of the kinds it may receive. at_capacity tells an attendee without
// Video Send that it cannot start its camera.
func (r *Room) indexForLocked(s *Session) Index {
	rt := r.routes.Load()
	idx := Index{NumParticipants: r.presentCountLocked(), AtCapacity: !s.content && !rt.mayPublish(s)}
	for _, src := range r.sources {
		if src.publisher != s && rt.mayView(s, src) {
			idx.Sources = append(idx.Sources, src.Source)
		}
	}
	return idx
}

// learnLocked adds an attendee's triple from its join grant to the routing
// table, unless the table already knows a (possibly newer) one.
func (r *Room) learnLocked(attendeeID string, c meetings.Capabilities) {
	old := r.routes.Load()
	if _, ok := old.caps[attendeeID]; ok {
		return
	}
	next := &routes{caps: make(map[string]meetings.Capabilities, len(old.caps)+1)}
	for id, v := range old.caps {
		next.caps[id] = v
	}
	next.caps[attendeeID] = c
	r.routes.Store(next)
	r.mix.SetRouting(next.mixRouting())
}

func (r *Room) broadcastIndexLocked() {
	for _, o := range r.sessions {
		o.client.Index(r.indexForLocked(o))
	}
}

// source returns the published video a receiver may subscribe to.
func (r *Room) source(streamID uint32, receiver *Session) *videoSource {
	r.mu.Lock()
	defer r.mu.Unlock()
	src := r.sources[streamID]
	if src == nil || src.publisher == receiver || !r.routes.Load().mayView(receiver, src) {
		return nil
	}
	return src
}

// publish announces a session's video (a camera, or a content share) to
// everyone. A session keeps its group id across restarts of its camera.
//
// Without Send, the video is remembered and announced when Send comes back.
// refused is set only when the client starts a camera it may not send: a
// camera that was already on when Send went stays on at the client (the
// SDK turns it off for good on status 206), so that it can come back
// without the user toggling it.
func (r *Room) publish(s *Session, send SendStream) (a Allocation, ok, refused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.gone {
		return Allocation{}, false, false
	}
	wasOffered := s.offered != nil
	s.offered = &send
	if !r.routes.Load().mayPublish(s) {
		return Allocation{}, false, !wasOffered
	}
	return r.publishLocked(s, send), true, false
}

func (r *Room) publishLocked(s *Session, send SendStream) Allocation {
	if src := s.published.Load(); src != nil {
		return Allocation{Label: send.Label, StreamID: src.StreamID, GroupID: src.GroupID}
	}
	if s.groupID == 0 {
		r.nextGroupID++
		s.groupID = r.nextGroupID
	}
	r.nextVideoID++
	max := send.MaxBitrateKbps
	if max == 0 {
		max = defaultMaxBitrateKbps
	}
	src := &videoSource{Source: Source{StreamID: r.nextVideoID, GroupID: s.groupID, AttendeeID: s.attendeeID,
		ExternalUserID: s.externalUserID, MaxBitrateKbps: max}, publisher: s, subscribers: map[*subscription]struct{}{}}
	r.sources[src.StreamID] = src
	s.published.Store(src)
	r.broadcastIndexLocked()
	r.recordVideo(s, true)
	if remote := s.lastRemote.Load(); remote != nil {
		src.remote.Store(remote)
	}
	return Allocation{Label: send.Label, StreamID: src.StreamID, GroupID: src.GroupID}
}

// unpublish withdraws a session's video from everyone's INDEX: the client
// stopped it.
func (r *Room) unpublish(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.offered = nil
	r.unpublishLocked(s)
}

func (r *Room) unpublishLocked(s *Session) {
	src := s.published.Swap(nil)
	if src == nil {
		return
	}
	delete(r.sources, src.StreamID)
	r.broadcastIndexLocked()
	r.recordVideo(s, false)
}

func (r *Room) recordVideo(s *Session, started bool) {
	event := map[[2]bool]string{
		{false, true}: meetings.EventAttendeeVideoStarted, {false, false}: meetings.EventAttendeeVideoStopped,
		{true, true}: meetings.EventAttendeeContentVideoStarted, {true, false}: meetings.EventAttendeeContentVideoStopped,
	}[[2]bool{s.content, started}]
	r.hub.recordPresence(presenceRecord{meetingID: r.meetingID, attendeeID: s.baseAttendeeID, event: event})
}

func (r *Room) presentCountLocked() int {
	n := 0
	for _, s := range r.sessions {
		if s.present {
			n++
		}
	}
	return n
}

// connected makes a session present once its media is up: the joiner gets
// the whole roster (the SDK treats the first roster after a join as
// complete), everyone else the joiner's entry.
func (r *Room) connected(s *Session) {
	r.mu.Lock()
	if s.gone || s.present {
		r.mu.Unlock()
		return
	}
	s.present = true
	var roster []Presence
	for _, o := range r.sessions {
		if !o.present {
			continue
		}
		roster = append(roster, o.entry())
		if o != s {
			o.client.Presence([]Presence{s.entry()})
		}
	}
	s.client.Presence(roster)
	if msgs := r.retainedLocked(); len(msgs) > 0 {
		s.client.Data(msgs)
	}
	r.mu.Unlock()
	r.record(s, presenceJoined)
}

// leave ends a session that left (clean) or vanished (dropped).
func (r *Room) leave(s *Session, dropped bool) {
	r.mu.Lock()
	wasPresent := s.present && !s.gone
	if s.gone {
		r.mu.Unlock()
		return
	}
	r.dropLocked(s)
	if wasPresent {
		r.broadcastLocked(Presence{StreamID: s.streamID, Dropped: dropped})
	}
	r.mu.Unlock()
	if wasPresent {
		if dropped {
			r.record(s, presenceDropped)
		} else {
			r.record(s, presenceLeft)
		}
	}
}

// dropLocked removes a session and releases its media.
func (r *Room) dropLocked(s *Session) {
	if s.gone {
		return
	}
	s.gone = true
	if r.sessions[s.attendeeID] == s {
		delete(r.sessions, s.attendeeID)
	}
	r.unpublishLocked(s)
	go s.closeMedia()
	r.armIdleLocked()
}

func (r *Room) broadcastLocked(p Presence) {
	for _, o := range r.sessions {
		if o.present {
			o.client.Presence([]Presence{p})
		}
	}
}

// setMuted records and announces a session's mute state.
func (r *Room) setMuted(s *Session, muted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.gone {
		return
	}
	s.muted = muted
	if s.present {
		m := muted
		r.broadcastLocked(Presence{StreamID: s.streamID, Muted: &m})
	}
}

// apply handles one committed change of the meeting.
func (r *Room) apply(e meetings.Event) {
	r.mu.Lock()
	if e.Seq != 0 {
		if _, dup := r.seen[e.Seq]; dup {
			r.mu.Unlock()
			return
		}
		r.seen[e.Seq] = struct{}{}
		r.seenOrder = append(r.seenOrder, e.Seq)
		if len(r.seenOrder) > seenEvents {
			delete(r.seen, r.seenOrder[0])
			r.seenOrder = r.seenOrder[1:]
		}
	}
	r.mu.Unlock()
	switch e.Type {
	case meetings.EventAttendeeDeleted:
		r.removeAttendee(e.AttendeeID)
	case meetings.EventMeetingDeleted, meetings.EventMeetingEnded:
		r.end()
	case meetings.EventCapabilitiesUpdated, meetings.EventCapabilitiesBatch:
		r.scheduleRefresh()
	}
}

// removeAttendee ends the sessions of a deleted attendee (its content
// session too) with AUDIO_STATUS 411.
func (r *Room) removeAttendee(attendeeID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sessions {
		if s.baseAttendeeID != attendeeID {
			continue
		}
		wasPresent := s.present
		r.dropLocked(s)
		s.client.End(StatusAttendeeRemoved)
		if wasPresent {
			r.broadcastLocked(Presence{StreamID: s.streamID})
		}
	}
}

// end ends the meeting's sessions with AUDIO_STATUS 410.
func (r *Room) end() {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	r.ended = true
	r.stopTimersLocked()
	for _, s := range r.sessions {
		r.dropLocked(s)
		s.client.End(StatusMeetingEnded)
	}
	r.stop()
	r.mix.Close()
	r.stopTimersLocked() // dropLocked re-armed the idle timer
	r.mu.Unlock()
	r.hub.forget(r)
}

// closeAll closes every session without a status (server shutdown).
func (r *Room) closeAll(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = true
	for _, s := range r.sessions {
		r.dropLocked(s)
		s.client.Close(code, "server shutting down")
	}
	r.stopTimersLocked()
	r.stop()
	r.mix.Close()
}

func (r *Room) stopTimersLocked() {
	if r.idle != nil {
		r.idle.Stop()
		r.idle = nil
	}
	if r.age != nil {
		r.age.Stop()
		r.age = nil
	}
}

// armIdleLocked starts the idle timer when the room has no session (D20).
func (r *Room) armIdleLocked() {
	d := r.hub.cfg.IdleTimeout
	if d <= 0 || r.ended || len(r.sessions) > 0 || r.idle != nil {
		return
	}
	var t Timer
	t = r.hub.cfg.Clock.AfterFunc(d, func() {
		r.mu.Lock()
		fire := r.idle == t && len(r.sessions) == 0 && !r.ended
		r.mu.Unlock()
		if !fire {
			return
		}
		if err := r.hub.cfg.Domain.EndMeeting(r.hub.ctx, r.meetingID); err != nil {
			r.hub.cfg.Log.Warn("ending idle meeting", "meeting", r.meetingID, "err", err)
			return
		}
		r.hub.cfg.Log.Info("meeting ended: no attendee connected", "meeting", r.meetingID, "idle", d)
	})
	r.idle = t
}

func (r *Room) sessionCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

func (r *Room) presentAttendees() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, s := range r.sessions {
		if s.present {
			ids = append(ids, s.attendeeID)
		}
	}
	return ids
}

// relay delivers a session's data messages to every other present session,
// stamped with the sender; throttled ones go back to the sender only, with
// IngestTimeNs 0, as the SDK expects. Invalid ones are dropped.
func (r *Room) relay(s *Session, msgs []DataMessage) {
	now := r.hub.cfg.Clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.gone {
		return
	}
	var out, throttled []DataMessage
	for _, m := range msgs {
		if !topicPattern.MatchString(m.Topic) || len(m.Data) > maxDataBytes || m.LifetimeMs > maxDataLifetimeMs {
			continue
		}
		m.SenderAttendeeID, m.SenderExternalUserID = s.attendeeID, s.externalUserID
		if !r.takeTokenLocked(now) {
			m.IngestTimeNs = 0
			throttled = append(throttled, m)
			continue
		}
		m.IngestTimeNs = now.UnixNano()
		out = append(out, m)
		if m.LifetimeMs > 0 {
			r.retainLocked(m, now)
		}
	}
	if len(throttled) > 0 {
		s.client.Data(throttled)
	}
	if len(out) == 0 {
		return
	}
	for _, o := range r.sessions {
		if o != s && o.present {
			o.client.Data(out)
		}
	}
}

func (r *Room) takeTokenLocked(now time.Time) bool {
	if !r.tokensAt.IsZero() {
		r.tokens += now.Sub(r.tokensAt).Seconds() * dataRate
		if r.tokens > dataBurst {
			r.tokens = dataBurst
		}
	}
	r.tokensAt = now
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}

type retainedMessage struct {
	msg     DataMessage
	expires time.Time
}

func (r *Room) retainLocked(m DataMessage, now time.Time) {
	r.pruneRetainedLocked(now)
	if len(r.retained) == maxRetained {
		r.retained = r.retained[1:]
	}
	r.retained = append(r.retained, retainedMessage{m, now.Add(time.Duration(m.LifetimeMs) * time.Millisecond)})
}

func (r *Room) pruneRetainedLocked(now time.Time) {
	i := 0
	for i < len(r.retained) && !r.retained[i].expires.After(now) {
		i++
	}
	r.retained = r.retained[i:]
}

// retainedLocked returns the live retained messages for a late joiner.
func (r *Room) retainedLocked() []DataMessage {
	now := r.hub.cfg.Clock.Now()
	var out []DataMessage
	for _, rm := range r.retained {
		if rm.expires.After(now) {
			out = append(out, rm.msg)
		}
	}
	return out
}

type presenceKind int

const (
	presenceJoined presenceKind = iota
	presenceLeft
	presenceDropped
)

// record appends a presence event to the history, off the caller's path.
func (r *Room) record(s *Session, kind presenceKind) {
	typ := [...][2]string{
		presenceJoined:  {meetings.EventAttendeeJoined, meetings.EventAttendeeContentJoined},
		presenceLeft:    {meetings.EventAttendeeLeft, meetings.EventAttendeeContentLeft},
		presenceDropped: {meetings.EventAttendeeDropped, meetings.EventAttendeeContentDropped},
	}[kind]
	event := typ[0]
	if s.content {
		event = typ[1]
	}
	r.hub.recordPresence(presenceRecord{meetingID: r.meetingID, attendeeID: s.baseAttendeeID, event: event})
}
