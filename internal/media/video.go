package media

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Source is one published video (a camera or a content share) as the INDEX
// describes it.
type Source struct {
	StreamID, GroupID          uint32
	AttendeeID, ExternalUserID string
	MaxBitrateKbps             uint32
}

// Track maps a received video m-line to the stream it carries
// (SUBSCRIBE_ACK tracks): the SDK binds tile to attendee through it.
type Track struct {
	StreamID uint32
	SSRC     uint32
	Label    string // v_<mid>, the stream id of the m-line's sender
}

// Allocation is the meeting-wide id of a stream a client publishes
// (SUBSCRIBE_ACK allocations).
type Allocation struct {
	Label             string
	StreamID, GroupID uint32
}

// defaultMaxBitrateKbps is announced when the publisher names none.
const defaultMaxBitrateKbps = 1500

// keyframeInterval bounds how often a publisher is asked for a keyframe.
const keyframeInterval = 300 * time.Millisecond

// videoSource is a published video and its subscribers. The forwarding
// goroutine reads the subscriber list under a read lock; subscriptions
// change under the write lock.
type videoSource struct {
	Source
	publisher *Session

	mu          sync.RWMutex
	subscribers map[*subscription]struct{}

	remote  atomic.Pointer[webrtc.TrackRemote]
	lastPLI atomic.Int64 // unix nanos of the last keyframe request
}

// subscription is one received video m-line of a session.
type subscription struct {
	mid    string
	track  *webrtc.TrackLocalStaticRTP
	ssrc   uint32
	source atomic.Pointer[videoSource] // changed under the session's mu
	paused atomic.Bool
}

func (v *videoSource) add(sub *subscription) {
	v.mu.Lock()
	v.subscribers[sub] = struct{}{}
	v.mu.Unlock()
	v.requestKeyframe(true)
}

func (v *videoSource) remove(sub *subscription) {
	v.mu.Lock()
	delete(v.subscribers, sub)
	v.mu.Unlock()
}

// forward copies one packet to every active subscriber. pion rewrites SSRC
// and payload type per receiver; sequence numbers and timestamps pass
// through, which is right while each m-line carries one source.
func (v *videoSource) forward(p *rtp.Packet) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	n := uint64(0)
	for sub := range v.subscribers {
		if !sub.paused.Load() {
			_ = sub.track.WriteRTP(p)
			n++
		}
	}
	if n > 0 {
		v.publisher.room.hub.forwarded.Add(n)
	}
}

// requestKeyframe asks the publisher for a keyframe (PLI), at most every
// keyframeInterval unless forced by a new subscriber.
func (v *videoSource) requestKeyframe(force bool) {
	remote := v.remote.Load()
	if remote == nil {
		return // asked for when the track arrives
	}
	now := time.Now().UnixNano()
	last := v.lastPLI.Load()
	if !force && now-last < int64(keyframeInterval) {
		return
	}
	v.lastPLI.Store(now)
	v.publisher.writeRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(remote.SSRC())}})
}

// videoMids lists the offer's video m-lines in SDP order, with whether each
// is stopped (port 0): SUBSCRIBE.receive_stream_ids lines up with them.
func videoMids(offer string) ([]string, []bool, error) {
	var d sdp.SessionDescription
	if err := d.Unmarshal([]byte(offer)); err != nil {
		return nil, nil, err
	}
	var mids []string
	var stopped []bool
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "video" {
			continue
		}
		mid, _ := m.Attribute(sdp.AttrKeyMID)
		mids = append(mids, mid)
		stopped = append(stopped, m.MediaName.Port.Value == 0)
	}
	return mids, stopped, nil
}

