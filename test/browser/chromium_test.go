package browser

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
)

// How the suite is switched on and where it finds its tools.
const (
	envEnable   = "CARILLON_BROWSER_TESTS"   // "1" runs the suite
	envChromium = "CARILLON_CHROMIUM"        // the Chromium binary; default: chromium on PATH
	envBundle   = "CARILLON_BROWSER_BUNDLE"  // the esbuild bundle; default: web/dist/bundle.js
	envVerbose  = "CARILLON_BROWSER_VERBOSE" // "1" logs every page event and console line
	envSDKLog   = "CARILLON_BROWSER_SDK_LOG" // the SDK's log level in the page: WARN (default), INFO, DEBUG
)

const skipHelp = `browser tests skipped: set CARILLON_BROWSER_TESTS=1 to run them against headless Chromium.
Everything is set up by:   bash .ci/run
By hand (Debian/Ubuntu, as root for apt-get):
  apt-get install -y chromium
  (cd test/browser/web && npm ci && npm run build)
  CARILLON_BROWSER_TESTS=1 go test -v ./test/browser
Optional: CARILLON_CHROMIUM=/path/to/chromium, CARILLON_BROWSER_BUNDLE=/abs/path/bundle.js,
CARILLON_BROWSER_VERBOSE=1 (log every page event), CARILLON_BROWSER_SDK_LOG=INFO (the SDK's own
log, printed for a failed test). .ci/run runs the suite in a loopback-only
network namespace (unshare -n).`

//go:embed web/index.html
var indexHTML []byte

// harness is what every browser test needs: Chromium's path and the page
// server. It is built once per test binary.
type harness struct {
	browser *chromium
	pageURL string
	verbose bool

	mu   sync.Mutex
	idle []*tab
}

// TestMain stops the shared Chromium after the last test.
func TestMain(m *testing.M) {
	code := m.Run()
	if stopHarness != nil {
		stopHarness()
	}
	os.Exit(code)
}

var (
	stopHarness func()
	harnessOnce sync.Once
	theHarness  *harness
	harnessErr  error
)

// needBrowser skips the test unless the suite is switched on, and fails it
// when it is on but Chromium or the bundle is missing.
func needBrowser(t *testing.T) *harness {
	t.Helper()
	if os.Getenv(envEnable) != "1" {
		t.Skip(skipHelp)
	}
	harnessOnce.Do(func() { theHarness, harnessErr = newHarness() })
	if harnessErr != nil {
		t.Fatalf("%v\n\n%s", harnessErr, skipHelp)
	}
	return theHarness
}

func newHarness() (*harness, error) {
	chromium := os.Getenv(envChromium)
	if chromium == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				chromium = p
				break
			}
		}
	}
	if chromium == "" {
		return nil, fmt.Errorf("no Chromium found: install chromium or set %s", envChromium)
	}
	bundlePath := os.Getenv(envBundle)
	if bundlePath == "" {
		bundlePath = filepath.Join("web", "dist", "bundle.js")
	}
	bundle, err := os.ReadFile(bundlePath)
	if err != nil {
		return nil, fmt.Errorf("the page bundle: %w (build it with: cd test/browser/web && npm ci && npm run build)", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	mux.HandleFunc("GET /bundle.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		// Cacheable, so that a reused tab also reuses V8's compiled code.
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(bundle)
	})
	// The page server lives as long as the test binary; httptest binds it to
	// 127.0.0.1.
	pages := httptest.NewServer(mux)
	dataDir, err := os.MkdirTemp("", "carillon-chromium-")
	if err != nil {
		return nil, err
	}
	started := time.Now()
	browser, err := startChromium(chromium, dataDir)
	if err != nil {
		os.RemoveAll(dataDir)
		return nil, err
	}
	stopHarness = func() {
		browser.kill()
		pages.Close()
		os.RemoveAll(dataDir)
	}
	fmt.Printf("browser: %s (pid %d) ready in %v\n", chromium, browser.cmd.Process.Pid, time.Since(started).Round(time.Millisecond))
	return &harness{browser: browser, pageURL: pages.URL + "/", verbose: os.Getenv(envVerbose) == "1"}, nil
}

// chromiumFlags are the flags proven to run the SDK headless in a
// loopback-only namespace: fake camera and microphone without a prompt,
// loopback ICE candidates as plain IPs (no mDNS names), audio without a user
// gesture, and no background traffic of Chromium's own.
var chromiumFlags = []string{
	"--headless=new",
	"--no-sandbox",
	"--disable-gpu",
	"--use-fake-ui-for-media-stream",
	"--use-fake-device-for-media-stream",
	"--allow-loopback-in-peer-connection",
	"--disable-features=WebRtcHideLocalIpsWithMdns",
	"--autoplay-policy=no-user-gesture-required",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--no-first-run",
	"--no-default-browser-check",
	"--disable-default-apps",
	"--disable-extensions",
	"--mute-audio",
	"--remote-debugging-port=0",
	"--window-size=640,480",
}

