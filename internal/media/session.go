package media

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Session is one attendee connection: its roster entry and its WebRTC peer.
type Session struct {
	room           *Room
	attendeeID     string // as announced: <id> or <id>#content
	baseAttendeeID string
	externalUserID string
	content        bool
	audioSessionID uint64
	streamID       uint32
	client         Client

	// Guarded by room.mu.
	present bool
	muted   bool
	gone    bool

	mu sync.Mutex // serializes negotiations
	pc *webrtc.PeerConnection
}

// AttendeeID is the id the session is announced with (<id>#content for a
// content share).
func (s *Session) AttendeeID() string { return s.attendeeID }

// StreamID is the session's audio stream id in the roster.
func (s *Session) StreamID() uint32 { return s.streamID }

// Index is the INDEX the session gets after joining.
func (s *Session) Index() Index { return s.room.index() }

func (s *Session) entry() Presence {
	m := s.muted
	return Presence{StreamID: s.streamID, AttendeeID: s.attendeeID, ExternalUserID: s.externalUserID, Muted: &m}
}

// Leave ends the session cleanly (LEAVE).
func (s *Session) Leave() { s.room.leave(s, false) }

// Disconnected ends a session whose signaling connection was lost without
// LEAVE: it is reported as dropped.
func (s *Session) Disconnected() { s.room.leave(s, true) }

// SetMuted records the client's mute state (AUDIO_CONTROL).
func (s *Session) SetMuted(muted bool) { s.room.setMuted(s, muted) }

// SendData relays the client's data messages (DATA_MESSAGE).
func (s *Session) SendData(msgs []DataMessage) { s.room.relay(s, msgs) }

// SubscribeRequest is one SUBSCRIBE: a complete new offer.
type SubscribeRequest struct {
	Offer string
}

// SubscribeResult is what SUBSCRIBE_ACK carries.
type SubscribeResult struct {
	Answer string
}

// ErrBadOffer: the offer could not be applied; the client sent bad SDP.
var ErrBadOffer = errors.New("media: unusable SDP offer")

// Subscribe applies a client's offer and answers it. Every SUBSCRIBE
// carries a full new offer for the same peer connection. The answer holds
// every candidate (the Chime SDK does not trickle).
func (s *Session) Subscribe(ctx context.Context, req SubscribeRequest) (SubscribeResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pc == nil {
		pc, err := s.room.hub.cfg.WebRTC.api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			return SubscribeResult{}, fmt.Errorf("media: new peer connection: %w", err)
		}
		s.pc = pc
		pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
			switch st {
			case webrtc.ICEConnectionStateConnected:
				s.room.connected(s)
			case webrtc.ICEConnectionStateFailed:
				s.mediaLost()
			}
		})
		pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { go discard(t) })
	}
	pc := s.pc
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: req.Offer}); err != nil {
		return SubscribeResult{}, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if err := s.attachAudio(pc); err != nil {
		return SubscribeResult{}, err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return SubscribeResult{}, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return SubscribeResult{}, fmt.Errorf("media: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return SubscribeResult{}, ctx.Err()
	}
	return SubscribeResult{Answer: pc.LocalDescription().SDP}, nil
}

// attachAudio gives the audio m-line (the first audio transceiver, mid 0 in
// the SDK's offers) the server's audio sender. The SDK binds the remote
// stream only when the track has a stream id (a=msid), which the sender's
// track provides.
func (s *Session) attachAudio(pc *webrtc.PeerConnection) error {
	for _, tr := range pc.GetTransceivers() {
		if tr.Kind() != webrtc.RTPCodecTypeAudio {
			continue
		}
		if tr.Sender() != nil {
			return nil
		}
		track := s.room.hub.silence.track
		sender, err := s.room.hub.cfg.WebRTC.api.NewRTPSender(track, pc.SCTP().Transport())
		if err != nil {
			return fmt.Errorf("media: audio sender: %w", err)
		}
		if err := tr.SetSender(sender, track); err != nil {
			return fmt.Errorf("media: audio sender: %w", err)
		}
		go drainRTCP(sender)
		return nil
	}
	return nil
}

// mediaLost ends a session whose ICE connection failed: the client is asked
// to reconnect, and the roster reports it as dropped.
func (s *Session) mediaLost() {
	s.room.leave(s, true)
	s.client.Close(CloseMediaLost, "media connection lost")
}

func (s *Session) closeMedia() {
	s.mu.Lock()
	pc := s.pc
	s.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
}

// discard reads and drops a remote track's packets until it ends (media
// forwarding comes with the SFU).
func discard(t *webrtc.TrackRemote) {
	var p rtp.Packet
	buf := make([]byte, 1500)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		_ = p.Unmarshal(buf[:n])
	}
}

// drainRTCP reads a sender's RTCP so that its interceptors run.
func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}
