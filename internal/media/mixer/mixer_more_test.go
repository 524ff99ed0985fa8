package mixer

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestLossConcealment: a tenth of Alice's packets never arrive and a few
// arrive out of order; Bob still hears a clean 440 Hz, with the gaps
// concealed rather than silent.
func TestLossConcealment(t *testing.T) {
	t.Run("opus", func(t *testing.T) {
		m := newMixer(t, Config{})
		alice := m.AddSender("alice", "alice", 1)
		tone := newTalker(t, 440, 0.3, true, 1)
		bob := newCollector()
		m.AddReceiver("bob", "bob", bob.sink)
		const ticks = 120
		var held *rtp.Packet
		for i := range ticks {
			p := tone.next()
			switch {
			case i%10 == 5: // lost
			case i%17 == 3:
				held = p // sent after its successor
			default:
				_ = alice.WriteRTP(p)
				if held != nil {
					_ = alice.WriteRTP(held)
					held = nil
				}
			}
			m.Tick()
		}
		bob.wait(t, ticks)
		pcm := decodeOpus(t, bob.snapshot())
		assertHears(t, "bob", pcm, []float64{440}, nil)
		// No concealed frame is silent: every 20 ms of the tail carries the tone.
		block := tail(t, pcm)
		for f := 0; f+FrameSamples <= len(block); f += FrameSamples {
			if lvl := rmsLevel(block[f : f+FrameSamples]); lvl > 30 {
				t.Errorf("frame at %d: level −%d dBov, a hole in the tone", f/FrameSamples, lvl)
			}
		}
		if snr := toneDB(spectrum(block), 4, 440); snr < 6 {
			t.Errorf("tone only %.1f dB above the rest with 10%% loss", snr)
		}
	})
	t.Run("counts", func(t *testing.T) {
		codec := newPCMCodec()
		m := newMixer(t, Config{Codec: codec})
		alice := m.AddSender("alice", "alice", 0)
		tone := newTalker(t, 440, 0.3, false, 0)
		m.AddReceiver("bob", "bob", func(Frame) {})
		for i := range 50 {
			p := tone.next()
			if i%10 != 5 {
				_ = alice.WriteRTP(p)
			}
			m.Tick()
		}
		if got := codec.concealed.Load(); got < 4 || got > 6 {
			t.Errorf("concealed %d frames, want 5 (one per lost packet)", got)
		}
		if st := alice.Stats(); st.Lost != 4 && st.Lost != 5 || st.Received != 45 {
			t.Errorf("stats %+v, want 45 received and 4 or 5 lost (the last may still be pending)", st)
		}
	})
}

// TestJoinLeave: Carol joins mid-stream, then leaves; Bob hears her only in
// between, and Alice throughout.
func TestJoinLeave(t *testing.T) {
	m := newMixer(t, Config{})
	alice := m.AddSender("alice", "alice", 1)
	aliceTone, carolTone := newTalker(t, 440, 0.3, true, 1), newTalker(t, 660, 0.3, true, 1)
	bob := newCollector()
	m.AddReceiver("bob", "bob", bob.sink)
	var carol *Sender
	const phase = 60
	for i := range 3 * phase {
		switch i {
		case phase:
			carol = m.AddSender("carol", "carol", 1)
		case 2 * phase:
			carol.Close()
		}
		_ = alice.WriteRTP(aliceTone.next())
		if carol != nil {
			// Writing to a removed sender is refused, not a crash.
			if err := carol.WriteRTP(carolTone.next()); err != nil && i < 2*phase {
				t.Fatal(err)
			}
		}
		m.Tick()
	}
	bob.wait(t, 3*phase)
	pcm := decodeOpus(t, bob.snapshot())
	part := func(k int) []float32 { return pcm[(k+1)*phase*FrameSamples-1<<14 : (k+1)*phase*FrameSamples] }
	for k, want := range [][]float64{{440}, {440, 660}, {440}} {
		p := spectrum(part(k))
		for _, f := range []float64{440, 660} {
			db := relativeDB(p, f, 4)
			present := false
			for _, w := range want {
				present = present || w == f
			}
			if present && db < -12 || !present && db > -40 {
				t.Errorf("phase %d: %v Hz at %.1f dB (want present=%v)", k, f, db, present)
			}
		}
	}
	if levels := m.Levels(nil); len(levels) != 1 || levels[0].Session != "alice" {
		t.Errorf("levels after Carol left: %+v", levels)
	}
}

