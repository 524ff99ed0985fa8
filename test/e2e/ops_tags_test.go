package e2e

// Tag operations (TagResource, UntagResource, ListTagsForResource) per D21:
// the 50-tag limit counts existing plus new keys, overwriting does not count,
// "aws:" keys are 400, well-formed ARNs of nothing are 404
// ResourceNotFoundException, malformed ARNs 400.

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
)

// TestOpsTagsLimitD21: a meeting created with 1 tag takes 49 more; a 51st
// key is 400 TooManyTagsException naming the resource and changes nothing;
// overwriting an existing key at 50 is fine and updates the value; untag
// frees room and is a no-op for absent keys (T4).
func TestOpsTagsLimitD21(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := startServer(t, e)
		c := s.client(t)
		m := opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{Tags: []types.Tag{{Key: aws.String("first"), Value: aws.String("1")}}})
		arn := aws.ToString(m.MeetingArn)

		r := s.do(t, http.MethodPost, "/tags?operation=tag-resource", opsJSON(t, map[string]any{"ResourceARN": arn, "Tags": []map[string]string{{"Key": "t-0", "Value": "v"}}}))
		if r.Status != http.StatusNoContent {
			t.Fatalf("raw TagResource: %d %s, want 204", r.Status, r.Body)
		}
		if _, err := c.TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: &arn, Tags: opsTagList("t", 49)[1:]}); err != nil {
			t.Fatalf("TagResource to 50 tags: %v", err)
		}
		before := opsTags(t, c, arn)
		if len(before) != 50 || before["first"] != "1" || before["t-48"] != "v" {
			t.Fatalf("%d tags after tagging to the limit: %v", len(before), opsSortedKeys(before))
		}

		_, err := c.TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: &arn, Tags: []types.Tag{{Key: aws.String("one-too-many"), Value: aws.String("v")}}})
		opsWantErr[*types.TooManyTagsException](t, err, 400, "TooManyTagsException")
		// Mixed request: an overwrite plus one new key is still past 50, and
		// the overwrite must not be half-applied.
		_, err = c.TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: &arn, Tags: []types.Tag{{Key: aws.String("first"), Value: aws.String("2")}, {Key: aws.String("new"), Value: aws.String("v")}}})
		opsWantErr[*types.TooManyTagsException](t, err, 400, "TooManyTagsException")
		if after := opsTags(t, c, arn); !reflect.DeepEqual(after, before) {
			t.Errorf("rejected TagResource changed the tags: %v", after)
		}

		if _, err := c.TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: &arn, Tags: []types.Tag{{Key: aws.String("first"), Value: aws.String("overwritten")}}}); err != nil {
			t.Fatalf("overwriting a key at 50 tags (D21): %v", err)
		}
		if got := opsTags(t, c, arn); len(got) != 50 || got["first"] != "overwritten" {
			t.Errorf("after overwrite: %d tags, first=%q", len(got), got["first"])
		}

		r = s.do(t, http.MethodPost, "/tags?operation=untag-resource", opsJSON(t, map[string]any{"ResourceARN": arn, "TagKeys": []string{"first", "never-there"}}))
		if r.Status != http.StatusNoContent {
			t.Fatalf("raw UntagResource: %d %s, want 204", r.Status, r.Body)
		}
		got := opsTags(t, c, arn)
		if _, ok := got["first"]; ok || len(got) != 49 {
			t.Errorf("after untag: %d tags, first present %v", len(got), ok)
		}
		if _, err := c.TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: &arn, Tags: []types.Tag{{Key: aws.String("fits-again"), Value: aws.String("v")}}}); err != nil {
			t.Errorf("TagResource after untag freed room: %v", err)
		}
		if _, err := c.UntagResource(ctx, &chimesdkmeetings.UntagResourceInput{ResourceARN: &arn, TagKeys: []string{"absent"}}); err != nil {
			t.Errorf("UntagResource of an absent key (T4): %v", err)
		}

		// One request with more tags than the model allows is a validation
		// error, not TooManyTags (D21, D2).
		m2 := opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{})
		arn2 := aws.ToString(m2.MeetingArn)
		_, err = c.TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: &arn2, Tags: opsTagList("x", 51)})
		opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException", "Tags")
		_, err = c.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("t51"), Tags: opsTagList("x", 51)})
		opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException", "Tags")
		if got := opsTags(t, c, arn2); len(got) != 0 {
			t.Errorf("rejected request left tags %v", got)
		}
	})
}

