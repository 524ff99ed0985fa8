package media

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/meetings"
)

// fakeClock fires timers only when advanced.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// advance moves time forward and runs the timers that come due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.now) {
			t.stopped = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// fakeDomain records what the hub asks of the domain.
type fakeDomain struct {
	mu       sync.Mutex
	caps     map[string]meetings.Capabilities
	presence []string
	ended    []string
}

func (d *fakeDomain) RecordPresence(_ context.Context, meetingID, attendeeID, event string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.presence = append(d.presence, attendeeID+" "+event)
	return nil
}

func (d *fakeDomain) EndMeeting(_ context.Context, meetingID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ended = append(d.ended, meetingID)
	return nil
}

func (d *fakeDomain) LiveCapabilities(_ context.Context, _ string, ids []string) (map[string]meetings.Capabilities, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]meetings.Capabilities{}
	for _, id := range ids {
		if c, ok := d.caps[id]; ok {
			out[id] = c
		}
	}
	return out, nil
}

func (d *fakeDomain) snapshot() (presence, ended []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.presence...), append([]string(nil), d.ended...)
}

// fakeClient records what a session is told.
type fakeClient struct {
	mu       sync.Mutex
	presence []Presence
	data     []DataMessage
	status   int
	closed   int
}

func (c *fakeClient) Presence(e []Presence) {
	c.mu.Lock()
	c.presence = append(c.presence, e...)
	c.mu.Unlock()
}
func (c *fakeClient) Index(Index)           {}
func (c *fakeClient) Metadata([]AudioLevel) {}
func (c *fakeClient) Data(m []DataMessage)  { c.mu.Lock(); c.data = append(c.data, m...); c.mu.Unlock() }
func (c *fakeClient) End(status int)        { c.mu.Lock(); c.status = status; c.mu.Unlock() }
func (c *fakeClient) Close(code int, _ string) {
	c.mu.Lock()
	c.closed = code
	c.mu.Unlock()
}

func newTestHub(t *testing.T, idle time.Duration) (*Hub, *fakeClock, *fakeDomain) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	clock := &fakeClock{now: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	dom := &fakeDomain{}
	return NewHub(ctx, Config{Domain: dom, IdleTimeout: idle, Clock: clock}), clock, dom
}

func grant(meeting, attendee string, endsAt time.Time) JoinRequest {
	all := meetings.Capabilities{Audio: meetings.SendReceive, Video: meetings.SendReceive, Content: meetings.SendReceive}
	return JoinRequest{Grant: meetings.JoinGrant{MeetingID: meeting, AttendeeID: attendee, ExternalUserID: "ext-" + attendee,
		EndsAt: endsAt, Capabilities: all}}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The idle timer (D20) runs from creation, stops while anyone is joined,
// restarts when the last session leaves, and ends the meeting through the
// domain exactly once.
func TestIdleEnd(t *testing.T) {
	h, clock, dom := newTestHub(t, 5*time.Minute)
	h.OnEvent(meetings.Event{Seq: 1, MeetingID: "m1", Type: meetings.EventMeetingCreated})
	clock.advance(4 * time.Minute)
	s, err := h.Join(grant("m1", "a1", time.Time{}), &fakeClient{})
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(10 * time.Minute)
	if _, ended := dom.snapshot(); len(ended) != 0 {
		t.Fatalf("a meeting with a session ended: %v", ended)
	}
	s.Leave()
	clock.advance(4*time.Minute + 59*time.Second)
	if _, ended := dom.snapshot(); len(ended) != 0 {
		t.Fatalf("ended before the idle timeout: %v", ended)
	}
	clock.advance(time.Second)
	waitFor(t, "the idle end", func() bool { _, e := dom.snapshot(); return len(e) == 1 && e[0] == "m1" })
}

// The meeting's age ends its sessions with 410 at EndsAt.
func TestAgeEnd(t *testing.T) {
	h, clock, _ := newTestHub(t, 0)
	c := &fakeClient{}
	if _, err := h.Join(grant("m1", "a1", clock.Now().Add(time.Hour)), c); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Hour)
	waitFor(t, "410", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.status == StatusMeetingEnded })
	if _, err := h.Join(grant("m1", "a2", clock.Now().Add(time.Hour)), &fakeClient{}); err != nil {
		// A new room may form for a meeting the domain still admits; the
		// domain refuses ended meetings before the hub sees them.
		t.Logf("join after end: %v", err)
	}
}

// A repeated event (local commit and change feed) is applied once; events
// of other meetings do not touch a room.
func TestEventsApplyOnce(t *testing.T) {
	h, _, _ := newTestHub(t, 0)
	a, b := &fakeClient{}, &fakeClient{}
	if _, err := h.Join(grant("m1", "a1", time.Time{}), a); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Join(grant("m1", "a2", time.Time{}), b); err != nil {
		t.Fatal(err)
	}
	h.OnFeedEvent(meetings.Event{Seq: 7, MeetingID: "m2", Type: meetings.EventMeetingDeleted})
	del := meetings.Event{Seq: 8, MeetingID: "m1", Type: meetings.EventAttendeeDeleted, AttendeeID: "a1"}
	h.OnEvent(del)
	h.OnFeedEvent(del)
	if a.status != StatusAttendeeRemoved || b.status != 0 {
		t.Fatalf("statuses a=%d b=%d, want 411 and none", a.status, b.status)
	}
	if got := h.Stats(); got.Sessions != 1 || got.Rooms != 1 {
		t.Fatalf("stats %+v, want 1 room with 1 session", got)
	}
}

// Presence is recorded in order for the history.
func TestPresenceRecorded(t *testing.T) {
	h, _, dom := newTestHub(t, 0)
	s1, _ := h.Join(grant("m1", "a1", time.Time{}), &fakeClient{})
	s1.present = false
	s1.room.connected(s1)
	s1.Disconnected()
	req := grant("m1", "a1", time.Time{})
	req.Content = true
	s2, _ := h.Join(req, &fakeClient{})
	s2.room.connected(s2)
	s2.Leave()
	waitFor(t, "4 presence events", func() bool { p, _ := dom.snapshot(); return len(p) == 4 })
	p, _ := dom.snapshot()
	want := []string{"a1 AttendeeJoined", "a1 AttendeeDropped", "a1 AttendeeContentJoined", "a1 AttendeeContentLeft"}
	for i := range want {
		if p[i] != want[i] {
			t.Fatalf("presence events %v, want %v", p, want)
		}
	}
	if got := h.Connected("m1"); len(got) != 0 {
		sort.Strings(got)
		t.Fatalf("connected after everyone left: %v", got)
	}
}
