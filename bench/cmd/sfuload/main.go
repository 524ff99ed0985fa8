// Command sfuload measures video forwarding through one SFU process with Go
// clients that play the Chime SDK (internal/signaling/chimeclient): one
// publisher sends VP8-typed RTP at a set packet rate, -subs subscribers
// receive it. The target is Carillon (-endpoint: meetings and attendees are
// created through the official AWS Go SDK) or bench/cmd/sfuceiling
// (-ceiling: its signaling URL; no API), driven the same way.
//
// Each packet's payload is a VP8-looking prefix, the send time (8 bytes of
// UnixNano, big endian) and padding to -payload bytes; the receiver reads
// the send time back (same process, same clock) for the added latency and
// counts RTP sequence gaps as loss. The server's CPU time comes from
// /proc/<-server-pid>/stat (utime+stime), so packets forwarded per
// CPU-second do not depend on how busy the shared machine was.
//
// Phases, each -duration long after a settling second:
//
//	fixed  each of -pps packets/s from the publisher (the same offered load
//	       for any target: the ratio of packets per CPU-second is taken
//	       here);
//	max    the publisher's rate raised through -sweep (-step-duration each)
//	       until receive loss passes 1 % twice in a row: the most
//	       forwarded packets/s carried with at most 1 % loss;
//	half   half of max's forwarded rate: the latency quantiles.
//
// -scenario audio is the meeting-size scenario (see runAudio).
//
// Output: one JSON object on stdout.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/carillon-dev/carillon/internal/signaling/chimeclient"
)

type options struct {
	endpoint, ceiling, region string
	subs, payload, serverPID  int
	duration, stepDuration    time.Duration
	phases, sweep, pps        string

	scenario, attendees string
	talkers             int
	cameraPPS           float64
	cameraStream        uint32
}

