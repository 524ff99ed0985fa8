package browser

import (
	"strings"
	"testing"
	"time"
)

// The join and the meeting's life, as the unmodified SDK sees them (issue 10).

// startWithin is how long the SDK may take from start() to
// audioVideoDidStart in the tests that measure the join (issue 10 asks for
// 5 s); the other tests only need the session up, within the SDK's own
// 15 s connection timeout, so that a loaded machine does not fail them.
const (
	startWithin    = 5 * time.Second
	sdkConnTimeout = 15 * time.Second
)

// joined waits until p's session has started and returns how long it took
// from the start() call, as the page measured it.
func (p *page) joined() time.Duration {
	p.t.Helper()
	started := p.waitFor(sdkConnTimeout+2*time.Second, "audioVideoDidStart", func(e event) bool {
		return e.Type == "audioVideoDidStart" || isStop(e)
	})
	if started.Type != "audioVideoDidStart" {
		p.t.Fatalf("%s: the session stopped before it started: %s", p.name, started)
	}
	called, _ := p.find(isType("startCalled"))
	return time.Duration(started.T-called.T) * time.Millisecond
}

// joinedWithin is joined that fails the test when the start took longer
// than limit.
func (p *page) joinedWithin(limit time.Duration) time.Duration {
	p.t.Helper()
	took := p.joined()
	if took > limit {
		p.t.Errorf("%s: audioVideoDidStart %v after start(), want ≤ %v", p.name, took, limit)
	}
	return took
}

// stopped waits for the session to end with the given status name, within
// timeout, and returns the event.
func (p *page) stopped(timeout time.Duration, status string) event {
	p.t.Helper()
	e := p.waitFor(timeout, "audioVideoDidStop("+status+")", isStop)
	if e.Name != status {
		p.t.Fatalf("%s: audioVideoDidStop(%s), want %s", p.name, e.Name, status)
	}
	return e
}

// TestHarnessReachesSignaling checks the harness itself: Chromium starts, the
// page loads the bundled SDK, the SDK builds a DefaultMeetingSession from
// Carillon's CreateMeeting/CreateAttendee responses, and start() opens a
// WebSocket to the meeting's SignalingUrl on the Carillon server.
func TestHarnessReachesSignaling(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	alice := s.createAttendee(t, m, "ext-alice")
	p := h.newPage(t, "alice")
	p.join(alice, joinOptions{})
	p.waitFor(5*time.Second, "sessionCreated for alice", func(e event) bool {
		return e.Type == "sessionCreated" && e.AttendeeID == alice.attendeeID()
	})
	ws := p.waitFor(5*time.Second, "a signaling WebSocket", isType("websocket"))
	if want := "/carillon/control/" + alice.meetingID(); !strings.HasSuffix(ws.Path, want) || !strings.HasPrefix(ws.Path, "ws://127.0.0.1:") {
		t.Fatalf("WebSocket to %q, want ws://<server>%s", ws.Path, want)
	}
	if e, ok := p.find(isType("error")); ok {
		t.Fatalf("page error: %s", e)
	}
}

// TestTwoAttendeesJoin: two browsers join one meeting; each reaches
// audioVideoDidStart within 5 s and sees both attendees present with their
// ExternalUserIds.
func TestTwoAttendeesJoin(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	alice := s.createAttendee(t, m, "ext-alice")
	bob := s.createAttendee(t, m, "ext-bob")
	pa, pb := two(h.newPages(t, "alice", "bob"))
	pa.join(alice, joinOptions{})
	pb.join(bob, joinOptions{})
	t.Logf("alice started in %v, bob in %v", pa.joinedWithin(startWithin), pb.joinedWithin(startWithin))
	for _, p := range []*page{pa, pb} {
		for _, j := range []joinInfo{alice, bob} {
			e := p.waitFor(5*time.Second, "presence of "+j.attendeeID(), isPresence(j.attendeeID(), true))
			if want := *j.Attendee.ExternalUserId; e.ExternalUserID != want {
				t.Errorf("%s sees %s present with ExternalUserId %q, want %q", p.name, j.attendeeID(), e.ExternalUserID, want)
			}
		}
	}
}

