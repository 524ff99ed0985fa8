package e2e

// BatchUpdateAttendeeCapabilitiesExcept black-box tests: C8 (excluded
// attendees untouched, everyone else changed), D8 (exclusion list rules), D3
// (meeting ids), D7 (which attendees a batch affects), D6/D1 (wire form).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
)

// TestCapabilitiesBatchExceptExcludedUntouchedOthersChanged (C8, D7):
// attendees with different prior capabilities (requested at creation, the
// default, set by UpdateAttendeeCapabilities, set by an earlier batch); the
// excluded ones keep exactly what they had, every other one gets the new
// triple, and nothing else about any attendee changes.
func TestCapabilitiesBatchExceptExcludedUntouchedOthersChanged(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := startServer(t, e).client(t)
		mid := newMeeting(t, c, "c8-untouched", nil)
		priors := []*types.AttendeeCapabilities{
			triple{recv, recv, none}.caps(),
			nil, // default SendReceive x3
			triple{none, snd, snd}.caps(),
			triple{snd, sr, recv}.caps(),
			triple{none, none, none}.caps(),
			nil,
		}
		ids := addAttendees(t, c, mid, "u", len(priors), func(i int) *types.AttendeeCapabilities { return priors[i] })
		// ids[5]: a prior set by UpdateAttendeeCapabilities.
		if _, err := c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
			MeetingId: aws.String(mid), AttendeeId: aws.String(ids[5]), Capabilities: triple{recv, none, snd}.caps(),
		}); err != nil {
			t.Fatal(err)
		}
		// An earlier batch that excludes all but ids[4] gives it {Send, Receive, None}.
		if err := batchExcept(c, mid, []string{ids[0], ids[1], ids[2], ids[3], ids[5]}, triple{snd, recv, none}); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, c, mid)
		want := []triple{{recv, recv, none}, {sr, sr, sr}, {none, snd, snd}, {snd, sr, recv}, {snd, recv, none}, {recv, none, snd}}
		for i, w := range want {
			if before[i].Caps != w {
				t.Fatalf("set-up: attendee %d has %v, want %v", i, before[i].Caps, w)
			}
		}

		excluded := map[string]bool{ids[0]: true, ids[3]: true, ids[5]: true}
		newCaps := triple{recv, sr, snd} // differs from every prior
		if err := batchExcept(c, mid, []string{ids[0], ids[3], ids[5]}, newCaps); err != nil {
			t.Fatalf("BatchUpdateAttendeeCapabilitiesExcept: %v", err)
		}
		after := snapshot(t, c, mid)
		if len(after) != len(before) {
			t.Fatalf("%d attendees after, %d before", len(after), len(before))
		}
		for i, b := range before {
			a := after[i]
			if a.ID != b.ID || a.ExternalUserID != b.ExternalUserID || a.JoinToken != b.JoinToken {
				t.Errorf("attendee %d identity changed: %+v -> %+v", i, b, a)
			}
			wantCaps := newCaps
			if excluded[b.ID] {
				wantCaps = b.Caps
			}
			if a.Caps != wantCaps {
				t.Errorf("attendee %d (excluded=%v): ListAttendees caps %v, want %v", i, excluded[b.ID], a.Caps, wantCaps)
			}
			if got := getCaps(t, c, mid, b.ID); got != wantCaps {
				t.Errorf("attendee %d (excluded=%v): GetAttendee caps %v, want %v", i, excluded[b.ID], got, wantCaps)
			}
		}
	})
}

