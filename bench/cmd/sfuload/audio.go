package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/carillon-dev/carillon/internal/media/mixer"
	"github.com/carillon-dev/carillon/internal/signaling/chimeclient"
)

// runAudio is the meeting-size scenario (Carillon only): one camera
// publisher at -camera-pps and audio-only attendees, added step by step
// (-attendees, a list of totals), each sending Opus every 20 ms (-talkers
// of them a 440 Hz tone, the rest the 3-byte silence frame) and receiving
// the server's mix and the camera. At each step, after a settling second,
// -step-duration is measured: RTP sequence gaps on the mix and the camera at
// every client, the mix's packet rate against the 50/s expected, and the
// server's CPU. It stops after the first step whose loss passes 1 % twice.
func runAudio(ctx context.Context, o options) (map[string]any, error) {
	var sizes []int
	for _, f := range strings.Split(o.attendees, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-attendees: %q", f)
		}
		sizes = append(sizes, n)
	}
	o.subs = sizes[len(sizes)-1]
	url, tokens, err := sessions(ctx, o)
	if err != nil {
		return nil, err
	}
	rtc := chimeclient.NewAPI()
	var clients []*chimeclient.Client
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	join := func(i int, so chimeclient.SubscribeOptions, r *receiver) (*chimeclient.Client, error) {
		c, err := chimeclient.Dial(ctx, url, tokens[i])
		if err != nil {
			return nil, err
		}
		clients = append(clients, c)
		if r != nil {
			r.c = c
			c.OnRTP = r.onRTP
		}
		if _, _, err := c.Join(ctx, uint64(i+1), 30*time.Second); err != nil {
			return nil, fmt.Errorf("join: %w", err)
		}
		ack, err := c.SubscribeWith(ctx, rtc, 30*time.Second, so)
		if err != nil {
			return nil, fmt.Errorf("subscribe: %w", err)
		}
		if so.Camera != nil && len(ack.GetSubscribeAck().GetAllocations()) == 0 {
			return nil, fmt.Errorf("the camera got no stream allocation")
		}
		if so.Camera != nil {
			o.cameraStream = ack.GetSubscribeAck().GetAllocations()[0].GetStreamId()
		}
		return c, connected(c)
	}
	pub := &publisher{track: chimeclient.NewCamera(), payload: max(o.payload, stampAt+8)}
	if _, err := join(0, chimeclient.SubscribeOptions{Camera: pub.track}, nil); err != nil {
		return nil, err
	}
	pub.pps.Store(uint64(o.cameraPPS))
	go pub.run(ctx)

	talk, err := toneFrames(50)
	if err != nil {
		return nil, err
	}
	sp := &speakers{talk: talk, talkers: o.talkers}
	go sp.run(ctx)

	var recvs []*receiver
	var steps []map[string]any
	carried := 0
	for _, size := range sizes {
		for len(recvs) < size {
			r := &receiver{}
			if _, err := join(len(recvs)+1, chimeclient.SubscribeOptions{Receive: []uint32{o.cameraStream}}, r); err != nil {
				return nil, fmt.Errorf("attendee %d: %w", len(recvs)+1, err)
			}
			recvs = append(recvs, r)
			sp.add(r.c.Audio)
		}
		m, err := measureAudio(o, recvs)
		if err != nil {
			return nil, err
		}
		steps = append(steps, m)
		if m["loss_pct"].(float64) > lossLimit {
			if m, err = measureAudio(o, recvs); err != nil {
				return nil, err
			}
			steps = append(steps, m)
			if m["loss_pct"].(float64) > lossLimit {
				break
			}
		}
		carried = size
	}
	return map[string]any{"scenario": "audio", "target": "carillon", "camera_pps": o.cameraPPS, "talkers": o.talkers,
		"carried_attendees": carried, "steps": steps}, nil
}

// measureAudio measures one step of the audio scenario.
func measureAudio(o options, recvs []*receiver) (map[string]any, error) {
	time.Sleep(time.Second)
	snap := func() (aRecv, aLost, vRecv, vLost uint64) {
		for _, r := range recvs {
			a, l := r.audio()
			aRecv, aLost = aRecv+a, aLost+l
			r.mu.Lock()
			vRecv, vLost = vRecv+r.received, vLost+r.lost
			r.mu.Unlock()
		}
		return
	}
	cpu0, err := cpuTime(o.serverPID)
	if err != nil {
		return nil, err
	}
	self0, drops0 := selfCPU(), udpRcvbufErrors()
	a0, al0, v0, vl0 := snap()
	start := time.Now()
	time.Sleep(o.stepDuration)
	a1, al1, v1, vl1 := snap()
	wall := time.Since(start).Seconds()
	cpu1, err := cpuTime(o.serverPID)
	if err != nil {
		return nil, err
	}
	self1, drops1 := selfCPU(), udpRcvbufErrors()
	aRecv, aLost, vRecv, vLost := float64(a1-a0), float64(al1-al0), float64(v1-v0), float64(vl1-vl0)
	n := float64(len(recvs))
	audioLoss := 100 * aLost / max(aRecv+aLost, 1)
	videoLoss := 100 * vLost / max(vRecv+vLost, 1)
	return map[string]any{
		"attendees":         len(recvs) + 1,
		"audio_loss_pct":    audioLoss,
		"video_loss_pct":    videoLoss,
		"loss_pct":          max(audioLoss, videoLoss),
		"mix_rate_ratio":    aRecv / wall / (50 * n), // 1: every receiver got 50 mixed packets a second
		"video_fwd_pps":     vRecv / wall,
		"server_cpu_cores":  (cpu1 - cpu0).Seconds() / wall,
		"clients_cpu_cores": (self1 - self0).Seconds() / wall,
		"udp_rcvbuf_errors": drops1 - drops0,
	}, nil
}

// speakers sends every attendee's microphone every 20 ms from one
// goroutine: the first talkers the precomputed tone, the rest silence (the
// clients' CPU must stay small beside the server's).
type speakers struct {
	talk    [][]byte
	talkers int

	mu     sync.Mutex
	tracks []*webrtc.TrackLocalStaticRTP
}

func (s *speakers) add(t *webrtc.TrackLocalStaticRTP) {
	s.mu.Lock()
	s.tracks = append(s.tracks, t)
	s.mu.Unlock()
}

func (s *speakers) run(ctx context.Context) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111}}
	for frame := 0; ; frame++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		tracks := s.tracks
		s.mu.Unlock()
		p.SequenceNumber++
		p.Timestamp += mixer.FrameSamples
		for i, tr := range tracks {
			if i < s.talkers {
				p.Payload = s.talk[frame%len(s.talk)]
			} else {
				p.Payload = mixer.SilenceFrame
			}
			_ = tr.WriteRTP(p)
		}
	}
}

// toneFrames encodes n frames of a 440 Hz sine once.
func toneFrames(n int) ([][]byte, error) {
	enc, err := mixer.GopusCodec{}.NewEncoder()
	if err != nil {
		return nil, err
	}
	pcm := make([]float32, mixer.FrameSamples)
	phase := 0.0
	var out [][]byte
	for range n {
		for i := range pcm {
			pcm[i] = float32(0.5 * math.Sin(phase))
			phase += 2 * math.Pi * 440 / mixer.SampleRate
		}
		buf := make([]byte, mixer.MaxOpusPacketBytes)
		k, err := enc.Encode(pcm, buf)
		if err != nil {
			return nil, err
		}
		out = append(out, buf[:k])
	}
	return out, nil
}
