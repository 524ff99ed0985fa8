package meetings

import (
	"context"
	"strings"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// MaxTags is the most tags one meeting carries (D21).
const MaxTags = 50

// checkNewTags rejects reserved and repeated keys in a request (D21).
func checkNewTags(tags []Tag, member string) error {
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return apierr.New(apierr.BadRequest, "%s[%d].Key: keys beginning with aws: are reserved", member, i)
		}
		if seen[t.Key] {
			return apierr.New(apierr.BadRequest, "%s[%d].Key repeats a key of the same request", member, i)
		}
		seen[t.Key] = true
	}
	return nil
}

// taggedMeeting resolves a ResourceARN to a live meeting of this account
// (D21): anything else is ResourceNotFoundException naming the ARN.
func (s *Service) taggedMeeting(ctx context.Context, tx ReadTx, arn string, lock bool) (MeetingRecord, error) {
	notFound := &apierr.Error{Kind: apierr.ResourceNotFound, Message: "Resource " + arn + " not found", ResourceName: arn}
	i := strings.LastIndex(arn, ":meeting/")
	if i < 0 {
		return MeetingRecord{}, notFound
	}
	id := normalizeID(arn[i+len(":meeting/"):])
	if !IsGUID(id) {
		return MeetingRecord{}, notFound
	}
	var m MeetingRecord
	var err error
	if t, ok := tx.(Tx); ok && lock {
		m, err = s.lockLiveMeeting(ctx, t, id)
	} else {
		m, err = s.liveMeeting(ctx, tx, id)
	}
	if apierr.Is(err, apierr.NotFound) || (err == nil && !strings.EqualFold(m.ARN, arn)) {
		return MeetingRecord{}, notFound
	}
	return m, err
}

// TagResource adds or overwrites tags on a meeting (D21).
func (s *Service) TagResource(ctx context.Context, arn string, tags []Tag) error {
	if err := checkNewTags(tags, "Tags"); err != nil {
		return err
	}
	return s.update(ctx, func(tx Tx) error {
		m, err := s.taggedMeeting(ctx, tx, arn, true)
		if err != nil {
			return err
		}
		existing, err := tx.Tags(ctx, m.ID)
		if err != nil {
			return err
		}
		keys := make(map[string]bool, len(existing)+len(tags))
		for _, t := range existing {
			keys[t.Key] = true
		}
		for _, t := range tags {
			keys[t.Key] = true
		}
		if len(keys) > MaxTags {
			return &apierr.Error{Kind: apierr.TooManyTags, ResourceName: arn,
				Message: "A meeting can have at most 50 tags; this request would give it " + itoa(len(keys))}
		}
		if len(tags) == 0 {
			return nil
		}
		return tx.PutTags(ctx, m.ID, tags)
	})
}

// UntagResource removes tags by key; absent keys are fine (T4).
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	return s.update(ctx, func(tx Tx) error {
		m, err := s.taggedMeeting(ctx, tx, arn, true)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return nil
		}
		return tx.DeleteTags(ctx, m.ID, keys)
	})
}

// ListTagsForResource returns a meeting's tags sorted by key.
func (s *Service) ListTagsForResource(ctx context.Context, arn string) ([]Tag, error) {
	var tags []Tag
	err := s.store.View(ctx, func(tx ReadTx) error {
		m, err := s.taggedMeeting(ctx, tx, arn, false)
		if err != nil {
			return err
		}
		tags, err = tx.Tags(ctx, m.ID)
		return err
	})
	if tags == nil {
		tags = []Tag{}
	}
	return tags, err
}
