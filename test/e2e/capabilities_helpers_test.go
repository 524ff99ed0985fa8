package e2e

// Shared helpers of the capability tests (capabilities_*_test.go): capability
// triples, the rules C2–C4 written out independently of the server, attendee
// snapshots for "nothing changed" checks (D9, D10), and exact error checks.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
	"github.com/aws/smithy-go"
)

// Media capability values (MediaCapabilities enum).
const (
	sr   = "SendReceive"
	snd  = "Send"
	recv = "Receive"
	none = "None"
)

var mediaValues = []string{sr, snd, recv, none}

// triple is one AttendeeCapabilities value.
type triple struct{ A, V, C string }

func (t triple) String() string { return t.A + "/" + t.V + "/" + t.C }

func (t triple) caps() *types.AttendeeCapabilities {
	return &types.AttendeeCapabilities{
		Audio:   types.MediaCapabilities(t.A),
		Video:   types.MediaCapabilities(t.V),
		Content: types.MediaCapabilities(t.C),
	}
}

// json is the triple as a request member, for raw requests.
func (t triple) json() map[string]string {
	return map[string]string{"Audio": t.A, "Video": t.V, "Content": t.C}
}

func tripleOf(c *types.AttendeeCapabilities) triple {
	if c == nil {
		return triple{}
	}
	return triple{string(c.Audio), string(c.Video), string(c.Content)}
}

// allTriples is the 64 triples, audio-major.
func allTriples() []triple {
	var out []triple
	for _, a := range mediaValues {
		for _, v := range mediaValues {
			for _, c := range mediaValues {
				out = append(out, triple{a, v, c})
			}
		}
	}
	return out
}

// featureConfig is a meeting's video/content MaxResolution ("" = not set).
type featureConfig struct {
	name           string
	video, content string
}

var featureConfigs = []featureConfig{
	{"defaults", "", ""},
	{"videoNone", "None", ""},
	{"contentNone", "", "None"},
	{"bothNone", "None", "None"},
}

func (f featureConfig) features() *types.MeetingFeaturesConfiguration {
	if f.video == "" && f.content == "" {
		return nil
	}
	mf := &types.MeetingFeaturesConfiguration{}
	if f.video != "" {
		mf.Video = &types.VideoFeatures{MaxResolution: types.VideoResolution(f.video)}
	}
	if f.content != "" {
		mf.Content = &types.ContentFeatures{MaxResolution: types.ContentResolution(f.content)}
	}
	return mf
}

// capsAllowed is the model's rule set, written out literally:
// C4 Content SendReceive/Receive needs Video SendReceive/Receive;
// C2/C3 a channel whose MaxResolution is None accepts only None.
func capsAllowed(f featureConfig, t triple) bool {
	contentReceives := t.C == sr || t.C == recv
	videoReceives := t.V == sr || t.V == recv
	if contentReceives && !videoReceives {
		return false
	}
	if f.video == "None" && t.V != none {
		return false
	}
	if f.content == "None" && t.C != none {
		return false
	}
	return true
}

// wantDefault is D11 (the model's AttendeeCapabilities doc, read literally).
func wantDefault(f featureConfig) triple {
	switch {
	case f.video == "None" && f.content != "None":
		return triple{sr, recv, sr}
	case f.video == "None":
		return triple{sr, none, none}
	case f.content == "None":
		return triple{sr, sr, none}
	}
	return triple{sr, sr, sr}
}

// newMeeting creates a meeting with the official client.
func newMeeting(t *testing.T, c *chimesdkmeetings.Client, ext string, f *types.MeetingFeaturesConfiguration) string {
	t.Helper()
	m, err := c.CreateMeeting(context.Background(), &chimesdkmeetings.CreateMeetingInput{
		MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String(ext), MeetingFeatures: f,
	})
	if err != nil {
		t.Fatalf("CreateMeeting: %v", err)
	}
	return *m.Meeting.MeetingId
}

