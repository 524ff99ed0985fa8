// Command carload drives one Chime SDK Meetings operation against a Carillon
// server (or the bench/cmd/ceiling reference server) at a fixed concurrency
// for a fixed duration, and reports requests/s, latency quantiles and errors
// by status.
//
// Requests are signed exactly as aws-sdk-go-v2 signs them: aws/signer/v4,
// signing name "chime", the SHA-256 of the body as payload hash (no
// X-Amz-Content-Sha256 header, as the Go SDK sends none for this service).
// Each of the -c workers owns no connection of its own: they share one
// keep-alive http.Transport whose idle pool holds more than c connections,
// so after the first request no connection is dialled again.
//
// A run has an untimed setup phase (meetings and attendees created through
// the API: CreateMeeting, then BatchCreateAttendee with 100 attendees per
// call), an optional warm-up whose requests are not recorded, and the timed
// phase. Latency is time.Now() around the round trip (client.Do until the
// response body is read); signing happens before the clock starts.
//
// Usage:
//
//	carload -endpoint http://127.0.0.1:8080 -scenario get-attendee -c 32 -d 5s [-json]
//
// Exit status: 0 on success, 1 when more than -max-error-rate of the timed
// requests failed (any non-2xx status or transport error), 2 on a usage or
// setup failure.
package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Development credentials of Carillon (used when the environment sets none).
const (
	devAccessKeyID     = "carillon-root"
	devSecretAccessKey = "carillon-dev-secret-change-me"
)

var scenarios = []string{
	"get-attendee", "list-attendees", "create-attendee",
	"update-attendee-capabilities", "batch-except", "populate",
}

type config struct {
	endpoint     string
	region       string
	accessKey    string
	secretKey    string
	scenario     string
	c            int
	d            time.Duration
	warmup       time.Duration
	attendees    int
	meetings     int
	excluded     int
	capacity     int
	pageSize     int
	setup        bool
	setupC       int
	idsIn        string
	idsOut       string
	jsonOut      bool
	label        string
	maxErrRate   float64
	timeout      time.Duration
	waitReady    time.Duration
	allowNonLoop bool
	cpuProfile   string
}

func main() {
	cfg := &config{}
	flag.StringVar(&cfg.endpoint, "endpoint", "http://127.0.0.1:8080", "server base URL (loopback only)")
	flag.StringVar(&cfg.region, "region", "us-east-1", "signing region")
	flag.StringVar(&cfg.accessKey, "access-key", envOr("CARILLON_ROOT_ACCESS_KEY_ID", devAccessKeyID), "access key id (default $CARILLON_ROOT_ACCESS_KEY_ID or the development key)")
	flag.StringVar(&cfg.secretKey, "secret-key", envOr("CARILLON_ROOT_SECRET_ACCESS_KEY", devSecretAccessKey), "secret access key (default $CARILLON_ROOT_SECRET_ACCESS_KEY or the development secret)")
	flag.StringVar(&cfg.scenario, "scenario", "get-attendee", "one of: "+strings.Join(scenarios, ", ")+" (populate = setup only, with -ids-out)")
	flag.IntVar(&cfg.c, "c", 1, "concurrent connections (one request in flight each)")
	flag.DurationVar(&cfg.d, "d", 5*time.Second, "timed duration")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "warm-up before the timed phase (requests sent, not recorded)")
	flag.IntVar(&cfg.attendees, "attendees", 250, "attendees per meeting created in setup")
	flag.IntVar(&cfg.meetings, "meetings", 1, "meetings created in setup; requests pick them round-robin")
	flag.IntVar(&cfg.excluded, "excluded", 5, "batch-except: attendees excluded per request (the first ones of the meeting)")
	flag.IntVar(&cfg.capacity, "capacity", 250, "create-attendee: attendees put in one meeting before a fresh meeting is created (the server's per-meeting limit)")
	flag.IntVar(&cfg.pageSize, "page-size", 100, "list-attendees: max-results of each ListAttendees call (first page only)")
	flag.BoolVar(&cfg.setup, "setup", true, "create meetings and attendees through the API; -setup=false uses random IDs without calling the server (for the ceiling server)")
	flag.IntVar(&cfg.setupC, "setup-c", 8, "concurrency of the setup phase")
	flag.StringVar(&cfg.idsIn, "ids-in", "", "reuse meetings/attendees from this file (written by -ids-out) instead of creating them")
	flag.StringVar(&cfg.idsOut, "ids-out", "", "write the meetings/attendees created in setup to this file")
	flag.BoolVar(&cfg.jsonOut, "json", false, "print the result as one JSON object on stdout (the human line goes to stderr)")
	flag.StringVar(&cfg.label, "label", "", "free text copied into the JSON result")
	flag.Float64Var(&cfg.maxErrRate, "max-error-rate", 0.01, "exit 1 when the error fraction exceeds this")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "per-request timeout")
	flag.DurationVar(&cfg.waitReady, "wait-ready", 0, "poll GET /carillon/health/ready for up to this long before starting")
	flag.BoolVar(&cfg.allowNonLoop, "allow-non-loopback", false, "allow an endpoint that is not a loopback address")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write carload's own CPU profile of the timed phase to this file")
	flag.Parse()

	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "carload:", err)
		var le *loadError
		if errors.As(err, &le) {
			os.Exit(1)
		}
		os.Exit(2)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// loadError marks a run that completed but failed its error budget.
