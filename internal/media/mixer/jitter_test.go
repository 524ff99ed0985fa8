package mixer

import (
	"fmt"
	"testing"
)

// popAll pops n ticks and describes each as "seq", "lost" or "-".
func popAll(j *jitterBuffer, n int) []string {
	var out []string
	for range n {
		res, payload, _ := j.pop()
		switch res {
		case popPacket:
			out = append(out, string(payload))
		case popLost:
			out = append(out, "lost")
		default:
			out = append(out, "-")
		}
	}
	return out
}

func pushSeq(j *jitterBuffer, seqs ...uint16) {
	for _, s := range seqs {
		j.push(s, []byte(fmt.Sprint(s)), -1)
	}
}

func TestJitterReorders(t *testing.T) {
	j := newJitterBuffer(2, jitterCapacity)
	pushSeq(j, 11) // out of order before playout starts
	if got := popAll(j, 1); got[0] != "-" {
		t.Fatalf("played %v before the buffer held its depth", got)
	}
	pushSeq(j, 10)
	if got := fmt.Sprint(popAll(j, 1)); got != "[10]" {
		t.Fatalf("first pop %s, want [10]", got)
	}
	pushSeq(j, 13, 12)
	pushSeq(j, 12, 9) // a duplicate and a late packet
	if got := fmt.Sprint(popAll(j, 3)); got != "[11 12 13]" {
		t.Fatalf("got %s, want [11 12 13]", got)
	}
	if j.dropped != 2 {
		t.Errorf("dropped %d, want 2 (one duplicate, one late)", j.dropped)
	}
}

func TestJitterLoss(t *testing.T) {
	j := newJitterBuffer(2, jitterCapacity)
	pushSeq(j, 1, 2, 4, 5)
	// 3 is lost: the tick for 3 conceals (with 4 at hand for FEC).
	var fecFrom []byte
	var got []string
	for range 4 {
		res, payload, _ := j.pop()
		if res == popLost {
			fecFrom = payload
			got = append(got, "lost")
		} else {
			got = append(got, string(payload))
		}
	}
	if fmt.Sprint(got) != "[1 2 lost 4]" || string(fecFrom) != "4" {
		t.Fatalf("got %v (fec from %q), want [1 2 lost 4] with FEC from 4", got, fecFrom)
	}
}

// TestJitterWaitsForLatePacket: with nothing newer buffered, a missing
// packet is more likely late than lost; playout conceals one tick and then
// plays it rather than throwing it away.
func TestJitterWaitsForLatePacket(t *testing.T) {
	j := newJitterBuffer(2, jitterCapacity)
	pushSeq(j, 1, 2)
	popAll(j, 2)
	if got := popAll(j, 1); got[0] != "lost" {
		t.Fatalf("got %v, want a concealed tick", got)
	}
	pushSeq(j, 3, 4)
	if got := fmt.Sprint(popAll(j, 2)); got != "[3 4]" {
		t.Fatalf("got %s, want the late packet played: [3 4]", got)
	}
}

func TestJitterSilenceAfterMisses(t *testing.T) {
	j := newJitterBuffer(2, jitterCapacity)
	pushSeq(j, 1, 2)
	got := popAll(j, 2+maxMisses+2)
	if got[2+maxMisses] != "-" {
		t.Fatalf("got %v, want the sender silent after %d misses", got, maxMisses)
	}
	// It comes back with new numbers: buffered afresh.
	pushSeq(j, 500, 501)
	if got := fmt.Sprint(popAll(j, 2)); got != "[500 501]" {
		t.Fatalf("got %s after the pause, want [500 501]", got)
	}
}

func TestJitterWrapsAndResyncs(t *testing.T) {
	j := newJitterBuffer(2, jitterCapacity)
	pushSeq(j, 65534, 65535, 0, 1)
	if got := fmt.Sprint(popAll(j, 4)); got != "[65534 65535 0 1]" {
		t.Fatalf("got %s across the wrap", got)
	}
	pushSeq(j, 30000, 30001) // a restarted stream
	if got := fmt.Sprint(popAll(j, 2)); got != "[- 30000]" && got != "[30000 30001]" {
		t.Fatalf("got %s after a jump", got)
	}
}

// TestJitterBoundedUnderFlood: a sender that sends far faster than real time
// never makes the buffer hold more than its capacity, and playout stays near
// the newest packets (bounded latency).
func TestJitterBoundedUnderFlood(t *testing.T) {
	j := newJitterBuffer(2, jitterCapacity)
	for i := range 100000 {
		j.push(uint16(i), []byte{1}, -1)
		if j.count > len(j.slots) {
			t.Fatalf("holding %d packets, capacity %d", j.count, len(j.slots))
		}
		if i%100 == 0 {
			j.pop()
		}
	}
	if j.count > len(j.slots) {
		t.Fatalf("holding %d packets", j.count)
	}
	// Random sequence numbers: still bounded, never panics.
	for i := range 100000 {
		j.push(uint16(i*7919+i*i), []byte{1}, -1)
		if i%3 == 0 {
			j.pop()
		}
		if j.count > len(j.slots) {
			t.Fatalf("holding %d packets", j.count)
		}
	}
}

// TestJitterTrimsExcessDelay: a burst after a stall is played down to the
// target depth instead of adding its length to the delay for good.
func TestJitterTrimsExcessDelay(t *testing.T) {
	j := newJitterBuffer(2, jitterCapacity)
	pushSeq(j, 1, 2, 3, 4, 5, 6, 7)
	got := popAll(j, 1)
	if got[0] != "4" || j.count != 3 {
		t.Fatalf("played %v holding %d, want 4 holding 3", got, j.count)
	}
}
