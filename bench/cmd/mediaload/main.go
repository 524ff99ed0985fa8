// Command mediaload measures Carillon's media plane with Go clients that
// play the Chime SDK (internal/signaling/chimeclient): real WebSockets, real
// pion peers, on loopback. Meetings and attendees are created through the
// official AWS Go SDK, untimed.
//
// Scenarios (-scenario):
//
//	join     -n joins at once (-c concurrent), each timed from the dial to
//	         INDEX plus SUBSCRIBE -> SUBSCRIBE_ACK: the server's share of a
//	         join (the client's own offer and ICE are not counted).
//	fanout   a meeting of -n attendees; the last one joins, and the time until
//	         each other attendee sees its roster entry is recorded.
//	kick     -n connected attendees deleted one by one through the API
//	         (-kick-endpoint, default -endpoint): time from sending
//	         DeleteAttendee to AUDIO_STATUS 411 at the client, and how many
//	         411s arrived before the API's 200 did.
//	caps     capability change to media: bob speaks, carol listens; -n
//	         times bob loses Audio Send (UpdateAttendeeCapabilities) and gets
//	         it back. Times from the call to carol's last packet of bob's
//	         voice, and from the restoring call to the first one.
//	memory   -n idle joined sessions; reads the server's RSS (-server-pid)
//	         before and after, and reports bytes per session.
//
// Output: one JSON object with the samples' quantiles on stdout.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/carillon-dev/carillon/internal/media/mixer"
	"github.com/carillon-dev/carillon/internal/signaling/chimeclient"
	"github.com/carillon-dev/carillon/internal/signaling/sigpb"
)

type options struct {
	endpoint, kickEndpoint, region, keyID, secret, scenario string
	n, c, serverPID                                         int
}

func main() {
	var o options
	flag.StringVar(&o.endpoint, "endpoint", "http://127.0.0.1:8080", "Carillon API endpoint (meetings are created here)")
	flag.StringVar(&o.kickEndpoint, "kick-endpoint", "", "API endpoint for the kick scenario's DeleteAttendee (another node); default -endpoint")
	flag.StringVar(&o.region, "region", "us-east-1", "region")
	flag.StringVar(&o.scenario, "scenario", "join", "join, fanout, kick or memory")
	flag.IntVar(&o.n, "n", 50, "joins, attendees or sessions")
	flag.IntVar(&o.c, "c", 1, "join: concurrent joins")
	flag.IntVar(&o.serverPID, "server-pid", 0, "memory: the server's pid (its RSS is read from /proc)")
	flag.Parse()
	o.keyID, o.secret = env("CARILLON_ROOT_ACCESS_KEY_ID", "carillon-root"), env("CARILLON_ROOT_SECRET_ACCESS_KEY", "carillon-dev-secret-change-me")
	if o.kickEndpoint == "" {
		o.kickEndpoint = o.endpoint
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var (
		res map[string]any
		err error
	)
	switch o.scenario {
	case "join":
		res, err = runJoin(ctx, o)
	case "fanout":
		res, err = runFanout(ctx, o)
	case "kick":
		res, err = runKick(ctx, o)
	case "memory":
		res, err = runMemory(ctx, o)
	case "caps":
		res, err = runCaps(ctx, o)
	default:
		err = fmt.Errorf("unknown scenario %q", o.scenario)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mediaload:", err)
		os.Exit(1)
	}
	res["scenario"], res["n"], res["c"] = o.scenario, o.n, o.c
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func apiClient(o options, endpoint string) *chimesdkmeetings.Client {
	return chimesdkmeetings.New(chimesdkmeetings.Options{Region: o.region, BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(o.keyID, o.secret, "")})
}

// meeting creates a meeting with n attendees.
func meeting(ctx context.Context, api *chimesdkmeetings.Client, n int) (*types.Meeting, []types.Attendee, error) {
	m, err := api.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{MediaRegion: aws.String("us-east-1"),
		ExternalMeetingId: aws.String("mediaload"), MeetingFeatures: &types.MeetingFeaturesConfiguration{
			Attendee: &types.AttendeeFeatures{MaxCount: aws.Int32(int32(max(n, 1)))}}})
	if err != nil {
		return nil, nil, err
	}
	var atts []types.Attendee
	for len(atts) < n {
		var batch []types.CreateAttendeeRequestItem
		for i := len(atts); i < n && len(batch) < 100; i++ {
			batch = append(batch, types.CreateAttendeeRequestItem{ExternalUserId: aws.String("user-" + strconv.Itoa(i))})
		}
		out, err := api.BatchCreateAttendee(ctx, &chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: m.Meeting.MeetingId, Attendees: batch})
		if err != nil {
			return nil, nil, err
		}
		atts = append(atts, out.Attendees...)
	}
	return m.Meeting, atts, nil
}

