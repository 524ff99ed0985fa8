package mixer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// OwnerOf is the owner of a signaling session: the attendee id, without the
// "#content" suffix of a content-share session.
func OwnerOf(session string) string { return strings.TrimSuffix(session, "#content") }

// Mode chooses how receivers' streams are made.
type Mode int

const (
	// ModeMix decodes the speakers, sums a mix-minus per receiver and
	// encodes it: everyone talking at once is heard.
	ModeMix Mode = iota
	// ModeForward uses no codec: each receiver gets the Opus packets of the
	// loudest other speaker unchanged (with two attendees, exactly the
	// other's stream). Simultaneous talkers are not all heard.
	ModeForward
)

func (m Mode) String() string {
	switch m {
	case ModeMix:
		return "mix"
	case ModeForward:
		return "forward"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Config sets up a Mixer. The zero value mixes with gopus and sensible
// defaults.
type Config struct {
	Mode Mode
	// Codec decodes and encodes in ModeMix; nil means GopusCodec{}.
	Codec Codec
	// JitterDepth is how many 20 ms packets each sender buffers before
	// playing (reordering room, added latency); 0 means 2.
	JitterDepth int
	// MaxSpeakers caps the senders in one mix, the loudest first; 0 means 4,
	// at most 64.
	MaxSpeakers int
	// SpeechLevel: a sender quieter than this RFC 6464 level (−dBov; 127 is
	// silence) for HangoverTicks is left out of the mix and is not decoded
	// when its packets carry the level. 0 means 80.
	SpeechLevel uint8
	// HangoverTicks keeps a speaker in the mix after it went quiet, so word
	// endings are not cut; 0 means 25 (500 ms).
	HangoverTicks int
	// ReceiverQueue is how many frames wait for a slow receiver before new
	// ones are dropped; 0 means 8.
	ReceiverQueue int
}

func (c Config) withDefaults() (Config, error) {
	if c.Mode != ModeMix && c.Mode != ModeForward {
		return c, fmt.Errorf("mixer: unknown mode %d", int(c.Mode))
	}
	if c.Codec == nil && c.Mode == ModeMix {
		c.Codec = GopusCodec{}
	}
	if c.JitterDepth == 0 {
		c.JitterDepth = 2
	}
	if c.MaxSpeakers == 0 {
		c.MaxSpeakers = 4
	}
	if c.SpeechLevel == 0 {
		c.SpeechLevel = 80
	}
	if c.HangoverTicks == 0 {
		c.HangoverTicks = 25
	}
	if c.ReceiverQueue == 0 {
		c.ReceiverQueue = 8
	}
	switch {
	case c.JitterDepth < 1 || c.JitterDepth > 10:
		return c, fmt.Errorf("mixer: JitterDepth %d not in 1..10", c.JitterDepth)
	case c.MaxSpeakers < 1 || c.MaxSpeakers > 64:
		return c, fmt.Errorf("mixer: MaxSpeakers %d not in 1..64", c.MaxSpeakers)
	case c.SpeechLevel > 127:
		return c, fmt.Errorf("mixer: SpeechLevel %d not in 1..127", c.SpeechLevel)
	case c.HangoverTicks < 0 || c.ReceiverQueue < 0:
		return c, errors.New("mixer: negative HangoverTicks or ReceiverQueue")
	}
	return c, nil
}

// Routing says who may hear whom. Each nil function allows everything. The
// functions are called from the mixing goroutine on every tick, so they must
// be fast and must not block. Whatever the routing says, nobody hears a sender
// with its own owner (mix-minus).
type Routing struct {
	// MaySend: false takes the owner's senders out of every mix.
	MaySend func(owner string) bool
	// MayReceive: false means the owner's receivers get no frames at all.
	MayReceive func(owner string) bool
	// MayHear: false keeps senderOwner out of receiverOwner's mix.
	MayHear func(senderOwner, receiverOwner string) bool
}

func (r *Routing) maySend(owner string) bool {
	return r == nil || r.MaySend == nil || r.MaySend(owner)
}

func (r *Routing) mayReceive(owner string) bool {
	return r == nil || r.MayReceive == nil || r.MayReceive(owner)
}

func (r *Routing) mayHear(sender, receiver string) bool {
	return r == nil || r.MayHear == nil || r.MayHear(sender, receiver)
}

// Frame is one 20 ms Opus packet for one receiver. Payload is shared between
// receivers and must not be modified. SequenceNumber and Timestamp continue
// the receiver's own stream (random start, +1 per frame sent, +960 per tick),
// so the frame can be written as an RTP packet; a sequence number skipped
// before it (Skipped > 0) marks a frame the forwarded sender lost, which the
// browser conceals or recovers from FEC.
type Frame struct {
	Payload        []byte
	Duration       time.Duration
	SequenceNumber uint16
	Timestamp      uint32
	Skipped        uint16
}

// OpusPayloadType is the payload type Chrome offers for Opus; pion's
// TrackLocalStaticRTP rewrites it (and the SSRC) to what was negotiated.
const OpusPayloadType = 111

// Packet is the frame as an RTP packet for pion's TrackLocalStaticRTP.WriteRTP,
// which fills in the SSRC and the negotiated payload type.
func (f Frame) Packet() *rtp.Packet {
	return &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: OpusPayloadType, SequenceNumber: f.SequenceNumber, Timestamp: f.Timestamp},
		Payload: f.Payload,
	}
}