// TestJoinWithAttendeePresenceTimeout: with attendeePresenceTimeoutMs set,
// the SDK also waits for its own presence before audioVideoDidStart.
func TestJoinWithAttendeePresenceTimeout(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	alice := s.createAttendee(t, m, "ext-alice")
	p := h.newPage(t, "alice")
	p.join(alice, joinOptions{AttendeePresenceTimeoutMs: 5000})
	t.Logf("alice started in %v", p.joinedWithin(startWithin))
	self, ok := p.find(isPresence(alice.attendeeID(), true))
	if !ok {
		t.Fatal("audioVideoDidStart before alice's own presence")
	}
	if self.ExternalUserID != "ext-alice" {
		t.Errorf("own presence with ExternalUserId %q, want ext-alice", self.ExternalUserID)
	}
}

// TestStopLeaves: stop() ends the session with Left within 2 s, and the
// other attendee sees a clean leave (present=false, dropped=false).
func TestStopLeaves(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	alice := s.createAttendee(t, m, "ext-alice")
	bob := s.createAttendee(t, m, "ext-bob")
	pa, pb := two(h.newPages(t, "alice", "bob"))
	pa.join(alice, joinOptions{})
	pb.join(bob, joinOptions{})
	pa.joined()
	pb.joined()
	pb.waitFor(5*time.Second, "alice's presence", isPresence(alice.attendeeID(), true))

	pa.mustEval("window.carillon.stop()", nil)
	stop := pa.stopped(2*time.Second, "Left")
	if stop.Failure {
		t.Errorf("Left reported as a failure: %s", stop)
	}
	left := pb.waitFor(2*time.Second, "alice leaving", isPresence(alice.attendeeID(), false))
	if left.Dropped {
		t.Errorf("bob sees alice's clean leave as dropped: %s", left)
	}
	// Bob's session is untouched.
	if e, ok := pb.find(isStop); ok {
		t.Errorf("bob's session stopped: %s", e)
	}
}

// TestClosedTabDrops: an attendee whose page goes away without stop()
// (no LEAVE) is seen by the others as dropped, not as a clean leave.
func TestClosedTabDrops(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	alice := s.createAttendee(t, m, "ext-alice")
	bob := s.createAttendee(t, m, "ext-bob")
	pa, pb := two(h.newPages(t, "alice", "bob"))
	pa.join(alice, joinOptions{})
	pb.join(bob, joinOptions{})
	pa.joined()
	pb.joined()
	pb.waitFor(5*time.Second, "alice's presence", isPresence(alice.attendeeID(), true))

	pa.mustEval(`location.replace("about:blank")`, nil)
	gone := pb.waitFor(5*time.Second, "alice gone", isPresence(alice.attendeeID(), false))
	if !gone.Dropped {
		t.Errorf("bob sees alice's vanished page as a clean leave: %s", gone)
	}
}

// TestDeleteAttendeeRemovesSession: DeleteAttendee through the API ends that
// attendee's live session with AudioAttendeeRemoved, with no reconnect, and
// the others see it leave.
func TestDeleteAttendeeRemovesSession(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	alice := s.createAttendee(t, m, "ext-alice")
	bob := s.createAttendee(t, m, "ext-bob")
	pa, pb := two(h.newPages(t, "alice", "bob"))
	pa.join(alice, joinOptions{})
	pb.join(bob, joinOptions{})
	pa.joined()
	pb.joined()

	s.deleteAttendee(t, alice)
	stop := pa.stopped(2*time.Second, "AudioAttendeeRemoved")
	if !stop.Terminal {
		t.Errorf("AudioAttendeeRemoved not terminal: %s", stop)
	}
	pb.waitFor(2*time.Second, "alice leaving", isPresence(alice.attendeeID(), false))
	noReconnect(t, pa, 2*time.Second)
	if e, ok := pb.find(isStop); ok {
		t.Errorf("bob's session stopped: %s", e)
	}
}