// TestCapabilitiesBatchExcept250Attendees (C8, D8 max 250): in a meeting of
// 250 attendees with mixed capabilities, excluding all 250 changes nothing,
// and excluding 249 changes exactly the one left out.
func TestCapabilitiesBatchExcept250Attendees(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		s := startServer(t, e)
		c := s.client(t)
		mid := newMeeting(t, c, "d8-250", nil)
		var allowed []triple
		for _, tr := range allTriples() {
			if capsAllowed(featureConfig{}, tr) && tr != (triple{none, recv, none}) {
				allowed = append(allowed, tr)
			}
		}
		ids := addAttendees(t, c, mid, "p", 250, func(i int) *types.AttendeeCapabilities { return allowed[i%len(allowed)].caps() })
		newCaps := triple{none, recv, none} // no attendee has it
		before := snapshot(t, c, mid)
		if len(before) != 250 {
			t.Fatalf("%d attendees, want 250", len(before))
		}

		if err := batchExcept(c, mid, ids, newCaps); err != nil {
			t.Fatalf("250 exclusions: %v", err)
		}
		assertUnchanged(t, c, mid, before, "a batch excluding all 250 attendees")

		const left = 137
		rest := append(append([]string{}, ids[:left]...), ids[left+1:]...)
		if err := batchExcept(c, mid, rest, newCaps); err != nil {
			t.Fatalf("249 exclusions: %v", err)
		}
		after := snapshot(t, c, mid)
		changed := 0
		for i := range before {
			switch {
			case i == left && after[i].Caps != newCaps:
				t.Errorf("the one attendee not excluded has %v, want %v", after[i].Caps, newCaps)
			case i != left && after[i] != before[i]:
				t.Errorf("excluded attendee %d changed: %+v -> %+v", i, before[i], after[i])
			}
			if after[i] != before[i] {
				changed++
			}
		}
		if changed != 1 {
			t.Errorf("%d attendees changed, want exactly 1", changed)
		}
		if got := getCaps(t, c, mid, ids[left]); got != newCaps {
			t.Errorf("GetAttendee of the one not excluded: %v, want %v", got, newCaps)
		}
	})
}

// TestCapabilitiesBatchExceptExclusionListSize (D8, D2): ExcludedAttendeeIds
// must hold 1..250 items; 0 (raw, since SDKs differ on sending []) and 251
// (official client) are 400 BadRequestException naming the member, and
// nothing changes.
func TestCapabilitiesBatchExceptExclusionListSize(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		s := startServer(t, e)
		c := s.client(t)
		mid := newMeeting(t, c, "d8-size", nil)
		ids := addAttendees(t, c, mid, "s", 3, func(i int) *types.AttendeeCapabilities {
			return []*types.AttendeeCapabilities{nil, triple{recv, recv, recv}.caps(), triple{none, none, none}.caps()}[i]
		})
		newCaps := triple{snd, snd, snd}
		before := snapshot(t, c, mid)

		t.Run("0 raw", func(t *testing.T) {
			r := s.rawBatchExcept(t, mid, map[string]any{"ExcludedAttendeeIds": []any{}, "Capabilities": newCaps.json()})
			wantRawError(t, r, http.StatusBadRequest, "BadRequestException", "ExcludedAttendeeIds")
			assertUnchanged(t, c, mid, before, "0 exclusions")
		})
		t.Run("0 sdk", func(t *testing.T) {
			// The Go SDK does not check list minimums (docs/wire.md,
			// "Client-side validation"),
			// so the server sees [] or no member; either way 400.
			err := batchExcept(c, mid, []string{}, newCaps)
			wantBadRequest(t, err, "ExcludedAttendeeIds")
			assertUnchanged(t, c, mid, before, "0 exclusions (SDK)")
		})
		t.Run("251 sdk", func(t *testing.T) {
			excl := []string{ids[0]}
			for i := 1; i < 251; i++ {
				excl = append(excl, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
			}
			err := batchExcept(c, mid, excl, newCaps)
			wantBadRequest(t, err, "ExcludedAttendeeIds")
			assertUnchanged(t, c, mid, before, "251 exclusions")
		})
		t.Run("251 duplicates sdk", func(t *testing.T) {
			excl := make([]string, 251)
			for i := range excl {
				excl[i] = ids[0]
			}
			wantBadRequest(t, batchExcept(c, mid, excl, newCaps), "ExcludedAttendeeIds")
			assertUnchanged(t, c, mid, before, "251 duplicate exclusions")
		})
		t.Run("250 ok", func(t *testing.T) {
			// The boundary itself is accepted: 249 unknown ids plus ids[0].
			excl := []string{ids[0]}
			for i := 1; i < 250; i++ {
				excl = append(excl, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
			}
			if err := batchExcept(c, mid, excl, newCaps); err != nil {
				t.Fatalf("250 exclusions: %v", err)
			}
			got := capsByID(snapshot(t, c, mid))
			if got[ids[0]] != before[0].Caps || got[ids[1]] != newCaps || got[ids[2]] != newCaps {
				t.Errorf("after 250-entry batch: %v", got)
			}
		})
	})
}