// Level is a sender's recent loudness as an RFC 6464 level: −dBov, 0 the
// loudest, 127 silence.
type Level struct {
	Session string
	Owner   string
	Level   uint8
}

// Mixer makes one audio stream per receiver from its senders every 20 ms.
// All methods are safe for concurrent use.
type Mixer struct {
	cfg     Config
	routing atomic.Pointer[Routing]
	ticks   atomic.Uint64

	mu        sync.Mutex // guards the fields below
	senders   map[string]*Sender
	receivers map[string]*Receiver
	closed    bool

	tickMu sync.Mutex // one tick at a time; guards the tick state below
	tickState
}

// tickState is touched only by Tick, under tickMu.
type tickState struct {
	senderList   []*Sender
	receiverList []*Receiver
	speakers     []*Sender
	encoders     map[string]*mixEncoder
	mixes        map[uint64]*mixResult
	sum          []float32
	packet       []byte // encoder output, copied out
	keyBuilder   strings.Builder
}

type mixEncoder struct {
	enc      Encoder
	lastUsed uint64
}

type mixResult struct {
	payload []byte
	err     error
}

// New returns a Mixer. Start it with Run, or call Tick every 20 ms yourself.
func New(cfg Config) (*Mixer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Mode == ModeMix {
		// Fail now, not on the first tick, if the codec cannot work.
		if _, err := cfg.Codec.NewEncoder(); err != nil {
			return nil, err
		}
		if _, err := cfg.Codec.NewDecoder(); err != nil {
			return nil, err
		}
	}
	return &Mixer{
		cfg:       cfg,
		senders:   map[string]*Sender{},
		receivers: map[string]*Receiver{},
		tickState: tickState{
			encoders: map[string]*mixEncoder{},
			mixes:    map[uint64]*mixResult{},
			sum:      make([]float32, FrameSamples),
			packet:   make([]byte, MaxOpusPacketBytes),
		},
	}, nil
}

// Describe says how the mixer works, for the start-up log.
func (m *Mixer) Describe() string {
	if m.cfg.Mode == ModeForward {
		return "audio: forwarding the loudest other speaker to each receiver (no codec; simultaneous talkers are not mixed)"
	}
	return fmt.Sprintf("audio: mix-minus of up to %d speakers per receiver with %s", m.cfg.MaxSpeakers, m.cfg.Codec.Name())
}

// SetRouting replaces the routing from the next tick on; nil lets everyone
// hear everyone else.
func (m *Mixer) SetRouting(r *Routing) { m.routing.Store(r) }

// Run ticks every 20 ms until ctx is done or the mixer is closed.
//
// A time.Ticker drops ticks when its reader runs late (a loaded machine),
// and a dropped tick would leave no trace in the receivers' streams: they
// would play slower than real time. So Run counts the frames due since it
// started and catches up, up to maxCatchUp frames at once.
func (m *Mixer) Run(ctx context.Context) error {
	t := time.NewTicker(FrameDuration)
	defer t.Stop()
	start := time.Now()
	var done int64
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-t.C:
			due := int64(now.Sub(start) / FrameDuration)
			if due-done > maxCatchUp {
				done = due - maxCatchUp // too far behind: those frames are lost
			}
			for done < due {
				if !m.Tick() {
					return nil
				}
				done++
			}
		}
	}
}