// TestDeleteMeetingEndsSessions: DeleteMeeting ends every live session with
// MeetingEnded.
func TestDeleteMeetingEndsSessions(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	alice := s.createAttendee(t, m, "ext-alice")
	bob := s.createAttendee(t, m, "ext-bob")
	pa, pb := two(h.newPages(t, "alice", "bob"))
	pa.join(alice, joinOptions{})
	pb.join(bob, joinOptions{})
	pa.joined()
	pb.joined()

	s.deleteMeeting(t, m)
	for _, p := range []*page{pa, pb} {
		if stop := p.stopped(2*time.Second, "MeetingEnded"); !stop.Terminal {
			t.Errorf("%s: MeetingEnded not terminal: %s", p.name, stop)
		}
	}
	noReconnect(t, pa, time.Second)
}

// TestRefusedJoinIsNotRetried: a deleted attendee's token, a forged token and
// a deleted meeting fail at once with a terminal status, on a single
// WebSocket (no retry loop, no 15 s connection timeout).
func TestRefusedJoinIsNotRetried(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	deleted := s.createAttendee(t, m, "ext-deleted")
	s.deleteAttendee(t, deleted)
	forged := s.createAttendee(t, m, "ext-forged")
	forged.Attendee.JoinToken = new(string)
	*forged.Attendee.JoinToken = "Zm9yZ2VkOmRlYWRiZWVm" // base64url("forged:deadbeef")
	ended := s.createMeeting(t)
	late := s.createAttendee(t, ended, "ext-late")
	s.deleteMeeting(t, ended)

	p := h.newPage(t, "refused")
	for _, c := range []struct {
		name string
		j    joinInfo
		// Carillon accepts the upgrade and closes a refused credential with
		// 4403, which the SDK maps to SignalingBadRequest, and an ended
		// meeting with 4410, MeetingEnded. Both are terminal.
		want      string
		closeCode int
	}{
		{"deleted attendee", deleted, "SignalingBadRequest", 4403},
		{"forged token", forged, "SignalingBadRequest", 4403},
		{"deleted meeting", late, "MeetingEnded", 4410},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			p.t = t
			p.reload()
			p.join(c.j, joinOptions{})
			called := p.waitFor(5*time.Second, "startCalled", isType("startCalled"))
			stop := p.waitFor(5*time.Second, "audioVideoDidStop", isStop)
			took := time.Duration(stop.T-called.T) * time.Millisecond
			t.Logf("%s: audioVideoDidStop(%s) %v after start()", c.name, stop.Name, took)
			if stop.Name != c.want {
				t.Errorf("audioVideoDidStop(%s), want %s", stop.Name, c.want)
			}
			if closed, ok := p.find(isType("websocketClose")); !ok || closed.Code != c.closeCode {
				t.Errorf("the signaling WebSocket closed with %d (%q), want %d", closed.Code, closed.Reason, c.closeCode)
			}
			if !stop.Terminal {
				t.Errorf("%s is not terminal: the SDK would retry", stop.Name)
			}
			if took > 3*time.Second {
				t.Errorf("refused after %v, want < 3 s", took)
			}
			noReconnect(t, p, 2*time.Second)
		})
	}
}

// TestAnotherDeviceReplacesSession: the same attendee joining from a second
// browser ends the first session with AudioJoinedFromAnotherDevice, and the
// second one starts.
func TestAnotherDeviceReplacesSession(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	alice := s.createAttendee(t, m, "ext-alice")
	first, second := two(h.newPages(t, "alice-laptop", "alice-phone"))
	first.join(alice, joinOptions{})
	first.joined()
	second.join(alice, joinOptions{})
	second.joined()
	stop := first.stopped(3*time.Second, "AudioJoinedFromAnotherDevice")
	if !stop.Terminal {
		t.Errorf("AudioJoinedFromAnotherDevice not terminal: %s", stop)
	}
	noReconnect(t, first, time.Second)
	// The new device keeps the meeting.
	time.Sleep(time.Second)
	second.poll()
	if e, ok := second.find(isStop); ok {
		t.Errorf("the second device's session stopped: %s", e)
	}
}