// connect joins one attendee fully (media up, roster received). It returns
// the server's share of the join.
func connect(ctx context.Context, rtc *webrtc.API, m *types.Meeting, a types.Attendee, sid uint64) (*chimeclient.Client, time.Duration, error) {
	start := time.Now()
	c, err := chimeclient.Dial(ctx, *m.MediaPlacement.SignalingUrl, *a.JoinToken)
	if err != nil {
		return nil, 0, err
	}
	dial := time.Since(start)
	if _, _, err := c.Join(ctx, sid, 30*time.Second); err != nil {
		c.Close()
		return nil, 0, fmt.Errorf("join: %w", err)
	}
	if _, err := c.Subscribe(ctx, rtc, 30*time.Second); err != nil {
		c.Close()
		return nil, 0, fmt.Errorf("subscribe: %w", err)
	}
	server := dial + c.JoinRTT + c.SubscribeRTT
	select {
	case <-c.Connected():
	case <-time.After(30 * time.Second):
		c.Close()
		return nil, 0, fmt.Errorf("ICE did not connect")
	}
	if _, _, err := c.WaitType(0, 30*time.Second, sigpb.Frame_AUDIO_STREAM_ID_INFO); err != nil {
		c.Close()
		return nil, 0, fmt.Errorf("no roster: %w", err)
	}
	return c, server, nil
}

func runJoin(ctx context.Context, o options) (map[string]any, error) {
	m, atts, err := meeting(ctx, apiClient(o, o.endpoint), o.n)
	if err != nil {
		return nil, err
	}
	rtc := chimeclient.NewAPI()
	var (
		mu      sync.Mutex
		samples []time.Duration
		clients []*chimeclient.Client
		firstEr error
	)
	sem := make(chan struct{}, max(o.c, 1))
	var wg sync.WaitGroup
	for i := range atts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, d, err := connect(ctx, rtc, m, atts[i], uint64(i+1))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstEr == nil {
					firstEr = err
				}
				return
			}
			samples = append(samples, d)
			clients = append(clients, c)
		}()
	}
	wg.Wait()
	for _, c := range clients {
		c.Close()
	}
	if firstEr != nil {
		return nil, firstEr
	}
	return quantiles("join_ms", samples), nil
}

func runFanout(ctx context.Context, o options) (map[string]any, error) {
	m, atts, err := meeting(ctx, apiClient(o, o.endpoint), o.n)
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
	// Join all but the last, a few at a time.
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	var firstErr error
	for i := range atts[:len(atts)-1] {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := connect(ctx, rtc, m, atts[i], uint64(i+1))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = err
				return
			}
			clients = append(clients, c)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	last := *atts[len(atts)-1].AttendeeId
	marks := make([]int, len(clients))
	for i, c := range clients {
		marks[i] = len(c.Frames())
	}
	lastC, _, err := connect(ctx, rtc, m, atts[len(atts)-1], uint64(len(atts)))
	if err != nil {
		return nil, err
	}
	clients = append(clients, lastC)
	// The server makes the joiner present when its ICE connects; the
	// joiner's own roster snapshot marks that moment.
	t0 := lastC.ReceivedAt("")
	var samples []time.Duration
	for i, c := range clients[:len(clients)-1] {
		_, _, err := c.Wait(marks[i], 30*time.Second, func(f *sigpb.Frame) bool {
			for _, e := range f.GetAudioStreamIdInfo().GetStreams() {
				if e.GetAttendeeId() == last {
					return true
				}
			}
			return false
		})
		if err != nil {
			return nil, fmt.Errorf("attendee %d never saw the last joiner: %w", i, err)
		}
		samples = append(samples, c.ReceivedAt(last).Sub(t0))
	}
	return quantiles("fanout_ms", samples), nil
}

func runKick(ctx context.Context, o options) (map[string]any, error) {
	api := apiClient(o, o.endpoint)
	kickAPI := apiClient(o, o.kickEndpoint)
	m, atts, err := meeting(ctx, api, o.n)
	if err != nil {
		return nil, err
	}
	rtc := chimeclient.NewAPI()
	var samples []time.Duration
	before200 := 0
	for i, a := range atts {
		c, _, err := connect(ctx, rtc, m, a, uint64(i+1))
		if err != nil {
			return nil, err
		}
		sent := time.Now()
		if _, err := kickAPI.DeleteAttendee(ctx, &chimesdkmeetings.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: a.AttendeeId}); err != nil {
			c.Close()
			return nil, err
		}
		done := time.Now()
		f, _, err := c.WaitType(0, 10*time.Second, sigpb.Frame_AUDIO_STATUS)
		if err != nil || f.GetAudioStatus().GetAudioStatus() != 411 {
			c.Close()
			return nil, fmt.Errorf("no AUDIO_STATUS 411 after DeleteAttendee: %v", err)
		}
		at := c.TypeReceivedAt(sigpb.Frame_AUDIO_STATUS)
		samples = append(samples, at.Sub(sent))
		if at.Before(done) {
			before200++
		}
		c.Close()
	}
	res := quantiles("kick_ms", samples)
	res["status_before_200"] = before200
	return res, nil
}