// maxCatchUp bounds how many late frames Run makes at once.
const maxCatchUp = 5

// Close removes every sender and receiver; later ticks do nothing.
func (m *Mixer) Close() {
	m.mu.Lock()
	m.closed = true
	senders, receivers := m.senders, m.receivers
	m.senders, m.receivers = map[string]*Sender{}, map[string]*Receiver{}
	m.mu.Unlock()
	for _, s := range senders {
		s.markClosed()
	}
	for _, r := range receivers {
		r.stop()
	}
}

// AddSender registers the audio a session sends. owner is the person behind
// it: an attendee's main session and its "#content" session share one owner,
// so neither is heard by the other. audioLevelExtensionID is the negotiated
// id of the RFC 6464 ssrc-audio-level header extension, or 0 when there is
// none (the mixer then decodes the sender to measure its level). A session
// already added is replaced.
func (m *Mixer) AddSender(session, owner string, audioLevelExtensionID uint8) *Sender {
	s := &Sender{
		m: m, session: session, owner: owner, levelExt: audioLevelExtensionID,
		jb: newJitterBuffer(m.cfg.JitterDepth, jitterCapacity), curLevel: 127,
	}
	m.mu.Lock()
	old := m.senders[session]
	if m.closed {
		s.closed = true
	} else {
		m.senders[session] = s
	}
	m.mu.Unlock()
	if old != nil {
		old.markClosed()
	}
	return s
}

// jitterCapacity is how many packets a sender may hold: 160 ms.
const jitterCapacity = 8

// AddReceiver registers a session that hears the mix. sink gets its frames
// in order on a goroutine of the receiver's own; a sink that falls more than
// Config.ReceiverQueue frames behind loses frames, never delaying the others.
// A session already added is replaced.
func (m *Mixer) AddReceiver(session, owner string, sink func(Frame)) *Receiver {
	r := &Receiver{
		m: m, session: session, owner: owner,
		frames: make(chan Frame, m.cfg.ReceiverQueue), done: make(chan struct{}),
		seq: uint16(rand.Uint32()), ts: rand.Uint32(),
	}
	m.mu.Lock()
	old := m.receivers[session]
	closed := m.closed
	if !closed {
		m.receivers[session] = r
	}
	m.mu.Unlock()
	if old != nil {
		old.stop()
	}
	if closed {
		r.stop()
		return r
	}
	go r.run(sink)
	return r
}

// Levels appends every sender's recent level to dst: the loudest of its last
// 200 ms, 127 when it sent nothing in that time. Call it at the
// AUDIO_METADATA rate; it does not decode anything.
func (m *Mixer) Levels(dst []Level) []Level {
	m.mu.Lock()
	for _, s := range m.senders {
		dst = append(dst, Level{Session: s.session, Owner: s.owner, Level: s.Level()})
	}
	m.mu.Unlock()
	return dst
}

// Tick makes and hands out one 20 ms frame for every receiver. Run calls it;
// tests call it directly with no real time passing. It reports false once the
// mixer is closed.
func (m *Mixer) Tick() bool {
	m.tickMu.Lock()
	defer m.tickMu.Unlock()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false
	}
	m.senderList = m.senderList[:0]
	for _, s := range m.senders {
		m.senderList = append(m.senderList, s)
	}
	m.receiverList = m.receiverList[:0]
	for _, r := range m.receivers {
		m.receiverList = append(m.receiverList, r)
	}
	m.mu.Unlock()
	// Map order is random; a fixed order makes ties break the same way.
	slices.SortFunc(m.senderList, func(a, b *Sender) int { return strings.Compare(a.session, b.session) })

	now := m.ticks.Add(1)
	routing := m.routing.Load()
	if m.cfg.Mode == ModeForward {
		m.forwardTick(now, routing)
	} else {
		m.mixTick(now, routing)
	}
	clear(m.senderList)
	clear(m.receiverList)
	return true
}

