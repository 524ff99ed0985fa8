package e2e

// Meeting operations (CreateMeeting, GetMeeting, DeleteMeeting,
// CreateMeetingWithAttendees) with the official client: response shapes
// (docs/wire.md "Response layouts"; D3, D13, D17) and every listed error Carillon can
// produce (D3, D14, D17, D20).

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
)

// TestOpsCreateMeetingShape: MeetingId is a lower-case UUIDv4 (D3), the ARN
// is arn:aws:chime:<MediaRegion>:<account>:meeting/<id>, MediaPlacement has 8
// well-formed URLs derived from the server's endpoint, TenantIds is [] and
// PrimaryMeetingId is omitted when unset (D17), MeetingFeatures echoes only
// what was set (D13), and GetMeeting returns the same meeting, also for an
// upper-case ID (D3).
func TestOpsCreateMeetingShape(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := startServer(t, e)
		c := s.client(t)
		ep, err := url.Parse(s.Endpoint)
		if err != nil {
			t.Fatal(err)
		}

		for _, region := range []string{"us-east-1", "eu-west-2"} {
			m := opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{
				MediaRegion: aws.String(region), ExternalMeetingId: aws.String("shape-" + region),
			})
			id := aws.ToString(m.MeetingId)
			if !opsUUIDv4.MatchString(id) {
				t.Errorf("MeetingId %q is not a lower-case UUIDv4 (D3)", id)
			}
			if got, want := aws.ToString(m.MeetingArn), opsArn(region, id); got != want {
				t.Errorf("MeetingArn %q, want %q", got, want)
			}
			if aws.ToString(m.MediaRegion) != region || aws.ToString(m.ExternalMeetingId) != "shape-"+region {
				t.Errorf("MediaRegion/ExternalMeetingId not echoed: %q %q", aws.ToString(m.MediaRegion), aws.ToString(m.ExternalMeetingId))
			}
			if m.PrimaryMeetingId != nil {
				t.Errorf("PrimaryMeetingId %q, want omitted (D17)", *m.PrimaryMeetingId)
			}
			if m.TenantIds == nil || len(m.TenantIds) != 0 {
				t.Errorf("TenantIds %#v, want [] (D17)", m.TenantIds)
			}
			if mf := m.MeetingFeatures; mf != nil && (mf.Video != nil || mf.Content != nil || mf.Attendee != nil || mf.Audio != nil) {
				t.Errorf("MeetingFeatures %+v echoed defaults; D13 echoes only what was set", *mf)
			}
			opsCheckMediaPlacement(t, m.MediaPlacement, ep, id)

			got, err := c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(id)})
			if err != nil {
				t.Fatalf("GetMeeting: %v", err)
			}
			if !reflect.DeepEqual(got.Meeting, m) {
				t.Errorf("GetMeeting %+v differs from CreateMeeting %+v", got.Meeting, m)
			}
			upper, err := c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(strings.ToUpper(id))})
			if err != nil {
				t.Errorf("GetMeeting with an upper-case ID (D3 case-insensitive): %v", err)
			} else if aws.ToString(upper.Meeting.MeetingId) != id {
				t.Errorf("upper-case lookup returned %q, want %q", aws.ToString(upper.Meeting.MeetingId), id)
			}

			// Raw wire form: TenantIds [] and no PrimaryMeetingId key.
			r := s.do(t, http.MethodGet, "/meetings/"+id, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("raw GetMeeting: %d %s", r.Status, r.Body)
			}
			if r.Header.Get("X-Amzn-Requestid") == "" {
				t.Errorf("success response without x-amzn-RequestId (D1)")
			}
			raw := opsDecode(t, r)["Meeting"].(map[string]any)
			if tids, ok := raw["TenantIds"].([]any); !ok || len(tids) != 0 {
				t.Errorf("wire TenantIds %#v, want []", raw["TenantIds"])
			}
			if _, ok := raw["PrimaryMeetingId"]; ok {
				t.Errorf("wire PrimaryMeetingId present (%v), want omitted", raw["PrimaryMeetingId"])
			}
		}

		// Every optional member set: echoed as set, features only as set.
		m := opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{
			ExternalMeetingId: aws.String("full"),
			MeetingHostId:     aws.String("host-1"),
			TenantIds:         []string{"t1x", "tenant-2"},
			Tags:              []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
			NotificationsConfiguration: &types.NotificationsConfiguration{
				SqsQueueArn: aws.String("arn:aws:sqs:us-east-1:123456789012:q"),
			},
			MediaPlacementNetworkType: types.MediaPlacementNetworkTypeDualStack,
			MeetingFeatures: &types.MeetingFeaturesConfiguration{
				Video:    &types.VideoFeatures{MaxResolution: types.VideoResolutionFhd},
				Attendee: &types.AttendeeFeatures{MaxCount: aws.Int32(25)},
			},
		})
		if !reflect.DeepEqual(m.TenantIds, []string{"t1x", "tenant-2"}) {
			t.Errorf("TenantIds %v not echoed", m.TenantIds)
		}
		mf := m.MeetingFeatures
		if mf == nil || mf.Video == nil || mf.Video.MaxResolution != types.VideoResolutionFhd ||
			mf.Attendee == nil || aws.ToInt32(mf.Attendee.MaxCount) != 25 {
			t.Errorf("MeetingFeatures %+v, want Video FHD and Attendee MaxCount 25", mf)
		} else if mf.Content != nil || mf.Audio != nil {
			t.Errorf("MeetingFeatures echoed unset Content %+v / Audio %+v (D13)", mf.Content, mf.Audio)
		}
		if tags := opsTags(t, c, aws.ToString(m.MeetingArn)); !reflect.DeepEqual(tags, map[string]string{"k": "v"}) {
			t.Errorf("tags given at creation: %v", tags)
		}
	})
}

