package e2e

// Two nodes, one PostgreSQL database, concurrent conflicting requests through
// both (issue 3): the rules of D10, D14, D15, D16 and D21 must hold across
// nodes exactly as they hold on one.

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
)

type mnTriple struct{ A, V, C types.MediaCapabilities }

func (x mnTriple) caps() *types.AttendeeCapabilities {
	return &types.AttendeeCapabilities{Audio: x.A, Video: x.V, Content: x.C}
}

func mnTripleOf(c *types.AttendeeCapabilities) mnTriple {
	if c == nil {
		return mnTriple{}
	}
	return mnTriple{c.Audio, c.Video, c.Content}
}

// mnValidTriples lists every triple D9 allows on a meeting with default
// features: Content SendReceive/Receive needs Video SendReceive/Receive.
func mnValidTriples() []mnTriple {
	all := []types.MediaCapabilities{types.MediaCapabilitiesSendReceive, types.MediaCapabilitiesSend,
		types.MediaCapabilitiesReceive, types.MediaCapabilitiesNone}
	var out []mnTriple
	for _, a := range all {
		for _, v := range all {
			for _, c := range all {
				contentNeedsVideo := c == types.MediaCapabilitiesSendReceive || c == types.MediaCapabilitiesReceive
				videoReceives := v == types.MediaCapabilitiesSendReceive || v == types.MediaCapabilitiesReceive
				if contentNeedsVideo && !videoReceives {
					continue
				}
				out = append(out, mnTriple{a, v, c})
			}
		}
	}
	return out
}

func mnCreateMeeting(t *testing.T, c *chimesdkmeetings.Client, ext string, maxCount int32) *types.Meeting {
	t.Helper()
	in := &chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("tok-" + ext),
		ExternalMeetingId:  aws.String(ext),
		MediaRegion:        aws.String("us-east-1"),
	}
	if maxCount > 0 {
		in.MeetingFeatures = &types.MeetingFeaturesConfiguration{Attendee: &types.AttendeeFeatures{MaxCount: aws.Int32(maxCount)}}
	}
	out, err := c.CreateMeeting(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateMeeting: %v", err)
	}
	return out.Meeting
}

// mnListAll lists every attendee of a meeting through one node.
func mnListAll(t *testing.T, c *chimesdkmeetings.Client, meetingID string) []types.Attendee {
	t.Helper()
	var all []types.Attendee
	var next *string
	for {
		out, err := c.ListAttendees(context.Background(), &chimesdkmeetings.ListAttendeesInput{
			MeetingId: aws.String(meetingID), NextToken: next, MaxResults: aws.Int32(100)})
		if err != nil {
			t.Fatalf("ListAttendees: %v", err)
		}
		all = append(all, out.Attendees...)
		if out.NextToken == nil {
			return all
		}
		next = out.NextToken
	}
}

// TestMultinodeAttendeeLimit: 50 concurrent CreateAttendee calls with
// distinct ExternalUserIds, split over two nodes, against a meeting with
// MaxCount 20: exactly 20 succeed, 30 get 400 LimitExceededException, and
// both nodes (and the database) hold exactly the 20 acknowledged attendees
// (D16).
func TestMultinodeAttendeeLimit(t *testing.T) {
	nodes, db := mnTwoNodes(t)
	clients := [2]*chimesdkmeetings.Client{nodes[0].client(t), nodes[1].client(t)}
	m := mnCreateMeeting(t, clients[0], "limit", 20)

	const n = 50
	var (
		mu      sync.Mutex
		created = map[string]string{} // AttendeeId -> ExternalUserId
		limited int
		other   []string
		wg      sync.WaitGroup
	)
	start := newMNStart()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.wait()
			out, err := clients[i%2].CreateAttendee(context.Background(), &chimesdkmeetings.CreateAttendeeInput{
				MeetingId: m.MeetingId, ExternalUserId: aws.String(mnName("user", i))})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				created[*out.Attendee.AttendeeId] = *out.Attendee.ExternalUserId
				return
			}
			if st, code := mnAPIError(err); st == 400 && code == "LimitExceededException" {
				limited++
				return
			}
			other = append(other, err.Error())
		}()
	}
	start.release()
	wg.Wait()
	for _, e := range other {
		t.Errorf("unexpected CreateAttendee error: %s", e)
	}
	if len(created) != 20 || limited != 30 {
		t.Errorf("got %d created and %d LimitExceededException, want exactly 20 and 30", len(created), limited)
	}
	for i, c := range clients {
		listed := mnListAll(t, c, *m.MeetingId)
		if len(listed) != 20 {
			t.Errorf("node %d: ListAttendees shows %d attendees, want 20", i, len(listed))
		}
		for _, a := range listed {
			if ext, ok := created[*a.AttendeeId]; !ok || ext != *a.ExternalUserId {
				t.Errorf("node %d: listed attendee %s (%s) was not acknowledged as created", i, *a.AttendeeId, *a.ExternalUserId)
			}
		}
	}
	if got := mnQueryInt(t, db, `SELECT count(*) FROM attendees`); got != 20 {
		t.Errorf("the database holds %d attendee rows, want 20", got)
	}
}