// mixTick decodes the speakers, then encodes once per distinct mix.
func (m *Mixer) mixTick(now uint64, routing *Routing) {
	m.speakers = m.speakers[:0]
	for _, s := range m.senderList {
		s.popTick()
		if s.cur == popNothing || !routing.maySend(s.owner) {
			s.stopDecoding()
			continue
		}
		if s.levelExt == 0 {
			// No level in the packets: decode to measure it.
			s.decodeTick(m.cfg.Codec)
		}
		if s.curLevel <= m.cfg.SpeechLevel {
			s.audibleAt = now
		}
		if s.audibleAt != 0 && now-s.audibleAt <= uint64(m.cfg.HangoverTicks) {
			m.speakers = append(m.speakers, s)
		} else {
			s.stopDecoding()
		}
	}
	// The loudest MaxSpeakers. Last tick's speakers get a head start, so
	// two voices near the cut do not swap places (and decoders) every tick;
	// the sort is stable, so ties keep the session order.
	slices.SortStableFunc(m.speakers, func(a, b *Sender) int { return cmp.Compare(a.rank(), b.rank()) })
	for _, s := range m.speakers[min(len(m.speakers), m.cfg.MaxSpeakers):] {
		s.stopDecoding()
	}
	m.speakers = m.speakers[:min(len(m.speakers), m.cfg.MaxSpeakers)]
	// Back in session order: the encoder key lists who is left out, and
	// must not change when two speakers swap loudness.
	slices.SortFunc(m.speakers, func(a, b *Sender) int { return strings.Compare(a.session, b.session) })
	for _, s := range m.senderList {
		s.speaking = false
	}
	for _, s := range m.speakers {
		s.speaking = true
		if !s.decoded {
			s.decodeTick(m.cfg.Codec)
		}
	}

	clear(m.mixes)
	for _, r := range m.receiverList {
		if !routing.mayReceive(r.owner) {
			r.ts += FrameSamples
			continue
		}
		var mask uint64
		for i, s := range m.speakers {
			if s.owner != r.owner && routing.mayHear(s.owner, r.owner) {
				mask |= 1 << i
			}
		}
		mix := m.mixes[mask]
		if mix == nil {
			mix = m.encodeMix(now, mask)
			m.mixes[mask] = mix
		}
		if mix.err == nil {
			r.send(Frame{Payload: mix.payload})
		} else {
			r.ts += FrameSamples
		}
	}
	for key, e := range m.encoders {
		if now-e.lastUsed > encoderIdleTicks {
			delete(m.encoders, key)
		}
	}
}

// encoderIdleTicks is how long an unused mix encoder is kept (1 s), so a mix
// that comes back soon continues the same Opus stream.
const encoderIdleTicks = 50

// encodeMix sums the speakers in mask, clips and encodes them. The encoder is
// chosen by who is left out, so the shared full mix keeps one encoder while
// speakers come and go.
func (m *Mixer) encodeMix(now uint64, mask uint64) *mixResult {
	if mask == 0 {
		return &mixResult{payload: SilenceFrame}
	}
	clear(m.sum)
	m.keyBuilder.Reset()
	for i, s := range m.speakers {
		if mask&(1<<i) == 0 {
			m.keyBuilder.WriteString(s.session)
			m.keyBuilder.WriteByte(0)
			continue
		}
		for j, v := range s.pcm() {
			m.sum[j] += v
		}
	}
	softClip(m.sum)
	key := m.keyBuilder.String()
	e := m.encoders[key]
	if e == nil {
		enc, err := m.cfg.Codec.NewEncoder()
		if err != nil {
			return &mixResult{err: err}
		}
		e = &mixEncoder{enc: enc}
		m.encoders[key] = e
	}
	e.lastUsed = now
	n, err := e.enc.Encode(m.sum, m.packet)
	if err != nil {
		return &mixResult{err: err}
	}
	// A fresh copy per tick: receivers' goroutines may still read the last one.
	return &mixResult{payload: slices.Clone(m.packet[:n])}
}

// softClip keeps a sum of voices inside [-1, 1]: linear up to the knee, then
// bending smoothly (tanh) towards full scale, so three loud talkers distort
// gently instead of wrapping or flat-topping.
func softClip(pcm []float32) {
	const knee = 0.8
	for i, v := range pcm {
		a := math.Abs(float64(v))
		if a <= knee {
			continue
		}
		c := knee + (1-knee)*math.Tanh((a-knee)/(1-knee))
		pcm[i] = float32(math.Copysign(c, float64(v)))
	}
}

