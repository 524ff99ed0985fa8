package e2e

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
)

// TestFaultSIGKILLLosesNoAcknowledgedWrite: a subprocess node on PostgreSQL
// takes writes from 8 concurrent clients (CreateAttendee, TagResource,
// CreateMeeting) and is killed with SIGKILL in the middle of the load. A
// second node on the same database then sees every acknowledged write, and
// the meetings the killed node was writing are not left locked.
func TestFaultSIGKILLLosesNoAcknowledgedWrite(t *testing.T) {
	db := freshDatabase(t, mnDatabaseURL(t))
	p := startProcess(t, []string{"--database-url", db, "--max-attendees", "100000"})
	c := p.client(t)
	ctx := context.Background()

	const meetingsN, workers = 4, 8
	var meetingIDs, arns []string
	for i := range meetingsN {
		out, err := c.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{
			ClientRequestToken: aws.String(mnName("kill", i)), ExternalMeetingId: aws.String(mnName("kill", i)),
			MediaRegion: aws.String("us-east-1")})
		if err != nil {
			t.Fatalf("CreateMeeting: %v", err)
		}
		meetingIDs = append(meetingIDs, *out.Meeting.MeetingId)
		arns = append(arns, *out.Meeting.MeetingArn)
	}

	type ackAttendee struct{ meeting, id, ext string }
	type ackTag struct{ arn, key string }
	var (
		mu           sync.Mutex
		attendees    []ackAttendee
		tags         []ackTag
		meetingsMade = map[string]string{} // MeetingId -> ExternalMeetingId
		wg           sync.WaitGroup
	)
	killed := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := w % meetingsN
			for i := 0; ; i++ {
				select {
				case <-killed:
					return
				default:
				}
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				var err error
				switch {
				case i%10 == 5 && i < 100: // at most 10 tags per worker: 2 workers per meeting stay under 50
					key := fmt.Sprintf("w%d-%03d", w, i)
					_, err = c.TagResource(cctx, &chimesdkmeetings.TagResourceInput{ResourceARN: aws.String(arns[m]),
						Tags: []types.Tag{{Key: aws.String(key), Value: aws.String("v")}}})
					if err == nil {
						mu.Lock()
						tags = append(tags, ackTag{arns[m], key})
						mu.Unlock()
					}
				case i%10 == 7:
					ext := fmt.Sprintf("made-w%d-%03d", w, i)
					var out *chimesdkmeetings.CreateMeetingOutput
					out, err = c.CreateMeeting(cctx, &chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String(ext),
						ExternalMeetingId: aws.String(ext), MediaRegion: aws.String("us-east-1")})
					if err == nil {
						mu.Lock()
						meetingsMade[*out.Meeting.MeetingId] = ext
						mu.Unlock()
					}
				default:
					ext := fmt.Sprintf("w%d-%04d", w, i)
					var out *chimesdkmeetings.CreateAttendeeOutput
					out, err = c.CreateAttendee(cctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: aws.String(meetingIDs[m]), ExternalUserId: aws.String(ext)})
					if err == nil {
						mu.Lock()
						attendees = append(attendees, ackAttendee{meetingIDs[m], *out.Attendee.AttendeeId, ext})
						mu.Unlock()
					}
				}
				cancel()
				if err != nil {
					select {
					case <-killed: // in flight at the kill: outcome unknown, not counted
						return
					default:
						t.Errorf("worker %d before the kill: %v", w, err)
						return
					}
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	before := len(attendees)
	mu.Unlock()
	close(killed)
	_ = p.stop(t, syscall.SIGKILL)
	wg.Wait()
	if p.cmd.ProcessState == nil || p.cmd.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the node did not die of SIGKILL: %v", p.cmd.ProcessState)
	}
	t.Logf("acknowledged before SIGKILL: %d attendees (%d when the kill was decided), %d tags, %d meetings",
		len(attendees), before, len(tags), len(meetingsMade))
	if len(attendees) < 20 {
		t.Fatalf("only %d writes were acknowledged before the kill; the test proves nothing", len(attendees))
	}

	// A second node on the same database sees every acknowledged write. It
	// has the first node's attendee limit: on a quiet machine the load above
	// puts more than the default 250 attendees in a meeting.
	s2 := startServer(t, mnEngineAt(db), "--max-attendees", "100000")
	c2 := s2.client(t)
	for _, a := range attendees {
		out, err := c2.GetAttendee(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: aws.String(a.meeting), AttendeeId: aws.String(a.id)})
		if err != nil || *out.Attendee.ExternalUserId != a.ext {
			t.Errorf("acknowledged attendee %s (%s) lost after SIGKILL: %v", a.id, a.ext, err)
		}
	}
	tagSet := map[string]bool{}
	for _, arn := range arns {
		out, err := c2.ListTagsForResource(ctx, &chimesdkmeetings.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
		if err != nil {
			t.Fatalf("ListTagsForResource: %v", err)
		}
		for _, tg := range out.Tags {
			tagSet[arn+" "+*tg.Key] = true
		}
	}
	for _, tg := range tags {
		if !tagSet[tg.arn+" "+tg.key] {
			t.Errorf("acknowledged tag %s lost after SIGKILL", tg.key)
		}
	}
	for id, ext := range meetingsMade {
		out, err := c2.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(id)})
		if err != nil || *out.Meeting.ExternalMeetingId != ext {
			t.Errorf("acknowledged meeting %s (%s) lost after SIGKILL: %v", id, ext, err)
		}
	}
	// The killed node's transactions did not leave the meetings locked: the
	// second node writes to each of them at once.
	for _, id := range meetingIDs {
		start := time.Now()
		if _, err := c2.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: aws.String(id), ExternalUserId: aws.String("after-kill")}); err != nil {
			t.Errorf("CreateAttendee on the second node after the kill: %v", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("CreateAttendee on the second node took %v: a lock of the killed node lingered", took)
		}
	}
}
