package media

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"github.com/carillon-dev/carillon/internal/media/mixer"
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

	mu      sync.Mutex // serializes negotiations; never taken with room.mu held
	pc      *webrtc.PeerConnection
	peer    atomic.Pointer[webrtc.PeerConnection] // pc, for lock-free RTCP
	subs    map[string]*subscription              // received video m-lines by mid
	groupID uint32                                // guarded by room.mu

	published  atomic.Pointer[videoSource]        // the video this session publishes
	offered    *SendStream                        // what the client offers to publish; guarded by room.mu
	lastRemote atomic.Pointer[webrtc.TrackRemote] // its camera track
	audioIn    atomic.Pointer[mixer.Sender]       // what it says, into the mix
	audioOut   *mixer.Receiver                    // what it hears; guarded by mu
}

// AttendeeID is the id the session is announced with (<id>#content for a
// content share).
func (s *Session) AttendeeID() string { return s.attendeeID }

// StreamID is the session's audio stream id in the roster.
func (s *Session) StreamID() uint32 { return s.streamID }

// Index is the INDEX the session gets after joining.
func (s *Session) Index() Index { return s.room.index(s) }

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
	// ReceiveStreamIDs[k] is the stream the k-th video m-line should carry
	// (0: none; the camera slot is always 0).
	ReceiveStreamIDs []uint32
	// SendVideo is the video the client publishes with this offer (nil:
	// none, which stops a camera that was on).
	SendVideo *SendStream
}

// SendStream is a stream a client offers to publish.
type SendStream struct {
	Label          string
	MaxBitrateKbps uint32
}

// SubscribeResult is what SUBSCRIBE_ACK carries.
type SubscribeResult struct {
	Answer      string
	Tracks      []Track
	Allocations []Allocation
	// VideoRefused: the client started a camera it may not send (no Video
	// Send); SUBSCRIBE_ACK carries status 206, the SDK's "view only".
	VideoRefused bool
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
		pc, err := s.room.hub.cfg.WebRTC.newPeerConnection()
		if err != nil {
			return SubscribeResult{}, fmt.Errorf("media: new peer connection: %w", err)
		}
		s.pc = pc
		s.peer.Store(pc)
		pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
			switch st {
			case webrtc.ICEConnectionStateConnected:
				s.room.connected(s)
			case webrtc.ICEConnectionStateFailed:
				s.mediaLost()
			}
		})
		pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
			if t.Kind() == webrtc.RTPCodecTypeVideo {
				go s.onVideoTrack(t)
				return
			}
			go s.onAudioTrack(t, r)
		})
	}
	pc := s.pc
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: req.Offer}); err != nil {
		return SubscribeResult{}, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if err := s.attachAudio(pc); err != nil {
		return SubscribeResult{}, err
	}
	var res SubscribeResult
	if req.SendVideo != nil {
		a, ok, refused := s.room.publish(s, *req.SendVideo)
		if ok {
			res.Allocations = []Allocation{a}
		}
		res.VideoRefused = refused && !s.content
	} else {
		s.room.unpublish(s)
	}
	tracks, err := s.updateSubscriptions(pc, req.Offer, req.ReceiveStreamIDs)
	if err != nil {
		return SubscribeResult{}, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	res.Tracks = tracks
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
	res.Answer = pc.LocalDescription().SDP
	return res, nil
}

// attachAudio gives the audio m-line (the first audio transceiver, mid 0 in
// the SDK's offers) the session's own mix: a track whose stream id is
// "audio" (the SDK drops tracks without a stream), fed by the room's mixer
// with everyone else's voices.
func (s *Session) attachAudio(pc *webrtc.PeerConnection) error {
	for _, tr := range pc.GetTransceivers() {
		if tr.Kind() != webrtc.RTPCodecTypeAudio {
			continue
		}
		if tr.Sender() != nil {
			return nil
		}
		track, err := webrtc.NewTrackLocalStaticRTP(opusCodec, "audio", "audio")
		if err != nil {
			return err
		}
		sender, err := s.room.hub.cfg.WebRTC.api.NewRTPSender(track, pc.SCTP().Transport())
		if err != nil {
			return fmt.Errorf("media: audio sender: %w", err)
		}
		if err := tr.SetSender(sender, track); err != nil {
			return fmt.Errorf("media: audio sender: %w", err)
		}
		go drainRTCP(sender)
		s.audioOut = s.room.mix.AddReceiver(s.attendeeID, mixer.OwnerOf(s.attendeeID), func(f mixer.Frame) {
			_ = track.WriteRTP(f.Packet())
		})
		return nil
	}
	return nil
}

// onAudioTrack feeds what the session says into the room's mix.
func (s *Session) onAudioTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	var ext uint8
	for _, h := range r.GetParameters().HeaderExtensions {
		if h.URI == audioLevelURI {
			ext = uint8(h.ID)
		}
	}
	in := s.room.mix.AddSender(s.attendeeID, mixer.OwnerOf(s.attendeeID), ext)
	s.audioIn.Store(in)
	defer in.Close()
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		_ = in.WriteRTP(p)
	}
}

// mediaLost ends a session whose ICE connection failed: the client is asked
// to reconnect, and the roster reports it as dropped.
func (s *Session) mediaLost() {
	s.room.leave(s, true)
	s.client.Close(CloseMediaLost, "media connection lost")
}

func (s *Session) closeMedia() {
	s.dropSubscriptions()
	if in := s.audioIn.Load(); in != nil {
		in.Close()
	}
	s.mu.Lock()
	pc := s.pc
	if s.audioOut != nil {
		s.audioOut.Close()
	}
	s.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
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