// addAttendees creates n attendees named prefix-i through BatchCreateAttendee
// (chunks of 100); capsFor(i) may return nil for the default. It returns the
// AttendeeIds in order.
func addAttendees(t *testing.T, c *chimesdkmeetings.Client, meetingID, prefix string, n int, capsFor func(i int) *types.AttendeeCapabilities) []string {
	t.Helper()
	var ids []string
	for start := 0; start < n; start += 100 {
		var items []types.CreateAttendeeRequestItem
		for i := start; i < n && i < start+100; i++ {
			var caps *types.AttendeeCapabilities
			if capsFor != nil {
				caps = capsFor(i)
			}
			items = append(items, types.CreateAttendeeRequestItem{
				ExternalUserId: aws.String(fmt.Sprintf("%s-%d", prefix, i)), Capabilities: caps,
			})
		}
		out, err := c.BatchCreateAttendee(context.Background(), &chimesdkmeetings.BatchCreateAttendeeInput{
			MeetingId: aws.String(meetingID), Attendees: items,
		})
		if err != nil {
			t.Fatalf("BatchCreateAttendee: %v", err)
		}
		if len(out.Errors) != 0 || len(out.Attendees) != len(items) {
			t.Fatalf("BatchCreateAttendee: %d created, errors %+v", len(out.Attendees), out.Errors)
		}
		for _, a := range out.Attendees {
			ids = append(ids, *a.AttendeeId)
		}
	}
	return ids
}

// attendeeState is everything the API tells about one attendee.
type attendeeState struct {
	ID, ExternalUserID, JoinToken string
	Caps                          triple
}

// snapshot lists every attendee of a meeting (all pages, in order).
func snapshot(t *testing.T, c *chimesdkmeetings.Client, meetingID string) []attendeeState {
	t.Helper()
	var out []attendeeState
	var next *string
	for {
		page, err := c.ListAttendees(context.Background(), &chimesdkmeetings.ListAttendeesInput{
			MeetingId: aws.String(meetingID), NextToken: next, MaxResults: aws.Int32(100),
		})
		if err != nil {
			t.Fatalf("ListAttendees: %v", err)
		}
		for _, a := range page.Attendees {
			out = append(out, attendeeState{aws.ToString(a.AttendeeId), aws.ToString(a.ExternalUserId), aws.ToString(a.JoinToken), tripleOf(a.Capabilities)})
		}
		if aws.ToString(page.NextToken) == "" {
			return out
		}
		next = page.NextToken
	}
}

func capsByID(s []attendeeState) map[string]triple {
	m := make(map[string]triple, len(s))
	for _, a := range s {
		m[a.ID] = a.Caps
	}
	return m
}

// assertUnchanged compares a meeting's attendees with an earlier snapshot.
func assertUnchanged(t *testing.T, c *chimesdkmeetings.Client, meetingID string, before []attendeeState, what string) {
	t.Helper()
	after := snapshot(t, c, meetingID)
	if reflect.DeepEqual(before, after) {
		return
	}
	if len(before) != len(after) {
		t.Errorf("%s changed the meeting: %d attendees before, %d after", what, len(before), len(after))
		return
	}
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("%s changed attendee %d: before %+v, after %+v", what, i, before[i], after[i])
		}
	}
}

// getCaps reads one attendee's capabilities with GetAttendee.
func getCaps(t *testing.T, c *chimesdkmeetings.Client, meetingID, attendeeID string) triple {
	t.Helper()
	a, err := c.GetAttendee(context.Background(), &chimesdkmeetings.GetAttendeeInput{MeetingId: aws.String(meetingID), AttendeeId: aws.String(attendeeID)})
	if err != nil {
		t.Fatalf("GetAttendee %s: %v", attendeeID, err)
	}
	return tripleOf(a.Attendee.Capabilities)
}

// batchExcept calls BatchUpdateAttendeeCapabilitiesExcept with the SDK.
func batchExcept(c *chimesdkmeetings.Client, meetingID string, excluded []string, caps triple) error {
	items := make([]types.AttendeeIdItem, len(excluded))
	for i, id := range excluded {
		items[i] = types.AttendeeIdItem{AttendeeId: aws.String(id)}
	}
	_, err := c.BatchUpdateAttendeeCapabilitiesExcept(context.Background(), &chimesdkmeetings.BatchUpdateAttendeeCapabilitiesExceptInput{
		MeetingId: aws.String(meetingID), ExcludedAttendeeIds: items, Capabilities: caps.caps(),
	})
	return err
}

