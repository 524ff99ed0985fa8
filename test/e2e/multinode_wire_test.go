package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
)

// mnPerRequestHeaders differ between any two responses, even from one node.
var mnPerRequestHeaders = map[string]bool{"X-Amzn-Requestid": true, "Date": true}

var mnRequestIDInBody = regexp.MustCompile(`"RequestId":"[^"]*"`)

// mnNormalized is a response with its per-request values removed: headers
// (sorted) and the body, byte for byte except an error body's RequestId.
func mnNormalized(r rawResponse) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", r.Status)
	var names []string
	for k := range r.Header {
		if !mnPerRequestHeaders[http.CanonicalHeaderKey(k)] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(r.Header[k], ", "))
	}
	b.Write(mnRequestIDInBody.ReplaceAll(r.Body, []byte(`"RequestId":"-"`)))
	return b.String()
}

// TestMultinodeSameAnswers: two nodes with the same --public-url answer
// byte for byte the same (status, headers, body; x-amzn-RequestId and Date
// aside) for reads of the same objects: GetMeeting, GetAttendee,
// ListAttendees, ListTagsForResource, and a 404.
func TestMultinodeSameAnswers(t *testing.T) {
	nodes, _ := mnTwoNodes(t)
	ctx := context.Background()
	c := nodes[0].client(t)
	out, err := c.CreateMeetingWithAttendees(ctx, &chimesdkmeetings.CreateMeetingWithAttendeesInput{
		ClientRequestToken: aws.String("same-answers"),
		ExternalMeetingId:  aws.String("same-answers"),
		MediaRegion:        aws.String("us-west-2"),
		MeetingHostId:      aws.String("host-1"),
		TenantIds:          []string{"tenant-1"},
		MeetingFeatures: &types.MeetingFeaturesConfiguration{
			Audio:    &types.AudioFeatures{EchoReduction: types.MeetingFeatureStatusAvailable},
			Video:    &types.VideoFeatures{MaxResolution: types.VideoResolutionHd},
			Attendee: &types.AttendeeFeatures{MaxCount: aws.Int32(30)},
		},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("rtc")}},
		Attendees: []types.CreateAttendeeRequestItem{
			{ExternalUserId: aws.String("alice")},
			{ExternalUserId: aws.String("bob"), Capabilities: &types.AttendeeCapabilities{
				Audio: types.MediaCapabilitiesReceive, Video: types.MediaCapabilitiesNone, Content: types.MediaCapabilitiesNone}},
		},
	})
	if err != nil {
		t.Fatalf("CreateMeetingWithAttendees: %v", err)
	}
	mid := *out.Meeting.MeetingId
	if len(out.Attendees) != 2 {
		t.Fatalf("created %d attendees, want 2", len(out.Attendees))
	}
	// A batch-except through node B, so that the answers also cover
	// capabilities that come from the meeting's batch triple.
	if _, err := nodes[1].client(t).BatchUpdateAttendeeCapabilitiesExcept(ctx, &chimesdkmeetings.BatchUpdateAttendeeCapabilitiesExceptInput{
		MeetingId:           aws.String(mid),
		ExcludedAttendeeIds: []types.AttendeeIdItem{{AttendeeId: out.Attendees[1].AttendeeId}},
		Capabilities: &types.AttendeeCapabilities{
			Audio: types.MediaCapabilitiesSend, Video: types.MediaCapabilitiesReceive, Content: types.MediaCapabilitiesReceive},
	}); err != nil {
		t.Fatalf("BatchUpdateAttendeeCapabilitiesExcept: %v", err)
	}
	arn := *out.Meeting.MeetingArn
	paths := []string{
		"/meetings/" + mid,
		"/meetings/" + strings.ToUpper(mid),
		"/meetings/" + mid + "/attendees/" + *out.Attendees[0].AttendeeId,
		"/meetings/" + mid + "/attendees/" + *out.Attendees[1].AttendeeId,
		"/meetings/" + mid + "/attendees",
		"/meetings/" + mid + "/attendees?max-results=1",
		"/tags?arn=" + url.QueryEscape(arn),
		"/meetings/00000000-0000-4000-8000-000000000000",
	}
	for _, p := range paths {
		var got [2]rawResponse
		for i, n := range nodes {
			r, err := mnDo(ctx, n, http.MethodGet, p, nil)
			if err != nil {
				t.Fatalf("GET %s on node %d: %v", p, i, err)
			}
			got[i] = r
		}
		if got[0].Status != 200 && !strings.HasPrefix(p, "/meetings/00000000") {
			t.Errorf("GET %s: status %d: %s", p, got[0].Status, got[0].Body)
		}
		a, b := mnNormalized(got[0]), mnNormalized(got[1])
		if a != b {
			t.Errorf("GET %s: the nodes answer differently\nnode A:\n%s\nnode B:\n%s", p, a, b)
		}
		if strings.Contains(p, "/meetings/"+mid) && !strings.Contains(p, "attendees") && !bytes.Contains(got[0].Body, []byte(mnPublicURL[len("http://"):])) {
			t.Errorf("GET %s: MediaPlacement does not derive from --public-url: %s", p, got[0].Body)
		}
	}
}