// forwardTick gives each receiver the packet of the loudest sender it may
// hear, switching speakers only with a clear margin.
func (m *Mixer) forwardTick(now uint64, routing *Routing) {
	for _, s := range m.senderList {
		s.popTick()
		if s.cur != popNothing && s.curLevel <= m.cfg.SpeechLevel {
			s.audibleAt = now
		}
	}
	for _, r := range m.receiverList {
		if !routing.mayReceive(r.owner) {
			r.ts += FrameSamples
			continue
		}
		var loudest *Sender
		currentOK := false
		for _, s := range m.senderList {
			if s.cur == popNothing || s.owner == r.owner || !routing.maySend(s.owner) || !routing.mayHear(s.owner, r.owner) {
				continue
			}
			if s == r.current {
				currentOK = true
			}
			if loudest == nil || s.curLevel < loudest.curLevel {
				loudest = s
			}
		}
		switch {
		case loudest == nil:
			r.current = nil
		case !currentOK:
			r.current = loudest
		case loudest != r.current && loudest.curLevel+switchMarginDB <= r.current.curLevel:
			r.current = loudest
		}
		switch {
		case r.current == nil:
			r.send(Frame{Payload: SilenceFrame})
		case r.current.cur == popPacket:
			r.send(Frame{Payload: r.current.curPayload})
		default:
			// The speaker's packet is lost: leave a gap in the sequence so
			// the browser conceals it, or restores it from the next
			// packet's FEC.
			r.seq++
			r.skipped++
			r.ts += FrameSamples
		}
	}
}

// switchMarginDB is how much louder another speaker must be before forwarding
// switches to it, so two similar voices do not flap.
const switchMarginDB = 6

// Sender is one session's incoming audio. Its methods are safe to call from
// the goroutine that reads the session's RTP track while the mixer ticks.
type Sender struct {
	m        *Mixer
	session  string
	owner    string
	levelExt uint8

	mu        sync.Mutex // guards the fields below
	jb        *jitterBuffer
	closed    bool
	levels    [levelWindow]levelSample
	levelNext int
	received  uint64
	rejected  uint64

	// Tick state: only Tick touches these, under Mixer.tickMu.
	cur        popResult
	curPayload []byte
	curNext    []byte // for popLost: the next packet, for FEC
	curLevel   uint8
	audibleAt  uint64
	speaking   bool // in the last tick's mix
	dec        Decoder
	decoding   bool // the decoder followed the last tick
	decoded    bool // this tick's frame is in fifo
	fifo       []float32
	decodeBuf  []float32
	decodeErrs uint64
}

type levelSample struct {
	tick  uint64
	level uint8
	set   bool
}

// levelWindow is how many recent levels Level looks at: 200 ms of packets.
const levelWindow = 10

// maxPayload bounds an accepted Opus payload; bigger packets are dropped.
const maxPayload = MaxOpusPacketBytes

// ErrClosed is returned for packets written to a removed sender.
var ErrClosed = errors.New("mixer: sender removed")

// Write takes one raw RTP packet, as read from the network.
func (s *Sender) Write(raw []byte) error {
	var p rtp.Packet
	if err := p.Unmarshal(raw); err != nil {
		s.mu.Lock()
		s.rejected++
		s.mu.Unlock()
		return fmt.Errorf("mixer: bad RTP packet: %w", err)
	}
	return s.WriteRTP(&p)
}

// WriteRTP takes one RTP packet of the sender's Opus stream; the mixer keeps
// a copy of the payload. It never blocks on the mixer's work and bad packets
// are counted and dropped.
func (s *Sender) WriteRTP(p *rtp.Packet) error {
	if p == nil || len(p.Payload) == 0 || len(p.Payload) > maxPayload {
		s.mu.Lock()
		s.rejected++
		s.mu.Unlock()
		return errors.New("mixer: empty or oversized RTP payload")
	}
	level := int8(-1)
	if s.levelExt != 0 {
		if raw := p.GetExtension(s.levelExt); raw != nil {
			var ext rtp.AudioLevelExtension
			if ext.Unmarshal(raw) == nil {
				level = int8(ext.Level & 0x7f)
			}
		}
	}
	payload := slices.Clone(p.Payload)
	now := s.m.ticks.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.received++
	if !s.jb.push(p.SequenceNumber, payload, level) {
		return nil // late or duplicate: normal on a real network
	}
	if level >= 0 {
		s.recordLevel(now, uint8(level))
	}
	return nil
}