// chromium is one Chromium process this test binary started, and the
// chromedp context attached to it.
type chromium struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	ctx    context.Context // the browser's chromedp context
	cancel context.CancelFunc
}

var devtoolsURL = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// startChromium starts Chromium with a fresh profile in dataDir and attaches
// to it over its DevTools WebSocket.
func startChromium(path, dataDir string) (*chromium, error) {
	c := &chromium{stderr: &syncBuffer{}}
	args := append(append([]string{}, chromiumFlags...), "--user-data-dir="+dataDir, "about:blank")
	c.cmd = exec.Command(path, args...)
	// Its own process group, so that kill ends the renderers and helpers this
	// Chromium forked and nothing else; Pdeathsig covers a test binary that
	// dies first.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	wsURL := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			c.stderr.Write([]byte(line + "\n"))
			if m := devtoolsURL.FindStringSubmatch(line); m != nil && !sent {
				wsURL <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, stderr)
		close(wsURL)
	}()
	var url string
	select {
	case u, ok := <-wsURL:
		if !ok {
			c.kill()
			return nil, fmt.Errorf("chromium exited before DevTools was ready:\n%s", tail(c.stderr.String(), 4000))
		}
		url = u
	case <-time.After(30 * time.Second):
		c.kill()
		return nil, fmt.Errorf("chromium did not open DevTools in 30s:\n%s", tail(c.stderr.String(), 4000))
	}
	allocCtx, cancelAlloc := remote.NewAllocator(context.Background(), url, remote.NoModifyURL)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	c.cancel = func() { cancelBrowser(); cancelAlloc() }
	// The first action attaches to the browser, which then lives as long as
	// the context it ran with: run it on browserCtx itself.
	if err := chromedp.Do(browserCtx); err != nil {
		c.kill()
		return nil, fmt.Errorf("attaching to chromium: %w", err)
	}
	c.ctx = browserCtx
	return c, nil
}

// kill ends the Chromium process group this test started, and reaps it.
func (c *chromium) kill() {
	if c.cancel != nil {
		c.cancel()
	}
	if c.cmd != nil && c.cmd.Process != nil {
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		c.cmd.Wait()
	}
}

// page is one attendee: a tab in a browser context of its own (own
// storage, cache, media devices and permissions), in the Chromium the test
// binary shares. Separate contexts isolate attendees as separate users are
// isolated, and sharing one process saves a Chromium start (2–5 s on 2
// busy cores) per attendee; each tab opens the fake camera for itself.
// Within a test no two pages share a tab; across tests tabs are reused.
type page struct {
	t    *testing.T
	name string
	h    *harness
	tab  *tab
	ctx  context.Context // the tab's chromedp context

	mu      sync.Mutex
	events  []event
	console []string
}

// newPage opens a tab in a new browser context and loads the harness page.
// The tab and its context close when the test ends.
func (h *harness) newPage(t *testing.T, name string) *page {
	t.Helper()
	return h.newPages(t, name)[0]
}

// newPages opens one page per name, concurrently.
func (h *harness) newPages(t *testing.T, names ...string) []*page {
	t.Helper()
	pages := make([]*page, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		pages[i] = &page{t: t, name: name, h: h}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = pages[i].open()
		}()
	}
	wg.Wait()
	for _, p := range pages {
		if p.tab != nil {
			t.Cleanup(func() {
				if t.Failed() {
					p.dump()
				}
				h.release(p)
			})
		}
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return pages
}

// tab is an open tab in a browser context of its own. Tabs outlive tests:
// a test's pages go back to the harness when it ends, and the next test
// only pays for a page load (with the bundle in the context's cache).
type tab struct {
	ctx     context.Context
	cancel  context.CancelFunc
	current atomic.Pointer[page] // the page the tab's events belong to
}

// takeTab reuses an idle tab, or opens one.
func (h *harness) takeTab() (*tab, bool, error) {
	h.mu.Lock()
	if n := len(h.idle); n > 0 {
		tb := h.idle[n-1]
		h.idle = h.idle[:n-1]
		h.mu.Unlock()
		return tb, true, nil
	}
	h.mu.Unlock()
	tb := &tab{}
	ctx, cancel := chromedp.NewContext(h.browser.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(func(ev any) {
		if p := tb.current.Load(); p != nil {
			p.onEvent(ev)
		}
	}))
	// As for the browser: the first action opens the tab for ctx's life.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		return nil, false, fmt.Errorf("opening a tab: %w", err)
	}
	tb.ctx, tb.cancel = ctx, cancel
	return tb, false, nil
}

