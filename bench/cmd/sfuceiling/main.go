// Command sfuceiling is the media ceiling of the forwarding benchmark: a
// bare pion forwarder built the way Carillon's media plane is (Opus and VP8
// only, pion's default interceptors, every session on one UDP port through
// the ICE UDP mux) with just enough of the Chime signaling protocol for
// internal/signaling/chimeclient to drive it: JOIN is answered with JOIN_ACK
// and an empty INDEX, SUBSCRIBE with an answer. A session that publishes a
// camera becomes the one source; every receiving video m-line of any other
// session (a non-zero receive_stream_ids entry) gets a v_<mid> track fed by
// a plain loop. No meeting, roster, audio mix, capability or keyframe logic:
// what remains is pion's cost of moving the packets, which Carillon's own
// forwarding is measured against (bench/cmd/sfuload, bench/sfu.sh).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/carillon-dev/carillon/internal/signaling/sigpb"
)

// The stream and group id the single published camera is given.
const sourceStreamID = 2

func main() {
	addr := flag.String("addr", "127.0.0.1:18490", "signaling address (ws://ADDR/)")
	udpPort := flag.Int("udp-port", 0, "the media UDP port (0: any free port)")
	flag.Parse()
	api, mux, err := newAPI(*udpPort)
	if err != nil {
		log.Fatal(err)
	}
	defer mux.Close()
	f := &forwarder{api: api}
	srv := &http.Server{Addr: *addr, Handler: f, ReadHeaderTimeout: 5 * time.Second}
	log.Printf("sfuceiling: signaling on ws://%s/", *addr)
	log.Fatal(srv.ListenAndServe())
}

// newAPI builds the pion API as internal/media/network.go does.
func newAPI(port int) (*webrtc.API, ice.UDPMux, error) {
	me := &webrtc.MediaEngine{}
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1"}
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"},
			{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opus, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, err
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: vp8, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, err
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: "urn:ietf:params:rtp-hdrext:ssrc-audio-level"}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		return nil, nil, err
	}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn})
	se.SetICEUDPMux(mux)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), mux, nil
}

// forwarder is the one room: the published camera and its receivers.
type forwarder struct {
	api *webrtc.API

	mu        sync.RWMutex
	receivers []*webrtc.TrackLocalStaticRTP
}

func (f *forwarder) forward(t *webrtc.TrackRemote) {
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		f.mu.RLock()
		for _, r := range f.receivers {
			_ = r.WriteRTP(p)
		}
		f.mu.RUnlock()
	}
}

func (f *forwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"_aws_wt_session"}, InsecureSkipVerify: true})
	if err != nil {
		return
	}
	ws.SetReadLimit(1 << 20)
	s := &session{f: f, ws: ws}
	defer s.close()
	for {
		_, msg, err := ws.Read(r.Context())
		if err != nil {
			return
		}
		fr := &sigpb.Frame{}
		if len(msg) == 0 || msg[0] != 0x05 || proto.Unmarshal(msg[1:], fr) != nil {
			continue
		}
		if err := s.handle(r.Context(), fr); err != nil {
			log.Printf("sfuceiling: %v", err)
			_ = ws.Close(websocket.StatusInternalError, "")
			return
		}
	}
}

// session is one signaling connection and its peer.
type session struct {
	f  *forwarder
	ws *websocket.Conn
	pc *webrtc.PeerConnection
}

func (s *session) send(ctx context.Context, f *sigpb.Frame) error {
	f.TimestampMs = proto.Uint64(uint64(time.Now().UnixMilli()))
	b, err := proto.Marshal(f)
	if err != nil {
		return err
	}
	return s.ws.Write(ctx, websocket.MessageBinary, append([]byte{0x05}, b...))
}