type loadError struct{ msg string }

func (e *loadError) Error() string { return e.msg }

// ---------------------------------------------------------------- client

type client struct {
	hc     *http.Client
	base   string
	signer *v4.Signer
	creds  aws.Credentials
	region string
}

func newClient(cfg *config) *client {
	idle := cfg.c*2 + cfg.setupC + 8
	tr := &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          idle,
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ResponseHeaderTimeout: cfg.timeout,
	}
	return &client{
		hc:     &http.Client{Transport: tr, Timeout: cfg.timeout},
		base:   strings.TrimRight(cfg.endpoint, "/"),
		signer: v4.NewSigner(),
		creds:  aws.Credentials{AccessKeyID: cfg.accessKey, SecretAccessKey: cfg.secretKey, Source: "carload"},
		region: cfg.region,
	}
}

// op is one prepared request.
type op struct {
	method string
	path   string // already escaped (IDs are hex and dashes)
	query  string // raw query, without '?'
	body   []byte
	hash   string // hex SHA-256 of body; computed when empty
}

func (cl *client) newRequest(ctx context.Context, o *op) (*http.Request, error) {
	u := cl.base + o.path
	if o.query != "" {
		u += "?" + o.query
	}
	var body io.Reader = http.NoBody
	if o.body != nil {
		body = bytes.NewReader(o.body)
	}
	req, err := http.NewRequestWithContext(ctx, o.method, u, body)
	if err != nil {
		return nil, err
	}
	hash := o.hash
	if o.body != nil {
		req.Header.Set("Content-Type", "application/json")
		if hash == "" {
			sum := sha256.Sum256(o.body)
			hash = hex.EncodeToString(sum[:])
		}
	} else {
		hash = emptyPayloadHash
	}
	req.Header.Set("User-Agent", "carillon-carload/1")
	if err := cl.signer.SignHTTP(ctx, cl.creds, req, hash, "chime", cl.region, time.Now().UTC()); err != nil {
		return nil, err
	}
	return req, nil
}

