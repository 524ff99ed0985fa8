package e2e

// The capability rules on every operation that sets capabilities (D9): all 64
// triples against the content/video rule (C4) and against MaxResolution None
// for video (C2), content (C3) and both, on CreateAttendee,
// BatchCreateAttendee, CreateMeetingWithAttendees, UpdateAttendeeCapabilities
// and BatchUpdateAttendeeCapabilitiesExcept; and the defaults of D11.

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
)

// TestCapabilitiesRuleCounts pins the test's own rule function to hand-counted
// numbers, so that the matrix below cannot silently agree with a wrong
// server: 64 - 16 (content receives without video receiving) = 48; Video
// None: video None and content Send/None = 4*2 = 8; Content None: 4*4 = 16;
// both None: 4.
func TestCapabilitiesRuleCounts(t *testing.T) {
	want := map[string]int{"defaults": 48, "videoNone": 8, "contentNone": 16, "bothNone": 4}
	for _, f := range featureConfigs {
		n := 0
		for _, tr := range allTriples() {
			if capsAllowed(f, tr) {
				n++
			}
		}
		if n != want[f.name] {
			t.Errorf("%s: %d allowed triples, want %d", f.name, n, want[f.name])
		}
	}
	if len(allTriples()) != 64 {
		t.Fatal("not 64 triples")
	}
	// Spot checks of C4 as the model words it.
	for tr, ok := range map[triple]bool{
		{sr, snd, sr}: false, {sr, none, recv}: false, {sr, snd, recv}: false,
		{sr, recv, sr}: true, {none, sr, recv}: true, {sr, none, snd}: true, {sr, snd, none}: true,
		{sr, recv, none}: true, // the reverse is fine
	} {
		if capsAllowed(featureConfig{}, tr) != ok {
			t.Errorf("capsAllowed(%v) = %v", tr, !ok)
		}
	}
}

// TestCapabilitiesMatrix (C2, C3, C4, D9, D10): for every operation that sets
// capabilities, every meeting-feature configuration and every one of the 64
// triples: an allowed triple succeeds and is stored exactly; a refused one is
// 400 BadRequestException and changes nothing (the meeting's attendees are
// compared in full after every refused request, and at the end, so every
// accepted write is checked too; for CreateMeetingWithAttendees no meeting is
// created). One server per engine; each operation uses its own
// meetings.
func TestCapabilitiesMatrix(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		c := startServer(t, e).client(t)
		t.Run("CreateAttendee", func(t *testing.T) {
			t.Parallel()
			for _, f := range featureConfigs {
				matrixCreateAttendee(t, c, f)
			}
		})
		t.Run("BatchCreateAttendee", func(t *testing.T) {
			t.Parallel()
			for _, f := range featureConfigs {
				matrixBatchCreateAttendee(t, c, f)
			}
		})
		t.Run("CreateMeetingWithAttendees", func(t *testing.T) {
			t.Parallel()
			for _, f := range featureConfigs {
				matrixCreateMeetingWithAttendees(t, c, f)
			}
		})
		t.Run("UpdateAttendeeCapabilities", func(t *testing.T) {
			t.Parallel()
			for _, f := range featureConfigs {
				matrixUpdateAttendeeCapabilities(t, c, f)
			}
		})
		t.Run("BatchUpdateAttendeeCapabilitiesExcept", func(t *testing.T) {
			t.Parallel()
			for _, f := range featureConfigs {
				matrixBatchExcept(t, c, f)
			}
		})
	})
}

// checkOutcome checks a request's result against the rules and reports
// whether it succeeded.
func checkOutcome(t *testing.T, f featureConfig, tr triple, err error) bool {
	t.Helper()
	if capsAllowed(f, tr) {
		if err != nil {
			t.Errorf("%s %v: allowed triple refused: %v", f.name, tr, err)
			return false
		}
		return true
	}
	if err == nil {
		t.Errorf("%s %v: refused triple accepted", f.name, tr)
		return true
	}
	wantBadRequest(t, err, "Capabilities")
	return false
}

// assertState compares a meeting's attendees with the expected list.
func assertState(t *testing.T, c *chimesdkmeetings.Client, mid string, want []attendeeState, what string) {
	t.Helper()
	assertUnchanged(t, c, mid, want, what)
}

func matrixCreateAttendee(t *testing.T, c *chimesdkmeetings.Client, f featureConfig) {
	ctx := context.Background()
	mid := newMeeting(t, c, "d9-ca-"+f.name, f.features())
	var want []attendeeState
	for i, tr := range allTriples() {
		ext := fmt.Sprintf("ca-%d", i)
		out, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: aws.String(mid), ExternalUserId: aws.String(ext), Capabilities: tr.caps()})
		if checkOutcome(t, f, tr, err) && err == nil {
			a := out.Attendee
			if got := tripleOf(a.Capabilities); got != tr {
				t.Errorf("%s %v: CreateAttendee answered %v", f.name, tr, got)
			}
			want = append(want, attendeeState{aws.ToString(a.AttendeeId), ext, aws.ToString(a.JoinToken), tr})
			if got := getCaps(t, c, mid, *a.AttendeeId); got != tr {
				t.Errorf("%s %v: GetAttendee %v", f.name, tr, got)
			}
			continue
		}
		assertState(t, c, mid, want, fmt.Sprintf("%s CreateAttendee %v", f.name, tr))
	}
	assertState(t, c, mid, want, f.name+" CreateAttendee, all triples")
}