// TestMultinodeBatchExceptConcurrent: 20 concurrent
// BatchUpdateAttendeeCapabilitiesExcept calls with 20 different triples and
// one shared exclusion set, through both nodes, on a meeting of 100
// attendees. Afterwards every non-excluded attendee has one identical triple,
// equal to one of the requested ones, and the excluded ones are unchanged
// (D10: atomic, serialized, none half-applied). Both nodes see the same.
func TestMultinodeBatchExceptConcurrent(t *testing.T) {
	nodes, _ := mnTwoNodes(t)
	clients := [2]*chimesdkmeetings.Client{nodes[0].client(t), nodes[1].client(t)}
	ctx := context.Background()
	m := mnCreateMeeting(t, clients[0], "batch", 0)

	items := make([]types.CreateAttendeeRequestItem, 100)
	for i := range items {
		items[i] = types.CreateAttendeeRequestItem{ExternalUserId: aws.String(mnName("member", i))}
	}
	bc, err := clients[1].BatchCreateAttendee(ctx, &chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: m.MeetingId, Attendees: items})
	if err != nil || len(bc.Attendees) != 100 || len(bc.Errors) != 0 {
		t.Fatalf("BatchCreateAttendee: %v (%d created)", err, len(bc.Attendees))
	}
	initial := mnTriple{types.MediaCapabilitiesSendReceive, types.MediaCapabilitiesSendReceive, types.MediaCapabilitiesSendReceive}
	excludedTriple := mnTriple{types.MediaCapabilitiesNone, types.MediaCapabilitiesNone, types.MediaCapabilitiesNone}
	excluded := map[string]bool{}
	var exclusion []types.AttendeeIdItem
	for i, a := range bc.Attendees {
		if i%10 != 3 {
			continue
		}
		excluded[*a.AttendeeId] = true
		exclusion = append(exclusion, types.AttendeeIdItem{AttendeeId: a.AttendeeId})
		if _, err := clients[i%2].UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
			MeetingId: m.MeetingId, AttendeeId: a.AttendeeId, Capabilities: excludedTriple.caps()}); err != nil {
			t.Fatalf("UpdateAttendeeCapabilities: %v", err)
		}
	}

	// 20 requested triples, none equal to the initial or the excluded one,
	// so an attendee left unchanged or wrongly changed is seen.
	var requested []mnTriple
	for _, x := range mnValidTriples() {
		if x != initial && x != excludedTriple && len(requested) < 20 {
			requested = append(requested, x)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(requested))
	start := newMNStart()
	for i, x := range requested {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.wait()
			_, errs[i] = clients[i%2].BatchUpdateAttendeeCapabilitiesExcept(ctx, &chimesdkmeetings.BatchUpdateAttendeeCapabilitiesExceptInput{
				MeetingId: m.MeetingId, ExcludedAttendeeIds: exclusion, Capabilities: x.caps()})
		}()
	}
	start.release()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("BatchUpdateAttendeeCapabilitiesExcept %v: %v (every one must succeed; D10 rules out ConflictException)", requested[i], err)
		}
	}

	isRequested := map[mnTriple]bool{}
	for _, x := range requested {
		isRequested[x] = true
	}
	var final [2]mnTriple
	for n, c := range clients {
		listed := mnListAll(t, c, *m.MeetingId)
		if len(listed) != 100 {
			t.Fatalf("node %d lists %d attendees, want 100", n, len(listed))
		}
		seen := map[mnTriple]int{}
		for _, a := range listed {
			got := mnTripleOf(a.Capabilities)
			if excluded[*a.AttendeeId] {
				if got != excludedTriple {
					t.Errorf("node %d: excluded attendee %s changed to %v", n, *a.AttendeeId, got)
				}
				continue
			}
			seen[got]++
		}
		if len(seen) != 1 {
			t.Errorf("node %d: non-excluded attendees hold %d different triples, want 1: %v", n, len(seen), seen)
		}
		for x := range seen {
			final[n] = x
			if !isRequested[x] {
				t.Errorf("node %d: non-excluded attendees hold %v, which no request asked for", n, x)
			}
		}
		// GetAttendee (the per-attendee read path) agrees with the list.
		for _, a := range bc.Attendees[:12] {
			out, err := c.GetAttendee(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: m.MeetingId, AttendeeId: a.AttendeeId})
			if err != nil {
				t.Fatalf("GetAttendee: %v", err)
			}
			want := final[n]
			if excluded[*a.AttendeeId] {
				want = excludedTriple
			}
			if got := mnTripleOf(out.Attendee.Capabilities); got != want {
				t.Errorf("node %d: GetAttendee %s = %v, ListAttendees says %v", n, *a.AttendeeId, got, want)
			}
		}
	}
	if final[0] != final[1] {
		t.Errorf("the nodes disagree on the final triple: %v vs %v", final[0], final[1])
	}
}