func (s *session) handle(ctx context.Context, fr *sigpb.Frame) error {
	switch fr.GetType() {
	case sigpb.Frame_PING_PONG:
		return s.send(ctx, &sigpb.Frame{Type: sigpb.Frame_PING_PONG.Enum(), PingPong: &sigpb.PingPongFrame{
			Type: sigpb.PingPongType_PONG.Enum(), PingId: proto.Uint32(fr.GetPingPong().GetPingId())}})
	case sigpb.Frame_JOIN:
		if err := s.send(ctx, &sigpb.Frame{Type: sigpb.Frame_JOIN_ACK.Enum(), JoinAck: &sigpb.JoinAckFrame{}}); err != nil {
			return err
		}
		return s.send(ctx, &sigpb.Frame{Type: sigpb.Frame_INDEX.Enum(), Index: &sigpb.IndexFrame{}})
	case sigpb.Frame_SUBSCRIBE:
		return s.subscribe(ctx, fr.GetSubscribe())
	case sigpb.Frame_LEAVE:
		return s.send(ctx, &sigpb.Frame{Type: sigpb.Frame_LEAVE_ACK.Enum(), LeaveAck: &sigpb.LeaveAckFrame{}})
	}
	return nil
}

func (s *session) subscribe(ctx context.Context, sub *sigpb.SubscribeFrame) error {
	if s.pc == nil {
		pc, err := s.f.api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
		if err != nil {
			return err
		}
		s.pc = pc
		pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			if t.Kind() == webrtc.RTPCodecTypeVideo {
				// A new source wants a keyframe, as Carillon asks.
				_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
				s.f.forward(t)
				return
			}
			for {
				if _, _, err := t.ReadRTP(); err != nil {
					return
				}
			}
		})
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sub.GetSdpOffer()}); err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	mids, err := videoMids(sub.GetSdpOffer())
	if err != nil {
		return err
	}
	byMid := map[string]*webrtc.RTPTransceiver{}
	for _, tr := range s.pc.GetTransceivers() {
		byMid[tr.Mid()] = tr
	}
	want := sub.GetReceiveStreamIds()
	ack := &sigpb.SubscribeAckFrame{Duplex: sub.Duplex}
	for k, mid := range mids {
		// receive_stream_ids[k] is for the k-th video m-line; the first
		// is the session's own camera slot.
		if k == 0 || k >= len(want) || want[k] == 0 {
			continue
		}
		tr := byMid[mid]
		if tr == nil || tr.Sender() != nil {
			continue
		}
		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "track_"+mid, "v_"+mid)
		if err != nil {
			return err
		}
		sender, err := s.f.api.NewRTPSender(track, s.pc.SCTP().Transport())
		if err != nil {
			return err
		}
		if err := tr.SetSender(sender, track); err != nil {
			return err
		}
		go func() {
			for {
				if _, _, err := sender.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		var ssrc uint32
		if enc := sender.GetParameters().Encodings; len(enc) > 0 {
			ssrc = uint32(enc[0].SSRC)
		}
		ack.Tracks = append(ack.Tracks, &sigpb.TrackMapping{StreamId: proto.Uint32(want[k]), Ssrc: proto.Uint32(ssrc), TrackLabel: proto.String("v_" + mid)})
		s.f.mu.Lock()
		s.f.receivers = append(s.f.receivers, track)
		s.f.mu.Unlock()
	}
	if len(sub.GetSendStreams()) > 0 {
		ack.Allocations = []*sigpb.StreamAllocation{{TrackLabel: proto.String(sub.GetSendStreams()[0].GetTrackLabel()),
			StreamId: proto.Uint32(sourceStreamID), GroupId: proto.Uint32(sourceStreamID)}}
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return err
	}
	<-gathered
	ack.SdpAnswer = proto.String(s.pc.LocalDescription().SDP)
	return s.send(ctx, &sigpb.Frame{Type: sigpb.Frame_SUBSCRIBE_ACK.Enum(), SubscribeAck: ack})
}

func (s *session) close() {
	s.ws.CloseNow()
	if s.pc != nil {
		_ = s.pc.Close()
	}
}

// videoMids lists the offer's video m-lines' mids in SDP order.
func videoMids(offer string) ([]string, error) {
	var d sdp.SessionDescription
	if err := d.Unmarshal([]byte(offer)); err != nil {
		return nil, err
	}
	var mids []string
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media == "video" {
			mid, _ := m.Attribute(sdp.AttrKeyMID)
			mids = append(mids, mid)
		}
	}
	if len(mids) == 0 {
		return nil, errors.New("offer has no video m-line")
	}
	return mids, nil
}