func matrixBatchCreateAttendee(t *testing.T, c *chimesdkmeetings.Client, f featureConfig) {
	ctx := context.Background()
	mid := newMeeting(t, c, "d9-bc-"+f.name, f.features())
	var want []attendeeState
	for i, tr := range allTriples() {
		// A valid default item rides along: a refused triple must reject the
		// whole request (D16), so it must not be created either.
		items := []types.CreateAttendeeRequestItem{
			{ExternalUserId: aws.String(fmt.Sprintf("bc-%d-default", i))},
			{ExternalUserId: aws.String(fmt.Sprintf("bc-%d", i)), Capabilities: tr.caps()},
		}
		out, err := c.BatchCreateAttendee(ctx, &chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: aws.String(mid), Attendees: items})
		if checkOutcome(t, f, tr, err) && err == nil {
			if len(out.Errors) != 0 || len(out.Attendees) != 2 {
				t.Fatalf("%s %v: %d created, errors %+v", f.name, tr, len(out.Attendees), out.Errors)
			}
			for j, a := range out.Attendees {
				w := wantDefault(f)
				if j == 1 {
					w = tr
				}
				if got := tripleOf(a.Capabilities); got != w {
					t.Errorf("%s %v: item %d answered %v, want %v", f.name, tr, j, got, w)
				}
				want = append(want, attendeeState{aws.ToString(a.AttendeeId), *items[j].ExternalUserId, aws.ToString(a.JoinToken), w})
			}
			continue
		}
		assertState(t, c, mid, want, fmt.Sprintf("%s BatchCreateAttendee %v", f.name, tr))
	}
	assertState(t, c, mid, want, f.name+" BatchCreateAttendee, all triples")
}

func matrixCreateMeetingWithAttendees(t *testing.T, c *chimesdkmeetings.Client, f featureConfig) {
	ctx := context.Background()
	for i, tr := range allTriples() {
		token := fmt.Sprintf("d9-cmwa-%s-%d", f.name, i)
		in := func(caps *types.AttendeeCapabilities) *chimesdkmeetings.CreateMeetingWithAttendeesInput {
			return &chimesdkmeetings.CreateMeetingWithAttendeesInput{
				ClientRequestToken: aws.String(token),
				MediaRegion:        aws.String("us-east-1"),
				ExternalMeetingId:  aws.String("d9-cmwa"),
				MeetingFeatures:    f.features(),
				Attendees: []types.CreateAttendeeRequestItem{
					{ExternalUserId: aws.String("cm-default")},
					{ExternalUserId: aws.String("cm-requested"), Capabilities: caps},
				},
			}
		}
		out, err := c.CreateMeetingWithAttendees(ctx, in(tr.caps()))
		if checkOutcome(t, f, tr, err) && err == nil {
			if out.Meeting == nil || len(out.Errors) != 0 || len(out.Attendees) != 2 {
				t.Fatalf("%s %v: meeting %v, %d attendees, errors %+v", f.name, tr, out.Meeting, len(out.Attendees), out.Errors)
			}
			want := []attendeeState{}
			for j, a := range out.Attendees {
				w := wantDefault(f)
				if j == 1 {
					w = tr
				}
				if got := tripleOf(a.Capabilities); got != w {
					t.Errorf("%s %v: attendee %d answered %v, want %v", f.name, tr, j, got, w)
				}
				want = append(want, attendeeState{aws.ToString(a.AttendeeId), aws.ToString(a.ExternalUserId), aws.ToString(a.JoinToken), w})
			}
			assertState(t, c, *out.Meeting.MeetingId, want, fmt.Sprintf("%s CreateMeetingWithAttendees %v", f.name, tr))
			continue
		}
		if err == nil {
			continue
		}
		if out != nil && out.Meeting != nil {
			t.Errorf("%s %v: refused request returned meeting %s", f.name, tr, aws.ToString(out.Meeting.MeetingId))
		}
		// No meeting may exist under this ClientRequestToken: had the refused
		// request stored one, the same token with other parameters would be a
		// 409 ConflictException (D14). It must create a fresh meeting.
		again, err := c.CreateMeetingWithAttendees(ctx, in(nil))
		if err != nil {
			t.Errorf("%s %v: the refused request left its ClientRequestToken in use: %v", f.name, tr, err)
			continue
		}
		if len(again.Attendees) != 2 {
			t.Errorf("%s %v: retry created %d attendees", f.name, tr, len(again.Attendees))
		}
		for _, a := range again.Attendees {
			if got := tripleOf(a.Capabilities); got != wantDefault(f) {
				t.Errorf("%s %v: retry attendee has %v, want default %v", f.name, tr, got, wantDefault(f))
			}
		}
	}
}

