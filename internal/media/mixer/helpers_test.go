package mixer

import (
	"encoding/binary"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// pcmCodec is a lossless stand-in for Opus: a "packet" is the frame's samples
// as int16, so tests can check the mix sample by sample. It counts the
// frames it had to conceal.
type pcmCodec struct{ concealed *atomic.Int64 }

func newPCMCodec() pcmCodec { return pcmCodec{concealed: new(atomic.Int64)} }

func (c pcmCodec) Name() string                 { return "pcm16 test codec" }
func (c pcmCodec) NewDecoder() (Decoder, error) { return pcmDecoder(c), nil }
func (c pcmCodec) NewEncoder() (Encoder, error) { return pcmEncoder{}, nil }

type pcmDecoder struct{ concealed *atomic.Int64 }

func (d pcmDecoder) Decode(packet []byte, pcm []float32) (int, error) {
	if len(packet)%2 != 0 || len(packet)/2 > len(pcm) {
		return 0, errors.New("pcm16: bad packet")
	}
	for i := range len(packet) / 2 {
		pcm[i] = float32(int16(binary.LittleEndian.Uint16(packet[2*i:]))) / 32768
	}
	return len(packet) / 2, nil
}

func (d pcmDecoder) Conceal(next []byte, pcm []float32) (int, error) {
	d.concealed.Add(1)
	clear(pcm[:FrameSamples])
	return FrameSamples, nil
}

func (d pcmDecoder) Reset() {}

type pcmEncoder struct{}

func (pcmEncoder) Encode(pcm []float32, dst []byte) (int, error) {
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(dst[2*i:], uint16(toInt16(v)))
	}
	return 2 * len(pcm), nil
}

func toInt16(v float32) int16 {
	return int16(max(-32768, min(32767, math.Round(float64(v)*32768))))
}

func pcm16Frame(pcm []float32) []byte {
	b := make([]byte, 2*len(pcm))
	_, _ = pcmEncoder{}.Encode(pcm, b)
	return b
}

// talker makes one sender's RTP packets: a tone encoded with the given
// encoder, numbered like a browser would.
type talker struct {
	t       testing.TB
	freq    float64
	amp     float64
	enc     Encoder // nil: pcm16 packets
	levelID uint8   // 0: no audio-level extension
	seq     uint16
	ts      uint32
	frame   int
}

func newTalker(t testing.TB, freq, amp float64, opus bool, levelID uint8) *talker {
	tk := &talker{t: t, freq: freq, amp: amp, levelID: levelID, seq: 1000, ts: 5000}
	if opus {
		enc, err := GopusCodec{}.NewEncoder()
		if err != nil {
			t.Fatal(err)
		}
		tk.enc = enc
	}
	return tk
}

// next returns the next packet.
func (tk *talker) next() *rtp.Packet {
	pcm := sine(tk.freq, tk.amp, tk.frame*FrameSamples, FrameSamples)
	tk.frame++
	var payload []byte
	if tk.enc != nil {
		buf := make([]byte, MaxOpusPacketBytes)
		n, err := tk.enc.Encode(pcm, buf)
		if err != nil {
			tk.t.Fatal(err)
		}
		payload = buf[:n]
	} else {
		payload = pcm16Frame(pcm)
	}
	p := &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: tk.seq, Timestamp: tk.ts, SSRC: 42},
		Payload: payload,
	}
	if tk.levelID != 0 {
		raw, err := rtp.AudioLevelExtension{Level: rmsLevel(pcm), Voice: true}.Marshal()
		if err != nil {
			tk.t.Fatal(err)
		}
		if err := p.SetExtension(tk.levelID, raw); err != nil {
			tk.t.Fatal(err)
		}
	}
	tk.seq++
	tk.ts += FrameSamples
	return p
}

// collector is a receiver sink that keeps every frame.
type collector struct {
	mu     sync.Mutex
	frames []Frame
	got    chan struct{}
}

func newCollector() *collector { return &collector{got: make(chan struct{}, 1024)} }

func (c *collector) sink(f Frame) {
	c.mu.Lock()
	c.frames = append(c.frames, f)
	c.mu.Unlock()
	c.got <- struct{}{}
}

// wait blocks until n more frames arrived (they are delivered on the
// receiver's goroutine).
func (c *collector) wait(t testing.TB, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for i := range n {
		select {
		case <-c.got:
		case <-timeout:
			t.Fatalf("only %d of %d frames arrived", i, n)
		}
	}
}

func (c *collector) snapshot() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.frames...)
}

// decodeOpus decodes a receiver's frames with a fresh gopus decoder.
func decodeOpus(t testing.TB, frames []Frame) []float32 {
	t.Helper()
	dec, err := GopusCodec{}.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, MaxPacketSamples)
	var out []float32
	for _, f := range frames {
		n, err := dec.Decode(f.Payload, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
	}
	return out
}

// decodePCM16 decodes frames made with pcmCodec.
func decodePCM16(t testing.TB, frames []Frame) []float32 {
	t.Helper()
	var out []float32
	buf := make([]float32, MaxPacketSamples)
	for _, f := range frames {
		if len(f.Payload) == len(SilenceFrame) {
			out = append(out, make([]float32, FrameSamples)...)
			continue
		}
		n, err := pcmDecoder{new(atomic.Int64)}.Decode(f.Payload, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
	}
	return out
}

// tail is the last 2^15 samples (0.68 s), the FFT block.
func tail(t testing.TB, pcm []float32) []float32 {
	t.Helper()
	const n = 1 << 15
	if len(pcm) < n {
		t.Fatalf("only %d samples, want %d", len(pcm), n)
	}
	return pcm[len(pcm)-n:]
}
