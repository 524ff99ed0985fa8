package media

import (
	"context"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// silenceSource streams Opus silence on one track shared by every session's
// audio m-line, so that the SDK's audio element has a live stream before any
// attendee speaks. pion rewrites SSRC and payload type per receiver.
type silenceSource struct {
	track *webrtc.TrackLocalStaticRTP
}

// opusSilence is one 20 ms Opus frame of silence (TOC 0xf8: CELT, 20 ms).
var opusSilence = []byte{0xf8, 0xff, 0xfe}

func newSilenceSource(ctx context.Context) *silenceSource {
	track, err := webrtc.NewTrackLocalStaticRTP(opusCodec, "audio", "audio")
	if err != nil {
		panic(err) // only fails for an invalid codec, which is a constant here
	}
	s := &silenceSource{track: track}
	go s.run(ctx)
	return s
}

func (s *silenceSource) run(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111}, Payload: opusSilence}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			pkt.SequenceNumber++
			pkt.Timestamp += 960
			_ = s.track.WriteRTP(pkt)
		}
	}
}