// TestOpsTagsErrorsD21: "aws:" keys are 400 on TagResource and CreateMeeting;
// ARNs of another account, another region, an unknown meeting or a non-meeting
// resource are 404 ResourceNotFoundException (with ResourceName) on all three
// tag operations; an ARN breaking the model pattern is 400.
func TestOpsTagsErrorsD21(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := startServer(t, e)
		c := s.client(t)
		m := opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		id, arn := aws.ToString(m.MeetingId), aws.ToString(m.MeetingArn)

		for _, key := range []string{"aws:x", "AWS:x"} {
			_, err := c.TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: &arn, Tags: []types.Tag{{Key: aws.String(key), Value: aws.String("v")}}})
			opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException")
			_, err = c.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("awstag"), Tags: []types.Tag{{Key: aws.String(key), Value: aws.String("v")}}})
			opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException")
		}
		if got := opsTags(t, c, arn); !reflect.DeepEqual(got, map[string]string{"k": "v"}) {
			t.Errorf("tags after rejected requests: %v", got)
		}

		missing := map[string]string{
			"other account":   "arn:aws:chime:us-east-1:999999999999:meeting/" + id,
			"other region":    opsArn("eu-west-1", id),
			"unknown meeting": opsArn("us-east-1", "11111111-2222-4333-8444-555555555555"),
			"not a meeting":   "arn:aws:chime:us-east-1:" + testAccount + ":app-instance/" + id,
		}
		for name, bad := range missing {
			t.Run(name, func(t *testing.T) {
				_, err := c.ListTagsForResource(ctx, &chimesdkmeetings.ListTagsForResourceInput{ResourceARN: aws.String(bad)})
				opsWantErr[*types.ResourceNotFoundException](t, err, 404, "ResourceNotFoundException")
				var rnf *types.ResourceNotFoundException
				if opsCode(err) == "ResourceNotFoundException" && errorsAs(err, &rnf) && aws.ToString(rnf.ResourceName) != bad {
					t.Errorf("ResourceName %q, want %q", aws.ToString(rnf.ResourceName), bad)
				}
				_, err = c.TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: aws.String(bad), Tags: []types.Tag{{Key: aws.String("k2"), Value: aws.String("v")}}})
				opsWantErr[*types.ResourceNotFoundException](t, err, 404, "ResourceNotFoundException")
				_, err = c.UntagResource(ctx, &chimesdkmeetings.UntagResourceInput{ResourceARN: aws.String(bad), TagKeys: []string{"k"}})
				opsWantErr[*types.ResourceNotFoundException](t, err, 404, "ResourceNotFoundException")
			})
		}
		if got := opsTags(t, c, arn); !reflect.DeepEqual(got, map[string]string{"k": "v"}) {
			t.Errorf("tags of the real meeting changed through a foreign ARN: %v", got)
		}
		// Malformed ARN (model pattern ^arn:.*): 400 on the raw wire.
		r := s.do(t, http.MethodGet, "/tags?arn="+url.QueryEscape("not-an-arn"), nil)
		wantRawError(t, r, 400, "BadRequestException", "ResourceARN")
		_, err := c.TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: aws.String("meeting/" + id), Tags: []types.Tag{{Key: aws.String("k2"), Value: aws.String("v")}}})
		opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException", "ResourceARN")
	})
}