// opsCheckMediaPlacement: all 8 URLs present, well-formed and on the
// server's own host; the per-meeting ones name the meeting.
func opsCheckMediaPlacement(t *testing.T, mp *types.MediaPlacement, ep *url.URL, id string) {
	t.Helper()
	if mp == nil {
		t.Error("MediaPlacement missing")
		return
	}
	if got := aws.ToString(mp.AudioHostUrl); got != ep.Host {
		t.Errorf("AudioHostUrl %q, want the server's host:port %q", got, ep.Host)
	}
	urls := map[string]struct {
		v         *string
		schemes   string
		mentionID bool
	}{
		"AudioFallbackUrl":  {mp.AudioFallbackUrl, "ws wss", true},
		"SignalingUrl":      {mp.SignalingUrl, "ws wss", true},
		"ScreenDataUrl":     {mp.ScreenDataUrl, "ws wss", true},
		"ScreenViewingUrl":  {mp.ScreenViewingUrl, "ws wss", true},
		"ScreenSharingUrl":  {mp.ScreenSharingUrl, "ws wss", true},
		"TurnControlUrl":    {mp.TurnControlUrl, "http https", false},
		"EventIngestionUrl": {mp.EventIngestionUrl, "http https", false},
	}
	for name, u := range urls {
		raw := aws.ToString(u.v)
		p, err := url.Parse(raw)
		if err != nil || p.Host == "" || !strings.Contains(u.schemes, p.Scheme) || p.Scheme == "" {
			t.Errorf("%s %q is not a well-formed %s URL", name, raw, u.schemes)
			continue
		}
		if p.Host != ep.Host {
			t.Errorf("%s %q: host %q is not the server's %q", name, raw, p.Host, ep.Host)
		}
		if u.mentionID && !strings.Contains(raw, id) {
			t.Errorf("%s %q does not name meeting %s", name, raw, id)
		}
	}
}

// TestOpsGetMeetingErrors: unknown well-formed ID is 404 NotFoundException
// "Meeting <id> not found"; a non-GUID ID is 400 (D3).
func TestOpsGetMeetingErrors(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := startServer(t, e).client(t)
		unknown := "11111111-2222-4333-8444-555555555555"
		_, err := c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(unknown)})
		opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException", "Meeting "+unknown+" not found")
		_, err = c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String("not-a-guid")})
		opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException", "MeetingId")
		_, err = c.DeleteMeeting(ctx, &chimesdkmeetings.DeleteMeetingInput{MeetingId: aws.String(unknown)})
		opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException", unknown)
	})
}

