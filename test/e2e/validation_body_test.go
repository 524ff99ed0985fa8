package e2e

// Body decoding (D5) for every operation that has a body, generated from the
// model: malformed JSON, non-object bodies and bodies over 1 MiB are 400
// BadRequestException and change nothing; unknown members are ignored; the
// empty MeetingId label that boto3 sends is 400 (docs/wire.md,
// "What the SDKs send").

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"

	"github.com/carillon-dev/carillon/internal/apimodel"
)

// TestValidationBodyDecodingD5: every body operation, every broken body.
func TestValidationBodyDecodingD5(t *testing.T) {
	t.Parallel()
	model, err := apimodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	forEachEngine(t, func(t *testing.T, e engine) {
		s := startServer(t, e)
		c := s.client(t)
		tg := valNewTarget(t, c, "val-body")
		before := valSnapshot(t, c, tg)
		big := `{"ExternalUserId":"big-user","Attendees":[{"ExternalUserId":"big-user"}],"Pad":"` + strings.Repeat("a", 1<<20) + `"}`
		bodies := map[string]string{
			"truncated":        `{"ExternalUserId":"x1"`,
			"not JSON":         `ExternalUserId=x1`,
			"trailing data":    `{"ExternalUserId":"x1"} {}`,
			"array":            `[{"ExternalUserId":"x1"}]`,
			"empty array":      `[]`,
			"string":           `"x1"`,
			"number":           `42`,
			"null":             `null`,
			"single quotes":    `{'ExternalUserId':'x1'}`,
			"over 1 MiB":       big,
			"duplicate member": `{"ExternalUserId":"x1","ExternalUserId":"x2"}`,
		}
		for _, op := range model.Operations() {
			if !op.HasBody {
				continue
			}
			base := valBase(t, tg, op)
			for name, body := range bodies {
				t.Run(op.Name+"/"+name, func(t *testing.T) {
					r := s.do(t, op.Method, base.pathAndQuery(op), []byte(body))
					if r.Status >= 500 {
						t.Fatalf("5xx: %d %s", r.Status, r.Body)
					}
					wantRawError(t, r, 400, "BadRequestException")
				})
			}
		}
		if after := valSnapshot(t, c, tg); !reflect.DeepEqual(before, after) {
			t.Errorf("rejected bodies changed the meeting:\nbefore %+v\nafter  %+v", before, after)
		}

		// Unknown members are ignored (D5), at top level and nested.
		r := s.do(t, http.MethodPost, "/meetings/"+tg.mid+"/attendees", opsJSON(t, map[string]any{
			"ExternalUserId": "unknown-members", "NewerSdkMember": map[string]any{"x": []int{1}},
			"Capabilities": map[string]any{"Audio": "Receive", "Video": "None", "Content": "None", "Extra": true},
		}))
		if r.Status != http.StatusOK {
			t.Fatalf("CreateAttendee with unknown members: %d %s, want 200 (D5)", r.Status, r.Body)
		}
		att := opsDecode(t, r)["Attendee"].(map[string]any)
		if att["ExternalUserId"] != "unknown-members" || !reflect.DeepEqual(att["Capabilities"], map[string]any{"Audio": "Receive", "Video": "None", "Content": "None"}) {
			t.Errorf("CreateAttendee with unknown members returned %v", att)
		}
		r = s.do(t, http.MethodPost, "/meetings", []byte(`{"ClientRequestToken":"unknown-members-1","MediaRegion":"us-east-1","ExternalMeetingId":"x-1","Future":{"A":1}}`))
		if r.Status != http.StatusOK {
			t.Errorf("CreateMeeting with an unknown member: %d %s, want 200", r.Status, r.Body)
		}
		// A body of exactly 1 MiB of valid JSON is accepted (the limit is
		// "over 1 MiB").
		pad := (1 << 20) - len(`{"ExternalUserId":"at-limit","Pad":""}`)
		exact := `{"ExternalUserId":"at-limit","Pad":"` + strings.Repeat("b", pad) + `"}`
		if r := s.do(t, http.MethodPost, "/meetings/"+tg.mid+"/attendees", []byte(exact)); r.Status != http.StatusOK {
			t.Errorf("CreateAttendee with a body of exactly 1 MiB: %d %.300s", r.Status, r.Body)
		}
	})
}

// TestValidationEmptyLabel: GET/DELETE /meetings/ (boto3 and JS v3 send this
// for MeetingId="") and empty AttendeeId labels are 400 naming the member,
// never a 404 page or a 5xx.
func TestValidationEmptyLabel(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		s := startServer(t, e)
		c := s.client(t)
		tg := valNewTarget(t, c, "val-label")
		for _, tc := range []struct{ method, path, member string }{
			{http.MethodGet, "/meetings/", "MeetingId"},
			{http.MethodDelete, "/meetings/", "MeetingId"},
			{http.MethodGet, "/meetings//attendees", "MeetingId"},
			{http.MethodGet, "/meetings/" + tg.mid + "/attendees/", "AttendeeId"},
			{http.MethodDelete, "/meetings/" + tg.mid + "/attendees/", "AttendeeId"},
		} {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				wantRawError(t, s.do(t, tc.method, tc.path, nil), 400, "BadRequestException", "'"+tc.member+"'")
			})
		}
		if n := len(snapshot(t, c, tg.mid)); n != 1 {
			t.Errorf("%d attendees, want 1", n)
		}
		if _, err := c.GetMeeting(t.Context(), &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(tg.mid)}); err != nil {
			t.Errorf("meeting gone after DELETE /meetings/: %v", err)
		}
	})
}
