package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"google.golang.org/protobuf/proto"

	"github.com/carillon-dev/carillon/internal/signaling/chimeclient"
	"github.com/carillon-dev/carillon/internal/signaling/sigpb"
)

func dataFrame(msgs ...*sigpb.DataMessagePayload) *sigpb.Frame {
	return &sigpb.Frame{Type: sigpb.Frame_DATA_MESSAGE.Enum(), DataMessage: &sigpb.DataMessageFrame{Messages: msgs}}
}

func payload(topic, data string, lifetimeMs uint32) *sigpb.DataMessagePayload {
	return &sigpb.DataMessagePayload{Topic: proto.String(topic), Data: []byte(data), LifetimeMs: proto.Uint32(lifetimeMs)}
}

func dataOf(c *chimeclient.Client) []*sigpb.DataMessagePayload {
	var out []*sigpb.DataMessagePayload
	for _, f := range c.Frames() {
		out = append(out, f.GetDataMessage().GetMessages()...)
	}
	return out
}

// Data messages reach the other attendees stamped with the sender, never
// the sender itself; messages with a lifetime reach late joiners; topics
// the SDK could not send (such as server-only "carillon:" ones) are dropped;
// past the meeting's burst the sender is told "throttled".
func TestMediaDataMessages(t *testing.T) {
	srv := startServer(t, sqliteEngine())
	mm := newMediaMeeting(t, srv, "alice", "bob", "carol")
	ctx := context.Background()
	a := mm.connect(t, 0, 1)
	b := mm.connect(t, 1, 2)

	if err := a.Send(ctx, dataFrame(payload("chat", "hello", 60000), payload("carillon:capabilities", "forged", 0),
		payload("chat", strings.Repeat("x", 2049), 0))); err != nil {
		t.Fatal(err)
	}
	f, _, err := b.WaitType(0, frameWait, sigpb.Frame_DATA_MESSAGE)
	if err != nil {
		t.Fatalf("bob got no data message: %v", err)
	}
	msgs := f.GetDataMessage().GetMessages()
	if len(msgs) != 1 {
		t.Fatalf("bob got %d messages, want only the valid one", len(msgs))
	}
	m := msgs[0]
	if m.GetTopic() != "chat" || string(m.GetData()) != "hello" || m.GetSenderAttendeeId() != *mm.attendees[0].AttendeeId ||
		m.GetSenderExternalUserId() != "alice" || m.GetIngestTimeNs() == 0 {
		t.Errorf("relayed message = %v", m)
	}

	// Carol joins later and gets the message that had a lifetime.
	c := mm.connect(t, 2, 3)
	if _, _, err := c.WaitType(0, frameWait, sigpb.Frame_DATA_MESSAGE); err != nil {
		t.Fatalf("the late joiner did not get the retained message: %v", err)
	}

	// Burst: 200 a meeting, then throttled (told to the sender only).
	var burst []*sigpb.DataMessagePayload
	for range 210 {
		burst = append(burst, payload("bulk", "x", 0))
	}
	if err := a.Send(ctx, dataFrame(burst...)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Wait(0, frameWait, func(f *sigpb.Frame) bool {
		ms := f.GetDataMessage().GetMessages()
		return len(ms) > 0 && ms[0].GetTopic() == "bulk" && ms[0].GetIngestTimeNs() == 0
	}); err != nil {
		t.Fatalf("the sender was not told it was throttled: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	for _, m := range dataOf(a) {
		if m.GetIngestTimeNs() != 0 {
			t.Fatalf("alice got her own message back: %v", m)
		}
	}
	bulk := 0
	for _, m := range dataOf(b) {
		if m.GetTopic() == "bulk" {
			bulk++
		}
	}
	if bulk == 0 || bulk > 200 {
		t.Errorf("bob got %d bulk messages, want 1..200", bulk)
	}
}

// A meeting with no attendee connected for --meeting-idle-timeout ends by
// itself, as DeleteMeeting would; one with a session does not.
func TestMediaIdleEnd(t *testing.T) {
	srv := startServer(t, sqliteEngine(), "--meeting-idle-timeout", "1s")
	ctx := context.Background()
	idle := newMediaMeeting(t, srv, "nobody")
	busy := newMediaMeeting(t, srv, "alice")
	a := busy.connect(t, 0, 1)
	time.Sleep(2500 * time.Millisecond)
	if _, err := idle.api.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: idle.meeting.MeetingId}); err == nil {
		t.Errorf("a meeting nobody joined is still there after its idle timeout")
	}
	if _, err := busy.api.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: busy.meeting.MeetingId}); err != nil {
		t.Fatalf("a meeting with a connected attendee ended: %v", err)
	}
	if err := a.Leave(ctx, frameWait); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := busy.api.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: busy.meeting.MeetingId})
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the meeting did not end within 5 s of its last attendee leaving (idle timeout 1 s)")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Bad input closes that session only: malformed and oversized frames, and
// a SUBSCRIBE with garbage SDP; the others keep working.
func TestMediaBadInput(t *testing.T) {
	srv := startServer(t, sqliteEngine())
	mm := newMediaMeeting(t, srv, "alice", "bob")
	ctx := context.Background()
	a := mm.connect(t, 0, 1)
	for name, send := range map[string]func(*chimeclient.Client) error{
		"truncated protobuf": func(c *chimeclient.Client) error { return c.SendRaw(ctx, []byte{0x05, 0x08}) },
		"oversized": func(c *chimeclient.Client) error {
			return c.SendRaw(ctx, append([]byte{0x05}, make([]byte, 300<<10)...))
		},
		"garbage SDP": func(c *chimeclient.Client) error {
			return c.Send(ctx, &sigpb.Frame{Type: sigpb.Frame_SUBSCRIBE.Enum(),
				Subscribe: &sigpb.SubscribeFrame{SdpOffer: proto.String("v=0\r\nnonsense")}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := mm.dial(t, *mm.attendees[1].JoinToken)
			if _, _, err := c.Join(ctx, 7, frameWait); err != nil {
				t.Fatal(err)
			}
			if err := send(c); err != nil {
				t.Fatal(err)
			}
			if _, err := c.WaitClosed(frameWait); err != nil {
				t.Fatalf("the misbehaving session stayed open: %v", err)
			}
		})
	}
	if err := a.Ping(ctx, 99); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Wait(0, frameWait, func(f *sigpb.Frame) bool { return f.GetPingPong().GetPingId() == 99 }); err != nil {
		t.Fatalf("a well-behaved session suffered: %v", err)
	}
	// A socket that never joins is closed (pending connections are bounded).
	silent := mm.dial(t, "whatever")
	if _, err := silent.WaitClosed(15 * time.Second); err != nil {
		t.Fatalf("a socket without JOIN stayed open: %v", err)
	}
}

// TurnControlUrl answers SDKs before 3.20 with no TURN servers, and
// EventIngestionUrl accepts client events from a valid token; both answer
// browsers' CORS preflights.
func TestMediaSideDoors(t *testing.T) {
	srv := startServer(t, sqliteEngine())
	mm := newMediaMeeting(t, srv, "alice")
	token := *mm.attendees[0].JoinToken
	post := func(url string, hdr map[string]string, body string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp, out
	}
	turn := *mm.meeting.MediaPlacement.TurnControlUrl
	body := `{"meetingId":"` + *mm.meeting.MeetingId + `"}`
	resp, out := post(turn, map[string]string{"X-Chime-Auth-Token": "_aws_wt_session=" + token}, body)
	if resp.StatusCode != 200 || out["uris"] == nil || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("TURN control: %d %v", resp.StatusCode, out)
	}
	if uris, _ := out["uris"].([]any); len(uris) != 0 {
		t.Errorf("TURN control offered URIs %v with no TURN server", uris)
	}
	if resp, _ := post(turn, map[string]string{"X-Chime-Auth-Token": "_aws_wt_session=bad"}, body); resp.StatusCode != 403 {
		t.Errorf("TURN control with a bad token: %d, want 403", resp.StatusCode)
	}

	events := *mm.meeting.MediaPlacement.EventIngestionUrl
	batch := `{"metadata":{"meetingId":"` + *mm.meeting.MeetingId + `"},"events":[{"type":"Meet","v":1,"payloads":[{"name":"meetingStartRequested","ts":1}]}]}`
	if resp, _ := post(events, map[string]string{"Authorization": "Bearer " + token}, batch); resp.StatusCode != 200 {
		t.Errorf("client events: %d, want 200", resp.StatusCode)
	}
	if resp, _ := post(events, map[string]string{"Authorization": "Bearer nope"}, batch); resp.StatusCode != 403 {
		t.Errorf("client events with a bad token: %d, want 403", resp.StatusCode)
	}
	if resp, _ := post(events, nil, batch); resp.StatusCode != 401 {
		t.Errorf("client events without a token: %d, want 401", resp.StatusCode)
	}
	big := bytes.Repeat([]byte("x"), 1<<20+10)
	if resp, _ := post(events, map[string]string{"Authorization": "Bearer " + token}, string(big)); resp.StatusCode != 413 {
		t.Errorf("oversized client events: %d, want 413", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodOptions, events, nil)
	req.Header.Set("Origin", "http://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	pre, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pre.Body.Close()
	if pre.StatusCode != 204 || !strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
}
