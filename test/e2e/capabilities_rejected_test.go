package e2e

// Every rejected request of the capability operations changes nothing
// (D2, D4, D5, D8, D9, D10, D23): each is sent raw, answered with the exact
// status and D1 error form, and both meetings' attendees (all pages) are
// compared before and after.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
)

func TestCapabilitiesRejectedRequestsChangeNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		s := startServer(t, e)
		c := s.client(t)
		// 120 attendees so that ListAttendees has two pages.
		mid := newMeeting(t, c, "d10-rejected", nil)
		ids := addAttendees(t, c, mid, "r", 120, func(i int) *types.AttendeeCapabilities {
			return []*types.AttendeeCapabilities{nil, triple{recv, recv, none}.caps(), triple{none, snd, snd}.caps()}[i%3]
		})
		other := newMeeting(t, c, "d10-rejected-other", nil)
		otherIDs := addAttendees(t, c, other, "o", 2, nil)
		// Some batches first, so that stored state is not just defaults.
		if err := batchExcept(c, mid, ids[:60], triple{snd, recv, recv}); err != nil {
			t.Fatal(err)
		}
		if err := batchExcept(c, mid, ids[30:90], triple{recv, sr, none}); err != nil {
			t.Fatal(err)
		}
		good := triple{none, recv, recv}.json()
		excl := excludedJSON(ids[0])
		body := func(v any) []byte {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		var many []string
		for i := range 251 {
			many = append(many, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
		}
		huge := append(body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": good}), bytes.Repeat([]byte(" "), 1<<20)...)
		unknownMeeting := "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
		unknownAttendee := "1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
		bx := batchExceptPath(mid)
		upd := func(meeting, attendee string) string {
			return "/meetings/" + meeting + "/attendees/" + attendee + "/capabilities"
		}

		cases := []struct {
			name         string
			method, path string
			body         []byte
			status       int
			code         string
			mention      []string
		}{
			// BatchUpdateAttendeeCapabilitiesExcept: validation (D2, D5, D8).
			{"batch 0 exclusions", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": []any{}, "Capabilities": good}), 400, "BadRequestException", []string{"ExcludedAttendeeIds"}},
			{"batch 251 exclusions", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": excludedJSON(many...), "Capabilities": good}), 400, "BadRequestException", []string{"ExcludedAttendeeIds"}},
			{"batch no ExcludedAttendeeIds", "PUT", bx, body(map[string]any{"Capabilities": good}), 400, "BadRequestException", []string{"ExcludedAttendeeIds"}},
			{"batch ExcludedAttendeeIds null", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": nil, "Capabilities": good}), 400, "BadRequestException", []string{"ExcludedAttendeeIds"}},
			{"batch ExcludedAttendeeIds object", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": map[string]string{"AttendeeId": ids[0]}, "Capabilities": good}), 400, "BadRequestException", nil},
			{"batch entry without AttendeeId", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": []any{map[string]any{}}, "Capabilities": good}), 400, "BadRequestException", []string{"AttendeeId"}},
			{"batch entry null", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": []any{nil}, "Capabilities": good}), 400, "BadRequestException", []string{"ExcludedAttendeeIds"}},
			{"batch AttendeeId null", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": []any{map[string]any{"AttendeeId": nil}}, "Capabilities": good}), 400, "BadRequestException", []string{"AttendeeId"}},
			{"batch AttendeeId number", "PUT", bx, []byte(`{"ExcludedAttendeeIds":[{"AttendeeId":5}],"Capabilities":{"Audio":"None","Video":"Receive","Content":"Receive"}}`), 400, "BadRequestException", nil},
			{"batch AttendeeId is a GUID list", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": []any{map[string]any{"AttendeeId": []string{ids[0]}}}, "Capabilities": good}), 400, "BadRequestException", nil},
			{"batch no Capabilities", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": excl}), 400, "BadRequestException", []string{"Capabilities"}},
			{"batch Capabilities null", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": nil}), 400, "BadRequestException", []string{"Capabilities"}},
			{"batch Capabilities without Content", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": map[string]string{"Audio": none, "Video": recv}}), 400, "BadRequestException", []string{"Content"}},
			{"batch Capabilities empty", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": map[string]string{}}), 400, "BadRequestException", []string{"Audio"}},
			{"batch Audio Foo", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": map[string]string{"Audio": "Foo", "Video": recv, "Content": recv}}), 400, "BadRequestException", []string{"Audio"}},
			{"batch Video lower case", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": map[string]string{"Audio": none, "Video": "receive", "Content": none}}), 400, "BadRequestException", []string{"Video"}},
			{"batch Content empty string", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": map[string]string{"Audio": none, "Video": recv, "Content": ""}}), 400, "BadRequestException", []string{"Content"}},
			{"batch C4 SendReceive content, Send video", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": triple{sr, snd, sr}.json()}), 400, "BadRequestException", []string{"Content"}},
			{"batch C4 Receive content, None video", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": triple{none, none, recv}.json()}), 400, "BadRequestException", []string{"Content"}},
			{"batch C4 with D8 empty-string exclusion", "PUT", bx, body(map[string]any{"ExcludedAttendeeIds": excludedJSON(""), "Capabilities": triple{sr, none, sr}.json()}), 400, "BadRequestException", []string{"Content"}},
			{"batch malformed JSON", "PUT", bx, []byte(`{"ExcludedAttendeeIds":[{"AttendeeId":"` + ids[0] + `"}],"Capabilities":{"Audio":"None",`), 400, "BadRequestException", nil},
			{"batch empty body", "PUT", bx, nil, 400, "BadRequestException", nil},
			{"batch body over 1 MiB", "PUT", bx, huge, 400, "BadRequestException", nil},
			// Existence (D3) and routing (D4).
			{"batch unknown meeting", "PUT", batchExceptPath(unknownMeeting), body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": good}), 404, "NotFoundException", []string{unknownMeeting}},
			{"batch malformed meeting id", "PUT", "/meetings/not-a-guid/attendees/capabilities?operation=batch-update-except", body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": good}), 400, "BadRequestException", []string{"MeetingId"}},
			{"batch unknown operation literal", "PUT", "/meetings/" + mid + "/attendees/capabilities?operation=batch-update", body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": good}), 404, "UnknownOperationException", nil},
			{"batch without operation literal", "PUT", "/meetings/" + mid + "/attendees/capabilities", body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": good}), 404, "UnknownOperationException", nil},
			// UpdateAttendeeCapabilities (D3, D9).
			{"update C4", "PUT", upd(mid, ids[1]), body(map[string]any{"Capabilities": triple{sr, snd, recv}.json()}), 400, "BadRequestException", []string{"Content"}},
			{"update no Capabilities", "PUT", upd(mid, ids[1]), body(map[string]any{}), 400, "BadRequestException", []string{"Capabilities"}},
			{"update Audio Foo", "PUT", upd(mid, ids[1]), body(map[string]any{"Capabilities": map[string]string{"Audio": "Foo", "Video": recv, "Content": recv}}), 400, "BadRequestException", []string{"Audio"}},
			{"update unknown attendee", "PUT", upd(mid, unknownAttendee), body(map[string]any{"Capabilities": good}), 404, "NotFoundException", []string{"Attendee " + unknownAttendee + " not found"}},
			{"update other meeting's attendee", "PUT", upd(mid, otherIDs[0]), body(map[string]any{"Capabilities": good}), 404, "NotFoundException", []string{otherIDs[0]}},
			{"update malformed attendee id", "PUT", upd(mid, "not-a-guid"), body(map[string]any{"Capabilities": good}), 400, "BadRequestException", []string{"AttendeeId"}},
			{"update unknown meeting", "PUT", upd(unknownMeeting, ids[1]), body(map[string]any{"Capabilities": good}), 404, "NotFoundException", []string{unknownMeeting}},
			// Creations (D9, D16: an invalid capability rejects the whole request).
			{"create C4", "POST", "/meetings/" + mid + "/attendees", body(map[string]any{"ExternalUserId": "new-user", "Capabilities": triple{sr, none, sr}.json()}), 400, "BadRequestException", []string{"Content"}},
			{"batch create one bad item", "POST", "/meetings/" + mid + "/attendees?operation=batch-create", body(map[string]any{"Attendees": []any{
				map[string]any{"ExternalUserId": "new-a"},
				map[string]any{"ExternalUserId": "new-b", "Capabilities": triple{sr, snd, recv}.json()},
			}}), 400, "BadRequestException", []string{"Attendees[1].Capabilities"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before, otherBefore := snapshot(t, c, mid), snapshot(t, c, other)
				r := s.do(t, tc.method, tc.path, tc.body)
				wantRawError(t, r, tc.status, tc.code, tc.mention...)
				assertUnchanged(t, c, mid, before, tc.name)
				assertUnchanged(t, c, other, otherBefore, tc.name+" (other meeting)")
			})
		}

		t.Run("unsigned", func(t *testing.T) {
			before := snapshot(t, c, mid)
			req, err := http.NewRequest(http.MethodPut, s.Endpoint+bx, strings.NewReader(string(body(map[string]any{"ExcludedAttendeeIds": excl, "Capabilities": good}))))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			wantRawError(t, send(t, req), http.StatusUnauthorized, "UnauthorizedException")
			assertUnchanged(t, c, mid, before, "an unsigned batch")
		})
		t.Run("wrong secret", func(t *testing.T) {
			before := snapshot(t, c, mid)
			bad := s.clientWith(t, testKeyID, "not-the-secret", testRegion)
			err := batchExcept(bad, mid, []string{ids[0]}, triple{none, recv, recv})
			var ue *types.UnauthorizedException
			if !errors.As(err, &ue) {
				t.Errorf("got %v, want *types.UnauthorizedException", err)
			}
			wantAPIError(t, err, http.StatusUnauthorized, "UnauthorizedException")
			assertUnchanged(t, c, mid, before, "a batch with a wrong signature")
		})
	})
}
