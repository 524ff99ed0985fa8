package signaling

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/carillon-dev/carillon/internal/media"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/ratelimit"
	"github.com/carillon-dev/carillon/internal/signaling/sigpb"
)

// Subprotocol is the WebSocket subprotocol of the Chime signaling channel;
// the client offers it with its JoinToken as a second "protocol".
const Subprotocol = "_aws_wt_session"

// contentSuffix marks a content-share session's attendee and token.
const contentSuffix = "#content"

// Close codes the Chime SDK understands at join time.
const (
	closeAttendeeUnavailable = 4403 // terminal: bad token or attendee gone
	closeMeetingEnded        = 4410 // terminal: MeetingEnded
	closeBadRequest          = 4400 // terminal: the client broke the protocol
	closeInternal            = 4500 // the SDK retries
	closeSlowClient          = 4008 // the client did not read its frames
)

// Authorizer checks JoinTokens (the domain).
type Authorizer interface {
	AuthorizeJoin(ctx context.Context, meetingID, joinToken string) (meetings.JoinGrant, error)
}

// Config configures the signaling server.
type Config struct {
	Auth Authorizer
	Hub  *media.Hub
	Log  *slog.Logger
	// MaxPending bounds the connections upgraded but not yet joined, so
	// that a flood of sockets without a valid token stays cheap. Zero
	// means 256.
	MaxPending int
	// JoinTimeout closes a connection that sends no JOIN in time. Zero
	// means 10 s.
	JoinTimeout time.Duration
	// Now is the clock of frame timestamps; nil means time.Now.
	Now func() time.Time
	// AuthFailures is the API's per-address budget of failed
	// authentications: a refused JoinToken spends from it, and an address
	// that has spent it is refused (429) before the upgrade. Nil: none.
	AuthFailures *ratelimit.FailureGuard
}

// Server serves the signaling channel.
type Server struct {
	cfg     Config
	pending chan struct{}
}

// New returns a signaling server.
func New(cfg Config) *Server {
	if cfg.MaxPending == 0 {
		cfg.MaxPending = 256
	}
	if cfg.JoinTimeout == 0 {
		cfg.JoinTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, pending: make(chan struct{}, cfg.MaxPending)}
}

// ServeHTTP upgrades GET /carillon/control/<MeetingId>. The meeting comes
// from the path, the attendee only from its token. Credentials are checked
// after the upgrade: the SDK treats a failed upgrade as retryable for two
// minutes, but a 4403 close as final.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	meetingID := r.PathValue("meeting")
	source := ratelimit.Source(r)
	if refused, wait := s.cfg.AuthFailures.Refused(source); refused {
		s.cfg.AuthFailures.Hold(r.Context())
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		http.Error(w, "too many failed joins from this address", http.StatusTooManyRequests)
		return
	}
	select {
	case s.pending <- struct{}{}:
	default:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many connections are joining", http.StatusServiceUnavailable)
		return
	}
	released := false
	release := func() {
		if !released {
			released = true
			<-s.pending
		}
	}
	defer release()

	token := tokenOf(r.Header.Values("Sec-WebSocket-Protocol"))
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{Subprotocol},
		// The page's origin is the application's, not Carillon's; the
		// JoinToken is the credential.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has answered the client
	}
	ws.SetReadLimit(maxFrameBytes)
	c := &conn{srv: s, ws: ws, meetingID: strings.ToLower(meetingID), token: token, source: source,
		out: make(chan []byte, 256), done: make(chan struct{}), written: make(chan struct{})}
	c.run(r.Context(), release)
}

// tokenOf finds the JoinToken among the offered subprotocols.
func tokenOf(headers []string) string {
	for _, h := range headers {
		for _, p := range strings.Split(h, ",") {
			if p = strings.TrimSpace(p); p != "" && p != Subprotocol {
				return p
			}
		}
	}
	return ""
}

// conn is one signaling connection. One goroutine reads and handles frames
// in order; another writes the queued frames, so that the media plane
// never waits on a client's network.
type conn struct {
	srv       *Server
	ws        *websocket.Conn
	meetingID string
	token     string
	source    string // the address failed joins are charged to

	session *media.Session
	joined  atomic.Bool // session is set (read by the JOIN deadline)

	out       chan []byte
	done      chan struct{} // closed when the connection is to end
	written   chan struct{} // closed when the writer has finished
	closeOnce sync.Once
	mu        sync.Mutex // guards closing and ending
	closing   bool
	closeCode websocket.StatusCode
	closeMsg  string
}