func TestRouting(t *testing.T) {
	m := newMixer(t, Config{Codec: newPCMCodec()})
	alice, carol := m.AddSender("alice", "alice", 0), m.AddSender("carol", "carol", 0)
	aliceTone, carolTone := newTalker(t, 440, 0.3, false, 0), newTalker(t, 660, 0.3, false, 0)
	bob, dave := newCollector(), newCollector()
	m.AddReceiver("bob", "bob", bob.sink)
	m.AddReceiver("dave", "dave", dave.sink)
	run := func(ticks int) {
		for range ticks {
			_ = alice.WriteRTP(aliceTone.next())
			_ = carol.WriteRTP(carolTone.next())
			m.Tick()
		}
	}
	check := func(who string, c *collector, frames int, want, absent []float64) {
		t.Helper()
		got := c.snapshot()
		if len(got) < frames {
			t.Fatalf("%s: %d frames", who, len(got))
		}
		pcm := decodePCM16(t, got[len(got)-frames:])
		p := spectrum(pcm[len(pcm)-1<<14:])
		for _, f := range want {
			if db := relativeDB(p, f, 4); db < -12 {
				t.Errorf("%s: %v Hz at %.1f dB, want present", who, f, db)
			}
		}
		for _, f := range absent {
			if db := relativeDB(p, f, 4); db > -40 {
				t.Errorf("%s: %v Hz at %.1f dB, want absent", who, f, db)
			}
		}
	}
	// Alice may not send; Dave may not receive; Bob may not hear Carol.
	m.SetRouting(&Routing{
		MaySend:    func(owner string) bool { return owner != "alice" },
		MayReceive: func(owner string) bool { return owner != "dave" },
		MayHear:    func(sender, receiver string) bool { return !(sender == "carol" && receiver == "bob") },
	})
	run(40)
	bob.wait(t, 40)
	if n := len(dave.snapshot()); n != 0 {
		t.Errorf("dave, who may not receive, got %d frames", n)
	}
	for _, f := range bob.snapshot() {
		if string(f.Payload) != string(SilenceFrame) {
			t.Fatal("bob hears someone: alice may not send and carol is hidden from him")
		}
	}
	// Swap the whole table at once: everyone hears everyone else again.
	m.SetRouting(nil)
	run(40)
	bob.wait(t, 40)
	dave.wait(t, 40)
	check("bob", bob, 35, []float64{440, 660}, nil)
	check("dave", dave, 35, []float64{440, 660}, nil)
}

