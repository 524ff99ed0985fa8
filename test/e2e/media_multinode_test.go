package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"

	"github.com/carillon-dev/carillon/internal/signaling/sigpb"
)

// A meeting's sessions live on the node that created it; DeleteAttendee
// and DeleteMeeting served by another node reach them within a second
// through the change feed, and so do capability changes.
func TestMediaCrossNode(t *testing.T) {
	// Each node keeps its own public URL: meetings name the node that
	// created them.
	e := mnEngineAt(freshDatabase(t, mnDatabaseURL(t)))
	nodes := [2]*server{startServer(t, e), startServer(t, e)}
	mm := newMediaMeeting(t, nodes[0], "alice", "bob")
	other := nodes[1].client(t)
	ctx := context.Background()
	got, err := other.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: mm.meeting.MeetingId})
	if err != nil {
		t.Fatal(err)
	}
	if g, w := *got.Meeting.MediaPlacement.SignalingUrl, *mm.meeting.MediaPlacement.SignalingUrl; g != w {
		t.Fatalf("GetMeeting on node B gives SignalingUrl %s, want node A's %s", g, w)
	}
	a := mm.connect(t, 0, 1)
	b := mm.connect(t, 1, 2)

	start := time.Now()
	if _, err := other.DeleteAttendee(ctx, &chimesdkmeetings.DeleteAttendeeInput{
		MeetingId: mm.meeting.MeetingId, AttendeeId: mm.attendees[1].AttendeeId}); err != nil {
		t.Fatal(err)
	}
	f, _, err := b.WaitType(0, time.Second, sigpb.Frame_AUDIO_STATUS)
	if err != nil || f.GetAudioStatus().GetAudioStatus() != 411 {
		t.Fatalf("no AUDIO_STATUS 411 within 1 s of a DeleteAttendee on the other node: %v", err)
	}
	t.Logf("cross-node kick: %v", time.Since(start))

	// A capability change committed on node B reaches node A's sessions
	// through the same feed: Alice is told within a second.
	if _, err := other.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
		MeetingId: mm.meeting.MeetingId, AttendeeId: mm.attendees[0].AttendeeId,
		Capabilities: caps(types.MediaCapabilitiesReceive, types.MediaCapabilitiesSendReceive, types.MediaCapabilitiesSendReceive),
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Wait(0, time.Second, func(f *sigpb.Frame) bool {
		ms := f.GetDataMessage().GetMessages()
		return len(ms) > 0 && ms[0].GetTopic() == "carillon:capabilities"
	}); err != nil {
		t.Fatalf("a capability change on node B did not reach node A's session within 1 s: %v", err)
	}

	if _, err := other.DeleteMeeting(ctx, &chimesdkmeetings.DeleteMeetingInput{MeetingId: mm.meeting.MeetingId}); err != nil {
		t.Fatal(err)
	}
	f, _, err = a.WaitType(0, time.Second, sigpb.Frame_AUDIO_STATUS)
	if err != nil || f.GetAudioStatus().GetAudioStatus() != 410 {
		t.Fatalf("no AUDIO_STATUS 410 within 1 s of a DeleteMeeting on the other node: %v", err)
	}
}