// TestCapabilitiesBatchExceptMeetingID (D3): a well-formed unknown meeting id
// is 404 NotFoundException; a malformed one is 400 BadRequestException; an
// upper-case id of an existing meeting works.
func TestCapabilitiesBatchExceptMeetingID(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		s := startServer(t, e)
		c := s.client(t)
		mid := newMeeting(t, c, "d3-ids", nil)
		ids := addAttendees(t, c, mid, "m", 3, nil)
		before := snapshot(t, c, mid)
		newCaps := triple{recv, recv, recv}

		t.Run("unknown", func(t *testing.T) {
			unknown := "6f1c2a9e-0b7d-4e3a-9c5f-1a2b3c4d5e6f"
			err := batchExcept(c, unknown, []string{ids[0]}, newCaps)
			wantNotFound(t, err, "Meeting "+unknown+" not found")
			// The upper-case form of an unknown id is just as unknown.
			wantNotFound(t, batchExcept(c, strings.ToUpper(unknown), []string{ids[0]}, newCaps))
			assertUnchanged(t, c, mid, before, "batch on an unknown meeting")
		})
		t.Run("deleted", func(t *testing.T) {
			gone := newMeeting(t, c, "d3-gone", nil)
			addAttendees(t, c, gone, "g", 1, nil)
			if _, err := c.DeleteMeeting(context.Background(), &chimesdkmeetings.DeleteMeetingInput{MeetingId: aws.String(gone)}); err != nil {
				t.Fatal(err)
			}
			wantNotFound(t, batchExcept(c, gone, []string{ids[0]}, newCaps), gone)
		})
		for _, bad := range []string{
			"not-a-guid",
			"6f1c2a9e-0b7d-4e3a-9c5f-1a2b3c4d5e6",   // one digit short
			"6f1c2a9e-0b7d-4e3a-9c5f-1a2b3c4d5e6ff", // one too many
			"6f1c2a9e-0b7d-4e3a-9c5f-1a2b3c4d5e6g",  // not hex
			"x" + mid,                               // contains a valid GUID (D2: full match)
		} {
			t.Run("malformed "+bad, func(t *testing.T) {
				body := map[string]any{"ExcludedAttendeeIds": excludedJSON(ids[0]), "Capabilities": newCaps.json()}
				r := s.rawBatchExcept(t, bad, body)
				wantRawError(t, r, http.StatusBadRequest, "BadRequestException", "MeetingId")
				assertUnchanged(t, c, mid, before, "batch on a malformed meeting id")
			})
		}
		t.Run("malformed sdk", func(t *testing.T) {
			wantBadRequest(t, batchExcept(c, "not-a-guid", []string{ids[0]}, newCaps), "MeetingId")
		})
		t.Run("upper case", func(t *testing.T) {
			if err := batchExcept(c, strings.ToUpper(mid), []string{ids[0]}, newCaps); err != nil {
				t.Fatalf("upper-case meeting id: %v", err)
			}
			got := capsByID(snapshot(t, c, mid))
			if got[ids[0]] != before[0].Caps || got[ids[1]] != newCaps || got[ids[2]] != newCaps {
				t.Errorf("after a batch through the upper-case id: %v", got)
			}
		})
	})
}