// TestMultinodeClientRequestToken: the same ClientRequestToken sent to both
// nodes at the same moment, many times. With identical parameters every
// caller gets 200 and the same MeetingId, and the database holds one meeting
// per token (D14). With different parameters exactly one caller wins and the
// others get 409 ConflictException.
func TestMultinodeClientRequestToken(t *testing.T) {
	nodes, db := mnTwoNodes(t)
	clients := [2]*chimesdkmeetings.Client{nodes[0].client(t), nodes[1].client(t)}
	const rounds, callers = 15, 6

	t.Run("same parameters", func(t *testing.T) {
		for r := range rounds {
			ids := make([]string, callers)
			errs := make([]error, callers)
			var wg sync.WaitGroup
			start := newMNStart()
			for i := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start.wait()
					out, err := clients[i%2].CreateMeeting(context.Background(), &chimesdkmeetings.CreateMeetingInput{
						ClientRequestToken: aws.String(mnName("same-token", r)),
						ExternalMeetingId:  aws.String(mnName("same", r)),
						MediaRegion:        aws.String("eu-west-1"),
					})
					errs[i] = err
					if err == nil {
						ids[i] = *out.Meeting.MeetingId
					}
				}()
			}
			start.release()
			wg.Wait()
			for i := range callers {
				if errs[i] != nil {
					t.Errorf("round %d caller %d: %v", r, i, errs[i])
				} else if ids[i] != ids[0] {
					t.Errorf("round %d: caller %d got meeting %s, caller 0 got %s", r, i, ids[i], ids[0])
				}
			}
		}
		if got := mnQueryInt(t, db, `SELECT count(*) FROM meetings WHERE external_meeting_id LIKE 'same-%'`); got != rounds {
			t.Errorf("the database holds %d meetings for %d tokens, want one each", got, rounds)
		}
	})

	t.Run("different parameters", func(t *testing.T) {
		for r := range rounds {
			var (
				mu        sync.Mutex
				winners   []string
				conflicts int
				wg        sync.WaitGroup
			)
			start := newMNStart()
			for i := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start.wait()
					out, err := clients[i%2].CreateMeeting(context.Background(), &chimesdkmeetings.CreateMeetingInput{
						ClientRequestToken: aws.String(mnName("diff-token", r)),
						ExternalMeetingId:  aws.String(fmt.Sprintf("diff-%03d-caller-%d", r, i)),
						MediaRegion:        aws.String("eu-west-1"),
					})
					mu.Lock()
					defer mu.Unlock()
					switch st, code := mnAPIError(err); {
					case err == nil:
						winners = append(winners, *out.Meeting.MeetingId)
					case st == 409 && code == "ConflictException":
						conflicts++
					default:
						t.Errorf("round %d caller %d: %v, want 200 or 409 ConflictException", r, i, err)
					}
				}()
			}
			start.release()
			wg.Wait()
			if len(winners) != 1 || conflicts != callers-1 {
				t.Errorf("round %d: %d winners and %d ConflictExceptions, want 1 and %d", r, len(winners), conflicts, callers-1)
			}
		}
		if got := mnQueryInt(t, db, `SELECT count(*) FROM meetings WHERE external_meeting_id LIKE 'diff-%'`); got != rounds {
			t.Errorf("the database holds %d meetings for %d tokens, want one each", got, rounds)
		}
	})
}

