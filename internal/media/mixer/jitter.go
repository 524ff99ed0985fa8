package mixer

// jitterBuffer reorders one sender's packets by RTP sequence number and hands
// out one per tick. It holds at most len(slots) packets, so a sender that
// floods costs a bounded amount of memory: packets too far ahead push the
// playout point forward, and the oldest are dropped.
//
// It is not safe for concurrent use; the Sender that owns it holds a lock.
type jitterBuffer struct {
	slots   []jitterSlot
	depth   int    // packets to hold before playout starts
	next    uint16 // sequence number of the next packet to play
	started bool   // playout has begun
	count   int    // packets held
	misses  int    // consecutive ticks with nothing to play

	dropped uint64 // late, duplicate or pushed out
	lost    uint64 // sequence numbers played as lost (never arrived in time)
}

type jitterSlot struct {
	used    bool
	seq     uint16
	payload []byte
	level   int8 // RFC 6464 level 0..127, or -1 when the packet had none
}

// resyncDistance is how far a sequence number may jump (forwards or
// backwards) before the buffer treats it as a restarted stream rather than
// as a late or early packet.
const resyncDistance = 1000

func newJitterBuffer(depth, capacity int) *jitterBuffer {
	return &jitterBuffer{slots: make([]jitterSlot, capacity), depth: depth}
}

// push stores a packet. It keeps payload (the caller must not reuse it) and
// reports false when the packet was dropped.
func (j *jitterBuffer) push(seq uint16, payload []byte, level int8) bool {
	if j.started {
		ahead := int(int16(seq - j.next))
		switch {
		case ahead <= -resyncDistance || ahead >= resyncDistance:
			j.reset()
		case ahead < 0:
			j.dropped++ // late: its turn has passed
			return false
		case ahead >= len(j.slots):
			// Too far ahead to hold: move playout forward so it fits,
			// giving up the oldest packets.
			j.advanceTo(seq - uint16(len(j.slots)) + 1)
		}
	} else if j.count > 0 {
		// Not playing yet: keep the window anchored at the lowest sequence
		// number seen, dropping what no longer fits.
		lowest := j.lowest()
		if d := int(int16(seq - lowest)); d < 0 {
			if -d >= resyncDistance {
				j.reset()
			} else if -d+j.span(lowest) >= len(j.slots) {
				j.dropped++
				return false
			}
		} else if d >= resyncDistance {
			j.reset()
		} else if d >= len(j.slots) {
			j.dropBefore(seq - uint16(len(j.slots)) + 1)
		}
	}
	s := &j.slots[int(seq)%len(j.slots)]
	if s.used {
		if s.seq == seq {
			j.dropped++ // duplicate
			return false
		}
		j.dropped++ // the slot's old packet is out of the window
		j.count--
	}
	*s = jitterSlot{used: true, seq: seq, payload: payload, level: level}
	j.count++
	return true
}

// popResult is what the buffer has for one tick.
type popResult int

const (
	popNothing  popResult = iota // not playing: the sender is silent
	popPacket                    // a packet in order
	popLost                      // the packet is lost: conceal (fec may hold the next one)
	popBuffered                  // not popped: audio decoded earlier covers this tick (Sender only)
)

// pop returns what to play this tick. For popLost, payload is the following
// packet when it is already here (its FEC data may restore the lost one).
func (j *jitterBuffer) pop() (res popResult, payload []byte, level int8) {
	if !j.started {
		if j.count < j.depth {
			return popNothing, nil, -1
		}
		j.started, j.next, j.misses = true, j.lowest(), 0
	}
	// Sender clock running fast, or a burst after a stall: keep latency
	// bounded by skipping ahead to the target depth.
	for j.count > j.depth+2 {
		j.take(j.next)
		j.next++
		j.dropped++
	}
	if p, ok := j.take(j.next); ok {
		j.next++
		j.misses = 0
		return popPacket, p.payload, p.level
	}
	j.misses++
	if j.misses > maxMisses {
		// The sender stopped (left, muted with DTX, or its path broke):
		// leave the mix and buffer afresh when it comes back.
		j.reset()
		return popNothing, nil, -1
	}
	if j.count == 0 {
		// Nothing newer either: more likely late than lost. Conceal but
		// wait for this packet, which adds one frame of delay instead of
		// throwing a frame away.
		return popLost, nil, -1
	}
	lostSeq := j.next
	j.next++
	j.lost++
	if p, ok := j.peek(lostSeq + 1); ok {
		return popLost, p.payload, -1
	}
	return popLost, nil, -1
}

// maxMisses is how many ticks in a row a started sender may have nothing
// before it counts as silent: 100 ms.
const maxMisses = 5

func (j *jitterBuffer) take(seq uint16) (jitterSlot, bool) {
	s := &j.slots[int(seq)%len(j.slots)]
	if !s.used || s.seq != seq {
		return jitterSlot{}, false
	}
	p := *s
	*s = jitterSlot{}
	j.count--
	return p, true
}

func (j *jitterBuffer) peek(seq uint16) (jitterSlot, bool) {
	s := j.slots[int(seq)%len(j.slots)]
	return s, s.used && s.seq == seq
}

// advanceTo moves playout to seq, dropping everything before it.
func (j *jitterBuffer) advanceTo(seq uint16) {
	j.dropBefore(seq)
	j.next = seq
}

// dropBefore drops every held packet older than seq.
func (j *jitterBuffer) dropBefore(seq uint16) {
	for i := range j.slots {
		s := &j.slots[i]
		if s.used && int16(s.seq-seq) < 0 {
			*s = jitterSlot{}
			j.count--
			j.dropped++
		}
	}
}

// lowest is the oldest held sequence number; count must be > 0.
func (j *jitterBuffer) lowest() uint16 {
	var low uint16
	found := false
	for _, s := range j.slots {
		if s.used && (!found || int16(s.seq-low) < 0) {
			low, found = s.seq, true
		}
	}
	return low
}

// span is the distance from lowest to the newest held packet.
func (j *jitterBuffer) span(lowest uint16) int {
	m := 0
	for _, s := range j.slots {
		if s.used {
			m = max(m, int(s.seq-lowest))
		}
	}
	return m
}

func (j *jitterBuffer) reset() {
	clear(j.slots)
	j.count, j.started, j.misses = 0, false, 0
}