// TestCapabilitiesBatchExceptNonMatchingExclusions (D8): entries that match
// no attendee of the meeting are ignored and the batch applies to everyone
// else; duplicates are fine; upper-case ids still exclude.
func TestCapabilitiesBatchExceptNonMatchingExclusions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := startServer(t, e)
		c := s.client(t)
		other := newMeeting(t, c, "d8-other", nil)
		otherIDs := addAttendees(t, c, other, "o", 1, func(int) *types.AttendeeCapabilities { return triple{recv, none, none}.caps() })
		newCaps := triple{none, recv, recv}
		prior := []*types.AttendeeCapabilities{triple{snd, snd, snd}.caps(), nil, triple{recv, sr, none}.caps()}

		// setup gives a fresh meeting with attendees A, B, C (mixed prior
		// capabilities) and the id of a deleted attendee D.
		setup := func(t *testing.T) (mid string, a, b, cc, deleted string) {
			mid = newMeeting(t, c, "d8-nonmatching", nil)
			ids := addAttendees(t, c, mid, "n", 4, func(i int) *types.AttendeeCapabilities {
				if i < 3 {
					return prior[i]
				}
				return nil
			})
			if _, err := c.DeleteAttendee(ctx, &chimesdkmeetings.DeleteAttendeeInput{MeetingId: aws.String(mid), AttendeeId: aws.String(ids[3])}); err != nil {
				t.Fatal(err)
			}
			return mid, ids[0], ids[1], ids[2], ids[3]
		}
		cases := []struct {
			name string
			// excl builds the exclusion list from the meeting's attendees.
			excl func(a, b, cc, deleted string) []string
			// excluded is which of A, B, C must keep their capabilities.
			excluded [3]bool
			raw      bool // snd with a raw request instead of the SDK
		}{
			{"unknown well-formed id", func(a, b, cc, d string) []string { return []string{"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"} }, [3]bool{}, false},
			{"other meeting's attendee", func(a, b, cc, d string) []string { return []string{otherIDs[0]} }, [3]bool{}, false},
			{"deleted attendee", func(a, b, cc, d string) []string { return []string{d} }, [3]bool{}, false},
			{"empty string (JS demo) raw", func(a, b, cc, d string) []string { return []string{""} }, [3]bool{}, true},
			{"empty string sdk", func(a, b, cc, d string) []string { return []string{""} }, [3]bool{}, false},
			{"non-GUID raw", func(a, b, cc, d string) []string { return []string{"not-a-guid"} }, [3]bool{}, true},
			{"non-GUID sdk", func(a, b, cc, d string) []string { return []string{"not-a-guid", "x" + a} }, [3]bool{}, false},
			{"duplicates", func(a, b, cc, d string) []string { return []string{a, a, a} }, [3]bool{true, false, false}, false},
			{"upper case", func(a, b, cc, d string) []string { return []string{strings.ToUpper(b)} }, [3]bool{false, true, false}, false},
			{"upper and lower case of one id", func(a, b, cc, d string) []string { return []string{strings.ToUpper(cc), cc} }, [3]bool{false, false, true}, false},
			{"mixed noise with one real", func(a, b, cc, d string) []string {
				return []string{"", "not-a-guid", d, otherIDs[0], strings.ToUpper(b), "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", b}
			}, [3]bool{false, true, false}, true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				mid, a, b, cc, d := setup(t)
				before := snapshot(t, c, mid)
				otherBefore := snapshot(t, c, other)
				excl := tc.excl(a, b, cc, d)
				if tc.raw {
					r := s.rawBatchExcept(t, mid, map[string]any{"ExcludedAttendeeIds": excludedJSON(excl...), "Capabilities": newCaps.json()})
					if r.Status != http.StatusOK {
						t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
					}
				} else if err := batchExcept(c, mid, excl, newCaps); err != nil {
					t.Fatalf("BatchUpdateAttendeeCapabilitiesExcept(%q): %v", excl, err)
				}
				after := snapshot(t, c, mid)
				if len(after) != 3 {
					t.Fatalf("%d attendees after, want 3", len(after))
				}
				for i := range 3 {
					want := newCaps
					if tc.excluded[i] {
						want = before[i].Caps
					}
					if after[i].Caps != want {
						t.Errorf("attendee %c (excluded=%v): %v, want %v", 'A'+i, tc.excluded[i], after[i].Caps, want)
					}
				}
				assertUnchanged(t, c, other, otherBefore, "a batch on another meeting naming this meeting's attendee")
			})
		}
	})
}

