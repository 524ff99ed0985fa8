package mixer

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// cpuTime is the process's user+system CPU time: the mixer's work includes
// the receivers' delivery goroutines, which wall time on a 2-core machine
// would hide.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMix runs a meeting of N attendees, each sending and receiving,
// for b.N ticks of 20 ms. Three of them talk at once (tones at 440, 660 and
// 880 Hz, fewer when N < 3); the others send silence, as Chrome does, with
// the ssrc-audio-level extension on every packet. It reports:
//   - %core/participant: CPU per attendee per second of audio, as a
//     percentage of one core (the goal is ≤ 2);
//   - dB-tone: how far the tones stand above noise and distortion in what a
//     silent attendee hears (the quality figure).
func BenchmarkMix(b *testing.B) {
	for _, n := range []int{2, 5, 10, 25} {
		b.Run(fmt.Sprint("N=", n), func(b *testing.B) { benchMix(b, n, min(n, 3), 1) })
	}
}

// BenchmarkMixNoLevels is the worst case: everyone talks and no packet
// carries its level, so every sender is decoded on every tick to measure it.
func BenchmarkMixNoLevels(b *testing.B) {
	for _, n := range []int{2, 5, 10, 25} {
		b.Run(fmt.Sprint("N=", n), func(b *testing.B) { benchMix(b, n, n, 0) })
	}
}

func benchMix(b *testing.B, n, talking int, levelID uint8) {
	freqs := []float64{440, 660, 880}
	// 50 different packets per sender, made before the clock starts.
	const cycle = 50
	packets := make([][]*rtp.Packet, n)
	for i := range n {
		var tk *talker
		if i < talking {
			tk = newTalker(b, freqs[i%3]+float64(i/3)*37, 0.2, true, levelID)
		} else {
			tk = newTalker(b, 440, 0, true, levelID)
		}
		for range cycle {
			packets[i] = append(packets[i], tk.next())
		}
	}
	m, err := New(Config{ReceiverQueue: 64})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	senders := make([]*Sender, n)
	var mu sync.Mutex
	var heard []Frame // what the last attendee hears
	var wg sync.WaitGroup
	for i := range n {
		id := fmt.Sprint("a", i)
		senders[i] = m.AddSender(id, id, levelID)
		sink := func(Frame) {}
		if i == n-1 {
			sink = func(f Frame) {
				mu.Lock()
				heard = append(heard, f)
				mu.Unlock()
				wg.Done()
			}
		}
		m.AddReceiver(id, id, sink)
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	ticks := 0
	for b.Loop() {
		wg.Add(1)
		for i, s := range senders {
			p := *packets[i][ticks%cycle]
			p.SequenceNumber = uint16(ticks)
			p.Timestamp = uint32(ticks * FrameSamples)
			if err := s.WriteRTP(&p); err != nil {
				b.Fatal(err)
			}
		}
		m.Tick()
		ticks++
	}
	wg.Wait()
	cpu := cpuTime(b) - cpu0
	audio := time.Duration(ticks) * FrameDuration
	b.ReportMetric(100*cpu.Seconds()/audio.Seconds()/float64(n), "%core/participant")
	if n > talking && ticks >= 100 {
		mu.Lock()
		pcm := decodeOpus(b, heard[len(heard)-60:])
		mu.Unlock()
		var want []float64
		for i := range talking {
			want = append(want, freqs[i%3]+float64(i/3)*37)
		}
		b.ReportMetric(toneDB(spectrum(pcm[len(pcm)-1<<15:]), 4, want...), "dB-tone")
	}
}