// recordLevel keeps a level for Level; s.mu must be held.
func (s *Sender) recordLevel(tick uint64, level uint8) {
	s.levels[s.levelNext] = levelSample{tick: tick, level: level, set: true}
	s.levelNext = (s.levelNext + 1) % levelWindow
}

// Level is the loudest level of the last 200 ms (RFC 6464: −dBov, 0 loudest,
// 127 silence), 127 when nothing came in that time.
func (s *Sender) Level() uint8 {
	now := s.m.ticks.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	best := uint8(127)
	for _, l := range s.levels {
		if l.set && now-l.tick <= levelWindow {
			best = min(best, l.level)
		}
	}
	return best
}

// Session and Owner are the ids the sender was added with.
func (s *Sender) Session() string { return s.session }
func (s *Sender) Owner() string   { return s.owner }

// SenderStats counts what happened to a sender's packets since it was added.
type SenderStats struct {
	Received uint64 // well-formed packets written
	Rejected uint64 // malformed, empty or oversized
	Dropped  uint64 // late, duplicate or over the jitter buffer's capacity
	Lost     uint64 // never arrived in time: concealed (a measure of uplink loss)
}

// Stats reports the sender's counters; Lost/(Received+Lost) over an interval
// is its uplink loss, for signal strength.
func (s *Sender) Stats() SenderStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SenderStats{Received: s.received, Rejected: s.rejected, Dropped: s.jb.dropped, Lost: s.jb.lost}
}

// Close takes the sender out of every mix from the next tick on.
func (s *Sender) Close() {
	s.m.mu.Lock()
	if s.m.senders[s.session] == s {
		delete(s.m.senders, s.session)
	}
	s.m.mu.Unlock()
	s.markClosed()
}

func (s *Sender) markClosed() {
	s.mu.Lock()
	s.closed = true
	s.jb.reset()
	s.mu.Unlock()
}

// popTick takes this tick's packet from the jitter buffer, unless a packet
// longer than 20 ms left enough decoded audio for this tick too.
func (s *Sender) popTick() {
	if s.decoding && len(s.fifo) >= 2*FrameSamples {
		s.cur, s.curPayload, s.curNext, s.decoded = popBuffered, nil, nil, false
		return
	}
	s.mu.Lock()
	res, payload, level := s.jb.pop()
	s.mu.Unlock()
	s.cur, s.curPayload, s.curNext, s.decoded = res, nil, nil, false
	switch res {
	case popPacket:
		s.curPayload = payload
		if level >= 0 {
			s.curLevel = uint8(level)
		}
	case popLost:
		s.curNext = payload
	case popNothing:
		s.curLevel = 127
	}
}

// decodeTick decodes this tick's packet (or conceals it) into fifo, and
// takes the level from the PCM when the packets carry none.
func (s *Sender) decodeTick(codec Codec) {
	s.decoded = true
	if s.dec == nil {
		dec, err := codec.NewDecoder()
		if err != nil {
			s.fifo = append(s.fifo[:0], make([]float32, FrameSamples)...)
			return
		}
		s.dec = dec
		s.decodeBuf = make([]float32, MaxPacketSamples)
	}
	if !s.decoding {
		// Frames were skipped while the sender was quiet: start afresh.
		s.dec.Reset()
		s.fifo = s.fifo[:0]
		s.decoding = true
	}
	// Drop what the last tick used.
	if len(s.fifo) >= FrameSamples {
		s.fifo = append(s.fifo[:0], s.fifo[FrameSamples:]...)
	}
	s.decodeOne(s.cur, s.curPayload, s.curNext)
	// Packets shorter than 20 ms: take more until a frame is full.
	for i := 0; len(s.fifo) < FrameSamples && i < 4; i++ {
		s.mu.Lock()
		res, payload, _ := s.jb.pop()
		s.mu.Unlock()
		if res == popNothing {
			break
		}
		s.decodeOne(res, payload, nil)
	}
	if len(s.fifo) < FrameSamples {
		s.fifo = append(s.fifo, make([]float32, FrameSamples-len(s.fifo))...)
	}
	if s.levelExt == 0 {
		s.curLevel = rmsLevel(s.fifo[:FrameSamples])
		s.mu.Lock()
		s.recordLevel(s.m.ticks.Load(), s.curLevel)
		s.mu.Unlock()
	}
}