// call sends o and returns the status and (when want) the body.
func (cl *client) call(ctx context.Context, o *op, want bool) (int, []byte, error) {
	req, err := cl.newRequest(ctx, o)
	if err != nil {
		return 0, nil, err
	}
	resp, err := cl.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if want || resp.StatusCode/100 != 2 {
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil, err
}

// ---------------------------------------------------------------- setup

type meeting struct {
	ID        string   `json:"id"`
	Attendees []string `json:"attendees"`
}

type idsFile struct {
	Endpoint string     `json:"endpoint"`
	Meetings []*meeting `json:"meetings"`
}

func uuid4() string {
	var b [16]byte
	if _, err := crand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (cl *client) createMeeting(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]string{
		"ClientRequestToken": uuid4(),
		"ExternalMeetingId":  "carload-" + uuid4()[:8],
		"MediaRegion":        cl.region,
	})
	st, b, err := cl.call(ctx, &op{method: "POST", path: "/meetings", body: body}, true)
	if err != nil {
		return "", fmt.Errorf("CreateMeeting: %w", err)
	}
	if st != 200 {
		return "", fmt.Errorf("CreateMeeting: HTTP %d: %s", st, trunc(b))
	}
	var out struct {
		Meeting struct{ MeetingId string }
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Meeting.MeetingId == "" {
		return "", fmt.Errorf("CreateMeeting: unexpected body %s", trunc(b))
	}
	return out.Meeting.MeetingId, nil
}

func (cl *client) batchCreate(ctx context.Context, mid string, n int, prefix string) ([]string, error) {
	type item struct {
		ExternalUserId string
	}
	var ids []string
	for done := 0; done < n; {
		k := min(100, n-done)
		items := make([]item, k)
		for i := range items {
			items[i].ExternalUserId = fmt.Sprintf("%s-%d", prefix, done+i)
		}
		body, _ := json.Marshal(map[string]any{"Attendees": items})
		st, b, err := cl.call(ctx, &op{method: "POST", path: "/meetings/" + mid + "/attendees", query: "operation=batch-create", body: body}, true)
		if err != nil {
			return nil, fmt.Errorf("BatchCreateAttendee: %w", err)
		}
		if st != 200 {
			return nil, fmt.Errorf("BatchCreateAttendee: HTTP %d: %s", st, trunc(b))
		}
		var out struct {
			Attendees []struct{ AttendeeId string }
			Errors    []json.RawMessage
		}
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, fmt.Errorf("BatchCreateAttendee: unexpected body %s", trunc(b))
		}
		if len(out.Errors) > 0 || len(out.Attendees) != k {
			return nil, fmt.Errorf("BatchCreateAttendee: %d created, %d errors (first: %s)", len(out.Attendees), len(out.Errors), trunc(firstRaw(out.Errors)))
		}
		for _, a := range out.Attendees {
			ids = append(ids, a.AttendeeId)
		}
		done += k
	}
	return ids, nil
}

func firstRaw(r []json.RawMessage) []byte {
	if len(r) == 0 {
		return nil
	}
	return r[0]
}

