// Package chimeclient is a Go client of the Chime signaling protocol that
// behaves as amazon-chime-sdk-js does on the wire: the subprotocol token,
// PING before JOIN, a SUBSCRIBE carrying a complete offer with audio at mid
// 0 and the camera slot at mid 1, and a pion peer in place of the browser's.
// Carillon's tests and benchmarks use it to play the SDK without a browser.
package chimeclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/carillon-dev/carillon/internal/signaling/sigpb"
)

// Client is one SDK-like session.
type Client struct {
	ws *websocket.Conn

	mu        sync.Mutex
	cond      *sync.Cond
	frames    []*sigpb.Frame
	times     []time.Time       // when each frame arrived
	received  map[string]uint64 // RTP packets by remote stream id
	sound     map[string]uint64 // of which not the 3-byte Opus silence frame
	lastSound map[string]time.Time
	closed    bool
	closeSt   websocket.StatusCode
	closeAt   time.Time

	// JoinRTT is JOIN sent to INDEX received; SubscribeRTT is SUBSCRIBE
	// sent to SUBSCRIBE_ACK received (the server's share of a join).
	JoinRTT, SubscribeRTT time.Duration

	PC        *webrtc.PeerConnection
	Audio     *webrtc.TrackLocalStaticRTP // what this client sends at mid 0
	connected chan struct{}
}

// Dial opens the signaling socket as the SDK does, with the JoinToken as
// the second subprotocol.
func Dial(ctx context.Context, signalingURL, joinToken string) (*Client, error) {
	url := signalingURL + "?X-Chime-Control-Protocol-Version=3&X-Amzn-Chime-Send-Close-On-Error=1"
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: []string{"_aws_wt_session", joinToken},
		HTTPHeader:   http.Header{"Origin": {"http://app.example"}},
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial: HTTP %d: %w", resp.StatusCode, err)
		}
		return nil, err
	}
	if ws.Subprotocol() != "_aws_wt_session" {
		ws.CloseNow()
		return nil, fmt.Errorf("dial: server chose subprotocol %q", ws.Subprotocol())
	}
	ws.SetReadLimit(1 << 20)
	c := &Client{ws: ws, connected: make(chan struct{}), received: map[string]uint64{}, sound: map[string]uint64{}, lastSound: map[string]time.Time{}}
	c.cond = sync.NewCond(&c.mu)
	go c.readLoop()
	return c, nil
}

func (c *Client) readLoop() {
	for {
		_, msg, err := c.ws.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			c.closed = true
			c.closeSt = websocket.CloseStatus(err)
			c.closeAt = time.Now()
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		f := &sigpb.Frame{}
		if len(msg) == 0 || msg[0] != 0x05 || proto.Unmarshal(msg[1:], f) != nil {
			continue
		}
		c.mu.Lock()
		c.frames = append(c.frames, f)
		c.times = append(c.times, time.Now())
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// Send writes one frame.
func (c *Client) Send(ctx context.Context, f *sigpb.Frame) error {
	f.TimestampMs = proto.Uint64(uint64(time.Now().UnixMilli()))
	b, err := proto.Marshal(f)
	if err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageBinary, append([]byte{0x05}, b...))
}

// SendRaw writes one message as it is (bad-input tests).
func (c *Client) SendRaw(ctx context.Context, msg []byte) error {
	return c.ws.Write(ctx, websocket.MessageBinary, msg)
}

// ErrClosed is returned by Wait when the socket closed first.
var ErrClosed = errors.New("chimeclient: socket closed")

// Wait returns the first received frame (from index from on) matching
// match, waiting up to timeout. It returns the frame's index too.
func (c *Client) Wait(from int, timeout time.Duration, match func(*sigpb.Frame) bool) (*sigpb.Frame, int, error) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for i := from; i < len(c.frames); i++ {
			if match(c.frames[i]) {
				return c.frames[i], i, nil
			}
		}
		from = len(c.frames)
		if c.closed {
			return nil, 0, ErrClosed
		}
		if !time.Now().Before(deadline) {
			return nil, 0, fmt.Errorf("chimeclient: no matching frame within %v", timeout)
		}
		c.cond.Wait()
	}
}

// WaitType waits for a frame of type t.
func (c *Client) WaitType(from int, timeout time.Duration, t sigpb.Frame_Type) (*sigpb.Frame, int, error) {
	return c.Wait(from, timeout, func(f *sigpb.Frame) bool { return f.GetType() == t })
}

// Frames returns a copy of every frame received so far.
func (c *Client) Frames() []*sigpb.Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*sigpb.Frame(nil), c.frames...)
}

