package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
	"github.com/pion/webrtc/v4"

	"github.com/carillon-dev/carillon/internal/signaling/chimeclient"
	"github.com/carillon-dev/carillon/internal/signaling/sigpb"
)

// frameWait bounds every wait for a server frame in the media tests.
const frameWait = 5 * time.Second

// mediaMeeting is a meeting with attendees, created through the API.
type mediaMeeting struct {
	srv       *server
	api       *chimesdkmeetings.Client
	meeting   *types.Meeting
	attendees []types.Attendee
	rtc       *webrtc.API
}

func newMediaMeeting(t *testing.T, srv *server, users ...string) *mediaMeeting {
	t.Helper()
	ctx := context.Background()
	api := srv.client(t)
	m, err := api.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{
		MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("media-" + t.Name()),
	})
	if err != nil {
		t.Fatalf("CreateMeeting: %v", err)
	}
	mm := &mediaMeeting{srv: srv, api: api, meeting: m.Meeting, rtc: chimeclient.NewAPI()}
	for _, u := range users {
		mm.attendees = append(mm.attendees, mm.addAttendee(t, u))
	}
	return mm
}

func (mm *mediaMeeting) addAttendee(t *testing.T, user string) types.Attendee {
	t.Helper()
	a, err := mm.api.CreateAttendee(context.Background(), &chimesdkmeetings.CreateAttendeeInput{
		MeetingId: mm.meeting.MeetingId, ExternalUserId: aws.String(user),
	})
	if err != nil {
		t.Fatalf("CreateAttendee: %v", err)
	}
	return *a.Attendee
}

// dial opens a signaling socket with a token.
func (mm *mediaMeeting) dial(t *testing.T, token string) *chimeclient.Client {
	t.Helper()
	c, err := chimeclient.Dial(context.Background(), *mm.meeting.MediaPlacement.SignalingUrl, token)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// connect joins attendee i as the SDK does and waits until its media is up
// and its roster snapshot has arrived.
func (mm *mediaMeeting) connect(t *testing.T, i int, audioSessionID uint64) *chimeclient.Client {
	t.Helper()
	return mm.connectToken(t, *mm.attendees[i].JoinToken, audioSessionID)
}

func (mm *mediaMeeting) connectToken(t *testing.T, token string, audioSessionID uint64) *chimeclient.Client {
	t.Helper()
	ctx := context.Background()
	c := mm.dial(t, token)
	if err := c.Ping(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Join(ctx, audioSessionID, frameWait); err != nil {
		t.Fatalf("join: %v", err)
	}
	if _, err := c.Subscribe(ctx, mm.rtc, frameWait); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	select {
	case <-c.Connected():
	case <-time.After(frameWait):
		t.Fatal("ICE did not connect")
	}
	if _, _, err := c.WaitType(0, frameWait, sigpb.Frame_AUDIO_STREAM_ID_INFO); err != nil {
		t.Fatalf("no roster after connecting: %v", err)
	}
	return c
}

// presenceOf returns the roster entries received from index from on.
func presenceOf(frames []*sigpb.Frame) []*sigpb.AudioStreamIdInfo {
	var out []*sigpb.AudioStreamIdInfo
	for _, f := range frames {
		out = append(out, f.GetAudioStreamIdInfo().GetStreams()...)
	}
	return out
}

// waitPresence waits for a roster entry matching match.
func waitPresence(t *testing.T, c *chimeclient.Client, what string, match func(*sigpb.AudioStreamIdInfo) bool) *sigpb.AudioStreamIdInfo {
	t.Helper()
	var found *sigpb.AudioStreamIdInfo
	_, _, err := c.Wait(0, frameWait, func(f *sigpb.Frame) bool {
		for _, e := range f.GetAudioStreamIdInfo().GetStreams() {
			if match(e) {
				found = e
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return found
}

// waitStatus waits for AUDIO_STATUS and the close that follows it.
func waitStatus(t *testing.T, c *chimeclient.Client, want uint32) {
	t.Helper()
	f, _, err := c.WaitType(0, frameWait, sigpb.Frame_AUDIO_STATUS)
	if err != nil {
		t.Fatalf("waiting for AUDIO_STATUS %d: %v", want, err)
	}
	if got := f.GetAudioStatus().GetAudioStatus(); got != want {
		t.Fatalf("AUDIO_STATUS = %d, want %d", got, want)
	}
	if _, err := c.WaitClosed(frameWait); err != nil {
		t.Fatalf("socket not closed after AUDIO_STATUS %d: %v", want, err)
	}
}

func dialURL(t *testing.T, url, token string) *chimeclient.Client {
	t.Helper()
	c, err := chimeclient.Dial(context.Background(), url, token)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}
