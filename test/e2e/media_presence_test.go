package e2e

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"

	"github.com/carillon-dev/carillon/internal/signaling/sigpb"
)

// The joiner gets the whole roster; the others get the joiner's entry; a
// clean leave and a dropped connection are told apart; stream ids grow.
func TestMediaPresence(t *testing.T) {
	srv := startServer(t, sqliteEngine())
	mm := newMediaMeeting(t, srv, "alice", "bob", "carol")
	alice, bob, carol := *mm.attendees[0].AttendeeId, *mm.attendees[1].AttendeeId, *mm.attendees[2].AttendeeId

	a := mm.connect(t, 0, 1)
	b := mm.connect(t, 1, 2)

	// Bob's first roster is a snapshot with both.
	first, _, _ := b.WaitType(0, frameWait, sigpb.Frame_AUDIO_STREAM_ID_INFO)
	seen := map[string]string{}
	var aliceID, bobID uint32
	for _, e := range first.GetAudioStreamIdInfo().GetStreams() {
		seen[e.GetAttendeeId()] = e.GetExternalUserId()
		switch e.GetAttendeeId() {
		case alice:
			aliceID = e.GetAudioStreamId()
		case bob:
			bobID = e.GetAudioStreamId()
		}
	}
	if seen[alice] != "alice" || seen[bob] != "bob" {
		t.Fatalf("Bob's snapshot = %v, want alice and bob with their ExternalUserIds", seen)
	}
	if aliceID == 0 || bobID <= aliceID {
		t.Errorf("stream ids alice=%d bob=%d, want non-zero and increasing", aliceID, bobID)
	}
	// Alice gets Bob's delta.
	waitPresence(t, a, "bob's arrival at alice", func(e *sigpb.AudioStreamIdInfo) bool {
		return e.GetAttendeeId() == bob && e.GetExternalUserId() == "bob"
	})

	// Mute is broadcast as a muted-only entry.
	if err := b.Send(context.Background(), &sigpb.Frame{Type: sigpb.Frame_AUDIO_CONTROL.Enum(),
		AudioControl: &sigpb.AudioControlFrame{Muted: boolp(true)}}); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, a, "bob's mute", func(e *sigpb.AudioStreamIdInfo) bool {
		return e.GetAudioStreamId() == bobID && e.Muted != nil && e.GetMuted() && e.AttendeeId == nil
	})

	// A clean leave: an entry without attendee id, not dropped.
	if err := b.Leave(context.Background(), frameWait); err != nil {
		t.Fatal(err)
	}
	left := waitPresence(t, a, "bob's leave", func(e *sigpb.AudioStreamIdInfo) bool {
		return e.GetAudioStreamId() == bobID && e.AttendeeId == nil && e.Muted == nil
	})
	if left.GetDropped() {
		t.Errorf("a clean leave was reported as dropped")
	}

	// A lost connection: dropped.
	c := mm.connect(t, 2, 3)
	carolEntry := waitPresence(t, a, "carol's arrival", func(e *sigpb.AudioStreamIdInfo) bool { return e.GetAttendeeId() == carol })
	c.Close()
	waitPresence(t, a, "carol's drop", func(e *sigpb.AudioStreamIdInfo) bool {
		return e.GetAudioStreamId() == carolEntry.GetAudioStreamId() && e.AttendeeId == nil && e.GetDropped()
	})
	if carolEntry.GetAudioStreamId() <= bobID {
		t.Errorf("carol's stream id %d is not above bob's %d", carolEntry.GetAudioStreamId(), bobID)
	}
}