// WaitClosed waits for the server to close the socket and returns its
// close code (-1 when the socket ended without a close frame).
func (c *Client) WaitClosed(timeout time.Duration) (websocket.StatusCode, error) {
	timer := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.closed {
		if !time.Now().Before(deadline) {
			return 0, fmt.Errorf("chimeclient: socket still open after %v", timeout)
		}
		c.cond.Wait()
	}
	return c.closeSt, nil
}

// Ping sends a PING with id.
func (c *Client) Ping(ctx context.Context, id uint32) error {
	f := &sigpb.Frame{Type: sigpb.Frame_PING_PONG.Enum(),
		PingPong: &sigpb.PingPongFrame{Type: sigpb.PingPongType_PING.Enum(), PingId: proto.Uint32(id)}}
	return c.Send(ctx, f)
}

// Join sends JOIN as the SDK does and waits for the INDEX that completes it.
func (c *Client) Join(ctx context.Context, audioSessionID uint64, timeout time.Duration) (joinAck, index *sigpb.Frame, err error) {
	from := len(c.Frames())
	start := time.Now()
	err = c.Send(ctx, &sigpb.Frame{Type: sigpb.Frame_JOIN.Enum(), Join: &sigpb.JoinFrame{
		ProtocolVersion: proto.Uint32(2), Flags: proto.Uint32(2), AudioSessionId: proto.Uint64(audioSessionID),
		WantsCompressedSdp:        proto.Bool(true),
		ServerSideNetworkAdaption: sigpb.ServerSideNetworkAdaption_DEFAULT.Enum(),
		ClientDetails:             &sigpb.ClientDetails{PlatformName: proto.String("go"), ClientSource: proto.String("carillon-chimeclient")},
	}})
	if err != nil {
		return nil, nil, err
	}
	if joinAck, _, err = c.WaitType(from, timeout, sigpb.Frame_JOIN_ACK); err != nil {
		return nil, nil, err
	}
	index, _, err = c.WaitType(from, timeout, sigpb.Frame_INDEX)
	c.JoinRTT = time.Since(start)
	return joinAck, index, err
}

// NewAPI returns a pion API for clients on loopback.
func NewAPI() *webrtc.API {
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICETimeouts(3*time.Second, 6*time.Second, time.Second)
	me := &webrtc.MediaEngine{}
	_ = me.RegisterDefaultCodecs()
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me))
}

// Subscribe creates the peer (first call), sends SUBSCRIBE with a complete
// offer (audio sendrecv at mid 0, camera slot inactive at mid 1) and
// applies the answer. It returns the SUBSCRIBE_ACK.
func (c *Client) Subscribe(ctx context.Context, api *webrtc.API, timeout time.Duration) (*sigpb.Frame, error) {
	return c.SubscribeWith(ctx, api, timeout, SubscribeOptions{})
}

// SubscribeOptions say what a SUBSCRIBE asks for.
type SubscribeOptions struct {
	// Camera publishes Camera (a VP8 track) on the camera slot; nil stops it.
	Camera *webrtc.TrackLocalStaticRTP
	// Receive lists the streams to receive, one per remote video m-line.
	Receive []uint32
}

// NewCamera returns a VP8 track to publish.
func NewCamera() *webrtc.TrackLocalStaticRTP {
	t, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "camera", "chimeclient-camera")
	return t
}

// opusSilence is the frame a server sends when there is nothing to hear.
var opusSilence = []byte{0xf8, 0xff, 0xfe}

// Heard returns how many packets other than Opus silence arrived on the
// remote track whose stream id is label ("audio" for the mix).
func (c *Client) Heard(label string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sound[label]
}

// LastSound is when the last packet other than silence arrived on label.
func (c *Client) LastSound(label string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastSound[label]
}

// Received returns how many RTP packets arrived on the remote track whose
// stream id (msid) is label, e.g. "v_2".
func (c *Client) Received(label string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.received[label]
}

