package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/carillon-dev/carillon/internal/signaling/sigpb"
)

func sqliteEngine() engine {
	return engine{"sqlite", func(t *testing.T) []string { return []string{"--data", ":memory:"} }}
}

// The join flow of the SDK, frame by frame: PING before JOIN, JOIN_ACK then
// INDEX, SUBSCRIBE answered with a real WebRTC answer, ICE connected, the
// roster snapshot, LEAVE_ACK.
func TestMediaJoinFlow(t *testing.T) {
	srv := startServer(t, sqliteEngine())
	mm := newMediaMeeting(t, srv, "alice")
	ctx := context.Background()
	c := mm.dial(t, *mm.attendees[0].JoinToken)

	if err := c.Ping(ctx, 77); err != nil {
		t.Fatal(err)
	}
	pong, _, err := c.WaitType(0, frameWait, sigpb.Frame_PING_PONG)
	if err != nil {
		t.Fatalf("no PONG before JOIN: %v", err)
	}
	if pp := pong.GetPingPong(); pp.GetType() != sigpb.PingPongType_PONG || pp.GetPingId() != 77 || pong.GetTimestampMs() == 0 {
		t.Fatalf("PONG = %v, want PONG 77 with a timestamp", pp)
	}

	ack, index, err := c.Join(ctx, 42, frameWait)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	if ack.JoinAck == nil {
		t.Fatal("JOIN_ACK without its joinack field (the SDK fails the join)")
	}
	if got := ack.GetJoinAck().GetDefaultServerSideNetworkAdaption(); got != sigpb.ServerSideNetworkAdaption_NONE {
		t.Errorf("server-side network adaptation = %v, want NONE", got)
	}
	if ack.GetJoinAck().TurnCredentials != nil {
		t.Errorf("JOIN_ACK carries TURN credentials with no TURN server: the SDK would go relay-only")
	}
	if index.Index == nil {
		t.Fatal("INDEX without its index field")
	}
	if got := index.GetIndex().GetSupportedReceiveCodecIntersection(); len(got) != 1 || got[0] != sigpb.VideoCodecCapability_VP8 {
		t.Errorf("codec intersection = %v, want [VP8]", got)
	}

	suback, err := c.Subscribe(ctx, mm.rtc, frameWait)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	answer := suback.GetSubscribeAck().GetSdpAnswer()
	for _, want := range []string{"a=msid:audio audio", "a=candidate:", "a=mid:0", "opus/48000"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q:\n%s", want, answer)
		}
	}
	select {
	case <-c.Connected():
	case <-time.After(frameWait):
		t.Fatal("ICE did not connect")
	}
	self := waitPresence(t, c, "own presence", func(e *sigpb.AudioStreamIdInfo) bool {
		return e.GetAttendeeId() == *mm.attendees[0].AttendeeId
	})
	if self.GetExternalUserId() != "alice" || self.GetAudioStreamId() == 0 {
		t.Errorf("own roster entry = %v", self)
	}

	// Unknown frame types are ignored, never answered with a close.
	unknown := &sigpb.Frame{Type: sigpb.Frame_CLIENT_METRIC.Enum()}
	if err := c.Send(ctx, unknown); err != nil {
		t.Fatal(err)
	}
	raw, _ := proto.Marshal(&sigpb.Frame{TimestampMs: proto.Uint64(1), Type: sigpb.Frame_PING_PONG.Enum()})
	raw = append(raw, 0x10, 99) // field 2 again: type 99, unknown to the server
	if err := c.SendRaw(ctx, append([]byte{0x05}, raw...)); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx, 78); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Wait(0, frameWait, func(f *sigpb.Frame) bool { return f.GetPingPong().GetPingId() == 78 }); err != nil {
		t.Fatalf("the session did not survive unknown frames: %v", err)
	}

	if err := c.Leave(ctx, frameWait); err != nil {
		t.Fatalf("LEAVE: %v", err)
	}
}