func main() {
	var o options
	flag.StringVar(&o.endpoint, "endpoint", "http://127.0.0.1:8080", "Carillon API endpoint (meetings are created here)")
	flag.StringVar(&o.ceiling, "ceiling", "", "signaling URL of bench/cmd/sfuceiling (then -endpoint is not used)")
	flag.StringVar(&o.region, "region", "us-east-1", "region")
	flag.IntVar(&o.subs, "subs", 10, "subscribers of the one camera")
	flag.IntVar(&o.payload, "payload", 1000, "RTP payload bytes per packet")
	flag.IntVar(&o.serverPID, "server-pid", 0, "the SFU's pid (its CPU time is read from /proc)")
	flag.StringVar(&o.pps, "pps", "1000,2500", "fixed: packets/s the publisher sends, one phase per rate")
	flag.StringVar(&o.sweep, "sweep", "1000,1500,2000,2500,3000,4000,5000", "max: the publisher's packets/s, step by step, until loss passes 1 %")
	flag.DurationVar(&o.stepDuration, "step-duration", 5*time.Second, "length of each max step")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each phase")
	flag.StringVar(&o.phases, "phases", "fixed,max,half", "phases to run, in order")
	flag.StringVar(&o.scenario, "scenario", "video", "video (1 camera, -subs subscribers) or audio (meeting size; Carillon only)")
	flag.StringVar(&o.attendees, "attendees", "10,20,40,60,80,100,130,160", "audio: audio-only attendees, step by step")
	flag.IntVar(&o.talkers, "talkers", 3, "audio: attendees sending a tone (the rest send silence)")
	flag.Float64Var(&o.cameraPPS, "camera-pps", 100, "audio: the camera's packets/s")
	reportPath := flag.String("report", "", "print the Markdown summary of this JSON-lines file (bench/sfu.sh) and exit")
	flag.Parse()
	if *reportPath != "" {
		if err := report(*reportPath); err != nil {
			fmt.Fprintln(os.Stderr, "sfuload:", err)
			os.Exit(1)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	run := run
	if o.scenario == "audio" {
		run = runAudio
	}
	res, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sfuload:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

// vp8Prefix makes the payload look like the start of a VP8 keyframe.
var vp8Prefix = []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a}

const stampAt = 6 // the send time's offset in the payload

// receiver is one client's view of what it receives: the camera (labels
// v_<mid>) and, in the audio scenario, the server's mix ("audio").
type receiver struct {
	c *chimeclient.Client

	mu        sync.Mutex
	recording bool
	latencies []time.Duration
	streams   map[string]*streamStats
	// received and lost count the camera's packets (labels v_*).
	received, lost uint64
}

// streamStats counts one received stream's packets and sequence gaps.
type streamStats struct {
	started        bool
	lastSeq        uint16
	received, lost uint64
}

func (st *streamStats) add(seq uint16) (lost uint64) {
	st.received++
	if !st.started {
		st.started, st.lastSeq = true, seq
		return 0
	}
	if gap := seq - st.lastSeq; gap > 1 && gap < 1<<15 {
		lost = uint64(gap - 1)
		st.lost += lost
	}
	if seq-st.lastSeq < 1<<15 {
		st.lastSeq = seq
	}
	return lost
}

func (r *receiver) onRTP(label string, p *rtp.Packet, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.streams == nil {
		r.streams = map[string]*streamStats{}
	}
	st := r.streams[label]
	if st == nil {
		st = &streamStats{}
		r.streams[label] = st
	}
	lost := st.add(p.SequenceNumber)
	if !strings.HasPrefix(label, "v_") || len(p.Payload) < stampAt+8 {
		return
	}
	r.received++
	r.lost += lost
	if r.recording {
		sent := int64(binary.BigEndian.Uint64(p.Payload[stampAt:]))
		r.latencies = append(r.latencies, at.Sub(time.Unix(0, sent)))
	}
}

// audio returns the packets and gaps counted on the mix so far.
func (r *receiver) audio() (received, lost uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.streams["audio"]; st != nil {
		return st.received, st.lost
	}
	return 0, 0
}

// publisher paces RTP onto the camera track.
type publisher struct {
	track   *webrtc.TrackLocalStaticRTP
	payload int
	pps     atomic.Uint64 // whole packets per second
	sent    atomic.Uint64
}

func (p *publisher) run(ctx context.Context) {
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: true}, Payload: make([]byte, p.payload)}
	copy(pkt.Payload, vp8Prefix)
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	last := time.Now()
	budget := 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			rate := float64(p.pps.Load())
			budget += rate * now.Sub(last).Seconds()
			last = now
			// A stalled sender does not burst more than 20 ms worth.
			budget = min(budget, max(rate*0.02, 1))
			for ; budget >= 1; budget-- {
				pkt.SequenceNumber++
				pkt.Timestamp += 3000
				binary.BigEndian.PutUint64(pkt.Payload[stampAt:], uint64(time.Now().UnixNano()))
				if err := p.track.WriteRTP(pkt); err == nil {
					p.sent.Add(1)
				}
			}
		}
	}
}

