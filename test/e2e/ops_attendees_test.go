package e2e

// Attendee operations (CreateAttendee, BatchCreateAttendee, GetAttendee,
// ListAttendees, DeleteAttendee, UpdateAttendeeCapabilities,
// CreateMeetingWithAttendees) with the official client: shapes, D15
// idempotency, D16 limits and reserved IDs, D19 pagination.

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
)

// TestOpsAttendeeLifecycle: CreateAttendee returns a lower-case UUIDv4
// AttendeeId, the ExternalUserId, a JoinToken and default SendReceive x3
// (D11); the JoinToken is the same in GetAttendee and ListAttendees (D18);
// UpdateAttendeeCapabilities returns and stores the new triple; unknown
// attendees and attendees of another meeting are 404 "Attendee <id> not
// found"; DeleteAttendee is 204 and afterwards Get/Delete/Update are 404 and
// the attendee is gone from the list.
func TestOpsAttendeeLifecycle(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := startServer(t, e)
		c := s.client(t)
		mid := aws.ToString(opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{}).MeetingId)
		other := aws.ToString(opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{}).MeetingId)

		a := opsAttendee(t, c, mid, "alice")
		b := opsAttendee(t, c, mid, "bob")
		aid := aws.ToString(a.AttendeeId)
		if !opsUUIDv4.MatchString(aid) {
			t.Errorf("AttendeeId %q is not a lower-case UUIDv4 (D3)", aid)
		}
		if aws.ToString(a.ExternalUserId) != "alice" {
			t.Errorf("ExternalUserId %q", aws.ToString(a.ExternalUserId))
		}
		if tok := aws.ToString(a.JoinToken); len(tok) < 22 || tok == aws.ToString(b.JoinToken) {
			t.Errorf("JoinToken %q: want >=128 bits, distinct per attendee (D18)", tok)
		}
		// D18: base64url, at least 128 bits (22 characters unpadded).
		if tok := aws.ToString(a.JoinToken); !opsBase64URL.MatchString(tok) {
			t.Errorf("JoinToken %q is not base64url of at least 128 bits (D18)", tok)
		}
		if got := tripleOf(a.Capabilities); got != (triple{sr, sr, sr}) {
			t.Errorf("default capabilities %v, want SendReceive x3 (D11)", got)
		}

		g, err := c.GetAttendee(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: &mid, AttendeeId: &aid})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g.Attendee, a) {
			t.Errorf("GetAttendee %+v differs from CreateAttendee %+v", g.Attendee, a)
		}
		g, err = c.GetAttendee(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: aws.String(strings.ToUpper(mid)), AttendeeId: aws.String(strings.ToUpper(aid))})
		if err != nil || aws.ToString(g.Attendee.AttendeeId) != aid {
			t.Errorf("GetAttendee with upper-case IDs (D3): %+v %v", g, err)
		}
		list := snapshot(t, c, mid)
		want := []attendeeState{
			{aid, "alice", aws.ToString(a.JoinToken), triple{sr, sr, sr}},
			{aws.ToString(b.AttendeeId), "bob", aws.ToString(b.JoinToken), triple{sr, sr, sr}},
		}
		if !reflect.DeepEqual(list, want) {
			t.Errorf("ListAttendees %+v, want %+v (creation order, same JoinTokens)", list, want)
		}

		up, err := c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{MeetingId: &mid, AttendeeId: &aid, Capabilities: triple{recv, recv, none}.caps()})
		if err != nil {
			t.Fatal(err)
		}
		if got := tripleOf(up.Attendee.Capabilities); got != (triple{recv, recv, none}) || aws.ToString(up.Attendee.JoinToken) != aws.ToString(a.JoinToken) {
			t.Errorf("UpdateAttendeeCapabilities returned %+v", up.Attendee)
		}
		if got := getCaps(t, c, mid, aid); got != (triple{recv, recv, none}) {
			t.Errorf("stored capabilities %v after update", got)
		}

		unknown := "11111111-2222-4333-8444-555555555555"
		_, err = c.GetAttendee(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: &mid, AttendeeId: aws.String(unknown)})
		opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException", "Attendee "+unknown+" not found")
		_, err = c.GetAttendee(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: &other, AttendeeId: &aid})
		opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException")
		_, err = c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{MeetingId: &other, AttendeeId: &aid, Capabilities: triple{none, none, none}.caps()})
		opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException")
		_, err = c.DeleteAttendee(ctx, &chimesdkmeetings.DeleteAttendeeInput{MeetingId: &other, AttendeeId: &aid})
		opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException")
		_, err = c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: aws.String(unknown), ExternalUserId: aws.String("x1")})
		opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException", "Meeting "+unknown+" not found")
		_, err = c.GetAttendee(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: &mid, AttendeeId: aws.String("not-a-guid")})
		opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException", "AttendeeId")

		r := s.do(t, http.MethodDelete, "/meetings/"+mid+"/attendees/"+aid, nil)
		if r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("DeleteAttendee: %d %q, want 204 and an empty body", r.Status, r.Body)
		}
		_, err = c.GetAttendee(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: &mid, AttendeeId: &aid})
		opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException", "Attendee "+aid+" not found")
		_, err = c.DeleteAttendee(ctx, &chimesdkmeetings.DeleteAttendeeInput{MeetingId: &mid, AttendeeId: &aid})
		opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException")
		_, err = c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{MeetingId: &mid, AttendeeId: &aid, Capabilities: triple{none, none, none}.caps()})
		opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException")
		if list := snapshot(t, c, mid); !reflect.DeepEqual(list, want[1:]) {
			t.Errorf("after DeleteAttendee the list is %+v, want only bob", list)
		}
	})
}

