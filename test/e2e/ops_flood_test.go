package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
)

// signedRun makes n sequential GetMeeting calls and returns their
// latencies and how many succeeded.
func signedRun(t *testing.T, c *chimesdkmeetings.Client, meetingID string, n int) (lat []time.Duration, ok int) {
	t.Helper()
	for i := 0; i < n; i++ {
		start := time.Now()
		_, err := c.GetMeeting(context.Background(), &chimesdkmeetings.GetMeetingInput{MeetingId: &meetingID})
		lat = append(lat, time.Since(start))
		if err == nil {
			ok++
		}
	}
	return lat, ok
}

func p99(lat []time.Duration) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[len(s)*99/100]
}

// flood sends unsigned requests from source (a loopback address of its own)
// with workers connections, each at most one request per interval while on
// is true, until stop is closed; it counts the answers by status.
func flood(endpoint, source string, workers int, interval time.Duration, on *atomic.Bool, stop <-chan struct{}, statuses *sync.Map, wg *sync.WaitGroup) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}).DialContext,
		MaxIdleConnsPerHost: workers,
	}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	body := `{"MediaRegion":"us-east-1","ExternalMeetingId":"flood"}`
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if !on.Load() {
					continue
				}
				resp, err := client.Post(endpoint+"/meetings", "application/json", strings.NewReader(body))
				key := "error"
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					key = fmt.Sprint(resp.StatusCode)
				}
				n, _ := statuses.LoadOrStore(key, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
		}()
	}
}

// TestFloodHelper is not a test of its own: the flood test runs the test
// binary again with CARILLON_FLOOD_ENDPOINT set, so that the flood's client
// runs in a process of its own and its CPU and garbage collection do not
// land in the process of the server and the signed client. It reads "on",
// "off" and "report" lines on stdin; "report" prints the answers' statuses
// so far as one JSON line.
func TestFloodHelper(t *testing.T) {
	endpoint := os.Getenv("CARILLON_FLOOD_ENDPOINT")
	if endpoint == "" {
		t.Skip("the flood generator of TestUnsignedFloodDoesNotStarveSignedCallers")
	}
	var rate int
	fmt.Sscan(os.Getenv("CARILLON_FLOOD_RATE"), &rate)
	const workers = 32
	var on atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var statuses sync.Map
	flood(endpoint, "127.0.0.2", workers, time.Duration(workers)*time.Second/time.Duration(rate), &on, stop, &statuses, &wg)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "on", "off":
			on.Store(sc.Text() == "on")
		case "report":
			counts := map[string]int64{}
			statuses.Range(func(k, v any) bool { counts[k.(string)] = v.(*atomic.Int64).Load(); return true })
			b, _ := json.Marshal(counts)
			fmt.Println(string(b))
		}
	}
	close(stop)
	wg.Wait()
}

// floodProcess is the flood generator in its own process.
type floodProcess struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startFlood(t *testing.T, endpoint string, rate int) *floodProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFloodHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CARILLON_FLOOD_ENDPOINT="+endpoint, fmt.Sprint("CARILLON_FLOOD_RATE=", rate))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f := &floodProcess{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { io.Copy(io.Discard, out); cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	return f
}

func (f *floodProcess) set(t *testing.T, on bool) {
	t.Helper()
	cmd := "off\n"
	if on {
		cmd = "on\n"
	}
	if _, err := io.WriteString(f.in, cmd); err != nil {
		t.Fatal(err)
	}
}

func (f *floodProcess) report(t *testing.T) map[string]int64 {
	t.Helper()
	if _, err := io.WriteString(f.in, "report\n"); err != nil {
		t.Fatal(err)
	}
	for f.out.Scan() {
		if line := f.out.Text(); strings.HasPrefix(line, "{") {
			counts := map[string]int64{}
			if err := json.Unmarshal([]byte(line), &counts); err != nil {
				t.Fatal(err)
			}
			return counts
		}
	}
	t.Fatalf("the flood process ended: %v", f.out.Err())
	return nil
}