func matrixUpdateAttendeeCapabilities(t *testing.T, c *chimesdkmeetings.Client, f featureConfig) {
	ctx := context.Background()
	mid := newMeeting(t, c, "d9-up-"+f.name, f.features())
	addAttendees(t, c, mid, "up", 2, nil) // target and bystander
	want := snapshot(t, c, mid)
	target := want[0].ID
	for _, tr := range allTriples() {
		out, err := c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
			MeetingId: aws.String(mid), AttendeeId: aws.String(target), Capabilities: tr.caps(),
		})
		if checkOutcome(t, f, tr, err) && err == nil {
			if got := tripleOf(out.Attendee.Capabilities); got != tr {
				t.Errorf("%s %v: UpdateAttendeeCapabilities answered %v", f.name, tr, got)
			}
			want[0].Caps = tr
			continue
		}
		assertState(t, c, mid, want, fmt.Sprintf("%s UpdateAttendeeCapabilities %v", f.name, tr))
	}
	assertState(t, c, mid, want, f.name+" UpdateAttendeeCapabilities, all triples")
}

func matrixBatchExcept(t *testing.T, c *chimesdkmeetings.Client, f featureConfig) {
	mid := newMeeting(t, c, "d9-bx-"+f.name, f.features())
	addAttendees(t, c, mid, "bx", 3, nil) // one excluded, two updated
	want := snapshot(t, c, mid)
	for _, tr := range allTriples() {
		err := batchExcept(c, mid, []string{want[0].ID}, tr)
		if checkOutcome(t, f, tr, err) && err == nil {
			want[1].Caps, want[2].Caps = tr, tr
			continue
		}
		assertState(t, c, mid, want, fmt.Sprintf("%s BatchUpdateAttendeeCapabilitiesExcept %v", f.name, tr))
	}
	assertState(t, c, mid, want, f.name+" BatchUpdateAttendeeCapabilitiesExcept, all triples")
	if want[0].Caps != wantDefault(f) {
		t.Errorf("%s: the excluded attendee has %v, want its default %v", f.name, want[0].Caps, wantDefault(f))
	}
}

// TestCapabilitiesDefaults (D11, C5, C6): an attendee created without
// Capabilities gets SendReceive on every channel, except: Video None with
// Content not None gives Video Receive and Content SendReceive (the model's
// literal wording, although C2 would refuse that triple if requested); both
// None gives None/None; Content None gives Content None. Same for the three
// creating operations, in the response and in stored state.
func TestCapabilitiesDefaults(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := startServer(t, e).client(t)
		for _, f := range featureConfigs {
			t.Run(f.name, func(t *testing.T) {
				want := wantDefault(f)
				mid := newMeeting(t, c, "d11-"+f.name, f.features())
				ca, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: aws.String(mid), ExternalUserId: aws.String("ca")})
				if err != nil {
					t.Fatal(err)
				}
				if got := tripleOf(ca.Attendee.Capabilities); got != want {
					t.Errorf("CreateAttendee answered %v, want %v", got, want)
				}
				bc, err := c.BatchCreateAttendee(ctx, &chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: aws.String(mid), Attendees: []types.CreateAttendeeRequestItem{{ExternalUserId: aws.String("bc")}}})
				if err != nil {
					t.Fatal(err)
				}
				if len(bc.Attendees) != 1 || tripleOf(bc.Attendees[0].Capabilities) != want {
					t.Errorf("BatchCreateAttendee answered %+v, want %v", bc.Attendees, want)
				}
				for _, a := range snapshot(t, c, mid) {
					if a.Caps != want {
						t.Errorf("stored %s: %v, want %v", a.ExternalUserID, a.Caps, want)
					}
				}
				cm, err := c.CreateMeetingWithAttendees(ctx, &chimesdkmeetings.CreateMeetingWithAttendeesInput{
					MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("d11-cmwa"), MeetingFeatures: f.features(),
					Attendees: []types.CreateAttendeeRequestItem{{ExternalUserId: aws.String("cm")}},
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(cm.Attendees) != 1 || tripleOf(cm.Attendees[0].Capabilities) != want {
					t.Errorf("CreateMeetingWithAttendees answered %+v, want %v", cm.Attendees, want)
				}
				if got := getCaps(t, c, *cm.Meeting.MeetingId, *cm.Attendees[0].AttendeeId); got != want {
					t.Errorf("CreateMeetingWithAttendees stored %v, want %v", got, want)
				}
				// The Video-None default is applied, not requested: requesting
				// the same triple explicitly is refused (C2), and that refusal
				// leaves the defaulted attendee alone.
				if f.video == "None" && f.content != "None" {
					before := snapshot(t, c, mid)
					_, err := c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
						MeetingId: aws.String(mid), AttendeeId: ca.Attendee.AttendeeId, Capabilities: want.caps(),
					})
					wantBadRequest(t, err, "Video")
					assertUnchanged(t, c, mid, before, "re-requesting the Video-None default")
				}
			})
		}
	})
}