// TestStuckReceiver: a sink that never returns costs its own frames only.
func TestStuckReceiver(t *testing.T) {
	m, err := New(Config{Codec: newPCMCodec(), ReceiverQueue: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	block := make(chan struct{})
	defer close(block)
	stuck := m.AddReceiver("stuck", "stuck", func(Frame) { <-block })
	bob := newCollector()
	m.AddReceiver("bob", "bob", bob.sink)
	alice := m.AddSender("alice", "alice", 0)
	tone := newTalker(t, 440, 0.3, false, 0)
	for range 50 {
		_ = alice.WriteRTP(tone.next())
		m.Tick()
		bob.wait(t, 1) // bob keeps up
	}
	st := stuck.Stats()
	if st.Dropped < 40 || st.Queued > 5 {
		t.Errorf("stuck receiver: %+v, want ≥ 40 dropped and at most queue+1 queued", st)
	}
	if got := bob.snapshot(); len(got) != 50 {
		t.Errorf("bob got %d frames, want 50", len(got))
	}
}

// TestSequenceContinuity: each receiver's frames count up without gaps and
// timestamps advance 960 per tick.
func TestSequenceContinuity(t *testing.T) {
	m := newMixer(t, Config{Codec: newPCMCodec()})
	alice := m.AddSender("alice", "alice", 0)
	tone := newTalker(t, 440, 0.3, false, 0)
	bob := newCollector()
	m.AddReceiver("bob", "bob", bob.sink)
	for i := range 30 {
		if i < 10 || i > 20 { // alice pauses in between
			_ = alice.WriteRTP(tone.next())
		}
		m.Tick()
	}
	bob.wait(t, 30)
	frames := bob.snapshot()
	for i := 1; i < len(frames); i++ {
		if frames[i].SequenceNumber != frames[i-1].SequenceNumber+1 || frames[i].Timestamp != frames[i-1].Timestamp+FrameSamples {
			t.Fatalf("frame %d: seq %d ts %d after seq %d ts %d", i, frames[i].SequenceNumber, frames[i].Timestamp, frames[i-1].SequenceNumber, frames[i-1].Timestamp)
		}
		if frames[i].Duration != FrameDuration {
			t.Fatalf("duration %v", frames[i].Duration)
		}
		p := frames[i].Packet()
		raw, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var back rtp.Packet
		if err := back.Unmarshal(raw); err != nil || back.SequenceNumber != frames[i].SequenceNumber ||
			back.Timestamp != frames[i].Timestamp || string(back.Payload) != string(frames[i].Payload) {
			t.Fatalf("frame %d as RTP: %v %+v", i, err, back.Header)
		}
	}
}

func TestLevels(t *testing.T) {
	m := newMixer(t, Config{Codec: newPCMCodec()})
	ext, pcm := m.AddSender("ext", "ext", 3), m.AddSender("pcm", "pcm", 0)
	extTone, pcmTone := newTalker(t, 440, 0.1, false, 3), newTalker(t, 440, 0.5, false, 0)
	m.AddReceiver("bob", "bob", func(Frame) {})
	for range 10 {
		_ = ext.WriteRTP(extTone.next())
		_ = pcm.WriteRTP(pcmTone.next())
		m.Tick()
	}
	// A sine of amplitude a has RMS a/√2: 0.1 → 23 dB, 0.5 → 9 dB.
	if got := ext.Level(); got != 23 {
		t.Errorf("ext level %d, want 23 (from the header extension)", got)
	}
	if got := pcm.Level(); got != 9 {
		t.Errorf("pcm level %d, want 9 (measured on the decoded audio)", got)
	}
	got := map[string]uint8{}
	for _, l := range m.Levels(nil) {
		got[l.Session] = l.Level
	}
	if got["ext"] != 23 || got["pcm"] != 9 {
		t.Errorf("Levels: %v", got)
	}
	// Silent for 200 ms after the buffered packets played: reported as silence.
	for range levelWindow + 3 {
		m.Tick()
	}
	if ext.Level() != 127 || pcm.Level() != 127 {
		t.Errorf("after silence: ext %d pcm %d, want 127", ext.Level(), pcm.Level())
	}
}

// TestSpeakerLimit: only the MaxSpeakers loudest are mixed, and quiet
// senders cost no decode (their packets carry the level).
func TestSpeakerLimit(t *testing.T) {
	m := newMixer(t, Config{Codec: newPCMCodec(), MaxSpeakers: 2})
	freqs := []float64{440, 660, 880}
	amps := []float64{0.4, 0.2, 0.05}
	var senders []*Sender
	var talkers []*talker
	for i := range freqs {
		id := fmt.Sprint("s", i)
		senders = append(senders, m.AddSender(id, id, 1))
		talkers = append(talkers, newTalker(t, freqs[i], amps[i], false, 1))
	}
	bob := newCollector()
	m.AddReceiver("bob", "bob", bob.sink)
	for range 40 {
		for i, s := range senders {
			_ = s.WriteRTP(talkers[i].next())
		}
		m.Tick()
	}
	bob.wait(t, 40)
	pcm := decodePCM16(t, bob.snapshot())
	p := spectrum(pcm[len(pcm)-1<<14:])
	if relativeDB(p, 440, 4) < -12 || relativeDB(p, 660, 4) < -12 || relativeDB(p, 880, 4) > -40 {
		t.Errorf("want the two loudest (440, 660) and not 880: %.1f %.1f %.1f dB",
			relativeDB(p, 440, 4), relativeDB(p, 660, 4), relativeDB(p, 880, 4))
	}
}

// TestSharedEncodes: listeners who are not speaking share one encode.
func TestSharedEncodes(t *testing.T) {
	m := newMixer(t, Config{Codec: newPCMCodec()})
	alice := m.AddSender("alice", "alice", 0)
	tone := newTalker(t, 440, 0.3, false, 0)
	var listeners []*collector
	for i := range 5 {
		c := newCollector()
		listeners = append(listeners, c)
		m.AddReceiver(fmt.Sprint("l", i), fmt.Sprint("l", i), c.sink)
	}
	for range 5 {
		_ = alice.WriteRTP(tone.next())
		m.Tick()
	}
	for _, c := range listeners {
		c.wait(t, 5)
	}
	last := listeners[0].snapshot()[4].Payload
	for _, c := range listeners[1:] {
		if p := c.snapshot()[4].Payload; &p[0] != &last[0] {
			t.Fatal("listeners got different encodes of the same mix")
		}
	}
	if n := len(m.encoders); n != 1 {
		t.Errorf("%d encoders for one mix", n)
	}
}

// TestForwardTwoAttendees: with two people, forwarding hands each the other's
// Opus packets byte for byte, renumbered into its own stream.
func TestForwardTwoAttendees(t *testing.T) {
	m := newMixer(t, Config{Mode: ModeForward})
	alice, bob := m.AddSender("alice", "alice", 1), m.AddSender("bob", "bob", 1)
	aliceTone, bobTone := newTalker(t, 440, 0.3, true, 1), newTalker(t, 660, 0.3, true, 1)
	aliceOut, bobOut := newCollector(), newCollector()
	m.AddReceiver("alice", "alice", aliceOut.sink)
	m.AddReceiver("bob", "bob", bobOut.sink)
	var sent [][]byte
	const ticks = 100
	for i := range ticks {
		p := aliceTone.next()
		if i != 50 { // one loss
			sent = append(sent, p.Payload)
			_ = alice.WriteRTP(p)
		}
		_ = bob.WriteRTP(bobTone.next())
		m.Tick()
	}
	aliceOut.wait(t, ticks)
	bobOut.wait(t, ticks-1) // the lost packet leaves a gap
	frames := bobOut.snapshot()
	var forwarded [][]byte
	skipped := 0
	for i, f := range frames {
		if string(f.Payload) != string(SilenceFrame) {
			forwarded = append(forwarded, f.Payload)
		}
		skipped += int(f.Skipped)
		if i > 0 && f.SequenceNumber != frames[i-1].SequenceNumber+1+f.Skipped {
			t.Fatalf("frame %d: sequence %d after %d with %d skipped", i, f.SequenceNumber, frames[i-1].SequenceNumber, f.Skipped)
		}
	}
	if skipped != 1 {
		t.Errorf("%d frames skipped, want 1 for the lost packet", skipped)
	}
	for i, p := range forwarded {
		if string(p) != string(sent[i]) {
			t.Fatalf("forwarded packet %d differs from what alice sent", i)
		}
	}
	if len(forwarded) < len(sent)-2 {
		t.Errorf("forwarded %d of %d packets", len(forwarded), len(sent))
	}
	assertHears(t, "bob", decodeOpus(t, frames), []float64{440}, []float64{660})
	assertHears(t, "alice", decodeOpus(t, aliceOut.snapshot()), []float64{660}, []float64{440})
}

// TestForwardLoudest: with three or more, each receiver gets the loudest
// other speaker, and a slightly louder voice does not steal the stream.
func TestForwardLoudest(t *testing.T) {
	m := newMixer(t, Config{Mode: ModeForward})
	ids := []string{"alice", "bob", "carol"}
	amps := map[string]float64{"alice": 0.3, "bob": 0.25, "carol": 0.05}
	senders, talkers, outs := map[string]*Sender{}, map[string]*talker{}, map[string]*collector{}
	for i, id := range ids {
		senders[id] = m.AddSender(id, id, 1)
		talkers[id] = newTalker(t, 440+220*float64(i), amps[id], false, 1)
		outs[id] = newCollector()
		m.AddReceiver(id, id, outs[id].sink)
	}
	step := func(n int) {
		for range n {
			for _, id := range ids {
				_ = senders[id].WriteRTP(talkers[id].next())
			}
			m.Tick()
		}
		for _, id := range ids {
			outs[id].wait(t, n)
		}
	}
	source := func(who string) string {
		f := outs[who].snapshot()
		p := decodePCM16(t, f[len(f)-1:])
		freq := peakHz(spectrum(append(p, make([]float32, 1024-FrameSamples)...)))
		switch {
		case math.Abs(freq-440) < 50:
			return "alice"
		case math.Abs(freq-660) < 50:
			return "bob"
		case math.Abs(freq-880) < 50:
			return "carol"
		}
		return fmt.Sprint(freq)
	}
	step(10)
	if got := source("carol"); got != "alice" {
		t.Errorf("carol hears %s, want alice (the loudest)", got)
	}
	if got := source("alice"); got != "bob" {
		t.Errorf("alice hears %s, want bob (loudest but herself)", got)
	}
	// Bob gets a little louder than Alice: under the margin, Carol stays.
	talkers["bob"].amp = 0.35
	step(10)
	if got := source("carol"); got != "alice" {
		t.Errorf("carol switched to %s for a 1 dB difference", got)
	}
	// Bob much louder: switch.
	talkers["bob"].amp = 0.9
	step(10)
	if got := source("carol"); got != "bob" {
		t.Errorf("carol hears %s, want bob after he got 9 dB louder", got)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	m := newMixer(t, Config{Codec: newPCMCodec()})
	bob := newCollector()
	m.AddReceiver("bob", "bob", bob.sink)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	bob.wait(t, 2) // two real ticks: 40 ms
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run returned %v", err)
	}
	m.Close()
	if m.Tick() {
		t.Error("Tick after Close reported true")
	}
	s := m.AddSender("late", "late", 0)
	if err := s.WriteRTP(newTalker(t, 440, 0.1, false, 0).next()); err != ErrClosed {
		t.Errorf("write to a sender of a closed mixer: %v", err)
	}
}

// TestConcurrentMembership: senders and receivers come and go, write and
// read while the mixer ticks. Run with -race.
func TestConcurrentMembership(t *testing.T) {
	for _, mode := range []Mode{ModeMix, ModeForward} {
		t.Run(mode.String(), func(t *testing.T) {
			m := newMixer(t, Config{Mode: mode, Codec: newPCMCodec()})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					tone := newTalker(t, 440+float64(w)*100, 0.2, false, 1)
					for i := 0; ctx.Err() == nil; i++ {
						id := fmt.Sprint("p", w)
						s := m.AddSender(id, id, 1)
						r := m.AddReceiver(id, id, func(Frame) {})
						for range 20 {
							_ = s.WriteRTP(tone.next())
							_ = s.Level()
						}
						m.SetRouting(&Routing{MayHear: func(a, b string) bool { return i%2 == 0 }})
						_ = m.Levels(nil)
						_ = r.Stats()
						if i%2 == 0 {
							s.Close()
							r.Close()
						}
					}
				})
			}
			deadline := time.Now().Add(300 * time.Millisecond)
			for time.Now().Before(deadline) {
				m.Tick()
			}
			cancel()
			wg.Wait()
		})
	}
}