func trunc(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// setupMeetings creates m meetings of n attendees each, setupC at a time.
func setupMeetings(ctx context.Context, cl *client, m, n, setupC int) ([]*meeting, error) {
	out := make([]*meeting, m)
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range max(1, setupC) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= m {
					return
				}
				mu.Lock()
				failed := firstErr != nil
				mu.Unlock()
				if failed {
					return
				}
				mt, err := func() (*meeting, error) {
					id, err := cl.createMeeting(ctx)
					if err != nil {
						return nil, err
					}
					att, err := cl.batchCreate(ctx, id, n, fmt.Sprintf("m%d", i))
					if err != nil {
						return nil, err
					}
					return &meeting{ID: id, Attendees: att}, nil
				}()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				out[i] = mt
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

func syntheticMeetings(m, n int) []*meeting {
	out := make([]*meeting, m)
	for i := range out {
		mt := &meeting{ID: uuid4()}
		for range n {
			mt.Attendees = append(mt.Attendees, uuid4())
		}
		out[i] = mt
	}
	return out
}

// ---------------------------------------------------------------- scenarios

var capsA = []byte(`{"Audio":"SendReceive","Video":"SendReceive","Content":"SendReceive"}`)
var capsB = []byte(`{"Audio":"Receive","Video":"Receive","Content":"None"}`)

// generator returns the next request for worker w; it may do untimed work
// (create-attendee creates a fresh meeting when the current one is full).
type generator func(ctx context.Context, w *worker) (*op, error)

type worker struct {
	id  int
	rng *rand.Rand
	// create-attendee state
	meetingID string
	used      int
	seq       int
}

func withHash(o *op) *op {
	if o.body != nil {
		sum := sha256.Sum256(o.body)
		o.hash = hex.EncodeToString(sum[:])
	}
	return o
}

func buildGenerator(cfg *config, cl *client, ms []*meeting) (generator, error) {
	var counter atomic.Uint64
	switch cfg.scenario {
	case "get-attendee":
		type ref struct{ m, a string }
		var all []ref
		for _, m := range ms {
			for _, a := range m.Attendees {
				all = append(all, ref{m.ID, a})
			}
		}
		if len(all) == 0 {
			return nil, errors.New("get-attendee needs attendees")
		}
		return func(_ context.Context, w *worker) (*op, error) {
			r := all[w.rng.IntN(len(all))]
			return &op{method: "GET", path: "/meetings/" + r.m + "/attendees/" + r.a}, nil
		}, nil

	case "list-attendees":
		q := "max-results=" + strconv.Itoa(cfg.pageSize)
		ops := make([]*op, len(ms))
		for i, m := range ms {
			ops[i] = &op{method: "GET", path: "/meetings/" + m.ID + "/attendees", query: q}
		}
		return func(_ context.Context, w *worker) (*op, error) {
			return ops[int(counter.Add(1)-1)%len(ops)], nil
		}, nil

	case "update-attendee-capabilities":
		// Attendees are visited in turn, and each pass over all of them
		// flips to the other capability triple, so every request changes
		// the attendee it targets.
		type ref struct{ m, a string }
		var all []ref
		for _, m := range ms {
			for _, a := range m.Attendees {
				all = append(all, ref{m.ID, a})
			}
		}
		if len(all) == 0 {
			return nil, errors.New("update-attendee-capabilities needs attendees")
		}
		bodies := [2]*op{
			withHash(&op{body: append(append([]byte(`{"Capabilities":`), capsA...), '}')}),
			withHash(&op{body: append(append([]byte(`{"Capabilities":`), capsB...), '}')}),
		}
		return func(_ context.Context, w *worker) (*op, error) {
			k := int(counter.Add(1) - 1)
			r := all[k%len(all)]
			b := bodies[(k/len(all))%2]
			return &op{method: "PUT", path: "/meetings/" + r.m + "/attendees/" + r.a + "/capabilities", body: b.body, hash: b.hash}, nil
		}, nil

	case "batch-except":
		// Request k goes to meeting k mod M and applies triple (k / M) mod 2:
		// successive requests on one meeting alternate between two triples,
		// so each one rewrites every non-excluded attendee.
		type pair [2]*op
		ops := make([]pair, len(ms))
		for i, m := range ms {
			if len(m.Attendees) <= cfg.excluded {
				return nil, fmt.Errorf("batch-except: meeting has %d attendees, need more than -excluded %d", len(m.Attendees), cfg.excluded)
			}
			var ex []map[string]string
			for _, a := range m.Attendees[:cfg.excluded] {
				ex = append(ex, map[string]string{"AttendeeId": a})
			}
			for j, caps := range [][]byte{capsA, capsB} {
				body, _ := json.Marshal(map[string]any{"Capabilities": json.RawMessage(caps), "ExcludedAttendeeIds": ex})
				ops[i][j] = withHash(&op{method: "PUT", path: "/meetings/" + m.ID + "/attendees/capabilities", query: "operation=batch-update-except", body: body})
			}
		}
		return func(_ context.Context, w *worker) (*op, error) {
			k := int(counter.Add(1) - 1)
			return ops[k%len(ops)][(k/len(ops))%2], nil
		}, nil

	case "create-attendee":
		// Each worker fills its own meeting up to -capacity attendees, then
		// creates a fresh one (untimed: the CreateMeeting call is neither
		// counted nor timed).
		var synthetic []string
		if !cfg.setup {
			for _, m := range ms {
				synthetic = append(synthetic, m.ID)
			}
		}
		var mcount atomic.Int64
		return func(ctx context.Context, w *worker) (*op, error) {
			if w.meetingID == "" || w.used >= cfg.capacity {
				if synthetic != nil {
					w.meetingID = synthetic[w.id%len(synthetic)]
				} else {
					id, err := cl.createMeeting(ctx)
					if err != nil {
						return nil, err
					}
					mcount.Add(1)
					w.meetingID = id
				}
				w.used = 0
			}
			w.used++
			w.seq++
			body := []byte(`{"ExternalUserId":"w` + strconv.Itoa(w.id) + `-` + strconv.Itoa(w.seq) + `-` + w.meetingID[:8] + `"}`)
			return &op{method: "POST", path: "/meetings/" + w.meetingID + "/attendees", body: body}, nil
		}, nil
	}
	return nil, fmt.Errorf("unknown scenario %q (want one of %s)", cfg.scenario, strings.Join(scenarios, ", "))
}

// ---------------------------------------------------------------- run

type result struct {
	Label     string  `json:"label,omitempty"`
	Scenario  string  `json:"scenario"`
	Endpoint  string  `json:"endpoint"`
	C         int     `json:"c"`
	Meetings  int     `json:"meetings"`
	Attendees int     `json:"attendees"`
	Excluded  int     `json:"excluded,omitempty"`
	SetupS    float64 `json:"setup_s"`
	DurationS float64 `json:"duration_s"`
	Requests  uint64  `json:"requests"`
	// RequestsTotal includes the warm-up; the CPU figures divide by it.
	RequestsTotal uint64 `json:"requests_total"`
	// ClientCPUus is carload's own CPU time (user+system) per request over
	// warm-up and timed phase: the share of the shared cores it used.
	ClientCPUus float64        `json:"client_cpu_us_per_req"`
	RPS         float64        `json:"rps"`
	MeanMs      float64        `json:"mean_ms"`
	P50Ms       float64        `json:"p50_ms"`
	P90Ms       float64        `json:"p90_ms"`
	P99Ms       float64        `json:"p99_ms"`
	MaxMs       float64        `json:"max_ms"`
	Errors      map[string]int `json:"errors"`
	ErrorCount  uint64         `json:"error_count"`
	ErrorRate   float64        `json:"error_rate"`
	FirstError  string         `json:"first_error,omitempty"`
}

func checkLoopback(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bad -endpoint %q", endpoint)
	}
	h := u.Hostname()
	if h == "localhost" {
		return nil
	}
	ip := net.ParseIP(h)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-endpoint %q is not a loopback address (use -allow-non-loopback to override)", endpoint)
	}
	return nil
}

