package mixer

import (
	"testing"

	"github.com/pion/rtp"
)

// The input path must survive anything a network peer can send: malformed
// RTP, and well-formed RTP around malformed Opus. `go test` runs the seeds;
// `go test -fuzz FuzzSenderWrite ./internal/media/mixer/` explores.

func fuzzSeeds(f *testing.F) {
	tk := newTalker(f, 440, 0.5, true, 1)
	for range 3 {
		p := tk.next()
		raw, err := p.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		f.Add(raw[:len(raw)/2])
		f.Add(p.Payload)
	}
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x90, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0, 0xfc})
	f.Add(SilenceFrame)
	f.Add([]byte{0x03, 0xff})             // code 3, no count byte
	f.Add([]byte{0x0b, 0x81, 0xff, 0x7f}) // code 3 with a bad padding length
}

// Codec state takes half a millisecond to build, so each fuzz target keeps
// one mixer for all its inputs; a crash still reports the input that caused it.

// FuzzSenderWrite feeds raw datagrams to a sender, in both modes, and ticks.
func FuzzSenderWrite(f *testing.F) {
	fuzzSeeds(f)
	var mixers []*Mixer
	var senders []*Sender
	for _, mode := range []Mode{ModeMix, ModeForward} {
		m, err := New(Config{Mode: mode, ReceiverQueue: 64})
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(m.Close)
		mixers = append(mixers, m)
		senders = append(senders, m.AddSender("x", "x", 1))
		m.AddReceiver("y", "y", func(Frame) {})
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for i, m := range mixers {
			for range 3 {
				_ = senders[i].Write(raw)
				m.Tick()
			}
			_ = senders[i].Level()
		}
	})
}

// FuzzOpusPayload wraps the input in valid, in-order RTP packets (so the
// jitter buffer plays them and the decoder sees them), splitting it into up
// to four payloads.
func FuzzOpusPayload(f *testing.F) {
	fuzzSeeds(f)
	m, err := New(Config{ReceiverQueue: 64})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(m.Close)
	s := m.AddSender("x", "x", 0) // no level extension: always decoded
	m.AddReceiver("y", "y", func(Frame) {})
	var seq uint16
	f.Fuzz(func(t *testing.T, data []byte) {
		parts := [][]byte{data}
		if len(data) > 8 {
			q := len(data) / 4
			parts = [][]byte{data[:q], data[q : 2*q], data[2*q : 3*q], data[3*q:]}
		}
		for _, payload := range parts {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: uint32(seq) * FrameSamples}, Payload: payload}
			seq++
			_ = s.WriteRTP(p)
			m.Tick()
		}
	})
}