// release ends p's session by leaving the page, without waiting for the
// navigation (the next load waits for its own), and keeps its tab for the
// next test; a tab that does not answer is closed instead.
func (h *harness) release(p *page) {
	tb := p.tab
	tb.current.Store(nil)
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`location.replace("about:blank")`)); err != nil {
		tb.cancel()
		return
	}
	h.mu.Lock()
	h.idle = append(h.idle, tb)
	h.mu.Unlock()
}

// open gives p a tab and loads the harness page in it.
func (p *page) open() error {
	started := time.Now()
	tb, reused, err := p.h.takeTab()
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	p.tab, p.ctx = tb, tb.ctx
	tb.current.Store(p)
	if err := p.load(); err != nil {
		return err
	}
	how := "new tab"
	if reused {
		how = "reused tab"
	}
	p.t.Logf("%s: page ready in %v (%s)", p.name, time.Since(started).Round(time.Millisecond), how)
	return nil
}

// load navigates p to the harness page and waits for its script.
func (p *page) load() error {
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(p.h.pageURL)); err != nil {
		return fmt.Errorf("%s: loading the harness page: %w", p.name, err)
	}
	p.mu.Lock()
	p.events = nil
	p.mu.Unlock()
	if _, ok := p.tryWaitFor(30*time.Second, isType("pageReady")); !ok {
		return fmt.Errorf("%s: the harness page did not load in 30s", p.name)
	}
	return nil
}