// TestOpsDeleteMeetingThenEverything404 (D20): DeleteMeeting answers 204 with
// an empty body; afterwards every operation on the meeting, its attendees
// and its tags is 404 (NotFound, or ResourceNotFound for tag operations).
func TestOpsDeleteMeetingThenEverything404(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := startServer(t, e)
		c := s.client(t)
		m := opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		id, arn := aws.ToString(m.MeetingId), aws.ToString(m.MeetingArn)
		a := opsAttendee(t, c, id, "doomed")
		aid := aws.ToString(a.AttendeeId)

		r := s.do(t, http.MethodDelete, "/meetings/"+id, nil)
		if r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("DeleteMeeting: %d %q, want 204 and an empty body (D6)", r.Status, r.Body)
		}
		caps := &types.AttendeeCapabilities{Audio: "SendReceive", Video: "SendReceive", Content: "SendReceive"}
		notFound := map[string]error{}
		_, notFound["GetMeeting"] = c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: &id})
		_, notFound["DeleteMeeting"] = c.DeleteMeeting(ctx, &chimesdkmeetings.DeleteMeetingInput{MeetingId: &id})
		_, notFound["CreateAttendee"] = c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: &id, ExternalUserId: aws.String("late")})
		_, notFound["BatchCreateAttendee"] = c.BatchCreateAttendee(ctx, &chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: &id, Attendees: []types.CreateAttendeeRequestItem{{ExternalUserId: aws.String("late")}}})
		_, notFound["GetAttendee"] = c.GetAttendee(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: &id, AttendeeId: &aid})
		_, notFound["ListAttendees"] = c.ListAttendees(ctx, &chimesdkmeetings.ListAttendeesInput{MeetingId: &id})
		_, notFound["DeleteAttendee"] = c.DeleteAttendee(ctx, &chimesdkmeetings.DeleteAttendeeInput{MeetingId: &id, AttendeeId: &aid})
		_, notFound["UpdateAttendeeCapabilities"] = c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{MeetingId: &id, AttendeeId: &aid, Capabilities: caps})
		_, notFound["BatchUpdateAttendeeCapabilitiesExcept"] = c.BatchUpdateAttendeeCapabilitiesExcept(ctx, &chimesdkmeetings.BatchUpdateAttendeeCapabilitiesExceptInput{MeetingId: &id, ExcludedAttendeeIds: []types.AttendeeIdItem{{AttendeeId: &aid}}, Capabilities: caps})
		_, notFound["StartMeetingTranscription"] = c.StartMeetingTranscription(ctx, &chimesdkmeetings.StartMeetingTranscriptionInput{MeetingId: &id, TranscriptionConfiguration: &types.TranscriptionConfiguration{EngineTranscribeSettings: &types.EngineTranscribeSettings{LanguageCode: "en-US"}}})
		_, notFound["StopMeetingTranscription"] = c.StopMeetingTranscription(ctx, &chimesdkmeetings.StopMeetingTranscriptionInput{MeetingId: &id})
		for op, err := range notFound {
			t.Run(op, func(t *testing.T) {
				opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException")
			})
		}
		resNotFound := map[string]error{}
		_, resNotFound["ListTagsForResource"] = c.ListTagsForResource(ctx, &chimesdkmeetings.ListTagsForResourceInput{ResourceARN: &arn})
		_, resNotFound["TagResource"] = c.TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: &arn, Tags: []types.Tag{{Key: aws.String("k2"), Value: aws.String("v")}}})
		_, resNotFound["UntagResource"] = c.UntagResource(ctx, &chimesdkmeetings.UntagResourceInput{ResourceARN: &arn, TagKeys: []string{"k"}})
		for op, err := range resNotFound {
			t.Run(op, func(t *testing.T) {
				opsWantErr[*types.ResourceNotFoundException](t, err, 404, "ResourceNotFoundException")
			})
		}
	})
}

