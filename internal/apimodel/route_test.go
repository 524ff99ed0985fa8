package apimodel

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/carillon-dev/carillon/internal/apierr"
)

const (
	mid = "11111111-2222-3333-4444-555555555555"
	aid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

// TestRoutes pins the route table of docs/wire.md ("Routing") for all 16
// operations: method + path + query → operation and decoded labels.
func TestRoutes(t *testing.T) {
	m := MustLoad()
	tests := []struct {
		method, path, query string
		op                  string
		labels              map[string]string
	}{
		{"POST", "/meetings/" + mid + "/attendees", "operation=batch-create", "BatchCreateAttendee", map[string]string{"MeetingId": mid}},
		{"PUT", "/meetings/" + mid + "/attendees/capabilities", "operation=batch-update-except", "BatchUpdateAttendeeCapabilitiesExcept", map[string]string{"MeetingId": mid}},
		{"POST", "/meetings/" + mid + "/attendees", "", "CreateAttendee", map[string]string{"MeetingId": mid}},
		{"POST", "/meetings", "", "CreateMeeting", map[string]string{}},
		{"POST", "/meetings", "operation=create-attendees", "CreateMeetingWithAttendees", map[string]string{}},
		{"DELETE", "/meetings/" + mid + "/attendees/" + aid, "", "DeleteAttendee", map[string]string{"MeetingId": mid, "AttendeeId": aid}},
		{"DELETE", "/meetings/" + mid, "", "DeleteMeeting", map[string]string{"MeetingId": mid}},
		{"GET", "/meetings/" + mid + "/attendees/" + aid, "", "GetAttendee", map[string]string{"MeetingId": mid, "AttendeeId": aid}},
		{"GET", "/meetings/" + mid, "", "GetMeeting", map[string]string{"MeetingId": mid}},
		{"GET", "/meetings/" + mid + "/attendees", "max-results=10&next-token=abc%2Fdef%3D%2B", "ListAttendees", map[string]string{"MeetingId": mid}},
		{"GET", "/meetings/" + mid + "/attendees", "", "ListAttendees", map[string]string{"MeetingId": mid}},
		{"GET", "/tags", "arn=arn%3Aaws%3Achime%3Aus-east-1%3A123456789012%3Ameeting%2F" + mid, "ListTagsForResource", map[string]string{}},
		{"POST", "/meetings/" + mid + "/transcription", "operation=start", "StartMeetingTranscription", map[string]string{"MeetingId": mid}},
		{"POST", "/meetings/" + mid + "/transcription", "operation=stop", "StopMeetingTranscription", map[string]string{"MeetingId": mid}},
		{"POST", "/tags", "operation=tag-resource", "TagResource", map[string]string{}},
		{"POST", "/tags", "operation=untag-resource", "UntagResource", map[string]string{}},
		{"PUT", "/meetings/" + mid + "/attendees/" + aid + "/capabilities", "", "UpdateAttendeeCapabilities", map[string]string{"MeetingId": mid, "AttendeeId": aid}},

		// GET|DELETE .../attendees/capabilities is Get/DeleteAttendee with
		// AttendeeId "capabilities" (docs/wire.md, "Routing"), which Validate then rejects.
		{"GET", "/meetings/" + mid + "/attendees/capabilities", "", "GetAttendee", map[string]string{"MeetingId": mid, "AttendeeId": "capabilities"}},
		{"DELETE", "/meetings/" + mid + "/attendees/capabilities", "", "DeleteAttendee", map[string]string{"MeetingId": mid, "AttendeeId": "capabilities"}},
		// Percent-encoded labels are decoded; an encoded "/" stays inside
		// its label; "+" is literal in a path.
		{"GET", "/meetings/a%2Fb%20c%3F%25+", "", "GetMeeting", map[string]string{"MeetingId": "a/b c?%+"}},
		{"GET", "/meetings/%31" + mid[1:], "", "GetMeeting", map[string]string{"MeetingId": mid}},
		// Empty labels route (boto3/JS send "GET /meetings/" for
		// MeetingId=""), so that validation answers 400 naming the member.
		{"GET", "/meetings/", "", "GetMeeting", map[string]string{"MeetingId": ""}},
		{"DELETE", "/meetings/", "", "DeleteMeeting", map[string]string{"MeetingId": ""}},
		{"GET", "/meetings//attendees", "", "ListAttendees", map[string]string{"MeetingId": ""}},
		{"DELETE", "/meetings/" + mid + "/attendees/", "", "DeleteAttendee", map[string]string{"MeetingId": mid, "AttendeeId": ""}},
		{"PUT", "/meetings//attendees//capabilities", "", "UpdateAttendeeCapabilities", map[string]string{"MeetingId": "", "AttendeeId": ""}},
		// Other query members do not disturb the literal.
		{"POST", "/meetings", "operation=create-attendees&x=1", "CreateMeetingWithAttendees", map[string]string{}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		op, labels, aerr := m.Match(tt.method, tt.path, q)
		if aerr != nil {
			t.Errorf("%s %s?%s: error %v, want %s", tt.method, tt.path, tt.query, aerr, tt.op)
			continue
		}
		if op.Name != tt.op {
			t.Errorf("%s %s?%s: routed to %s, want %s", tt.method, tt.path, tt.query, op.Name, tt.op)
		}
		if !reflect.DeepEqual(labels, tt.labels) {
			t.Errorf("%s %s?%s: labels %q, want %q", tt.method, tt.path, tt.query, labels, tt.labels)
		}
		seen[op.Name] = true
	}
	for _, op := range m.Operations() {
		if !seen[op.Name] {
			t.Errorf("operation %s has no routing case", op.Name)
		}
	}
	if len(m.Operations()) != 16 {
		t.Errorf("model has %d operations, want 16", len(m.Operations()))
	}
}

// TestRoutesUnknown covers D4: unknown path, method or operation= value
// is 404 UnknownOperationException, never a panic.
func TestRoutesUnknown(t *testing.T) {
	m := MustLoad()
	tests := []struct{ method, path, query string }{
		{"GET", "/", ""},
		{"GET", "", ""},
		{"GET", "meetings", ""},
		{"GET", "/nope", ""},
		{"GET", "/meetings/" + mid + "/extra/segments/here/too", ""},
		{"GET", "/tags/", ""},
		{"GET", "/Meetings/" + mid, ""},                     // literals are case-sensitive
		{"PATCH", "/meetings/" + mid, ""},                   // wrong method
		{"get", "/meetings/" + mid, ""},                     // methods are case-sensitive
		{"HEAD", "/meetings/" + mid, ""},                    // no HEAD in the model
		{"PUT", "/meetings", ""},                            // wrong method for /meetings
		{"GET", "/meetings", ""},                            // no ListMeetings in this API
		{"POST", "/meetings/" + mid + "/transcription", ""}, // literal required
		{"POST", "/meetings/" + mid + "/transcription", "operation=pause"},
		{"POST", "/meetings/" + mid + "/transcription", "operation=START"},
		{"POST", "/meetings/" + mid + "/transcription", "operation=start&operation=stop"},
		{"POST", "/meetings/" + mid + "/transcription", "operation=start&operation=start"},
		{"POST", "/meetings", "operation="},             // literal key present but unknown value
		{"POST", "/meetings", "operation=batch-create"}, // another op's literal
		{"POST", "/meetings/" + mid + "/attendees", "operation=nope"},
		{"GET", "/tags", "operation=tag-resource"}, // ListTagsForResource has no literal
		{"POST", "/tags", ""},
		{"PUT", "/meetings/" + mid + "/attendees/capabilities", ""},
		{"DELETE", "/meetings/" + mid + "/attendees/capabilities", "operation=batch-update-except"},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		op, labels, merr := m.Match(tt.method, tt.path, q)
		err := apiError(merr)
		if err == nil {
			t.Errorf("%s %q?%s: routed to %s %v, want 404", tt.method, tt.path, tt.query, op.Name, labels)
			continue
		}
		if err.Kind != apierr.UnknownOperation || err.Kind.Status() != 404 || err.Kind.Code() != "UnknownOperationException" {
			t.Errorf("%s %q?%s: got %v, want UnknownOperationException 404", tt.method, tt.path, tt.query, err)
		}
		if op != nil || labels != nil {
			t.Errorf("%s %q?%s: error with non-nil op/labels", tt.method, tt.path, tt.query)
		}
	}
}

func TestRoutesBadEscape(t *testing.T) {
	m := MustLoad()
	_, _, merr := m.Match("GET", "/meetings/%zz", nil)
	err := apiError(merr)
	if err == nil || err.Kind != apierr.BadRequest {
		t.Fatalf("bad escape: got %v, want BadRequest", err)
	}
	// The message does not echo the method a client made up.
	_, _, merr = m.Match("X<script>", "/meetings/"+mid, nil)
	err = apiError(merr)
	if err == nil || strings.Contains(err.Message, "<script>") {
		t.Fatalf("unknown method: got %v", err)
	}
}

// TestRouteThenValidate: the routed empty label and the "capabilities"
// attendee are 400s naming the member (D2/D3), not 404s.
func TestRouteThenValidate(t *testing.T) {
	m := MustLoad()
	for _, tc := range []struct{ method, path, member, constraint string }{
		{"GET", "/meetings/", "MeetingId", "Member must not be null"},
		{"GET", "/meetings/not-a-guid", "MeetingId", "Member must satisfy regular expression pattern"},
		{"GET", "/meetings/" + mid + "/attendees/capabilities", "AttendeeId", "Member must satisfy regular expression pattern"},
		{"DELETE", "/meetings/" + mid + "/attendees/", "AttendeeId", "Member must not be null"},
	} {
		op, labels, rerr := m.Match(tc.method, tc.path, url.Values{})
		if rerr != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, rerr)
		}
		err := apiError(op.Validate(labels, url.Values{}, nil))
		want := "Value at '" + tc.member + "' failed to satisfy constraint: " + tc.constraint
		if err == nil || err.Kind != apierr.BadRequest || !strings.Contains(err.Message, want) {
			t.Errorf("%s %s: got %v, want 400 with %q", tc.method, tc.path, err, want)
		}
	}
}