// TestCapabilitiesBatchExceptLaterWrites (D7): attendees created after a batch
// keep their own (default or requested) capabilities; a later
// UpdateAttendeeCapabilities on an excluded attendee wins; a second batch
// overrides the first for non-excluded attendees; an attendee excluded from
// batch 2 keeps what batch 1 gave it.
func TestCapabilitiesBatchExceptLaterWrites(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := startServer(t, e).client(t)
		mid := newMeeting(t, c, "d7-later", nil)
		ids := addAttendees(t, c, mid, "l", 4, nil) // A B C D, all SendReceive
		A, B, C, D := ids[0], ids[1], ids[2], ids[3]
		b1 := triple{recv, recv, none}
		b2 := triple{none, sr, recv}
		check := func(step string, want map[string]triple) {
			t.Helper()
			got := capsByID(snapshot(t, c, mid))
			if len(got) != len(want) {
				t.Errorf("%s: %d attendees, want %d", step, len(got), len(want))
			}
			for id, w := range want {
				if got[id] != w {
					t.Errorf("%s: attendee %s has %v, want %v", step, id, got[id], w)
				}
				if g := getCaps(t, c, mid, id); g != w {
					t.Errorf("%s: GetAttendee %s: %v, want %v", step, id, g, w)
				}
			}
		}

		// Batch 1 excludes A.
		if err := batchExcept(c, mid, []string{A}, b1); err != nil {
			t.Fatal(err)
		}
		check("after batch 1", map[string]triple{A: {sr, sr, sr}, B: b1, C: b1, D: b1})

		// E (default) and F (requested), created after batch 1, keep their own.
		e1, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: aws.String(mid), ExternalUserId: aws.String("late-default")})
		if err != nil {
			t.Fatal(err)
		}
		f1, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: aws.String(mid), ExternalUserId: aws.String("late-requested"), Capabilities: triple{snd, none, snd}.caps()})
		if err != nil {
			t.Fatal(err)
		}
		g := addAttendees(t, c, mid, "late-batch", 1, func(int) *types.AttendeeCapabilities { return triple{recv, snd, none}.caps() })[0]
		E, F := *e1.Attendee.AttendeeId, *f1.Attendee.AttendeeId
		if got := tripleOf(e1.Attendee.Capabilities); got != (triple{sr, sr, sr}) {
			t.Errorf("CreateAttendee after a batch answered %v, want the default", got)
		}
		check("after late creations", map[string]triple{A: {sr, sr, sr}, B: b1, C: b1, D: b1, E: {sr, sr, sr}, F: {snd, none, snd}, g: {recv, snd, none}})

		// A later UpdateAttendeeCapabilities on the excluded A wins.
		up, err := c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
			MeetingId: aws.String(mid), AttendeeId: aws.String(A), Capabilities: triple{snd, recv, recv}.caps(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := tripleOf(up.Attendee.Capabilities); got != (triple{snd, recv, recv}) {
			t.Errorf("UpdateAttendeeCapabilities answered %v", got)
		}
		// And an update of a batch-1 attendee (B) wins over batch 1 too.
		if _, err := c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
			MeetingId: aws.String(mid), AttendeeId: aws.String(B), Capabilities: triple{none, none, none}.caps(),
		}); err != nil {
			t.Fatal(err)
		}
		check("after updates", map[string]triple{A: {snd, recv, recv}, B: {none, none, none}, C: b1, D: b1, E: {sr, sr, sr}, F: {snd, none, snd}, g: {recv, snd, none}})

		// Batch 2 excludes C (keeps batch 1's triple) and F (keeps its own);
		// everyone else, including A, B (updated) and E (late), gets b2.
		if err := batchExcept(c, mid, []string{C, F}, b2); err != nil {
			t.Fatal(err)
		}
		check("after batch 2", map[string]triple{A: b2, B: b2, C: b1, D: b2, E: b2, F: {snd, none, snd}, g: b2})

		// Batch 3 excludes everyone but D: C still holds batch 1's triple.
		b3 := triple{recv, none, none}
		if err := batchExcept(c, mid, []string{A, B, C, E, F, g}, b3); err != nil {
			t.Fatal(err)
		}
		check("after batch 3", map[string]triple{A: b2, B: b2, C: b1, D: b3, E: b2, F: {snd, none, snd}, g: b2})

		// A deleted attendee re-created with the same ExternalUserId is a new
		// attendee with its own default, not the batch's triple.
		if _, err := c.DeleteAttendee(ctx, &chimesdkmeetings.DeleteAttendeeInput{MeetingId: aws.String(mid), AttendeeId: aws.String(D)}); err != nil {
			t.Fatal(err)
		}
		again, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: aws.String(mid), ExternalUserId: aws.String("l-3")})
		if err != nil {
			t.Fatal(err)
		}
		D2 := *again.Attendee.AttendeeId
		if D2 == D {
			t.Errorf("re-created attendee reuses the deleted id %s", D)
		}
		check("after re-creation", map[string]triple{A: b2, B: b2, C: b1, D2: {sr, sr, sr}, E: b2, F: {snd, none, snd}, g: b2})
	})
}