// TestSpeakersDoNotFlap: a voice that is now a little louder, now a little
// quieter than the last one in the mix does not take its place tick by tick.
func TestSpeakersDoNotFlap(t *testing.T) {
	m := newMixer(t, Config{Codec: newPCMCodec(), MaxSpeakers: 2})
	ids := []string{"a", "b", "c"}
	freqs := []float64{440, 660, 880}
	amps := []float64{0.5, 0.2, 0.2}
	var senders []*Sender
	var talkers []*talker
	for i, id := range ids {
		senders = append(senders, m.AddSender(id, id, 1))
		talkers = append(talkers, newTalker(t, freqs[i], amps[i], false, 1))
	}
	bob := newCollector()
	m.AddReceiver("bob", "bob", bob.sink)
	for i := range 60 {
		// c wobbles ±2 dB around b's level.
		talkers[2].amp = 0.2 * math.Pow(10, float64(2*(i%2)-1)*2/20.0)
		for k, s := range senders {
			_ = s.WriteRTP(talkers[k].next())
		}
		m.Tick()
	}
	bob.wait(t, 60)
	pcm := decodePCM16(t, bob.snapshot())
	p := spectrum(pcm[len(pcm)-1<<14:])
	if db := relativeDB(p, 880, 4); db > -40 {
		t.Errorf("c (880 Hz) at %.1f dB: it kept swapping places with b", db)
	}
	if db := relativeDB(p, 660, 4); db < -15 {
		t.Errorf("b (660 Hz) at %.1f dB, want it kept in the mix", db)
	}
}