func run(ctx context.Context, o options) (map[string]any, error) {
	if o.serverPID == 0 {
		return nil, fmt.Errorf("-server-pid is required (the SFU's CPU time is read from /proc)")
	}
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
	dial := func(i int) (*chimeclient.Client, error) {
		c, err := chimeclient.Dial(ctx, url, tokens[i])
		if err != nil {
			return nil, err
		}
		clients = append(clients, c)
		if _, _, err := c.Join(ctx, uint64(i+1), 30*time.Second); err != nil {
			return nil, fmt.Errorf("join: %w", err)
		}
		return c, nil
	}
	pubC, err := dial(0)
	if err != nil {
		return nil, err
	}
	pub := &publisher{track: chimeclient.NewCamera(), payload: max(o.payload, stampAt+8)}
	ack, err := pubC.SubscribeWith(ctx, rtc, 30*time.Second, chimeclient.SubscribeOptions{Camera: pub.track})
	if err != nil {
		return nil, fmt.Errorf("publisher subscribe: %w", err)
	}
	allocs := ack.GetSubscribeAck().GetAllocations()
	if len(allocs) == 0 {
		return nil, fmt.Errorf("publisher got no stream allocation")
	}
	streamID := allocs[0].GetStreamId()
	if err := connected(pubC); err != nil {
		return nil, err
	}
	pub.pps.Store(50)
	go pub.run(ctx)

	recvs := make([]*receiver, o.subs)
	for i := range recvs {
		c, err := dial(i + 1)
		if err != nil {
			return nil, err
		}
		r := &receiver{c: c}
		c.OnRTP = r.onRTP
		if _, err := c.SubscribeWith(ctx, rtc, 30*time.Second, chimeclient.SubscribeOptions{Receive: []uint32{streamID}}); err != nil {
			return nil, fmt.Errorf("subscriber %d: %w", i, err)
		}
		if err := connected(c); err != nil {
			return nil, err
		}
		recvs[i] = r
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, r := range recvs {
		for r.count() == 0 {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("a subscriber received nothing within 30 s")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	target := "carillon"
	if o.ceiling != "" {
		target = "ceiling"
	}
	res := map[string]any{"target": target, "subs": o.subs, "payload_bytes": pub.payload, "duration_s": o.duration.Seconds()}
	var maxFwd float64
	for _, phase := range strings.Split(o.phases, ",") {
		var pps float64
		switch phase {
		case "fixed":
			for _, f := range strings.Split(o.pps, ",") {
				pps, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
				if err != nil {
					return nil, fmt.Errorf("-pps: %w", err)
				}
				m, err := measure(o, pub, recvs, pps, o.duration)
				if err != nil {
					return nil, err
				}
				res["fixed@"+strings.TrimSpace(f)] = m
			}
			continue
		case "max":
			m, steps, err := sweep(o, pub, recvs)
			if err != nil {
				return nil, err
			}
			maxFwd = m["fwd_pps"].(float64)
			res["max"], res["max_steps"] = m, steps
			continue
		case "half":
			if maxFwd == 0 {
				return nil, fmt.Errorf("half needs max first")
			}
			pps = maxFwd / 2 / float64(o.subs)
		default:
			return nil, fmt.Errorf("unknown phase %q", phase)
		}
		m, err := measure(o, pub, recvs, pps, o.duration)
		if err != nil {
			return nil, err
		}
		res[phase] = m
	}
	return res, nil
}

func (r *receiver) count() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.received
}

func connected(c *chimeclient.Client) error {
	select {
	case <-c.Connected():
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("ICE did not connect")
	}
}

// lossLimit is the receive loss above which a rate no longer counts as
// carried.
const lossLimit = 1.0 // percent

// sweep raises the publisher's rate through -sweep until receive loss passes
// lossLimit and returns the step with the most packets forwarded within it
// (the measured max load), and every step.
func sweep(o options, pub *publisher, recvs []*receiver) (map[string]any, []map[string]any, error) {
	var best map[string]any
	var steps []map[string]any
	for _, f := range strings.Split(o.sweep, ",") {
		pps, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, nil, fmt.Errorf("-sweep: %w", err)
		}
		m, err := measure(o, pub, recvs, pps, o.stepDuration)
		if err != nil {
			return nil, nil, err
		}
		steps = append(steps, m)
		if m["loss_pct"].(float64) > lossLimit {
			// Once more, so that one stall of a neighbour on the shared
			// machine does not end the sweep.
			if m, err = measure(o, pub, recvs, pps, o.stepDuration); err != nil {
				return nil, nil, err
			}
			steps = append(steps, m)
			if m["loss_pct"].(float64) > lossLimit {
				break
			}
		}
		if best == nil || m["fwd_pps"].(float64) > best["fwd_pps"].(float64) {
			best = m
		}
	}
	if best == nil {
		return nil, nil, fmt.Errorf("loss above %v%% already at the sweep's first rate", lossLimit)
	}
	return best, steps, nil
}

// measure runs the publisher at pps for one phase.
func measure(o options, pub *publisher, recvs []*receiver, pps float64, d time.Duration) (map[string]any, error) {
	pub.pps.Store(uint64(pps + 0.5))
	time.Sleep(time.Second)
	snap := func(rec bool) (recv, lost uint64) {
		for _, r := range recvs {
			r.mu.Lock()
			recv += r.received
			lost += r.lost
			if rec {
				r.latencies = r.latencies[:0]
			}
			r.recording = rec
			r.mu.Unlock()
		}
		return
	}
	cpu0, err := cpuTime(o.serverPID)
	if err != nil {
		return nil, err
	}
	self0 := selfCPU()
	drops0 := udpRcvbufErrors()
	sent0 := pub.sent.Load()
	recv0, lost0 := snap(true)
	start := time.Now()
	time.Sleep(d)
	recv1, lost1 := snap(false)
	wall := time.Since(start).Seconds()
	sent1 := pub.sent.Load()
	cpu1, err := cpuTime(o.serverPID)
	if err != nil {
		return nil, err
	}
	self1 := selfCPU()
	drops1 := udpRcvbufErrors()
	var lat []time.Duration
	for _, r := range recvs {
		r.mu.Lock()
		lat = append(lat, r.latencies...)
		r.mu.Unlock()
	}
	recv, lost, cpu := float64(recv1-recv0), float64(lost1-lost0), (cpu1 - cpu0).Seconds()
	m := map[string]any{
		"offered_pps":        pps * float64(len(recvs)),
		"sent_pps":           float64(sent1-sent0) / wall,
		"fwd_pps":            recv / wall,
		"server_cpu_cores":   cpu / wall,
		"clients_cpu_cores":  (self1 - self0).Seconds() / wall,
		"loss_pct":           100 * lost / max(recv+lost, 1),
		"pkts_per_cpu_s":     recv / max(cpu, 0.01),
		"latency_samples":    len(lat),
		"udp_rcvbuf_errors":  drops1 - drops0,
		"latency_ms_p50":     quantile(lat, 0.5),
		"latency_ms_p90":     quantile(lat, 0.9),
		"latency_ms_p99":     quantile(lat, 0.99),
		"latency_ms_max":     quantile(lat, 1),
		"publisher_rate_pps": pps,
	}
	return m, nil
}

// udpRcvbufErrors is the machine's count of UDP datagrams dropped because a
// socket's receive buffer was full (/proc/net/snmp): where the loss is when
// a process was not scheduled in time.
func udpRcvbufErrors() uint64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Udp: ")
		if !ok {
			continue
		}
		if names == nil {
			names = strings.Fields(rest)
			continue
		}
		for i, v := range strings.Fields(rest) {
			if i < len(names) && names[i] == "RcvbufErrors" {
				n, _ := strconv.ParseUint(v, 10, 64)
				return n
			}
		}
	}
	return 0
}