func (c *conn) run(ctx context.Context, joined func()) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.writeLoop(ctx)
	defer c.shutdown()

	joinBy := time.AfterFunc(c.srv.cfg.JoinTimeout, func() {
		if !c.joined.Load() {
			c.closeWith(closeBadRequest, "no JOIN")
		}
	})
	defer joinBy.Stop()

	left := false
	for {
		typ, msg, err := c.ws.Read(ctx)
		if err != nil {
			break
		}
		if typ != websocket.MessageBinary {
			continue
		}
		f, err := DecodeFrame(msg)
		if errors.Is(err, errNoType) || errors.Is(err, errNotRTC) {
			continue
		}
		if err != nil {
			c.closeWith(closeBadRequest, "malformed frame")
			break
		}
		wasJoined := c.session != nil
		if stop := c.handle(ctx, f); stop {
			break
		}
		if !wasJoined && c.session != nil {
			joined() // no longer counts against the pending cap
		}
		if f.GetType() == sigpb.Frame_LEAVE {
			left = true
		}
	}
	if c.session != nil && !left {
		c.session.Disconnected()
	}
}

// handle processes one frame; it returns true when the connection must end.
func (c *conn) handle(ctx context.Context, f *sigpb.Frame) bool {
	switch f.GetType() {
	case sigpb.Frame_PING_PONG:
		if pp := f.GetPingPong(); pp != nil && pp.GetType() == sigpb.PingPongType_PING {
			pong := frameOf(sigpb.Frame_PING_PONG)
			pong.PingPong = &sigpb.PingPongFrame{Type: sigpb.PingPongType_PONG.Enum(), PingId: proto.Uint32(pp.GetPingId())}
			c.send(pong)
		}
	case sigpb.Frame_JOIN:
		if c.session != nil {
			return false // a repeated JOIN changes nothing
		}
		return c.join(ctx, f.GetJoin())
	}
	if c.session == nil {
		return false // everything else needs a joined session
	}
	switch f.GetType() {
	case sigpb.Frame_SUBSCRIBE:
		return c.subscribe(ctx, f.GetSubscribe())
	case sigpb.Frame_LEAVE:
		c.session.Leave()
		ack := frameOf(sigpb.Frame_LEAVE_ACK)
		ack.LeaveAck = &sigpb.LeaveAckFrame{}
		c.send(ack)
	case sigpb.Frame_PAUSE, sigpb.Frame_RESUME:
		c.session.Pause(f.GetPause().GetStreamIds(), f.GetType() == sigpb.Frame_PAUSE)
	case sigpb.Frame_AUDIO_CONTROL:
		if ac := f.GetAudioControl(); ac != nil && ac.Muted != nil {
			c.session.SetMuted(ac.GetMuted())
		}
	case sigpb.Frame_DATA_MESSAGE:
		if dm := f.GetDataMessage(); dm != nil {
			msgs := make([]media.DataMessage, 0, len(dm.GetMessages()))
			for _, m := range dm.GetMessages() {
				msgs = append(msgs, media.DataMessage{Topic: m.GetTopic(), Data: m.GetData(), LifetimeMs: m.GetLifetimeMs()})
			}
			c.session.SendData(msgs)
		}
	}
	// CLIENT_METRIC, BITRATES, REMOTE_VIDEO_UPDATE and types
	// this server does not know are ignored.
	return false
}