// TestForwardExcludesOwner: forwarding never sends an attendee her own
// content share's audio.
func TestForwardExcludesOwner(t *testing.T) {
	m := newMixer(t, Config{Mode: ModeForward})
	content, bob := m.AddSender("alice#content", "alice", 1), m.AddSender("bob", "bob", 1)
	contentTone, bobTone := newTalker(t, 440, 0.8, false, 1), newTalker(t, 660, 0.05, false, 1)
	alice := newCollector()
	m.AddReceiver("alice", "alice", alice.sink)
	for range 20 {
		_ = content.WriteRTP(contentTone.next())
		_ = bob.WriteRTP(bobTone.next())
		m.Tick()
	}
	alice.wait(t, 20)
	pcm := decodePCM16(t, alice.snapshot()[5:])
	if f := peakHz(spectrum(pcm[:1<<13])); math.Abs(f-660) > 20 {
		t.Errorf("alice hears %.0f Hz, want bob's 660 Hz (never her own, louder, content audio)", f)
	}
}

// TestLongPackets: a sender using 40 ms packets plays at the right speed:
// each packet covers two ticks.
func TestLongPackets(t *testing.T) {
	m := newMixer(t, Config{Codec: newPCMCodec()})
	alice := m.AddSender("alice", "alice", 0)
	bob := newCollector()
	m.AddReceiver("bob", "bob", bob.sink)
	const ticks = 60
	seq := uint16(0)
	for i := range ticks {
		if i%2 == 0 {
			pcm := sine(440, 0.3, i*FrameSamples, 2*FrameSamples)
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(i * FrameSamples)}, Payload: pcm16Frame(pcm)}
			seq++
			if err := alice.WriteRTP(p); err != nil {
				t.Fatal(err)
			}
		}
		m.Tick()
	}
	bob.wait(t, ticks)
	pcm := decodePCM16(t, bob.snapshot())
	block := pcm[len(pcm)-1<<14:]
	for f := 0; f+FrameSamples <= len(block); f += FrameSamples {
		if lvl := rmsLevel(block[f : f+FrameSamples]); lvl > 15 {
			t.Fatalf("frame %d is quiet (−%d dBov): packets played at the wrong rate", f/FrameSamples, lvl)
		}
	}
	if snr := toneDB(spectrum(block), 4, 440); snr < 40 {
		t.Errorf("tone %.1f dB above the rest, want a clean continuous sine", snr)
	}
}

