package e2e

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
)

// TestQuickTour walks the main path once with the official client.
func TestQuickTour(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := startServer(t, e).client(t)
		m, err := c.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{
			MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("tour"),
		})
		if err != nil {
			t.Fatal(err)
		}
		id := m.Meeting.MeetingId
		host, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: id, ExternalUserId: aws.String("host")})
		if err != nil {
			t.Fatal(err)
		}
		guest, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: id, ExternalUserId: aws.String("guest")})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.BatchUpdateAttendeeCapabilitiesExcept(ctx, &chimesdkmeetings.BatchUpdateAttendeeCapabilitiesExceptInput{
			MeetingId:           id,
			ExcludedAttendeeIds: []types.AttendeeIdItem{{AttendeeId: host.Attendee.AttendeeId}},
			Capabilities:        &types.AttendeeCapabilities{Audio: "Receive", Video: "Receive", Content: "None"},
		})
		if err != nil {
			t.Fatal(err)
		}
		g, err := c.GetAttendee(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: id, AttendeeId: guest.Attendee.AttendeeId})
		if err != nil {
			t.Fatal(err)
		}
		if got := *g.Attendee.Capabilities; got.Audio != "Receive" || got.Video != "Receive" || got.Content != "None" {
			t.Fatalf("guest capabilities %+v", got)
		}
		h, err := c.GetAttendee(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: id, AttendeeId: host.Attendee.AttendeeId})
		if err != nil {
			t.Fatal(err)
		}
		if got := *h.Attendee.Capabilities; got.Audio != "SendReceive" || got.Video != "SendReceive" || got.Content != "SendReceive" {
			t.Fatalf("excluded host capabilities changed: %+v", got)
		}
	})
}
