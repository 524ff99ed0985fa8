package signaling

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/carillon-dev/carillon/internal/signaling/sigpb"
)

// FuzzDecodeFrame: any client message decodes to a frame or an error, never
// a panic, and a decoded frame always has a type.
func FuzzDecodeFrame(f *testing.F) {
	seed := func(fr *sigpb.Frame) {
		fr.TimestampMs = proto.Uint64(1)
		b, _ := proto.Marshal(fr)
		f.Add(append([]byte{frameTypeRTC}, b...))
	}
	seed(&sigpb.Frame{Type: sigpb.Frame_JOIN.Enum(), Join: &sigpb.JoinFrame{AudioSessionId: proto.Uint64(9)}})
	seed(&sigpb.Frame{Type: sigpb.Frame_PING_PONG.Enum(), PingPong: &sigpb.PingPongFrame{Type: sigpb.PingPongType_PING.Enum(), PingId: proto.Uint32(3)}})
	seed(&sigpb.Frame{Type: sigpb.Frame_SUBSCRIBE.Enum(), Subscribe: &sigpb.SubscribeFrame{SdpOffer: proto.String("v=0"), ReceiveStreamIds: []uint32{0, 4}}})
	seed(&sigpb.Frame{Type: sigpb.Frame_DATA_MESSAGE.Enum(), DataMessage: &sigpb.DataMessageFrame{Messages: []*sigpb.DataMessagePayload{{Topic: proto.String("t")}}}})
	f.Add([]byte{})
	f.Add([]byte{0x05})
	f.Add([]byte{0x02, 0x08, 0x01})
	f.Add([]byte{0x05, 0x10, 0x63})
	f.Fuzz(func(t *testing.T, msg []byte) {
		fr, err := DecodeFrame(msg)
		if err == nil && fr.Type == nil {
			t.Fatalf("decoded a frame without a type from %x", msg)
		}
		if err == nil {
			// Whatever decodes re-encodes (the server echoes parts of it).
			if _, err := (proto.MarshalOptions{AllowPartial: true}).Marshal(fr); err != nil {
				t.Fatalf("a decoded frame does not re-encode: %v", err)
			}
		}
	})
}