// TestOpsExternalUserIdIdempotent (D15): a second CreateAttendee with a live
// attendee's ExternalUserId returns that attendee unchanged (same ID, token
// and capabilities even when other capabilities are asked for); the same in
// BatchCreateAttendee and inside CreateMeetingWithAttendees. A deleted
// attendee's ExternalUserId can be used for a new attendee.
func TestOpsExternalUserIdIdempotent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := startServer(t, e).client(t)
		mid := aws.ToString(opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{}).MeetingId)
		first, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: &mid, ExternalUserId: aws.String("same"), Capabilities: triple{recv, recv, none}.caps()})
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: &mid, ExternalUserId: aws.String("same"), Capabilities: triple{sr, sr, sr}.caps()})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first.Attendee, again.Attendee) {
			t.Errorf("CreateAttendee repeated: %+v, want the first attendee %+v", again.Attendee, first.Attendee)
		}
		batch, err := c.BatchCreateAttendee(ctx, &chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: &mid, Attendees: []types.CreateAttendeeRequestItem{
			{ExternalUserId: aws.String("same"), Capabilities: triple{none, none, none}.caps()}, {ExternalUserId: aws.String("new-one")},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(batch.Errors) != 0 || len(batch.Attendees) != 2 {
			t.Fatalf("BatchCreateAttendee: %+v, errors %+v", batch.Attendees, batch.Errors)
		}
		for _, a := range batch.Attendees {
			if aws.ToString(a.ExternalUserId) == "same" && !reflect.DeepEqual(&a, first.Attendee) {
				t.Errorf("BatchCreateAttendee returned %+v for an existing ExternalUserId, want %+v", a, first.Attendee)
			}
		}
		list := snapshot(t, c, mid)
		if len(list) != 2 || list[0].ID != aws.ToString(first.Attendee.AttendeeId) || list[0].Caps != (triple{recv, recv, none}) {
			t.Errorf("attendees %+v: want the original 'same' (Receive/Receive/None) and 'new-one'", list)
		}

		// Deleting frees the ExternalUserId: a new attendee, new token.
		if _, err := c.DeleteAttendee(ctx, &chimesdkmeetings.DeleteAttendeeInput{MeetingId: &mid, AttendeeId: first.Attendee.AttendeeId}); err != nil {
			t.Fatal(err)
		}
		fresh := opsAttendee(t, c, mid, "same")
		if aws.ToString(fresh.AttendeeId) == aws.ToString(first.Attendee.AttendeeId) || aws.ToString(fresh.JoinToken) == aws.ToString(first.Attendee.JoinToken) {
			t.Errorf("a deleted attendee came back: %+v", fresh)
		}

		w, err := c.CreateMeetingWithAttendees(ctx, &chimesdkmeetings.CreateMeetingWithAttendeesInput{
			MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("d15"),
			Attendees: []types.CreateAttendeeRequestItem{{ExternalUserId: aws.String("dup")}, {ExternalUserId: aws.String("dup")}, {ExternalUserId: aws.String("solo")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		wl := snapshot(t, c, aws.ToString(w.Meeting.MeetingId))
		if len(wl) != 2 || wl[0].ExternalUserID != "dup" || wl[1].ExternalUserID != "solo" {
			t.Errorf("CreateMeetingWithAttendees with a repeated ExternalUserId stored %+v, want dup and solo once each", wl)
		}
		for _, a := range w.Attendees {
			if aws.ToString(a.ExternalUserId) == "dup" && aws.ToString(a.AttendeeId) != wl[0].ID {
				t.Errorf("returned dup attendee %s, stored %s", aws.ToString(a.AttendeeId), wl[0].ID)
			}
		}
	})
}

// TestOpsReservedExternalUserId (D16): "aws:" (any case) is 400 in
// CreateAttendee, but an Errors entry with ErrorCode BadRequest in
// BatchCreateAttendee and CreateMeetingWithAttendees, whose valid items are
// created.
func TestOpsReservedExternalUserId(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := startServer(t, e).client(t)
		mid := aws.ToString(opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{}).MeetingId)
		for _, ext := range []string{"aws:user", "AWS:user", "Aws:x1"} {
			_, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: &mid, ExternalUserId: aws.String(ext)})
			opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException", "ExternalUserId")
		}
		if n := len(snapshot(t, c, mid)); n != 0 {
			t.Fatalf("%d attendees after rejected creations", n)
		}
		out, err := c.BatchCreateAttendee(ctx, &chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: &mid, Attendees: []types.CreateAttendeeRequestItem{
			{ExternalUserId: aws.String("good-1")}, {ExternalUserId: aws.String("aws:bad")}, {ExternalUserId: aws.String("good-2")},
		}})
		if err != nil {
			t.Fatal(err)
		}
		opsCheckBatch(t, "BatchCreateAttendee", out.Attendees, out.Errors, []string{"good-1", "good-2"}, map[string]string{"aws:bad": "BadRequest"})
		if n := len(snapshot(t, c, mid)); n != 2 {
			t.Errorf("%d attendees stored, want 2", n)
		}
		w, err := c.CreateMeetingWithAttendees(ctx, &chimesdkmeetings.CreateMeetingWithAttendeesInput{
			MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("d16"),
			Attendees: []types.CreateAttendeeRequestItem{{ExternalUserId: aws.String("AWS:bad")}, {ExternalUserId: aws.String("good-3")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		opsCheckBatch(t, "CreateMeetingWithAttendees", w.Attendees, w.Errors, []string{"good-3"}, map[string]string{"AWS:bad": "BadRequest"})
		if n := len(snapshot(t, c, aws.ToString(w.Meeting.MeetingId))); n != 1 {
			t.Errorf("%d attendees stored, want 1", n)
		}
	})
}

// opsCheckBatch checks a batch creation's Attendees (by ExternalUserId, in
// order) and Errors (ExternalUserId -> ErrorCode).
func opsCheckBatch(t *testing.T, what string, atts []types.Attendee, errs []types.CreateAttendeeError, wantOK []string, wantErrs map[string]string) {
	t.Helper()
	var got []string
	for _, a := range atts {
		got = append(got, aws.ToString(a.ExternalUserId))
		if !opsUUIDv4.MatchString(aws.ToString(a.AttendeeId)) || aws.ToString(a.JoinToken) == "" {
			t.Errorf("%s: attendee %+v lacks an ID or token", what, a)
		}
	}
	if !reflect.DeepEqual(got, wantOK) {
		t.Errorf("%s: created %v, want %v", what, got, wantOK)
	}
	gotErrs := map[string]string{}
	for _, e := range errs {
		gotErrs[aws.ToString(e.ExternalUserId)] = aws.ToString(e.ErrorCode)
		if aws.ToString(e.ErrorMessage) == "" {
			t.Errorf("%s: error entry %+v has no ErrorMessage", what, e)
		}
	}
	if !reflect.DeepEqual(gotErrs, wantErrs) {
		t.Errorf("%s: Errors %v, want %v", what, gotErrs, wantErrs)
	}
}

// TestOpsAttendeeLimit (D16): CreateAttendee past MaxCount is 400
// LimitExceededException; in BatchCreateAttendee and
// CreateMeetingWithAttendees the items past the limit become Errors entries
// with ErrorCode LimitExceeded and the others are created.
func TestOpsAttendeeLimit(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := startServer(t, e).client(t)
		mf := func(n int32) *types.MeetingFeaturesConfiguration {
			return &types.MeetingFeaturesConfiguration{Attendee: &types.AttendeeFeatures{MaxCount: aws.Int32(n)}}
		}
		mid := aws.ToString(opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{MeetingFeatures: mf(3)}).MeetingId)
		opsAttendee(t, c, mid, "a1")
		out, err := c.BatchCreateAttendee(ctx, &chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: &mid, Attendees: []types.CreateAttendeeRequestItem{
			{ExternalUserId: aws.String("b1")}, {ExternalUserId: aws.String("b2")}, {ExternalUserId: aws.String("b3")},
		}})
		if err != nil {
			t.Fatal(err)
		}
		opsCheckBatch(t, "BatchCreateAttendee", out.Attendees, out.Errors, []string{"b1", "b2"}, map[string]string{"b3": "LimitExceeded"})
		_, err = c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: &mid, ExternalUserId: aws.String("a4")})
		opsWantErr[*types.LimitExceededException](t, err, 400, "LimitExceededException")
		if n := len(snapshot(t, c, mid)); n != 3 {
			t.Errorf("%d attendees, want 3", n)
		}
		// An existing ExternalUserId is not a new attendee (D15): still fine.
		if _, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: &mid, ExternalUserId: aws.String("a1")}); err != nil {
			t.Errorf("CreateAttendee of an existing ExternalUserId at the limit: %v", err)
		}

		w, err := c.CreateMeetingWithAttendees(ctx, &chimesdkmeetings.CreateMeetingWithAttendeesInput{
			MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("d16"), MeetingFeatures: mf(2),
			Attendees: []types.CreateAttendeeRequestItem{{ExternalUserId: aws.String("c1")}, {ExternalUserId: aws.String("c2")}, {ExternalUserId: aws.String("c3")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		opsCheckBatch(t, "CreateMeetingWithAttendees", w.Attendees, w.Errors, []string{"c1", "c2"}, map[string]string{"c3": "LimitExceeded"})
	})
}

// TestOpsListAttendeesPagination (D19): 250 attendees come back through the
// SDK paginator in creation order, 100 per page by default; max-results
// bounds 1..100; a tampered or foreign NextToken is 400.
func TestOpsListAttendeesPagination(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := startServer(t, e)
		c := s.client(t)
		mid := aws.ToString(opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{}).MeetingId)
		created := addAttendees(t, c, mid, "p", 250, nil)

		for _, pageSize := range []int32{100, 7, 1} {
			if pageSize == 1 && testing.Short() {
				continue
			}
			p := chimesdkmeetings.NewListAttendeesPaginator(c, &chimesdkmeetings.ListAttendeesInput{MeetingId: &mid, MaxResults: aws.Int32(pageSize)})
			var got []string
			pages := 0
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatalf("page size %d: %v", pageSize, err)
				}
				pages++
				if len(page.Attendees) > int(pageSize) {
					t.Errorf("page of %d items with max-results %d", len(page.Attendees), pageSize)
				}
				for _, a := range page.Attendees {
					got = append(got, aws.ToString(a.AttendeeId))
				}
			}
			if !reflect.DeepEqual(got, created) {
				t.Errorf("page size %d: %d attendees listed, want the 250 in creation order", pageSize, len(got))
			}
			if want := (250 + int(pageSize) - 1) / int(pageSize); pages != want {
				t.Errorf("page size %d: %d pages, want %d", pageSize, pages, want)
			}
		}

		first, err := c.ListAttendees(ctx, &chimesdkmeetings.ListAttendeesInput{MeetingId: &mid})
		if err != nil {
			t.Fatal(err)
		}
		if len(first.Attendees) != 100 || aws.ToString(first.NextToken) == "" {
			t.Fatalf("default page: %d attendees, NextToken %q; want 100 and a token", len(first.Attendees), aws.ToString(first.NextToken))
		}
		tok := aws.ToString(first.NextToken)

		base := "/meetings/" + mid + "/attendees"
		for _, q := range []string{"max-results=0", "max-results=101", "max-results=-1", "max-results=x"} {
			wantRawError(t, s.do(t, http.MethodGet, base+"?"+q, nil), 400, "BadRequestException", "MaxResults")
		}
		for _, q := range []string{"max-results=1", "max-results=100"} {
			if r := s.do(t, http.MethodGet, base+"?"+q, nil); r.Status != 200 {
				t.Errorf("%s: %d %s", q, r.Status, r.Body)
			}
		}

		// Tampered tokens: one character changed, truncated, garbage.
		flip := []byte(tok)
		i := len(flip) / 2
		if flip[i] == 'A' {
			flip[i] = 'B'
		} else {
			flip[i] = 'A'
		}
		for name, bad := range map[string]string{"flipped": string(flip), "truncated": tok[:len(tok)-2], "garbage": "abc", "appended": tok + "AA"} {
			_, err := c.ListAttendees(ctx, &chimesdkmeetings.ListAttendeesInput{MeetingId: &mid, NextToken: aws.String(bad)})
			if opsCode(err) != "BadRequestException" {
				t.Errorf("%s NextToken: %v, want 400 BadRequestException (D19)", name, err)
			} else {
				opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException")
			}
		}
		// A token of another meeting is not valid here.
		mid2 := aws.ToString(opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{}).MeetingId)
		addAttendees(t, c, mid2, "q", 3, nil)
		_, err = c.ListAttendees(ctx, &chimesdkmeetings.ListAttendeesInput{MeetingId: &mid2, NextToken: aws.String(tok)})
		opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException")
	})
}