// TestUnsignedFloodDoesNotStarveSignedCallers: while one address floods the
// server with unsigned requests, a signed client on another address keeps
// a success rate of at least 99 % and a p99 within 2x of the idle
// server's. The flood spends its --auth-failure-limit budget (20/s, burst
// 100) at once and is then refused before its requests are read, each
// refusal held for a second (ratelimit.HoldFor), so that its 32
// connections get about 32 answers a second instead of the 2000 they try;
// it holds no --max-in-flight slot, which only authenticated requests take
// (the cap is set to 8 here, below the flood's 32 connections).
//
// The test shares 2 cores with the server, the signed client and whatever
// else the machine runs, so:
//   - the flood comes from a process of its own (TestFloodHelper) and is
//     paced (32 connections, 2000 requests/s in all: 100 times the
//     budget): an unpaced local load generator would measure its own CPU
//     use, not the server;
//   - idle and flooded windows alternate (20 windows of 50 signed calls),
//     so that both see the same background noise, and each p99 is taken
//     over 500 calls;
//   - the idle p99 is floored at 1 ms (below it, scheduler noise sets the
//     tail), and a failing measurement is repeated (3 rounds at most);
//   - under -race the latency bound is not checked (the race detector
//     multiplies the cost of every request); .ci/run runs this test
//     without -race as well;
//   - when even the idle p99 of every round is over 5 ms (an idle server
//     answers GetMeeting in well under 1 ms), the machine is too busy for
//     a latency comparison to mean anything: the latency bound is then
//     skipped with the figures, and the success rate is still enforced.
func TestUnsignedFloodDoesNotStarveSignedCallers(t *testing.T) {
	if testing.Short() {
		t.Skip("load test; runs without -short")
	}
	s := startServer(t, engines(t)[0], "--max-in-flight", "8")
	c := s.client(t)
	m, err := c.CreateMeeting(context.Background(), &chimesdkmeetings.CreateMeetingInput{
		MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("flood")})
	if err != nil {
		t.Fatal(err)
	}
	id := *m.Meeting.MeetingId
	signedRun(t, c, id, 100) // warm-up

	rate := 2000
	if v := os.Getenv("CARILLON_FLOOD_RATE"); v != "" {
		fmt.Sscan(v, &rate)
	}
	fl := startFlood(t, s.Endpoint, rate)

	var passed, quiet bool
	for round := 1; round <= 3 && !passed; round++ {
		var idle, loaded []time.Duration
		loadedOK := 0
		for w := 0; w < 20; w++ {
			fl.set(t, w%2 == 1)
			time.Sleep(50 * time.Millisecond) // the flood starts or drains
			lat, ok := signedRun(t, c, id, 50)
			if w%2 == 1 {
				loaded, loadedOK = append(loaded, lat...), loadedOK+ok
			} else {
				idle = append(idle, lat...)
			}
		}
		fl.set(t, false)
		counts := fl.report(t)
		idleP99 := max(p99(idle), time.Millisecond)
		success := float64(loadedOK) / float64(len(loaded))
		t.Logf("round %d: idle p99 %v; flooded p99 %v, signed success %.1f%%; flood answers so far %v",
			round, p99(idle), p99(loaded), 100*success, counts)
		if counts["429"] == 0 {
			t.Fatalf("the flood was never refused: %v", counts)
		}
		if success < 0.99 {
			t.Fatalf("signed success %.1f%% under the flood, want >= 99%%", 100*success)
		}
		quiet = quiet || p99(idle) <= 5*time.Millisecond
		passed = p99(loaded) <= 2*idleP99
	}
	switch {
	case !passed && raceDetector:
		t.Skip("under -race the detector, not the server, sets the latencies: the latency bound is checked without -race (.ci/run does); the success rate held")
	case !passed && !quiet:
		t.Skip("the machine is too busy to compare latencies (idle p99 > 5 ms in every round; figures above); the success rate held")
	case !passed:
		t.Error("the flood more than doubled the signed client's p99 (figures above)")
	}
}