func waitReady(cl *client, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		resp, err := cl.hc.Get(cl.base + "/carillon/health/ready")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server at %s not ready after %s (last: %v)", cl.base, d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func run(cfg *config) error {
	if cfg.c < 1 || cfg.d <= 0 && cfg.scenario != "populate" {
		return errors.New("-c must be >= 1 and -d > 0")
	}
	if !cfg.allowNonLoop {
		if err := checkLoopback(cfg.endpoint); err != nil {
			return err
		}
	}
	cl := newClient(cfg)
	ctx := context.Background()
	if cfg.waitReady > 0 {
		if err := waitReady(cl, cfg.waitReady); err != nil {
			return err
		}
	}
	ms, setupS, err := setup(ctx, cfg, cl)
	if err != nil {
		return err
	}
	if cfg.scenario == "populate" {
		reportPopulate(cfg, ms, setupS)
		return nil
	}
	gen, err := buildGenerator(cfg, cl, ms)
	if err != nil {
		return err
	}
	l, err := measure(ctx, cfg, cl, gen)
	if err != nil {
		return err
	}
	res := l.result(cfg, ms, setupS)
	if err := printResult(cfg, res); err != nil {
		return err
	}
	if res.Requests == 0 {
		return &loadError{"no request completed"}
	}
	if res.ErrorRate > cfg.maxErrRate {
		return &loadError{fmt.Sprintf("error rate %.2f%% exceeds %.2f%%", res.ErrorRate*100, cfg.maxErrRate*100)}
	}
	return nil
}

