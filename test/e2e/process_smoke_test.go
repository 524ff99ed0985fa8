package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
)

// TestSubprocessServesAndStopsOnSIGTERM runs the real binary, uses it with
// the official client, and checks SIGTERM ends it cleanly (exit status 0).
func TestSubprocessServesAndStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	p := startProcess(t, []string{"--data", t.TempDir()})
	m, err := p.client(t).CreateMeeting(context.Background(), &chimesdkmeetings.CreateMeetingInput{
		MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("proc"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(*m.Meeting.MeetingArn, "arn:aws:chime:us-east-1:"+testAccount+":meeting/") {
		t.Fatalf("MeetingArn %q", *m.Meeting.MeetingArn)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
	}
}