func (c *conn) join(ctx context.Context, j *sigpb.JoinFrame) bool {
	token, content := strings.CutSuffix(c.token, contentSuffix)
	if !meetings.IsGUID(c.meetingID) {
		c.closeWith(closeMeetingEnded, "meeting not found")
		return true
	}
	grant, err := c.srv.cfg.Auth.AuthorizeJoin(ctx, c.meetingID, token)
	switch {
	case errors.Is(err, meetings.ErrMeetingGone):
		c.closeWith(closeMeetingEnded, "meeting ended")
		return true
	case errors.Is(err, meetings.ErrJoinRefused):
		c.srv.cfg.AuthFailures.Failed(c.source)
		c.closeWith(closeAttendeeUnavailable, "attendee unavailable")
		return true
	case err != nil:
		c.srv.cfg.Log.Warn("signaling: authorizing a join", "meeting", c.meetingID, "err", err)
		c.closeWith(closeInternal, "try again")
		return true
	}
	sess, err := c.srv.cfg.Hub.Join(media.JoinRequest{Grant: grant, Content: content, AudioSessionID: j.GetAudioSessionId()}, c)
	if errors.Is(err, media.ErrMeetingEnded) {
		c.closeWith(closeMeetingEnded, "meeting ended")
		return true
	}
	if errors.Is(err, media.ErrContentNotAllowed) {
		c.closeWith(closeAttendeeUnavailable, "content share not allowed")
		return true
	}
	if err != nil {
		c.closeWith(closeInternal, "try again")
		return true
	}
	c.session = sess
	c.joined.Store(true)
	ack := frameOf(sigpb.Frame_JOIN_ACK)
	// No TURN credentials (host candidates only: with any TURN URI the SDK
	// goes relay-only), and no server-side bandwidth adaptation.
	ack.JoinAck = &sigpb.JoinAckFrame{DefaultServerSideNetworkAdaption: sigpb.ServerSideNetworkAdaption_NONE.Enum()}
	c.send(ack)
	c.Index(sess.Index())
	c.srv.cfg.Log.Debug("signaling: joined", "meeting", c.meetingID, "attendee", sess.AttendeeID())
	return false
}