// TestOpsClientRequestToken (D14): the same token with identical parameters
// returns the same meeting (CreateMeeting and CreateMeetingWithAttendees);
// with different parameters it is 409 ConflictException and creates nothing.
func TestOpsClientRequestToken(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := startServer(t, e).client(t)
		in := chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("token-d14-a"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("d14")}
		first, err := c.CreateMeeting(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.CreateMeeting(ctx, &in)
		if err != nil {
			t.Fatalf("same token, same parameters: %v", err)
		}
		if !reflect.DeepEqual(first.Meeting, again.Meeting) {
			t.Errorf("same token returned a different meeting: %+v vs %+v", first.Meeting, again.Meeting)
		}
		diff := in
		diff.ExternalMeetingId = aws.String("d14-other")
		_, err = c.CreateMeeting(ctx, &diff)
		opsWantErr[*types.ConflictException](t, err, 409, "ConflictException")
		diff = in
		diff.MediaRegion = aws.String("eu-west-1")
		_, err = c.CreateMeeting(ctx, &diff)
		opsWantErr[*types.ConflictException](t, err, 409, "ConflictException")
		// The original meeting is untouched.
		got, err := c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: first.Meeting.MeetingId})
		if err != nil || aws.ToString(got.Meeting.ExternalMeetingId) != "d14" || aws.ToString(got.Meeting.MediaRegion) != "us-east-1" {
			t.Errorf("meeting after conflicts: %+v %v", got, err)
		}

		win := chimesdkmeetings.CreateMeetingWithAttendeesInput{
			ClientRequestToken: aws.String("token-d14-b"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("d14w"),
			Attendees: []types.CreateAttendeeRequestItem{{ExternalUserId: aws.String("u1")}, {ExternalUserId: aws.String("u2")}},
		}
		w1, err := c.CreateMeetingWithAttendees(ctx, &win)
		if err != nil {
			t.Fatal(err)
		}
		w2, err := c.CreateMeetingWithAttendees(ctx, &win)
		if err != nil {
			t.Fatalf("CreateMeetingWithAttendees same token, same parameters: %v", err)
		}
		if aws.ToString(w1.Meeting.MeetingId) != aws.ToString(w2.Meeting.MeetingId) {
			t.Errorf("same token returned meetings %s and %s", aws.ToString(w1.Meeting.MeetingId), aws.ToString(w2.Meeting.MeetingId))
		}
		if n := len(snapshot(t, c, aws.ToString(w1.Meeting.MeetingId))); n != 2 {
			t.Errorf("meeting has %d attendees after the repeated request, want 2", n)
		}
		wdiff := win
		wdiff.Attendees = []types.CreateAttendeeRequestItem{{ExternalUserId: aws.String("u3")}}
		_, err = c.CreateMeetingWithAttendees(ctx, &wdiff)
		opsWantErr[*types.ConflictException](t, err, 409, "ConflictException")
		if n := len(snapshot(t, c, aws.ToString(w1.Meeting.MeetingId))); n != 2 {
			t.Errorf("meeting has %d attendees after the conflicting request, want 2", n)
		}
	})
}