// errorStatus returns the HTTP status of an SDK error (0 if none).
func errorStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// wantAPIError checks an SDK error's HTTP status, its error code and that its
// message contains every string of msg.
func wantAPIError(t *testing.T, err error, status int, code string, msg ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("got success, want %d %s", status, code)
		return
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("got %v, want API error %d %s", err, status, code)
		return
	}
	if ae.ErrorCode() != code || errorStatus(err) != status {
		t.Errorf("got %d %s (%s), want %d %s", errorStatus(err), ae.ErrorCode(), ae.ErrorMessage(), status, code)
	}
	for _, m := range msg {
		if !strings.Contains(ae.ErrorMessage(), m) {
			t.Errorf("error message %q does not mention %q", ae.ErrorMessage(), m)
		}
	}
}

// wantBadRequest checks for the SDK's typed BadRequestException with 400.
func wantBadRequest(t *testing.T, err error, msg ...string) {
	t.Helper()
	var bre *types.BadRequestException
	if err != nil && !errors.As(err, &bre) {
		t.Errorf("got %T %v, want *types.BadRequestException", err, err)
		return
	}
	wantAPIError(t, err, http.StatusBadRequest, "BadRequestException", msg...)
}

// wantNotFound checks for the SDK's typed NotFoundException with 404.
func wantNotFound(t *testing.T, err error, msg ...string) {
	t.Helper()
	var nfe *types.NotFoundException
	if err != nil && !errors.As(err, &nfe) {
		t.Errorf("got %T %v, want *types.NotFoundException", err, err)
		return
	}
	wantAPIError(t, err, http.StatusNotFound, "NotFoundException", msg...)
}

// wantRawError checks a raw response against the D1 error form: status,
// X-Amzn-ErrorType, JSON body {Code, Message, RequestId} whose RequestId is
// the x-amzn-RequestId header, and a message mentioning every msg.
func wantRawError(t *testing.T, r rawResponse, status int, code string, msg ...string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d (body %s)", r.Status, status, r.Body)
	}
	if got := r.Header.Get("X-Amzn-ErrorType"); got != code {
		t.Errorf("X-Amzn-ErrorType %q, want %q", got, code)
	}
	var body struct{ Code, Message, RequestId *string }
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Errorf("error body is not JSON: %v: %q", err, r.Body)
		return
	}
	if body.Code == nil || *body.Code != code {
		t.Errorf("body Code %v, want %q (body %s)", aws.ToString(body.Code), code, r.Body)
	}
	rid := r.Header.Get("X-Amzn-Requestid")
	if rid == "" || body.RequestId == nil || *body.RequestId != rid {
		t.Errorf("body RequestId %q, header x-amzn-RequestId %q: want equal and non-empty", aws.ToString(body.RequestId), rid)
	}
	if body.Message == nil || *body.Message == "" {
		t.Errorf("error body has no Message: %s", r.Body)
	}
	for _, m := range msg {
		if !strings.Contains(aws.ToString(body.Message), m) {
			t.Errorf("error message %q does not mention %q", aws.ToString(body.Message), m)
		}
	}
}

// batchExceptPath is the route of BatchUpdateAttendeeCapabilitiesExcept.
func batchExceptPath(meetingID string) string {
	return "/meetings/" + meetingID + "/attendees/capabilities?operation=batch-update-except"
}

// rawBatchExcept sends BatchUpdateAttendeeCapabilitiesExcept with a body the
// SDK might not send.
func (s *server) rawBatchExcept(t *testing.T, meetingID string, body any) rawResponse {
	t.Helper()
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	return s.do(t, http.MethodPut, batchExceptPath(meetingID), b)
}

// excludedJSON is an ExcludedAttendeeIds member for raw bodies.
func excludedJSON(ids ...string) []map[string]string {
	out := make([]map[string]string, len(ids))
	for i, id := range ids {
		out[i] = map[string]string{"AttendeeId": id}
	}
	return out
}