func (c *conn) subscribe(ctx context.Context, sub *sigpb.SubscribeFrame) bool {
	if sub == nil || sub.GetSdpOffer() == "" {
		c.closeWith(closeBadRequest, "SUBSCRIBE without an SDP offer")
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req := media.SubscribeRequest{Offer: sub.GetSdpOffer(), ReceiveStreamIDs: sub.GetReceiveStreamIds()}
	if d := sub.GetDuplex(); d == sigpb.StreamServiceType_DUPLEX || d == sigpb.StreamServiceType_TX {
		for _, st := range sub.GetSendStreams() {
			if st.GetMediaType() == sigpb.StreamMediaType_VIDEO {
				req.SendVideo = &media.SendStream{Label: st.GetTrackLabel(), MaxBitrateKbps: st.GetMaxBitrateKbps()}
				break
			}
		}
	}
	res, err := c.session.Subscribe(ctx, req)
	if errors.Is(err, media.ErrBadOffer) {
		c.closeWith(closeBadRequest, "unusable SDP offer")
		return true
	}
	if err != nil {
		c.srv.cfg.Log.Warn("signaling: answering an offer", "meeting", c.meetingID, "err", err)
		c.closeWith(closeInternal, "try again")
		return true
	}
	ack := frameOf(sigpb.Frame_SUBSCRIBE_ACK)
	ack.SubscribeAck = &sigpb.SubscribeAckFrame{Duplex: sub.Duplex, SdpAnswer: proto.String(res.Answer)}
	if res.VideoRefused {
		// The SDK's "view only": local tile removed, videoSendDidBecomeUnavailable.
		ack.Error = &sigpb.ErrorFrame{Status: proto.Uint32(206), Description: proto.String("video send not allowed")}
	}
	for _, a := range res.Allocations {
		ack.SubscribeAck.Allocations = append(ack.SubscribeAck.Allocations, &sigpb.StreamAllocation{
			TrackLabel: proto.String(a.Label), StreamId: proto.Uint32(a.StreamID), GroupId: proto.Uint32(a.GroupID)})
	}
	for _, t := range res.Tracks {
		ack.SubscribeAck.Tracks = append(ack.SubscribeAck.Tracks, &sigpb.TrackMapping{
			StreamId: proto.Uint32(t.StreamID), Ssrc: proto.Uint32(t.SSRC), TrackLabel: proto.String(t.Label)})
	}
	c.send(ack)
	return false
}

// send queues a frame; a client that lets 256 frames pile up is closed.
func (c *conn) send(f *sigpb.Frame) {
	b := encodeFrame(f, c.srv.cfg.Now())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	select {
	case c.out <- b:
	default:
		c.closing = true
		c.closeCode, c.closeMsg = closeSlowClient, "client too slow"
		c.closeOnce.Do(func() { close(c.done) })
	}
}

// closeWith flushes what is queued, then closes with code.
func (c *conn) closeWith(code websocket.StatusCode, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.closing = true
	c.closeCode, c.closeMsg = code, msg
	c.closeOnce.Do(func() { close(c.done) })
}

func (c *conn) writeLoop(ctx context.Context) {
	defer close(c.written)
	write := func(b []byte) bool {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return c.ws.Write(wctx, websocket.MessageBinary, b) == nil
	}
	for {
		select {
		case b := <-c.out:
			if !write(b) {
				c.ws.CloseNow()
				return
			}
		case <-c.done:
			for {
				select {
				case b := <-c.out:
					if !write(b) {
						c.ws.CloseNow()
						return
					}
				default:
					c.mu.Lock()
					code, msg := c.closeCode, c.closeMsg
					c.mu.Unlock()
					_ = c.ws.Close(code, msg)
					return
				}
			}
		case <-ctx.Done():
			return
		}
	}
}

// shutdown lets the writer flush and send its close frame, then releases
// the socket.
func (c *conn) shutdown() {
	c.closeWith(websocket.StatusNormalClosure, "")
	select {
	case <-c.written:
	case <-time.After(10 * time.Second):
	}
	c.ws.CloseNow()
}

// The media.Client side: what the media plane tells this client.

func (c *conn) Presence(entries []media.Presence) {
	info := &sigpb.AudioStreamIdInfoFrame{}
	for _, p := range entries {
		e := &sigpb.AudioStreamIdInfo{AudioStreamId: proto.Uint32(p.StreamID)}
		if p.AttendeeID != "" {
			e.AttendeeId = proto.String(p.AttendeeID)
			e.ExternalUserId = proto.String(p.ExternalUserID)
		}
		if p.Muted != nil {
			e.Muted = proto.Bool(*p.Muted)
		}
		if p.Dropped {
			e.Dropped = proto.Bool(true)
		}
		info.Streams = append(info.Streams, e)
	}
	f := frameOf(sigpb.Frame_AUDIO_STREAM_ID_INFO)
	f.AudioStreamIdInfo = info
	c.send(f)
}

func (c *conn) Index(idx media.Index) {
	f := frameOf(sigpb.Frame_INDEX)
	f.Index = &sigpb.IndexFrame{
		AtCapacity:                        proto.Bool(idx.AtCapacity),
		NumParticipants:                   proto.Uint32(uint32(idx.NumParticipants)),
		SupportedReceiveCodecIntersection: []sigpb.VideoCodecCapability{sigpb.VideoCodecCapability_VP8},
	}
	for _, src := range idx.Sources {
		f.Index.Sources = append(f.Index.Sources, &sigpb.StreamDescriptor{
			StreamId: proto.Uint32(src.StreamID), GroupId: proto.Uint32(src.GroupID),
			AttendeeId: proto.String(src.AttendeeID), ExternalUserId: proto.String(src.ExternalUserID),
			MediaType: sigpb.StreamMediaType_VIDEO.Enum(), TrackLabel: proto.String("AmazonChimeExpressVideo"),
			MaxBitrateKbps: proto.Uint32(src.MaxBitrateKbps), AvgBitrateBps: proto.Uint32(src.MaxBitrateKbps * 1000 / 2),
			Framerate: proto.Uint32(15),
		})
	}
	c.send(f)
}

func (c *conn) Data(msgs []media.DataMessage) {
	dm := &sigpb.DataMessageFrame{}
	for _, m := range msgs {
		dm.Messages = append(dm.Messages, &sigpb.DataMessagePayload{
			Topic: proto.String(m.Topic), Data: m.Data, LifetimeMs: proto.Uint32(m.LifetimeMs),
			SenderAttendeeId: proto.String(m.SenderAttendeeID), SenderExternalUserId: proto.String(m.SenderExternalUserID),
			IngestTimeNs: proto.Int64(m.IngestTimeNs),
		})
	}
	f := frameOf(sigpb.Frame_DATA_MESSAGE)
	f.DataMessage = dm
	c.send(f)
}

func (c *conn) Metadata(levels []media.AudioLevel) {
	md := &sigpb.AudioMetadataFrame{}
	for _, l := range levels {
		md.AttendeeStates = append(md.AttendeeStates, &sigpb.AudioAttendeeState{
			AudioStreamId: proto.Uint32(l.StreamID), Volume: proto.Uint32(l.Volume), SignalStrength: proto.Uint32(l.SignalStrength)})
	}
	f := frameOf(sigpb.Frame_AUDIO_METADATA)
	f.AudioMetadata = md
	c.send(f)
}

func (c *conn) End(status int) {
	f := frameOf(sigpb.Frame_AUDIO_STATUS)
	f.AudioStatus = &sigpb.AudioStatusFrame{AudioStatus: proto.Uint32(uint32(status))}
	c.send(f)
	c.closeWith(websocket.StatusNormalClosure, "")
}

func (c *conn) Close(code int, reason string) { c.closeWith(websocket.StatusCode(code), reason) }