// TestOpsMeetingFeaturesD13: MaxCount > 25 with Video FHD or Content UHD is
// 400; 25 is fine; FHD without MaxCount caps the meeting at 25 attendees
// (the 26th CreateAttendee is LimitExceededException, D16).
func TestOpsMeetingFeaturesD13(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := startServer(t, e).client(t)
		create := func(mf *types.MeetingFeaturesConfiguration) (*chimesdkmeetings.CreateMeetingOutput, error) {
			return c.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("d13"), MeetingFeatures: mf})
		}
		_, err := create(&types.MeetingFeaturesConfiguration{Video: &types.VideoFeatures{MaxResolution: "FHD"}, Attendee: &types.AttendeeFeatures{MaxCount: aws.Int32(26)}})
		opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException")
		_, err = create(&types.MeetingFeaturesConfiguration{Content: &types.ContentFeatures{MaxResolution: "UHD"}, Attendee: &types.AttendeeFeatures{MaxCount: aws.Int32(250)}})
		opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException")
		_, err = c.CreateMeetingWithAttendees(ctx, &chimesdkmeetings.CreateMeetingWithAttendeesInput{
			MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("d13"),
			MeetingFeatures: &types.MeetingFeaturesConfiguration{Video: &types.VideoFeatures{MaxResolution: "FHD"}, Attendee: &types.AttendeeFeatures{MaxCount: aws.Int32(100)}},
			Attendees:       []types.CreateAttendeeRequestItem{{ExternalUserId: aws.String("u1")}},
		})
		opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException")
		if _, err := create(&types.MeetingFeaturesConfiguration{Content: &types.ContentFeatures{MaxResolution: "UHD"}, Attendee: &types.AttendeeFeatures{MaxCount: aws.Int32(25)}}); err != nil {
			t.Errorf("UHD with MaxCount 25: %v", err)
		}
		m, err := create(&types.MeetingFeaturesConfiguration{Video: &types.VideoFeatures{MaxResolution: "FHD"}})
		if err != nil {
			t.Fatalf("FHD without MaxCount: %v", err)
		}
		id := aws.ToString(m.Meeting.MeetingId)
		if mf := m.Meeting.MeetingFeatures; mf == nil || mf.Video == nil || mf.Video.MaxResolution != "FHD" || mf.Attendee != nil || mf.Content != nil {
			t.Errorf("MeetingFeatures %+v, want only Video FHD echoed (D13)", mf)
		}
		addAttendees(t, c, id, "fhd", 25, nil)
		_, err = c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: &id, ExternalUserId: aws.String("fhd-26")})
		opsWantErr[*types.LimitExceededException](t, err, 400, "LimitExceededException")
		if n := len(snapshot(t, c, id)); n != 25 {
			t.Errorf("%d attendees, want 25", n)
		}
	})
}

// TestOpsReplicas (D17): a replica names an existing primary and echoes
// PrimaryMeetingId; an unknown primary or a replica as primary is 400; a
// deleted primary takes its replicas with it.
func TestOpsReplicas(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := startServer(t, e).client(t)
		p := opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String("primary")})
		pid := aws.ToString(p.MeetingId)
		r := opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String("replica"), PrimaryMeetingId: aws.String(pid)})
		rid := aws.ToString(r.MeetingId)
		if aws.ToString(r.PrimaryMeetingId) != pid {
			t.Errorf("replica PrimaryMeetingId %q, want %q", aws.ToString(r.PrimaryMeetingId), pid)
		}
		g, err := c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: &rid})
		if err != nil || aws.ToString(g.Meeting.PrimaryMeetingId) != pid {
			t.Errorf("GetMeeting(replica): %+v %v", g, err)
		}
		other := opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String("unrelated")})

		for name, primary := range map[string]string{
			"unknown primary":      "11111111-2222-4333-8444-555555555555",
			"primary not a GUID":   "no-such-meeting",
			"replica of a replica": rid,
		} {
			t.Run(name, func(t *testing.T) {
				_, err := c.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("bad-replica"), PrimaryMeetingId: aws.String(primary)})
				opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException")
				_, err = c.CreateMeetingWithAttendees(ctx, &chimesdkmeetings.CreateMeetingWithAttendeesInput{MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("bad-replica"), PrimaryMeetingId: aws.String(primary),
					Attendees: []types.CreateAttendeeRequestItem{{ExternalUserId: aws.String("u1")}}})
				opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException")
			})
		}

		if _, err := c.DeleteMeeting(ctx, &chimesdkmeetings.DeleteMeetingInput{MeetingId: &pid}); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: &rid})
		opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException")
		if _, err := c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: other.MeetingId}); err != nil {
			t.Errorf("an unrelated meeting went with the primary: %v", err)
		}
	})
}