// SubscribeWith is Subscribe with options.
func (c *Client) SubscribeWith(ctx context.Context, api *webrtc.API, timeout time.Duration, o SubscribeOptions) (*sigpb.Frame, error) {
	if c.PC == nil {
		pc, err := api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
		if err != nil {
			return nil, err
		}
		c.PC = pc
		var once sync.Once
		pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
			if s == webrtc.ICEConnectionStateConnected {
				once.Do(func() { close(c.connected) })
			}
		})
		audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus,
			ClockRate: 48000, Channels: 2}, "audio", "chimeclient")
		if err != nil {
			return nil, err
		}
		if _, err := pc.AddTransceiverFromTrack(audio,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
			return nil, err
		}
		c.Audio = audio
		pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			go func() {
				for {
					p, _, err := t.ReadRTP()
					if err != nil {
						return
					}
					c.mu.Lock()
					c.received[t.StreamID()]++
					if !bytes.Equal(p.Payload, opusSilence) {
						c.sound[t.StreamID()]++
						c.lastSound[t.StreamID()] = time.Now()
					}
					c.mu.Unlock()
				}
			}()
		})
		// The camera slot: the SDK offers it inactive until video starts;
		// pion can only offer it recvonly, which the server treats alike.
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return nil, err
		}
	}
	if err := c.prepareVideo(api, o); err != nil {
		return nil, err
	}
	offer, err := c.PC.CreateOffer(nil)
	if err != nil {
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(c.PC)
	if err := c.PC.SetLocalDescription(offer); err != nil {
		return nil, err
	}
	<-gathered
	from := len(c.Frames())
	start := time.Now()
	sub := &sigpb.SubscribeFrame{
		Duplex: sigpb.StreamServiceType_RX.Enum(), SdpOffer: proto.String(c.PC.LocalDescription().SDP),
		AudioHost: proto.String("carillon"), ReceiveStreamIds: append([]uint32{0}, o.Receive...),
	}
	if o.Camera != nil {
		sub.Duplex = sigpb.StreamServiceType_DUPLEX.Enum()
		sub.SendStreams = []*sigpb.StreamDescriptor{{StreamId: proto.Uint32(2), GroupId: proto.Uint32(2),
			TrackLabel: proto.String("AmazonChimeExpressVideo"), MediaType: sigpb.StreamMediaType_VIDEO.Enum(),
			MaxBitrateKbps: proto.Uint32(600), Framerate: proto.Uint32(15)}}
	}
	err = c.Send(ctx, &sigpb.Frame{Type: sigpb.Frame_SUBSCRIBE.Enum(), Subscribe: sub})
	if err != nil {
		return nil, err
	}
	ack, _, err := c.WaitType(from, timeout, sigpb.Frame_SUBSCRIBE_ACK)
	if err != nil {
		return nil, err
	}
	c.SubscribeRTT = time.Since(start)
	if err := c.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ack.GetSubscribeAck().GetSdpAnswer()}); err != nil {
		return nil, fmt.Errorf("applying the answer: %w", err)
	}
	return ack, nil
}

// Connected is closed when ICE connects.
func (c *Client) Connected() <-chan struct{} { return c.connected }

// Leave sends LEAVE and waits for LEAVE_ACK.
func (c *Client) Leave(ctx context.Context, timeout time.Duration) error {
	from := len(c.Frames())
	if err := c.Send(ctx, &sigpb.Frame{Type: sigpb.Frame_LEAVE.Enum(), Leave: &sigpb.LeaveFrame{}}); err != nil {
		return err
	}
	_, _, err := c.WaitType(from, timeout, sigpb.Frame_LEAVE_ACK)
	return err
}

// Close ends the client abruptly (no LEAVE): socket and peer.
func (c *Client) Close() {
	c.ws.CloseNow()
	if c.PC != nil {
		_ = c.PC.Close()
	}
}

// ReceivedAt is when the first roster entry for attendeeID arrived ("": the
// first roster frame of any kind); zero if none has.
func (c *Client) ReceivedAt(attendeeID string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, f := range c.frames {
		for _, e := range f.GetAudioStreamIdInfo().GetStreams() {
			if attendeeID == "" || e.GetAttendeeId() == attendeeID {
				return c.times[i]
			}
		}
	}
	return time.Time{}
}

// TypeReceivedAt is when the first frame of type t arrived; zero if none.
func (c *Client) TypeReceivedAt(t sigpb.Frame_Type) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, f := range c.frames {
		if f.GetType() == t {
			return c.times[i]
		}
	}
	return time.Time{}
}

// prepareVideo lays out the video m-lines as the SDK does: the camera slot
// (mid 1) sending o.Camera or nothing, then one receiving m-line per stream
// in o.Receive (extra ones are stopped).
func (c *Client) prepareVideo(api *webrtc.API, o SubscribeOptions) error {
	var video []*webrtc.RTPTransceiver
	for _, tr := range c.PC.GetTransceivers() {
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			video = append(video, tr)
		}
	}
	camera := video[0]
	if o.Camera != nil && camera.Sender() == nil {
		sender, err := api.NewRTPSender(o.Camera, c.PC.SCTP().Transport())
		if err != nil {
			return err
		}
		if err := camera.SetSender(sender, o.Camera); err != nil {
			return err
		}
		go func() {
			for {
				if _, _, err := sender.ReadRTCP(); err != nil {
					return
				}
			}
		}()
	} else if o.Camera == nil && camera.Sender() != nil {
		if err := c.PC.RemoveTrack(camera.Sender()); err != nil {
			return err
		}
	}
	for len(video)-1 < len(o.Receive) {
		tr, err := c.PC.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			return err
		}
		video = append(video, tr)
	}
	for _, tr := range video[1+len(o.Receive):] {
		_ = tr.Stop()
	}
	return nil
}