// setup gets the meetings to load (untimed): read from -ids-in, made up
// (-setup=false), or created; it writes them to -ids-out when asked.
func setup(ctx context.Context, cfg *config, cl *client) ([]*meeting, float64, error) {
	setupStart := time.Now()
	var ms []*meeting
	switch {
	case cfg.idsIn != "":
		b, err := os.ReadFile(cfg.idsIn)
		if err != nil {
			return nil, 0, err
		}
		var f idsFile
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", cfg.idsIn, err)
		}
		ms = f.Meetings
	case !cfg.setup:
		ms = syntheticMeetings(cfg.meetings, cfg.attendees)
	case cfg.scenario == "create-attendee":
		// Meetings are created by the workers as they fill up.
	default:
		var err error
		ms, err = setupMeetings(ctx, cl, cfg.meetings, cfg.attendees, cfg.setupC)
		if err != nil {
			return nil, 0, fmt.Errorf("setup: %w", err)
		}
	}
	setupS := time.Since(setupStart).Seconds()
	if cfg.idsOut != "" {
		b, _ := json.Marshal(idsFile{Endpoint: cfg.endpoint, Meetings: ms})
		if err := os.WriteFile(cfg.idsOut, b, 0o644); err != nil {
			return nil, 0, err
		}
	}
	return ms, setupS, nil
}

// reportPopulate reports what the populate scenario created.
func reportPopulate(cfg *config, ms []*meeting, setupS float64) {
	n := 0
	for _, m := range ms {
		n += len(m.Attendees)
	}
	fmt.Fprintf(os.Stderr, "populate: %d meetings, %d attendees in %.1fs\n", len(ms), n, setupS)
	if cfg.jsonOut {
		json.NewEncoder(os.Stdout).Encode(map[string]any{"scenario": "populate", "meetings": len(ms), "attendees": n, "setup_s": setupS})
	}
}

// load is what the timed phase measured, per worker.
type load struct {
	measureStart, end time.Time
	hists             []*hist
	errs              []map[string]int
	lastDone          []time.Time
	firstErr          atomic.Value
	total             atomic.Uint64
	cpuUsed           time.Duration
}

// measure runs the timed phase: -c workers, each with one request in flight,
// for the warm-up and then -d.
func measure(ctx context.Context, cfg *config, cl *client, gen generator) (*load, error) {
	start := time.Now()
	l := &load{measureStart: start.Add(cfg.warmup)}
	l.end = l.measureStart.Add(cfg.d)
	l.hists = make([]*hist, cfg.c)
	l.errs = make([]map[string]int, cfg.c)
	l.lastDone = make([]time.Time, cfg.c)
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	for i := range cfg.c {
		l.hists[i] = &hist{}
		l.errs[i] = map[string]int{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			l.work(ctx, cl, gen, i)
		}(i)
	}
	wg.Wait()
	l.cpuUsed = cpuTime() - cpu0
	return l, nil
}

