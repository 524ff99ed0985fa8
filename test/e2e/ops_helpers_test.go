package e2e

// Shared helpers of the per-operation tests (ops_*_test.go): exact typed
// error checks, ID and ARN shapes, raw JSON access to responses.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
	"github.com/aws/smithy-go"
)

// opsUUIDv4 is a lower-case UUIDv4 (D3).
var opsUUIDv4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// opsBase64URL is an unpadded base64url string of at least 128 bits (D18).
var opsBase64URL = regexp.MustCompile(`^[A-Za-z0-9_-]{22,}$`)

// opsWantErr checks that err is the SDK's typed exception E with the given
// HTTP status and error code, and that its message contains every msg.
func opsWantErr[E error](t *testing.T, err error, status int, code string, msg ...string) {
	t.Helper()
	var typed E
	if err == nil || !errors.As(err, &typed) {
		t.Errorf("got %T %v, want %T (%d %s)", err, err, typed, status, code)
		return
	}
	wantAPIError(t, err, status, code, msg...)
}

// opsCode returns the API error code of err ("" if none).
func opsCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// opsJSON marshals v or fails the test.
func opsJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// opsDecode decodes a raw response body into a generic map.
func opsDecode(t *testing.T, r rawResponse) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// opsMeeting creates a meeting with the given input fields (MediaRegion and
// ExternalMeetingId filled when empty) and returns it.
func opsMeeting(t *testing.T, c *chimesdkmeetings.Client, in chimesdkmeetings.CreateMeetingInput) *types.Meeting {
	t.Helper()
	if in.MediaRegion == nil {
		in.MediaRegion = aws.String("us-east-1")
	}
	if in.ExternalMeetingId == nil {
		in.ExternalMeetingId = aws.String("ops-meeting")
	}
	out, err := c.CreateMeeting(context.Background(), &in)
	if err != nil {
		t.Fatalf("CreateMeeting: %v", err)
	}
	return out.Meeting
}

// opsAttendee creates one attendee and returns it.
func opsAttendee(t *testing.T, c *chimesdkmeetings.Client, meetingID, ext string) *types.Attendee {
	t.Helper()
	out, err := c.CreateAttendee(context.Background(), &chimesdkmeetings.CreateAttendeeInput{
		MeetingId: aws.String(meetingID), ExternalUserId: aws.String(ext),
	})
	if err != nil {
		t.Fatalf("CreateAttendee %s: %v", ext, err)
	}
	return out.Attendee
}

// opsTags returns a meeting's tags as a map.
func opsTags(t *testing.T, c *chimesdkmeetings.Client, arn string) map[string]string {
	t.Helper()
	out, err := c.ListTagsForResource(context.Background(), &chimesdkmeetings.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTagsForResource: %v", err)
	}
	m := map[string]string{}
	for _, tg := range out.Tags {
		m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return m
}

// opsTagList builds n tags named prefix-i.
func opsTagList(prefix string, n int) []types.Tag {
	out := make([]types.Tag, n)
	for i := range out {
		out[i] = types.Tag{Key: aws.String(fmt.Sprintf("%s-%d", prefix, i)), Value: aws.String("v")}
	}
	return out
}

func opsSortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// opsArn is the ARN Carillon gives a meeting of the test account.
func opsArn(region, meetingID string) string {
	return "arn:aws:chime:" + region + ":" + testAccount + ":meeting/" + meetingID
}

// errorsAs is errors.As, for call sites that already import another errors.
func errorsAs(err error, target any) bool { return errors.As(err, target) }

// opsEqualJSON compares two values by their JSON encoding.
func opsEqualJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
