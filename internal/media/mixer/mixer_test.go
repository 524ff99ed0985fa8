package mixer

import (
	"math"
	"testing"
)

func newMixer(t testing.TB, cfg Config) *Mixer {
	t.Helper()
	if cfg.ReceiverQueue == 0 {
		// Tests tick faster than real time: room for every frame.
		cfg.ReceiverQueue = 1024
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// assertHears checks that a receiver's audio carries each tone in want and
// none of those in absent.
func assertHears(t *testing.T, who string, pcm []float32, want, absent []float64) {
	t.Helper()
	p := spectrum(tail(t, pcm))
	for _, f := range want {
		if db := relativeDB(p, f, 4); db < -12 {
			t.Errorf("%s: %v Hz at %.1f dB of the total, want it clearly present", who, f, db)
		}
	}
	for _, f := range absent {
		if db := relativeDB(p, f, 4); db > -40 {
			t.Errorf("%s: %v Hz at %.1f dB of the total, want it absent", who, f, db)
		}
	}
	t.Logf("%s: peak at %.1f Hz, tones %.1f dB above the rest", who, peakHz(p), toneDB(p, 4, want...))
}

// TestMixMinusSpectrum is the three-party check with real Opus:
// Alice plays 440 Hz, Carol 660 Hz, Bob is silent. Bob hears both, Alice
// hears 660 and not herself, Carol hears 440 and not herself.
func TestMixMinusSpectrum(t *testing.T) {
	for _, withLevels := range []bool{true, false} {
		name := "level extension"
		levelID := uint8(1)
		if !withLevels {
			name, levelID = "levels from PCM", 0
		}
		t.Run(name, func(t *testing.T) {
			m := newMixer(t, Config{})
			alice, carol := m.AddSender("alice", "alice", levelID), m.AddSender("carol", "carol", levelID)
			aliceTone, carolTone := newTalker(t, 440, 0.3, true, levelID), newTalker(t, 660, 0.3, true, levelID)
			out := map[string]*collector{"alice": newCollector(), "bob": newCollector(), "carol": newCollector()}
			for id, c := range out {
				m.AddReceiver(id, id, c.sink)
			}
			const ticks = 100
			for range ticks {
				if err := alice.WriteRTP(aliceTone.next()); err != nil {
					t.Fatal(err)
				}
				if err := carol.WriteRTP(carolTone.next()); err != nil {
					t.Fatal(err)
				}
				m.Tick()
			}
			for _, c := range out {
				c.wait(t, ticks)
			}
			assertHears(t, "bob", decodeOpus(t, out["bob"].snapshot()), []float64{440, 660}, nil)
			assertHears(t, "alice", decodeOpus(t, out["alice"].snapshot()), []float64{660}, []float64{440})
			assertHears(t, "carol", decodeOpus(t, out["carol"].snapshot()), []float64{440}, []float64{660})
		})
	}
}

// TestContentShareOwner: Alice's content session shares her owner, so her
// main session hears neither her voice nor her content's audio.
func TestContentShareOwner(t *testing.T) {
	m := newMixer(t, Config{Codec: newPCMCodec()})
	voice, content := m.AddSender("alice", "alice", 0), m.AddSender("alice#content", "alice", 0)
	voiceTone, contentTone := newTalker(t, 440, 0.3, false, 0), newTalker(t, 880, 0.3, false, 0)
	aliceOut, bobOut := newCollector(), newCollector()
	m.AddReceiver("alice", "alice", aliceOut.sink)
	m.AddReceiver("bob", "bob", bobOut.sink)
	for range 60 {
		_ = voice.WriteRTP(voiceTone.next())
		_ = content.WriteRTP(contentTone.next())
		m.Tick()
	}
	aliceOut.wait(t, 60)
	bobOut.wait(t, 60)
	for _, f := range aliceOut.snapshot() {
		if string(f.Payload) != string(SilenceFrame) {
			t.Fatalf("alice got a %d-byte frame, want silence: she hears herself", len(f.Payload))
		}
	}
	pcm := decodePCM16(t, bobOut.snapshot())
	p := spectrum(pcm[len(pcm)-1<<14:])
	for _, f := range []float64{440, 880} {
		if db := relativeDB(p, f, 4); db < -10 {
			t.Errorf("bob: %v Hz at %.1f dB, want present", f, db)
		}
	}
}

// TestMixIsExactSum: with a lossless codec the mix is the plain sum below the
// clipping knee, delayed by the jitter buffer's depth.
func TestMixIsExactSum(t *testing.T) {
	m := newMixer(t, Config{Codec: newPCMCodec()})
	a, b := m.AddSender("a", "a", 0), m.AddSender("b", "b", 0)
	ta, tb := newTalker(t, 440, 0.2, false, 0), newTalker(t, 660, 0.2, false, 0)
	out := newCollector()
	m.AddReceiver("listener", "listener", out.sink)
	const ticks = 10
	for range ticks {
		_ = a.WriteRTP(ta.next())
		_ = b.WriteRTP(tb.next())
		m.Tick()
	}
	out.wait(t, ticks)
	frames := out.snapshot()
	depth := 2
	for i := range depth - 1 {
		if string(frames[i].Payload) != string(SilenceFrame) {
			t.Errorf("frame %d: want silence while the jitter buffer fills", i)
		}
	}
	for i := depth - 1; i < ticks; i++ {
		k := i - (depth - 1) // frame k of each talker
		want := sine(440, 0.2, k*FrameSamples, FrameSamples)
		other := sine(660, 0.2, k*FrameSamples, FrameSamples)
		got := decodePCM16(t, frames[i:i+1])
		for j := range want {
			w := float32(float64(toInt16(want[j]))/32768 + float64(toInt16(other[j]))/32768)
			if math.Abs(float64(got[j]-w)) > 2.0/32768 {
				t.Fatalf("frame %d sample %d = %v, want %v", i, j, got[j], w)
			}
		}
	}
}

// TestClipping: three loud senders in phase sum to 2.7× full scale; the mix
// stays inside full scale, keeps its sign and shape, and real Opus still
// carries all three tones.
func TestClipping(t *testing.T) {
	t.Run("lossless", func(t *testing.T) {
		m := newMixer(t, Config{Codec: newPCMCodec()})
		var senders []*Sender
		var talkers []*talker
		for i, id := range []string{"a", "b", "c"} {
			senders = append(senders, m.AddSender(id, id, 0))
			talkers = append(talkers, newTalker(t, 440, 0.9, false, 0))
			_ = i
		}
		out := newCollector()
		m.AddReceiver("listener", "listener", out.sink)
		for range 20 {
			for i, s := range senders {
				_ = s.WriteRTP(talkers[i].next())
			}
			m.Tick()
		}
		out.wait(t, 20)
		pcm := decodePCM16(t, out.snapshot()[5:])
		var peak float64
		for i, v := range pcm {
			peak = max(peak, math.Abs(float64(v)))
			ref := 2.7 * math.Sin(2*math.Pi*440*float64(i+4*FrameSamples)/SampleRate)
			if math.Abs(ref) > 0.1 && math.Signbit(ref) != math.Signbit(float64(v)) {
				t.Fatalf("sample %d = %v has the wrong sign (sum %v): the mix wrapped", i, v, ref)
			}
		}
		if peak > 1 || peak < 0.95 {
			t.Errorf("peak %v, want just below full scale", peak)
		}
	})
	t.Run("opus", func(t *testing.T) {
		m := newMixer(t, Config{})
		freqs := []float64{440, 660, 880}
		var senders []*Sender
		var talkers []*talker
		for i, id := range []string{"a", "b", "c"} {
			senders = append(senders, m.AddSender(id, id, 1))
			talkers = append(talkers, newTalker(t, freqs[i], 0.9, true, 1))
		}
		out := newCollector()
		m.AddReceiver("listener", "listener", out.sink)
		for range 100 {
			for i, s := range senders {
				_ = s.WriteRTP(talkers[i].next())
			}
			m.Tick()
		}
		out.wait(t, 100)
		pcm := decodeOpus(t, out.snapshot())
		for _, v := range pcm {
			if math.Abs(float64(v)) > 1.05 {
				t.Fatalf("decoded sample %v beyond full scale", v)
			}
		}
		assertHears(t, "listener", pcm, freqs, nil)
	})
}

func TestSoftClip(t *testing.T) {
	in := []float32{0, 0.5, -0.8, 0.9, -1.5, 3, -100}
	got := append([]float32(nil), in...)
	softClip(got)
	for i, v := range got {
		a := math.Abs(float64(in[i]))
		switch {
		case a <= 0.8 && v != in[i]:
			t.Errorf("%v became %v below the knee", in[i], v)
		case a > 0.8 && (math.Abs(float64(v)) > 1 || math.Abs(float64(v)) <= 0.8 || math.Signbit(float64(v)) != math.Signbit(float64(in[i]))):
			t.Errorf("%v became %v, want in (0.8, 1] with its sign", in[i], v)
		}
	}
	if !(got[3] < got[5]) {
		t.Errorf("soft clip not monotonic: %v", got)
	}
}