// TestMultinodeExternalUserIdIdempotent: the same ExternalUserId created
// concurrently through both nodes yields one attendee: every caller gets 200
// with the same AttendeeId and JoinToken, and the meeting lists one attendee
// per ExternalUserId (D15).
func TestMultinodeExternalUserIdIdempotent(t *testing.T) {
	nodes, db := mnTwoNodes(t)
	clients := [2]*chimesdkmeetings.Client{nodes[0].client(t), nodes[1].client(t)}
	m := mnCreateMeeting(t, clients[0], "extuser", 0)
	const rounds, callers = 15, 6
	for r := range rounds {
		type result struct{ id, token string }
		res := make([]result, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		start := newMNStart()
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.wait()
				out, err := clients[i%2].CreateAttendee(context.Background(), &chimesdkmeetings.CreateAttendeeInput{
					MeetingId: m.MeetingId, ExternalUserId: aws.String(mnName("same-user", r))})
				errs[i] = err
				if err == nil {
					res[i] = result{*out.Attendee.AttendeeId, *out.Attendee.JoinToken}
				}
			}()
		}
		start.release()
		wg.Wait()
		for i := range callers {
			if errs[i] != nil {
				t.Errorf("round %d caller %d: %v", r, i, errs[i])
			} else if res[i] != res[0] {
				t.Errorf("round %d: caller %d got attendee %s, caller 0 got %s (or JoinTokens differ)", r, i, res[i].id, res[0].id)
			}
		}
	}
	for n, c := range clients {
		if got := len(mnListAll(t, c, *m.MeetingId)); got != rounds {
			t.Errorf("node %d lists %d attendees, want %d (one per ExternalUserId)", n, got, rounds)
		}
	}
	if got := mnQueryInt(t, db, `SELECT count(*) FROM attendees`); got != rounds {
		t.Errorf("the database holds %d attendee rows, want %d", got, rounds)
	}
}

// TestMultinodeTagLimit: 20 concurrent TagResource calls through both nodes,
// each adding 5 new keys to a meeting that has 2: at most 48 more fit, so
// exactly 9 succeed, the 11 losers get 400 TooManyTagsException, and the
// meeting ends with exactly the 2 + 45 acknowledged keys (D21).
func TestMultinodeTagLimit(t *testing.T) {
	nodes, db := mnTwoNodes(t)
	clients := [2]*chimesdkmeetings.Client{nodes[0].client(t), nodes[1].client(t)}
	ctx := context.Background()
	m := mnCreateMeeting(t, clients[0], "tags", 0)
	arn := m.MeetingArn
	if _, err := clients[1].TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: arn, Tags: []types.Tag{
		{Key: aws.String("base-a"), Value: aws.String("a")}, {Key: aws.String("base-b"), Value: aws.String("b")}}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	const callers = 20
	var (
		mu       sync.Mutex
		wantKeys = map[string]string{"base-a": "a", "base-b": "b"}
		wins     int
		tooMany  int
		wg       sync.WaitGroup
	)
	start := newMNStart()
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tags []types.Tag
			for k := range 5 {
				tags = append(tags, types.Tag{Key: aws.String(fmt.Sprintf("c%02d-k%d", i, k)), Value: aws.String(fmt.Sprint(i))})
			}
			start.wait()
			_, err := clients[i%2].TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: arn, Tags: tags})
			mu.Lock()
			defer mu.Unlock()
			switch st, code := mnAPIError(err); {
			case err == nil:
				wins++
				for _, tg := range tags {
					wantKeys[*tg.Key] = *tg.Value
				}
			case st == 400 && code == "TooManyTagsException":
				tooMany++
			default:
				t.Errorf("caller %d: %v, want 200 or 400 TooManyTagsException", i, err)
			}
		}()
	}
	start.release()
	wg.Wait()
	if wins != 9 || tooMany != 11 {
		t.Errorf("%d TagResource calls succeeded and %d got TooManyTagsException, want 9 and 11", wins, tooMany)
	}
	for n, c := range clients {
		out, err := c.ListTagsForResource(ctx, &chimesdkmeetings.ListTagsForResourceInput{ResourceARN: arn})
		if err != nil {
			t.Fatalf("ListTagsForResource: %v", err)
		}
		got := map[string]string{}
		for _, tg := range out.Tags {
			got[*tg.Key] = *tg.Value
		}
		if len(got) > 50 {
			t.Errorf("node %d: the meeting has %d tags, more than 50", n, len(got))
		}
		if fmt.Sprint(got) != fmt.Sprint(wantKeys) {
			t.Errorf("node %d: tags = %v\nwant exactly the acknowledged ones %v", n, mnKeysOf(got), mnKeysOf(wantKeys))
		}
	}
	if got := mnQueryInt(t, db, `SELECT count(*) FROM tags`); got != len(wantKeys) {
		t.Errorf("the database holds %d tag rows, want %d", got, len(wantKeys))
	}
}

func mnKeysOf(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