// updateSubscriptions makes the session's received video m-lines carry the
// streams it asked for (receive_stream_ids[k] for the k-th video m-line; 0
// means none) and returns the track mappings. Called with s.mu held, after
// SetRemoteDescription.
func (s *Session) updateSubscriptions(pc *webrtc.PeerConnection, offer string, want []uint32) ([]Track, error) {
	mids, stopped, err := videoMids(offer)
	if err != nil {
		return nil, err
	}
	byMid := map[string]*webrtc.RTPTransceiver{}
	for _, tr := range pc.GetTransceivers() {
		byMid[tr.Mid()] = tr
	}
	if s.subs == nil {
		s.subs = map[string]*subscription{}
	}
	var tracks []Track
	keep := map[string]bool{}
	for k, mid := range mids {
		var id uint32
		if k < len(want) && !stopped[k] {
			id = want[k]
		}
		if id == 0 || mid == "" {
			continue
		}
		src := s.room.source(id, s)
		if src == nil {
			continue // gone, or not this receiver's to see
		}
		sub := s.subs[mid]
		if sub == nil {
			tr := byMid[mid]
			if tr == nil || tr.Kind() != webrtc.RTPCodecTypeVideo {
				continue
			}
			track, err := webrtc.NewTrackLocalStaticRTP(vp8Codec, "track_"+mid, "v_"+mid)
			if err != nil {
				return nil, err
			}
			sender, err := s.room.hub.cfg.WebRTC.api.NewRTPSender(track, pc.SCTP().Transport())
			if err != nil {
				return nil, err
			}
			if err := tr.SetSender(sender, track); err != nil {
				return nil, err
			}
			sub = &subscription{mid: mid, track: track}
			if enc := sender.GetParameters().Encodings; len(enc) > 0 {
				sub.ssrc = uint32(enc[0].SSRC)
			}
			s.subs[mid] = sub
			go s.relayFeedback(sender, sub)
		}
		keep[mid] = true
		if old := sub.source.Load(); old != src {
			if old != nil {
				old.remove(sub)
			}
			sub.source.Store(src)
			src.add(sub)
		}
		tracks = append(tracks, Track{StreamID: id, SSRC: sub.ssrc, Label: "v_" + mid})
	}
	for mid, sub := range s.subs {
		if old := sub.source.Load(); !keep[mid] && old != nil {
			old.remove(sub)
			sub.source.Store(nil)
		}
	}
	return tracks, nil
}

// relayFeedback reads a subscriber's RTCP (so that pion's interceptors run)
// and passes its keyframe requests to the publisher.
func (s *Session) relayFeedback(sender *webrtc.RTPSender, sub *subscription) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if src := sub.source.Load(); src != nil {
					src.requestKeyframe(false)
				}
			}
		}
	}
}

// dropSubscriptions detaches every received m-line (the session ends).
func (s *Session) dropSubscriptions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs {
		if old := sub.source.Swap(nil); old != nil {
			old.remove(sub)
		}
	}
}

// Pause stops (or resumes) forwarding the given streams to this session
// (PAUSE and RESUME).
func (s *Session) Pause(streamIDs []uint32, paused bool) {
	set := map[uint32]bool{}
	for _, id := range streamIDs {
		set[id] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs {
		if src := sub.source.Load(); src != nil && set[src.StreamID] {
			sub.paused.Store(paused)
			if !paused {
				src.requestKeyframe(true)
			}
		}
	}
}

// onVideoTrack forwards the session's published video while it lasts.
func (s *Session) onVideoTrack(t *webrtc.TrackRemote) {
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		s.lastRemote.Store(t)
		src := s.published.Load()
		if src == nil {
			continue // not announced (stopped, or not allowed)
		}
		if src.remote.Load() != t {
			src.remote.Store(t)
			src.requestKeyframe(true)
		}
		src.forward(p)
	}
}

// writeRTCP sends RTCP to the session's client. It takes no lock: it is
// called from other sessions' negotiations.
func (s *Session) writeRTCP(pkts []rtcp.Packet) {
	if pc := s.peer.Load(); pc != nil {
		_ = pc.WriteRTCP(pkts)
	}
}