// TestDataMessages: a data message reaches the other attendees with its
// sender's ids, not throttled, is not echoed to its sender, and reaches a
// later joiner while its lifetime lasts.
func TestDataMessages(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	alice := s.createAttendee(t, m, "ext-alice")
	bob := s.createAttendee(t, m, "ext-bob")
	carol := s.createAttendee(t, m, "ext-carol")
	ps := h.newPages(t, "alice", "bob", "carol")
	pa, pb, pc := ps[0], ps[1], ps[2]
	topics := []string{"chat"}
	pa.join(alice, joinOptions{DataTopics: topics})
	pb.join(bob, joinOptions{DataTopics: topics})
	pa.joined()
	pb.joined()

	pa.mustEval(`window.carillon.sendData("chat", "hello from alice", 60000)`, nil)
	isHello := func(e event) bool { return e.Type == "dataMessage" && e.Text == "hello from alice" }
	got := pb.waitFor(3*time.Second, "alice's message", isHello)
	if got.Topic != "chat" || got.SenderAttendeeID != alice.attendeeID() || got.SenderExternalUserID != "ext-alice" || got.Throttled || got.TimestampMs <= 0 {
		t.Errorf("bob got %s; want topic chat, sender %s/ext-alice, not throttled, a timestamp", got, alice.attendeeID())
	}

	pc.join(carol, joinOptions{DataTopics: topics})
	pc.joined()
	late := pc.waitFor(3*time.Second, "alice's message, kept for a late joiner", isHello)
	if late.SenderAttendeeID != alice.attendeeID() {
		t.Errorf("carol got %s; want sender %s", late, alice.attendeeID())
	}
	pa.poll()
	if e, ok := pa.find(isHello); ok {
		t.Errorf("alice's own message was echoed to her: %s", e)
	}
}

// TestMuteSeen: when Alice mutes herself, Bob's volume indicator for her
// reports muted, and unmuted again after she unmutes.
func TestMuteSeen(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	alice := s.createAttendee(t, m, "ext-alice")
	bob := s.createAttendee(t, m, "ext-bob")
	pa, pb := two(h.newPages(t, "alice", "bob"))
	pa.join(alice, joinOptions{})
	pb.join(bob, joinOptions{})
	pa.joined()
	pb.joined()
	pb.waitFor(5*time.Second, "alice's presence", isPresence(alice.attendeeID(), true))

	mutedIs := func(want bool) func(event) bool {
		return func(e event) bool {
			return e.Type == "volume" && e.AttendeeID == alice.attendeeID() && e.Muted != nil && *e.Muted == want
		}
	}
	pa.mustEval("window.carillon.mute()", nil)
	muted := pb.waitFor(2*time.Second, "alice muted", mutedIs(true))
	pa.mustEval("window.carillon.unmute()", nil)
	pb.waitFor(2*time.Second, "alice unmuted", func(e event) bool { return mutedIs(false)(e) && e.T > muted.T })
}

// noReconnect fails the test if p's page opens another signaling WebSocket
// within d after its session stopped.
func noReconnect(t *testing.T, p *page, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	p.poll()
	stop, _ := p.find(isStop)
	if again := p.all(func(e event) bool { return e.Type == "websocket" && e.T > stop.T }); len(again) > 0 {
		t.Errorf("%s: %d WebSocket(s) opened after audioVideoDidStop(%s): the SDK is retrying", p.name, len(again), stop.Name)
	}
	if ws := p.all(isType("websocket")); len(ws) != 1 {
		t.Errorf("%s: %d signaling WebSockets in all, want 1", p.name, len(ws))
	}
}

func two(p []*page) (*page, *page) { return p[0], p[1] }