// onEvent keeps the page's console output and uncaught exceptions.
func (p *page) onEvent(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range ev.Args {
			if a.Value != nil {
				var s string
				if json.Unmarshal(a.Value, &s) == nil {
					parts = append(parts, s)
					continue
				}
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		p.logConsole(string(ev.Type) + ": " + strings.Join(parts, " "))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		p.logConsole(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
	}
}

func (p *page) logConsole(line string) {
	p.mu.Lock()
	p.console = append(p.console, line)
	if len(p.console) > 400 {
		p.console = p.console[len(p.console)-400:]
	}
	p.mu.Unlock()
	if p.h.verbose {
		p.t.Logf("%s console %s", p.name, line)
	}
}

// dump logs what the page saw, for a failed test.
func (p *page) dump() {
	p.poll()
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	volumes := 0
	for _, e := range p.events {
		if e.Type == "volume" {
			volumes++
			continue
		}
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	p.t.Logf("%s: events (%d volume events omitted):\n%s", p.name, volumes, b.String())
	p.t.Logf("%s: console (tail):\n%s", p.name, tail(strings.Join(p.console, "\n"), 8000))
}

// eval runs a JavaScript expression in the page, awaits it when it is a
// promise, and decodes its JSON value into out (nil to discard).
func (p *page) eval(expr string, out any) error {
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("%s: evaluating %.80q: %w", p.name, expr, err)
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func (p *page) mustEval(expr string, out any) {
	p.t.Helper()
	if err := p.eval(expr, out); err != nil {
		p.t.Fatal(err)
	}
}

// join starts the attendee's meeting session; it returns at once, and the
// test waits for the events it expects.
func (p *page) join(j joinInfo, opts joinOptions) {
	p.t.Helper()
	if opts.LogLevel == "" {
		opts.LogLevel = os.Getenv(envSDKLog)
	}
	o, err := json.Marshal(opts)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mustEval(fmt.Sprintf("window.carillon.join(%s, %s)", j.json(p.t), o), nil)
}

// joinOptions are the page's join options (see web/entry.js).
type joinOptions struct {
	Hz                        int      `json:"hz,omitempty"`
	Mic                       bool     `json:"mic,omitempty"`
	Camera                    bool     `json:"camera,omitempty"`
	AttendeePresenceTimeoutMs int      `json:"attendeePresenceTimeoutMs,omitempty"`
	ConnectionTimeoutMs       int      `json:"connectionTimeoutMs,omitempty"`
	ReconnectTimeoutMs        int      `json:"reconnectTimeoutMs,omitempty"`
	DataTopics                []string `json:"dataTopics,omitempty"`
	LogLevel                  string   `json:"logLevel,omitempty"`
}

// event is one entry of window.carillon.events; each type fills the
// fields it has.
type event struct {
	Type string  `json:"type"`
	T    float64 `json:"t"` // ms since the page loaded

	// audioVideoDidStartConnecting
	Reconnecting bool `json:"reconnecting"`

	// audioVideoDidStop
	Code     int    `json:"code"`
	Name     string `json:"name"`
	Terminal bool   `json:"terminal"`
	Failure  bool   `json:"failure"`

	// presence, volume
	AttendeeID     string  `json:"attendeeId"`
	Present        bool    `json:"present"`
	ExternalUserID string  `json:"externalUserId"`
	Dropped        bool    `json:"dropped"`
	Volume         float64 `json:"volume"`
	Muted          *bool   `json:"muted"`
	SignalStrength float64 `json:"signalStrength"`

	// videoTileDidUpdate, videoTileWasRemoved
	TileID              int    `json:"tileId"`
	LocalTile           bool   `json:"localTile"`
	IsContent           bool   `json:"isContent"`
	Active              bool   `json:"active"`
	Paused              bool   `json:"paused"`
	BoundAttendeeID     string `json:"boundAttendeeId"`
	BoundExternalUserID string `json:"boundExternalUserId"`
	StreamID            int    `json:"streamId"`
	GroupID             int    `json:"groupId"`

	// videoAvailabilityDidChange
	CanStartLocalVideo   bool `json:"canStartLocalVideo"`
	RemoteVideoAvailable bool `json:"remoteVideoAvailable"`

	// websocket, websocketOpen, websocketClose
	Path   string `json:"path"`
	Reason string `json:"reason"`

	// dataMessage
	Topic                string  `json:"topic"`
	Text                 string  `json:"text"`
	SenderAttendeeID     string  `json:"senderAttendeeId"`
	SenderExternalUserID string  `json:"senderExternalUserId"`
	Throttled            bool    `json:"throttled"`
	TimestampMs          float64 `json:"timestampMs"`

	// error, fatalError, websocketOpen
	Message  string `json:"message"`
	Where    string `json:"where"`
	Protocol string `json:"protocol"`
}

func (e event) String() string {
	b, _ := json.Marshal(e)
	// Drop zero fields for readability.
	var m map[string]any
	json.Unmarshal(b, &m)
	for k, v := range m {
		switch v := v.(type) {
		case string:
			if v == "" {
				delete(m, k)
			}
		case float64:
			if v == 0 && k != "t" {
				delete(m, k)
			}
		case bool:
			if !v {
				delete(m, k)
			}
		case nil:
			delete(m, k)
		}
	}
	out, _ := json.Marshal(m)
	return string(out)
}

// poll appends the page's new events to p.events.
func (p *page) poll() {
	p.mu.Lock()
	n := len(p.events)
	p.mu.Unlock()
	var fresh []event
	if err := p.eval(fmt.Sprintf("window.carillon ? window.carillon.since(%d) : []", n), &fresh); err != nil {
		p.t.Logf("%s: polling events: %v", p.name, err)
		return
	}
	p.mu.Lock()
	p.events = append(p.events, fresh...)
	p.mu.Unlock()
	if p.h.verbose {
		for _, e := range fresh {
			if e.Type != "volume" {
				p.t.Logf("%s event %s", p.name, e)
			}
		}
	}
}

// find returns the first event seen so far that matches.
func (p *page) find(match func(event) bool) (event, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.events {
		if match(e) {
			return e, true
		}
	}
	return event{}, false
}

// all returns every event seen so far that matches.
func (p *page) all(match func(event) bool) []event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []event
	for _, e := range p.events {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// waitFor polls until an event matches, and fails the test after timeout.
func (p *page) waitFor(timeout time.Duration, what string, match func(event) bool) event {
	p.t.Helper()
	e, ok := p.tryWaitFor(timeout, match)
	if !ok {
		p.t.Fatalf("%s: no %s within %v", p.name, what, timeout)
	}
	return e
}

// tryWaitFor is waitFor that reports a timeout instead of failing.
func (p *page) tryWaitFor(timeout time.Duration, match func(event) bool) (event, bool) {
	deadline := time.Now().Add(timeout)
	for {
		p.poll()
		if e, ok := p.find(match); ok {
			return e, true
		}
		if time.Now().After(deadline) {
			return event{}, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Matchers for the common events.

func isType(typ string) func(event) bool {
	return func(e event) bool { return e.Type == typ }
}

func isStop(e event) bool { return e.Type == "audioVideoDidStop" }

func isPresence(attendeeID string, present bool) func(event) bool {
	return func(e event) bool { return e.Type == "presence" && e.AttendeeID == attendeeID && e.Present == present }
}

// reload loads a fresh copy of the harness page in the same tab, for a new
// session, and forgets the old page's events.
func (p *page) reload() {
	p.t.Helper()
	if err := p.load(); err != nil {
		p.t.Fatal(err)
	}
}
