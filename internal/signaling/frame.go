// Package signaling is the wire layer of the media plane: the Amazon Chime
// signaling protocol (a WebSocket carrying protobuf frames) at each meeting's
// SignalingUrl, and the SDK's two HTTP side doors (TurnControlUrl and
// EventIngestionUrl). It decodes and encodes; the media package owns the
// sessions and the domain authorizes them.
package signaling

import (
	"errors"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/carillon-dev/carillon/internal/signaling/sigpb"
)

// frameTypeRTC is the first byte of every signaling message.
const frameTypeRTC = 0x05

// maxFrameBytes bounds one client message. The SDK's largest frame is a
// SUBSCRIBE with a full SDP offer: a few kilobytes per m-line, so 25 remote
// videos stay far below it.
const maxFrameBytes = 256 << 10

var (
	errNotRTC     = errors.New("signaling: message is not an RTC frame")
	errNoType     = errors.New("signaling: frame without a known type")
	errBadMessage = errors.New("signaling: malformed frame")
)

// DecodeFrame reads one client message: 0x05 and one Frame. A frame whose
// type this server does not know decodes with errNoType, which callers
// ignore (the protocol grows; old servers must not hang up on new clients).
func DecodeFrame(msg []byte) (*sigpb.Frame, error) {
	if len(msg) == 0 || msg[0] != frameTypeRTC {
		return nil, errNotRTC
	}
	f := &sigpb.Frame{}
	// AllowPartial: an enum value unknown to this schema leaves its required
	// field unset; that is "unknown type", not a broken frame.
	if err := (proto.UnmarshalOptions{AllowPartial: true, DiscardUnknown: true}).Unmarshal(msg[1:], f); err != nil {
		return nil, errBadMessage
	}
	if f.Type == nil {
		return nil, errNoType
	}
	return f, nil
}

// encodeFrame stamps and serializes a server frame.
func encodeFrame(f *sigpb.Frame, now time.Time) []byte {
	f.TimestampMs = proto.Uint64(uint64(now.UnixMilli()))
	b, err := proto.MarshalOptions{AllowPartial: true}.Marshal(f)
	if err != nil {
		// Only frames this package builds are encoded; they always marshal.
		panic("signaling: encoding a server frame: " + err.Error())
	}
	return append([]byte{frameTypeRTC}, b...)
}

func frameOf(t sigpb.Frame_Type) *sigpb.Frame { return &sigpb.Frame{Type: t.Enum()} }