// DeleteAttendee ends that attendee's session with 411; DeleteMeeting ends
// everyone's with 410; afterwards joins are refused with the close codes
// the SDK treats as final.
func TestMediaKicks(t *testing.T) {
	srv := startServer(t, sqliteEngine())
	mm := newMediaMeeting(t, srv, "alice", "bob")
	ctx := context.Background()
	a := mm.connect(t, 0, 1)
	b := mm.connect(t, 1, 2)

	if _, err := mm.api.DeleteAttendee(ctx, &chimesdkmeetings.DeleteAttendeeInput{
		MeetingId: mm.meeting.MeetingId, AttendeeId: mm.attendees[1].AttendeeId}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, 411)
	waitPresence(t, a, "bob's removal", func(e *sigpb.AudioStreamIdInfo) bool { return e.AttendeeId == nil && e.Muted == nil })

	// The deleted attendee's token now fails at once, with 4403.
	refused := mm.dial(t, *mm.attendees[1].JoinToken)
	_ = refused.Ping(ctx, 1)
	_, _, _ = refused.Join(ctx, 9, frameWait)
	if code, err := refused.WaitClosed(frameWait); err != nil || code != 4403 {
		t.Fatalf("join with a deleted attendee's token: close %d (%v), want 4403", code, err)
	}

	if _, err := mm.api.DeleteMeeting(ctx, &chimesdkmeetings.DeleteMeetingInput{MeetingId: mm.meeting.MeetingId}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, a, 410)
	late := mm.dial(t, *mm.attendees[0].JoinToken)
	_, _, _ = late.Join(ctx, 1, frameWait)
	if code, err := late.WaitClosed(frameWait); err != nil || code != 4410 {
		t.Fatalf("join to a deleted meeting: close %d (%v), want 4410", code, err)
	}
}

// Tokens that are malformed, unknown, or of another meeting's attendee are
// refused with 4403 after the upgrade.
func TestMediaJoinRefused(t *testing.T) {
	srv := startServer(t, sqliteEngine())
	mm := newMediaMeeting(t, srv, "alice")
	other := newMediaMeeting(t, srv, "mallory")
	ctx := context.Background()
	for name, token := range map[string]string{
		"malformed":          "not-a-token",
		"forged":             "YWJjZGVmZ2gtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAwOjAw",
		"other meeting":      *other.attendees[0].JoinToken,
		"altered":            (*mm.attendees[0].JoinToken)[:len(*mm.attendees[0].JoinToken)-2] + "AA",
		"content of another": *other.attendees[0].JoinToken + "#content",
	} {
		t.Run(name, func(t *testing.T) {
			c := mm.dial(t, token)
			_, _, _ = c.Join(ctx, 1, frameWait)
			if code, err := c.WaitClosed(frameWait); err != nil || code != 4403 {
				t.Fatalf("close %d (%v), want 4403", code, err)
			}
		})
	}
	t.Run("unknown meeting", func(t *testing.T) {
		url := *mm.meeting.MediaPlacement.SignalingUrl
		url = url[:len(url)-36] + "00000000-0000-4000-8000-000000000000"
		c := dialURL(t, url, *mm.attendees[0].JoinToken)
		_, _, _ = c.Join(ctx, 1, frameWait)
		if code, err := c.WaitClosed(frameWait); err != nil || code != 4410 {
			t.Fatalf("close %d (%v), want 4410", code, err)
		}
	})
}

// The same attendee on a new socket: with another audio_session_id it is
// another device (301 to the old session); with the same one a reconnect
// (the old socket is closed without a status).
func TestMediaSecondDevice(t *testing.T) {
	srv := startServer(t, sqliteEngine())
	mm := newMediaMeeting(t, srv, "alice", "bob")
	b := mm.connect(t, 1, 5)
	first := mm.connect(t, 0, 100)
	second := mm.connect(t, 0, 200)
	waitStatus(t, first, 301)

	reconnected := mm.connect(t, 0, 200)
	code, err := second.WaitClosed(frameWait)
	if err != nil {
		t.Fatalf("the replaced session stayed open: %v", err)
	}
	if code != 4002 {
		t.Errorf("replaced session closed with %d, want 4002", code)
	}
	for _, f := range second.Frames() {
		if f.GetType() == sigpb.Frame_AUDIO_STATUS {
			t.Errorf("a reconnect sent AUDIO_STATUS %d to the old session", f.GetAudioStatus().GetAudioStatus())
		}
	}
	// Bob never saw Alice leave: each new session announced itself with a
	// higher stream id.
	for _, e := range presenceOf(b.Frames()) {
		if e.AttendeeId == nil && e.Muted == nil {
			t.Errorf("bob saw a leave entry %v during alice's device switch", e)
		}
	}
	_ = reconnected
}

func boolp(b bool) *bool { return &b }