// TestCapabilitiesBatchExceptWire (D6, D1): success is 200 with an empty body
// and an x-amzn-RequestId; an error carries X-Amzn-ErrorType and a JSON body
// {Code, Message, RequestId} whose RequestId equals the header's.
func TestCapabilitiesBatchExceptWire(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		s := startServer(t, e)
		c := s.client(t)
		mid := newMeeting(t, c, "d6-wire", nil)
		ids := addAttendees(t, c, mid, "w", 2, nil)

		r := s.rawBatchExcept(t, mid, map[string]any{"ExcludedAttendeeIds": excludedJSON(ids[0]), "Capabilities": triple{recv, recv, recv}.json()})
		if r.Status != http.StatusOK {
			t.Errorf("status %d, want 200 (body %s)", r.Status, r.Body)
		}
		if len(r.Body) != 0 {
			t.Errorf("body %q, want empty (D6)", r.Body)
		}
		if rid := r.Header.Get("X-Amzn-Requestid"); !guidLike(rid) {
			t.Errorf("x-amzn-RequestId %q, want a UUID", rid)
		}
		if et := r.Header.Get("X-Amzn-ErrorType"); et != "" {
			t.Errorf("success carries X-Amzn-ErrorType %q", et)
		}
		if got := getCaps(t, c, mid, ids[1]); got != (triple{recv, recv, recv}) {
			t.Errorf("raw batch not applied: %v", got)
		}

		// Two responses never share a request id.
		r2 := s.rawBatchExcept(t, mid, map[string]any{"ExcludedAttendeeIds": excludedJSON(ids[0]), "Capabilities": triple{recv, recv, recv}.json()})
		if r2.Header.Get("X-Amzn-Requestid") == r.Header.Get("X-Amzn-Requestid") {
			t.Errorf("two responses share request id %q", r.Header.Get("X-Amzn-Requestid"))
		}

		t.Run("400 C4", func(t *testing.T) {
			r := s.rawBatchExcept(t, mid, map[string]any{"ExcludedAttendeeIds": excludedJSON(ids[0]), "Capabilities": triple{sr, none, sr}.json()})
			wantRawError(t, r, http.StatusBadRequest, "BadRequestException", "Content")
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
		})
		t.Run("404", func(t *testing.T) {
			unknown := "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
			r := s.rawBatchExcept(t, unknown, map[string]any{"ExcludedAttendeeIds": excludedJSON(ids[0]), "Capabilities": triple{recv, recv, recv}.json()})
			wantRawError(t, r, http.StatusNotFound, "NotFoundException", "Meeting "+unknown+" not found")
		})
		t.Run("sdk RequestId member", func(t *testing.T) {
			err := batchExcept(c, mid, []string{ids[0]}, triple{sr, snd, recv})
			wantBadRequest(t, err)
			var bre *types.BadRequestException
			if errors.As(err, &bre) && (bre.RequestId == nil || !guidLike(*bre.RequestId)) {
				t.Errorf("BadRequestException.RequestId = %v, want the request's UUID", aws.ToString(bre.RequestId))
			}
		})
	})
}

func guidLike(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// TestCapabilitiesBatchExceptLargeMeeting (D7, D3): with --max-attendees 300
// a batch reaches every attendee, not just the first 250 or the first page;
// UpdateAttendeeCapabilities accepts upper-case meeting and attendee ids and
// answers with the stored lower-case id.
func TestCapabilitiesBatchExceptLargeMeeting(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		c := startServer(t, e, "--max-attendees", "300").client(t)
		mid := newMeeting(t, c, "d7-large", nil)
		ids := addAttendees(t, c, mid, "big", 300, nil)
		newCaps := triple{recv, recv, recv}
		if err := batchExcept(c, mid, ids[:250], newCaps); err != nil {
			t.Fatal(err)
		}
		for i, a := range snapshot(t, c, mid) {
			want := triple{sr, sr, sr}
			if i >= 250 {
				want = newCaps
			}
			if a.Caps != want {
				t.Errorf("attendee %d: %v, want %v", i, a.Caps, want)
			}
		}
		out, err := c.UpdateAttendeeCapabilities(context.Background(), &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
			MeetingId: aws.String(strings.ToUpper(mid)), AttendeeId: aws.String(strings.ToUpper(ids[299])), Capabilities: triple{none, none, none}.caps(),
		})
		if err != nil {
			t.Fatalf("upper-case ids: %v", err)
		}
		if aws.ToString(out.Attendee.AttendeeId) != ids[299] || tripleOf(out.Attendee.Capabilities) != (triple{none, none, none}) {
			t.Errorf("upper-case update answered %s %v", aws.ToString(out.Attendee.AttendeeId), tripleOf(out.Attendee.Capabilities))
		}
		if got := getCaps(t, c, mid, ids[299]); got != (triple{none, none, none}) {
			t.Errorf("stored %v after upper-case update", got)
		}
	})
}