func (s *Sender) decodeOne(res popResult, payload, next []byte) {
	var n int
	var err error
	if res == popPacket {
		n, err = s.dec.Decode(payload, s.decodeBuf)
	}
	if res == popLost || err != nil {
		if err != nil {
			s.decodeErrs++
		}
		n, err = s.dec.Conceal(next, s.decodeBuf[:FrameSamples])
		if err != nil {
			n = 0
		}
	}
	// Bounded: a tick never holds more than one 120 ms packet plus a frame.
	n = min(n, MaxPacketSamples+FrameSamples-len(s.fifo))
	s.fifo = append(s.fifo, s.decodeBuf[:n]...)
}

// pcm is this tick's decoded frame.
func (s *Sender) pcm() []float32 { return s.fifo[:FrameSamples] }

// rank orders speakers, loudest first: the level, less switchMarginDB for a
// sender already in the mix.
func (s *Sender) rank() int {
	if s.speaking {
		return int(s.curLevel) - switchMarginDB
	}
	return int(s.curLevel)
}

// stopDecoding notes that the sender is not in this tick's mix. Unless its
// frame was decoded anyway (to measure its level), the decoder loses track
// and starts afresh when the sender comes back.
func (s *Sender) stopDecoding() {
	if !s.decoded {
		s.decoding = false
	}
}

// rmsLevel is the RFC 6464 level of a frame: its RMS in −dBov, 0..127.
func rmsLevel(pcm []float32) uint8 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	rms := math.Sqrt(sum / float64(len(pcm)))
	if rms <= 0 {
		return 127
	}
	db := -20 * math.Log10(rms)
	return uint8(math.Round(math.Max(0, math.Min(127, db))))
}

// Receiver is one session's outgoing stream.
type Receiver struct {
	m       *Mixer
	session string
	owner   string
	frames  chan Frame
	done    chan struct{}
	once    sync.Once
	dropped atomic.Uint64
	sent    atomic.Uint64

	// Tick state: only Tick touches these, under Mixer.tickMu.
	seq     uint16
	ts      uint32
	skipped uint16
	current *Sender // ModeForward: whom this receiver hears
}

// send numbers a frame and queues it without blocking; a full queue drops it
// (the sequence number is used up, so the browser sees the loss).
func (r *Receiver) send(f Frame) {
	f.Duration = FrameDuration
	f.SequenceNumber, f.Timestamp, f.Skipped = r.seq, r.ts, r.skipped
	r.seq++
	r.ts += FrameSamples
	r.skipped = 0
	select {
	case r.frames <- f:
		r.sent.Add(1)
	default:
		r.dropped.Add(1)
	}
}

func (r *Receiver) run(sink func(Frame)) {
	for {
		select {
		case <-r.done:
			return
		case f := <-r.frames:
			select {
			case <-r.done:
				return
			default:
			}
			sink(f)
		}
	}
}

// Session and Owner are the ids the receiver was added with.
func (r *Receiver) Session() string { return r.session }
func (r *Receiver) Owner() string   { return r.owner }

// ReceiverStats counts a receiver's frames.
type ReceiverStats struct {
	Queued, Dropped uint64
}

// Stats reports frames queued for the sink and frames dropped because the
// sink fell behind.
func (r *Receiver) Stats() ReceiverStats {
	return ReceiverStats{Queued: r.sent.Load(), Dropped: r.dropped.Load()}
}

// Close stops the receiver's stream; its sink is not called afterwards
// except, at most, for a frame already being delivered.
func (r *Receiver) Close() {
	r.m.mu.Lock()
	if r.m.receivers[r.session] == r {
		delete(r.m.receivers, r.session)
	}
	r.m.mu.Unlock()
	r.stop()
}

func (r *Receiver) stop() { r.once.Do(func() { close(r.done) }) }