func quantile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
}

// clockTicks is USER_HZ, 100 on every Linux this runs on (the kernel
// reports /proc times in it whatever its internal HZ).
const clockTicks = 100

// cpuTime is the process's user+system CPU time from /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; fields resume after its ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14, utime
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15, stime
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sessions returns the signaling URL and one join token per client: from
// Carillon's API, or made up for the ceiling (which checks none).
func sessions(ctx context.Context, o options) (string, []string, error) {
	n := o.subs + 1
	if o.ceiling != "" {
		tokens := make([]string, n)
		for i := range tokens {
			tokens[i] = "bench-" + strconv.Itoa(i)
		}
		return o.ceiling, tokens, nil
	}
	api := chimesdkmeetings.New(chimesdkmeetings.Options{Region: o.region, BaseEndpoint: aws.String(o.endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(
			env("CARILLON_ROOT_ACCESS_KEY_ID", "carillon-root"), env("CARILLON_ROOT_SECRET_ACCESS_KEY", "carillon-dev-secret-change-me"), "")})
	m, err := api.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{MediaRegion: aws.String("us-east-1"),
		ExternalMeetingId: aws.String("sfuload"), MeetingFeatures: &types.MeetingFeaturesConfiguration{
			Attendee: &types.AttendeeFeatures{MaxCount: aws.Int32(int32(n))}}})
	if err != nil {
		return "", nil, err
	}
	var tokens []string
	for len(tokens) < n {
		var batch []types.CreateAttendeeRequestItem
		for i := len(tokens); i < n && len(batch) < 100; i++ {
			batch = append(batch, types.CreateAttendeeRequestItem{ExternalUserId: aws.String("user-" + strconv.Itoa(i))})
		}
		out, err := api.BatchCreateAttendee(ctx, &chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: m.Meeting.MeetingId, Attendees: batch})
		if err != nil {
			return "", nil, err
		}
		for _, a := range out.Attendees {
			tokens = append(tokens, *a.JoinToken)
		}
	}
	return *m.Meeting.MediaPlacement.SignalingUrl, tokens, nil
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// report reads the JSON lines bench/sfu.sh collected (sfuload's output with
// a "round" field added) and prints a Markdown table: per target and phase
// the median over rounds, and the Carillon/ceiling ratio of packets per
// CPU-second taken within each round, then its median.
func report(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	byRound := map[int]map[string]map[string]any{} // round -> target -> result
	var rounds []int
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) != nil {
			continue
		}
		n, _ := r["round"].(float64)
		t, _ := r["target"].(string)
		if byRound[int(n)] == nil {
			byRound[int(n)] = map[string]map[string]any{}
			rounds = append(rounds, int(n))
		}
		byRound[int(n)][t] = r
	}
	get := func(round int, target, phase, key string) (float64, bool) {
		ph, _ := byRound[round][target][phase].(map[string]any)
		v, ok := ph[key].(float64)
		return v, ok
	}
	median := func(v []float64) string {
		if len(v) == 0 {
			return "—"
		}
		sort.Float64s(v)
		m := v[len(v)/2]
		if len(v)%2 == 0 {
			m = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		return fmt.Sprintf("%.4g [%.4g–%.4g]", m, v[0], v[len(v)-1])
	}
	keys := []string{"offered_pps", "fwd_pps", "loss_pct", "udp_rcvbuf_errors", "server_cpu_cores", "clients_cpu_cores", "pkts_per_cpu_s", "latency_ms_p50", "latency_ms_p99"}
	var phases []string
	for _, r := range rounds {
		for _, res := range byRound[r] {
			for k, v := range res {
				if _, ok := v.(map[string]any); ok && !slices.Contains(phases, k) {
					phases = append(phases, k)
				}
			}
		}
	}
	sort.Slice(phases, func(i, j int) bool { return phaseOrder(phases[i]) < phaseOrder(phases[j]) })
	fmt.Printf("Medians of %d rounds [min–max].\n\n| phase | target | %s |\n|---|---|%s\n", len(rounds), strings.Join(keys, " | "), strings.Repeat("---|", len(keys)))
	for _, phase := range phases {
		for _, target := range []string{"ceiling", "carillon"} {
			row := []string{phase, target}
			seen := false
			for _, k := range keys {
				var vs []float64
				for _, r := range rounds {
					if v, ok := get(r, target, phase, k); ok {
						vs = append(vs, v)
					}
				}
				seen = seen || len(vs) > 0
				row = append(row, median(vs))
			}
			if seen {
				fmt.Printf("| %s |\n", strings.Join(row, " | "))
			}
		}
	}
	fmt.Printf("\nCarillon/ceiling, ratios taken within each round, median [min–max]:\n\n| phase | pkts per CPU-second | forwarded pkts/s |\n|---|---|---|\n")
	for _, phase := range phases {
		var cpu, fwd []float64
		for _, r := range rounds {
			a, ok1 := get(r, "carillon", phase, "pkts_per_cpu_s")
			c, ok2 := get(r, "ceiling", phase, "pkts_per_cpu_s")
			if ok1 && ok2 && c > 0 {
				cpu = append(cpu, a/c)
			}
			a, ok1 = get(r, "carillon", phase, "fwd_pps")
			c, ok2 = get(r, "ceiling", phase, "fwd_pps")
			if ok1 && ok2 && c > 0 {
				fwd = append(fwd, a/c)
			}
		}
		if len(cpu) > 0 {
			fmt.Printf("| %s | %s | %s |\n", phase, median(cpu), median(fwd))
		}
	}
	return nil
}

// phaseOrder sorts fixed@<pps> phases by rate, then max, then half.
func phaseOrder(p string) float64 {
	if v, ok := strings.CutPrefix(p, "fixed@"); ok {
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	if p == "max" {
		return 1e12
	}
	return 2e12
}