func runMemory(ctx context.Context, o options) (map[string]any, error) {
	if o.serverPID == 0 {
		return nil, fmt.Errorf("memory needs -server-pid")
	}
	m, atts, err := meeting(ctx, apiClient(o, o.endpoint), o.n)
	if err != nil {
		return nil, err
	}
	rtc := chimeclient.NewAPI()
	before, err := rss(o.serverPID)
	if err != nil {
		return nil, err
	}
	var clients []*chimeclient.Client
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i, a := range atts {
		c, _, err := connect(ctx, rtc, m, a, uint64(i+1))
		if err != nil {
			return nil, err
		}
		clients = append(clients, c)
	}
	time.Sleep(2 * time.Second) // let the server settle (DTLS, first RTCP)
	after, err := rss(o.serverPID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"rss_before_bytes": before, "rss_after_bytes": after,
		"bytes_per_session": (after - before) / int64(len(atts))}, nil
}

func rss(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

func quantiles(name string, d []time.Duration) map[string]any {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	q := func(p float64) float64 {
		if len(d) == 0 {
			return 0
		}
		i := int(p * float64(len(d)-1))
		return float64(d[i].Microseconds()) / 1000
	}
	return map[string]any{"metric": name, "samples": len(d), "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": q(1)}
}

func runCaps(ctx context.Context, o options) (map[string]any, error) {
	api := apiClient(o, o.endpoint)
	m, atts, err := meeting(ctx, api, 2)
	if err != nil {
		return nil, err
	}
	rtc := chimeclient.NewAPI()
	bob, _, err := connect(ctx, rtc, m, atts[0], 1)
	if err != nil {
		return nil, err
	}
	defer bob.Close()
	carol, _, err := connect(ctx, rtc, m, atts[1], 2)
	if err != nil {
		return nil, err
	}
	defer carol.Close()
	stop := make(chan struct{})
	defer close(stop)
	go tone(bob, stop)
	set := func(audio types.MediaCapabilities) error {
		_, err := api.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
			MeetingId: m.MeetingId, AttendeeId: atts[0].AttendeeId,
			Capabilities: &types.AttendeeCapabilities{Audio: audio, Video: types.MediaCapabilitiesSendReceive, Content: types.MediaCapabilitiesSendReceive}})
		return err
	}
	var down, up []time.Duration
	time.Sleep(500 * time.Millisecond)
	for range o.n {
		start := time.Now()
		if err := set(types.MediaCapabilitiesReceive); err != nil {
			return nil, err
		}
		time.Sleep(400 * time.Millisecond)
		down = append(down, carol.LastSound("audio").Sub(start))
		start = time.Now()
		if err := set(types.MediaCapabilitiesSendReceive); err != nil {
			return nil, err
		}
		for carol.LastSound("audio").Before(start) {
			if time.Since(start) > 5*time.Second {
				return nil, fmt.Errorf("bob was not heard again within 5 s")
			}
			time.Sleep(2 * time.Millisecond)
		}
		up = append(up, carol.LastSound("audio").Sub(start))
		time.Sleep(200 * time.Millisecond)
	}
	res := quantiles("caps_revoke_ms", down)
	upq := quantiles("caps_restore_ms", up)
	res["restore_p50"], res["restore_p99"] = upq["p50"], upq["p99"]
	return res, nil
}

// tone sends Opus frames of a 440 Hz sine as the SDK's microphone would.
func tone(c *chimeclient.Client, stop <-chan struct{}) {
	enc, err := mixer.GopusCodec{}.NewEncoder()
	if err != nil {
		return
	}
	pcm := make([]float32, mixer.FrameSamples)
	buf := make([]byte, mixer.MaxOpusPacketBytes)
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111}}
	phase := 0.0
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		for i := range pcm {
			pcm[i] = float32(0.5 * math.Sin(phase))
			phase += 2 * math.Pi * 440 / mixer.SampleRate
		}
		n, err := enc.Encode(pcm, buf)
		if err != nil {
			return
		}
		p.SequenceNumber++
		p.Timestamp += mixer.FrameSamples
		p.Payload = buf[:n]
		_ = c.Audio.WriteRTP(p)
	}
}