func TestOwnerOf(t *testing.T) {
	for in, want := range map[string]string{"a1": "a1", "a1#content": "a1", "": "", "#content": ""} {
		if got := OwnerOf(in); got != want {
			t.Errorf("OwnerOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEncoderPerExclusion: one encoder per "who is left out", stable while
// the speakers' loudness changes order, so each stream stays one Opus stream.
func TestEncoderPerExclusion(t *testing.T) {
	m := newMixer(t, Config{Codec: newPCMCodec()})
	a, ac, b := m.AddSender("a", "a", 1), m.AddSender("a#content", "a", 1), m.AddSender("b", "b", 1)
	ta, tac, tb := newTalker(t, 440, 0.1, false, 1), newTalker(t, 550, 0.5, false, 1), newTalker(t, 660, 0.3, false, 1)
	for _, id := range []string{"a", "b", "listener"} {
		m.AddReceiver(id, id, func(Frame) {})
	}
	seen := map[string]bool{}
	for i := range 40 {
		if i == 20 {
			ta.amp, tac.amp = 0.5, 0.1 // a's voice becomes louder than her content
		}
		_ = a.WriteRTP(ta.next())
		_ = ac.WriteRTP(tac.next())
		_ = b.WriteRTP(tb.next())
		m.Tick()
		for k := range m.encoders {
			seen[k] = true
		}
	}
	want := map[string]bool{"": true, "a\x00a#content\x00": true, "b\x00": true}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("encoders %q, want %q", slices.Collect(maps.Keys(seen)), slices.Collect(maps.Keys(want)))
	}
}
