package e2e

import (
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/carillon-dev/carillon/internal/media/mixer"
	"github.com/carillon-dev/carillon/internal/signaling/sigpb"
)

// speak sends a sine of hz as Opus on track every 20 ms until stop is set.
func speak(t *testing.T, track *webrtc.TrackLocalStaticRTP, hz float64, stop *atomic.Bool) {
	enc, err := mixer.GopusCodec{}.NewEncoder()
	if err != nil {
		t.Error(err)
		return
	}
	pcm := make([]float32, mixer.FrameSamples)
	buf := make([]byte, mixer.MaxOpusPacketBytes)
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111}}
	phase := 0.0
	for !stop.Load() {
		for i := range pcm {
			pcm[i] = float32(0.5 * math.Sin(phase))
			phase += 2 * math.Pi * hz / mixer.SampleRate
		}
		n, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Error(err)
			return
		}
		p.SequenceNumber++
		p.Timestamp += mixer.FrameSamples
		p.Payload = buf[:n]
		_ = track.WriteRTP(p)
		time.Sleep(20 * time.Millisecond)
	}
}

// What one attendee says reaches the others through the server's mix, and
// never comes back to itself (mix-minus); volume is reported for it.
func TestMediaAudioMix(t *testing.T) {
	srv := startServer(t, sqliteEngine())
	mm := newMediaMeeting(t, srv, "alice", "bob")
	a := mm.connect(t, 0, 1)
	b := mm.connect(t, 1, 2)
	var stop atomic.Bool
	defer stop.Store(true)
	go speak(t, a.Audio, 440, &stop)

	deadline := time.Now().Add(frameWait)
	for b.Heard("audio") < 25 {
		if time.Now().After(deadline) {
			t.Fatalf("bob heard %d sound packets of %d in %v, want >= 25", b.Heard("audio"), b.Received("audio"), frameWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := a.Heard("audio"); got != 0 {
		t.Errorf("alice heard %d sound packets while only she spoke (mix-minus)", got)
	}
	// Bob's volume indicator for Alice rises.
	var aliceStream uint32
	for _, e := range presenceOf(b.Frames()) {
		if e.GetAttendeeId() == *mm.attendees[0].AttendeeId {
			aliceStream = e.GetAudioStreamId()
		}
	}
	if _, _, err := b.Wait(0, frameWait, func(f *sigpb.Frame) bool {
		for _, st := range f.GetAudioMetadata().GetAttendeeStates() {
			if st.GetAudioStreamId() == aliceStream && st.GetVolume() < 60 && st.GetSignalStrength() > 0 {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("bob saw no volume for alice: %v", err)
	}
}
