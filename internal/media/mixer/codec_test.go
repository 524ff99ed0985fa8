package mixer

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// roundTrip encodes frames of a tone and decodes them again, returning the
// decoded PCM after the first second (the codec settles).
func roundTrip(t testing.TB, codec Codec, freq float64, frames int) []float32 {
	t.Helper()
	enc, err := codec.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := codec.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	packet := make([]byte, MaxOpusPacketBytes)
	pcm := make([]float32, MaxPacketSamples)
	var out []float32
	for f := range frames {
		n, err := enc.Encode(sine(freq, 0.3, f*FrameSamples, FrameSamples), packet)
		if err != nil {
			t.Fatal(err)
		}
		m, err := dec.Decode(packet[:n], pcm)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pcm[:m]...)
	}
	return out
}

func TestGopusRoundTripQuality(t *testing.T) {
	for _, freq := range []float64{440, 660, 1000} {
		out := roundTrip(t, GopusCodec{}, freq, 50+(1<<15)/FrameSamples+1)
		p := spectrum(out[SampleRate : SampleRate+1<<15])
		got := peakHz(p)
		if math.Abs(got-freq) > 2*binHz(p) {
			t.Errorf("%v Hz tone decoded with its peak at %.1f Hz", freq, got)
		}
		snr := toneDB(p, 4, freq)
		t.Logf("%v Hz: peak %.1f Hz, tone %.1f dB above noise+distortion", freq, got, snr)
		if snr < 20 {
			t.Errorf("%v Hz: tone only %.1f dB above the rest", freq, snr)
		}
	}
}

func TestSilenceFrameDecodesToSilence(t *testing.T) {
	dec, err := GopusCodec{}.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]float32, MaxPacketSamples)
	for range 5 {
		n, err := dec.Decode(SilenceFrame, pcm)
		if err != nil {
			t.Fatal(err)
		}
		if n != FrameSamples {
			t.Fatalf("silence frame decoded to %d samples, want %d", n, FrameSamples)
		}
		for i, s := range pcm[:n] {
			if s != 0 {
				t.Fatalf("sample %d = %v, want 0", i, s)
			}
		}
	}
}

// BenchmarkGopusEncode is the cost of one 20 ms encode at three complexities
// (5 is the default), as a share of one core for a continuous stream.
func BenchmarkGopusEncode(b *testing.B) {
	for _, c := range []int{1, 5, 10} {
		b.Run(fmt.Sprint("complexity=", c), func(b *testing.B) { benchEncode(b, GopusCodec{Complexity: c}) })
	}
}

func benchEncode(b *testing.B, codec GopusCodec) {
	enc, err := codec.NewEncoder()
	if err != nil {
		b.Fatal(err)
	}
	frames := make([][]float32, 50)
	for i := range frames {
		frames[i] = sine(440, 0.3, i*FrameSamples, FrameSamples)
	}
	packet := make([]byte, MaxOpusPacketBytes)
	cpu0 := cpuTime(b)
	for i := 0; b.Loop(); i++ {
		if _, err := enc.Encode(frames[i%len(frames)], packet); err != nil {
			b.Fatal(err)
		}
	}
	reportStreamCPU(b, cpu0)
}

func BenchmarkGopusDecode(b *testing.B) {
	enc, err := GopusCodec{}.NewEncoder()
	if err != nil {
		b.Fatal(err)
	}
	packets := make([][]byte, 50)
	for i := range packets {
		buf := make([]byte, MaxOpusPacketBytes)
		n, err := enc.Encode(sine(440, 0.3, i*FrameSamples, FrameSamples), buf)
		if err != nil {
			b.Fatal(err)
		}
		packets[i] = buf[:n]
	}
	dec, err := GopusCodec{}.NewDecoder()
	if err != nil {
		b.Fatal(err)
	}
	pcm := make([]float32, MaxPacketSamples)
	cpu0 := cpuTime(b)
	for i := 0; b.Loop(); i++ {
		if _, err := dec.Decode(packets[i%len(packets)], pcm); err != nil {
			b.Fatal(err)
		}
	}
	reportStreamCPU(b, cpu0)
}

// reportStreamCPU reports the CPU time spent since cpu0 per 20 ms frame as a
// percentage of one core: the cost of one continuous stream.
func reportStreamCPU(b *testing.B, cpu0 time.Duration) {
	perFrame := float64((cpuTime(b) - cpu0).Nanoseconds()) / float64(b.N)
	b.ReportMetric(100*perFrame/float64(FrameDuration.Nanoseconds()), "%core/stream")
}