// work is worker i: it sends requests until the end of the timed phase and
// records those that started after the warm-up.
func (l *load) work(ctx context.Context, cl *client, gen generator, i int) {
	w := &worker{id: i, rng: rand.New(rand.NewPCG(uint64(i)+1, uint64(time.Now().UnixNano())))}
	h, em := l.hists[i], l.errs[i]
	for !time.Now().After(l.end) {
		o, err := gen(ctx, w)
		if err != nil {
			if time.Now().After(l.measureStart) {
				em["setup-error"]++
			}
			l.firstErr.CompareAndSwap(nil, err.Error())
			time.Sleep(10 * time.Millisecond)
			continue
		}
		req, err := cl.newRequest(ctx, o)
		if err != nil {
			l.firstErr.CompareAndSwap(nil, err.Error())
			em["client-error"]++
			continue
		}
		t0 := time.Now()
		status, errBody, err := send(cl, req)
		t1 := time.Now()
		l.total.Add(1)
		if t0.Before(l.measureStart) {
			continue
		}
		h.record(t1.Sub(t0))
		l.lastDone[i] = t1
		switch {
		case err != nil:
			em["transport"]++
			l.firstErr.CompareAndSwap(nil, err.Error())
		case status/100 != 2:
			em[strconv.Itoa(status)]++
			l.firstErr.CompareAndSwap(nil, fmt.Sprintf("HTTP %d: %s", status, trunc(errBody)))
		}
	}
}

// send sends one request and reads the whole answer; the body is kept only
// when the status is not 2xx.
func send(cl *client, req *http.Request) (status int, errBody []byte, err error) {
	resp, err := cl.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	if status/100 != 2 {
		errBody, err = io.ReadAll(resp.Body)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	return status, errBody, err
}

// result sums up the workers' measurements.
func (l *load) result(cfg *config, ms []*meeting, setupS float64) result {
	var all hist
	errMap := map[string]int{}
	var nErr uint64
	finish := l.end
	for i := range cfg.c {
		all.merge(l.hists[i])
		for k, v := range l.errs[i] {
			errMap[k] += v
			nErr += uint64(v)
		}
		if l.lastDone[i].After(finish) {
			finish = l.lastDone[i]
		}
	}
	elapsed := finish.Sub(l.measureStart).Seconds()
	ms2 := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	res := result{
		Label: cfg.label, Scenario: cfg.scenario, Endpoint: cfg.endpoint, C: cfg.c,
		Meetings: len(ms), Attendees: cfg.attendees, SetupS: setupS,
		DurationS: elapsed, Requests: all.n, Errors: errMap, ErrorCount: nErr,
		RequestsTotal: l.total.Load(),
	}
	if n := l.total.Load(); n > 0 {
		res.ClientCPUus = float64(l.cpuUsed.Microseconds()) / float64(n)
	}
	if cfg.scenario == "batch-except" {
		res.Excluded = cfg.excluded
	}
	if cfg.idsIn != "" && len(ms) > 0 {
		res.Attendees = len(ms[0].Attendees)
	}
	if all.n > 0 {
		res.RPS = float64(all.n) / elapsed
		res.MeanMs = float64(all.sum) / float64(all.n) / 1e6
		res.P50Ms = ms2(all.quantile(0.50))
		res.P90Ms = ms2(all.quantile(0.90))
		res.P99Ms = ms2(all.quantile(0.99))
		res.MaxMs = ms2(time.Duration(all.max))
		res.ErrorRate = float64(nErr) / float64(all.n)
	}
	if v, ok := l.firstErr.Load().(string); ok {
		res.FirstError = v
	}
	return res
}

// printResult prints the result: one human line, and the JSON record on
// stdout with -json.
func printResult(cfg *config, res result) error {
	human := fmt.Sprintf("%s c=%d %.2fs: %d req, %.0f req/s, p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms, errors %s",
		res.Scenario, res.C, res.DurationS, res.Requests, res.RPS, res.P50Ms, res.P90Ms, res.P99Ms, res.MaxMs, fmtErrors(res.Errors))
	if res.FirstError != "" {
		human += " (first: " + res.FirstError + ")"
	}
	if !cfg.jsonOut {
		fmt.Println(human)
		return nil
	}
	fmt.Fprintln(os.Stderr, human)
	return json.NewEncoder(os.Stdout).Encode(res)
}

func fmtErrors(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
