package mixer

import (
	"errors"
	"fmt"
	"time"

	"github.com/thesyncim/gopus"
)

// Audio format of every stream the mixer reads and writes: what the Chime SDK's
// Chrome sends (Opus, 48 kHz, mono, 20 ms packets).
const (
	SampleRate    = 48000
	FrameDuration = 20 * time.Millisecond
	// FrameSamples is one tick of audio: 20 ms of mono 48 kHz PCM.
	FrameSamples = SampleRate / 50
	// MaxPacketSamples is the longest Opus packet (120 ms), the room a
	// decode buffer needs.
	MaxPacketSamples = 6 * FrameSamples
	// MaxOpusPacketBytes bounds one encoded frame (the libopus recommendation).
	MaxOpusPacketBytes = 4000
)

// SilenceFrame is a 20 ms fullband CELT Opus packet that decodes to digital
// silence. The mixer sends it when a receiver has nothing to hear, so its
// stream stays continuous without spending an encode.
var SilenceFrame = []byte{0xf8, 0xff, 0xfe}

// A Decoder turns one sender's Opus packets into mono 48 kHz float32 PCM in
// [-1, 1]. It keeps state between packets and is used by one goroutine.
type Decoder interface {
	// Decode decodes one packet into pcm (room for MaxPacketSamples) and
	// returns the number of samples written.
	Decode(packet []byte, pcm []float32) (int, error)
	// Conceal fills pcm (exactly FrameSamples) for a lost frame. When next,
	// the packet after the lost one, is not nil, the frame is recovered from
	// next's in-band FEC data if it carries any; otherwise it is concealed.
	Conceal(next []byte, pcm []float32) (int, error)
	// Reset forgets the stream, as for a new sender.
	Reset()
}

// An Encoder turns FrameSamples of mono 48 kHz PCM into one Opus packet.
type Encoder interface {
	// Encode writes one packet into dst (room for MaxOpusPacketBytes) and
	// returns its length.
	Encode(pcm []float32, dst []byte) (int, error)
}

// A Codec makes decoders and encoders; the mixer needs one decoder per sender
// and one encoder per distinct mix.
type Codec interface {
	Name() string
	NewDecoder() (Decoder, error)
	NewEncoder() (Encoder, error)
}

// GopusCodec is the pure-Go Opus codec github.com/thesyncim/gopus.
type GopusCodec struct {
	// Bitrate of the mixed stream in bit/s; 0 means 32000, plenty for one
	// mono voice mix.
	Bitrate int
	// Complexity 0..10 trades encoder CPU for quality; 0 means 5, where
	// gopus measured well on both (docs/benchmarks.md).
	Complexity int
}

// Name reports the codec for start-up logs.
func (c GopusCodec) Name() string { return "gopus v0.1.1 (pure Go Opus)" }

// NewDecoder returns a mono 48 kHz gopus decoder.
func (c GopusCodec) NewDecoder() (Decoder, error) {
	d, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(SampleRate, 1))
	if err != nil {
		return nil, fmt.Errorf("gopus decoder: %w", err)
	}
	return gopusDecoder{d}, nil
}

// NewEncoder returns a mono 48 kHz gopus encoder tuned for a voice mix:
// in-band FEC on, so receivers ride out single losses.
func (c GopusCodec) NewEncoder() (Encoder, error) {
	e, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: SampleRate, Channels: 1, Application: gopus.ApplicationVoIP})
	if err != nil {
		return nil, fmt.Errorf("gopus encoder: %w", err)
	}
	bitrate, complexity := c.Bitrate, c.Complexity
	if bitrate == 0 {
		bitrate = 32000
	}
	if complexity == 0 {
		complexity = 5
	}
	if err := e.SetBitrate(bitrate); err != nil {
		return nil, fmt.Errorf("gopus bitrate %d: %w", bitrate, err)
	}
	if err := e.SetComplexity(complexity); err != nil {
		return nil, fmt.Errorf("gopus complexity %d: %w", complexity, err)
	}
	if err := e.SetFrameSize(FrameSamples); err != nil {
		return nil, fmt.Errorf("gopus frame size: %w", err)
	}
	e.SetFEC(true)
	return gopusEncoder{e}, nil
}

type gopusDecoder struct{ d *gopus.Decoder }

func (g gopusDecoder) Decode(packet []byte, pcm []float32) (int, error) {
	if len(packet) == 0 {
		return 0, errEmptyPacket
	}
	return g.d.Decode(packet, pcm)
}

func (g gopusDecoder) Conceal(next []byte, pcm []float32) (int, error) {
	// gopus, like libopus, takes the length of the concealed frame from
	// the length of the buffer.
	pcm = pcm[:FrameSamples]
	if next != nil {
		if n, err := g.d.DecodeWithFEC(next, pcm, true); err == nil {
			return n, nil
		}
	}
	return g.d.Decode(nil, pcm)
}

func (g gopusDecoder) Reset() { g.d.Reset() }

type gopusEncoder struct{ e *gopus.Encoder }

func (g gopusEncoder) Encode(pcm []float32, dst []byte) (int, error) { return g.e.Encode(pcm, dst) }

var errEmptyPacket = errors.New("empty Opus packet")
