package meetings

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/store"
)

// CreateMeetingInput is the input of CreateMeeting and the meeting part of
// CreateMeetingWithAttendees. The wire layer has validated it against the
// model before the domain sees it.
type CreateMeetingInput struct {
	ClientRequestToken         string         `json:"ClientRequestToken"`
	MediaRegion                string         `json:"MediaRegion"`
	MeetingHostId              string         `json:"MeetingHostId,omitempty"`
	ExternalMeetingId          string         `json:"ExternalMeetingId"`
	NotificationsConfiguration *Notifications `json:"NotificationsConfiguration,omitempty"`
	MeetingFeatures            *Features      `json:"MeetingFeatures,omitempty"`
	PrimaryMeetingId           string         `json:"PrimaryMeetingId,omitempty"`
	TenantIds                  []string       `json:"TenantIds,omitempty"`
	Tags                       []Tag          `json:"Tags,omitempty"`
	MediaPlacementNetworkType  string         `json:"MediaPlacementNetworkType,omitempty"`
}

// CreateMeetingWithAttendeesInput is the input of CreateMeetingWithAttendees.
type CreateMeetingWithAttendeesInput struct {
	CreateMeetingInput
	Attendees []CreateAttendeeInput `json:"Attendees"`
}

// CreateAttendeesResult is the output of the batch attendee creations.
type CreateAttendeesResult struct {
	Meeting   *Meeting              `json:"Meeting,omitempty"`
	Attendees []Attendee            `json:"Attendees"`
	Errors    []CreateAttendeeError `json:"Errors"`
}

var guidPattern = regexp.MustCompile(`^[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}$`)

// IsGUID reports whether s is a well-formed GuidString.
func IsGUID(s string) bool { return guidPattern.MatchString(s) }

// CreateMeeting creates a meeting with no attendees.
func (s *Service) CreateMeeting(ctx context.Context, in CreateMeetingInput) (*Meeting, error) {
	res, err := s.createMeeting(ctx, "CreateMeeting", in, nil)
	if err != nil {
		return nil, err
	}
	return res.Meeting, nil
}

// CreateMeetingWithAttendees creates a meeting and up to 20 attendees in one
// atomic write. Item-level problems become Errors entries (D16).
func (s *Service) CreateMeetingWithAttendees(ctx context.Context, in CreateMeetingWithAttendeesInput) (*CreateAttendeesResult, error) {
	return s.createMeeting(ctx, "CreateMeetingWithAttendees", in.CreateMeetingInput, in.Attendees)
}

func (s *Service) createMeeting(ctx context.Context, op string, in CreateMeetingInput, attendees []CreateAttendeeInput) (*CreateAttendeesResult, error) {
	features := Features{}
	if in.MeetingFeatures != nil {
		features = *in.MeetingFeatures
	}
	if err := checkFeatures(&features); err != nil {
		return nil, err
	}
	if err := checkNewTags(in.Tags, "Tags"); err != nil {
		return nil, err
	}
	// Request-level capability problems reject the whole request (D16).
	for i, a := range attendees {
		if a.Capabilities != nil {
			if err := CheckCapabilities(&features, *a.Capabilities, "Attendees["+itoa(i)+"].Capabilities"); err != nil {
				return nil, err
			}
		}
	}
	tokenHash, requestHash, err := idempotencyHashes(op, in, attendees)
	if err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	rec := MeetingRecord{
		MediaURL:          s.cfg.MediaBaseURL.String(),
		ID:                id,
		Account:           s.cfg.Account,
		ARN:               meetingARN(in.MediaRegion, s.cfg.Account, id),
		ExternalMeetingID: in.ExternalMeetingId,
		MeetingHostID:     in.MeetingHostId,
		MediaRegion:       in.MediaRegion,
		TenantIDs:         in.TenantIds,
		Features:          features,
		Notifications:     in.NotificationsConfiguration,
		NetworkType:       in.MediaPlacementNetworkType,
		CreatedAt:         s.now(),
		TokenHash:         tokenHash,
		RequestHash:       requestHash,
	}
	var res *CreateAttendeesResult
	write := func(tx Tx) error {
		res = &CreateAttendeesResult{}
		m, err := s.insertOrReplayMeeting(ctx, tx, rec, in.PrimaryMeetingId, in.Tags)
		if err != nil {
			return err
		}
		view := s.meetingView(&m)
		res.Meeting = &view
		if len(attendees) > 0 {
			res.Attendees, res.Errors, err = s.createAttendees(ctx, tx, &m, attendees)
		}
		return err
	}
	err = s.update(ctx, write)
	if errors.Is(err, store.ErrDuplicate) {
		// Another node stored the same ClientRequestToken at the same moment
		// (D14): run again, which now replays its meeting or conflicts.
		err = s.update(ctx, write)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// insertOrReplayMeeting stores rec, or returns the meeting that the same
// ClientRequestToken already created (D14).
func (s *Service) insertOrReplayMeeting(ctx context.Context, tx Tx, rec MeetingRecord, primaryID string, tags []Tag) (MeetingRecord, error) {
	if rec.TokenHash != "" {
		prev, err := tx.MeetingByToken(ctx, rec.Account, rec.TokenHash)
		switch {
		case err == nil && s.expired(&prev):
			// The token's meeting has ended: the token is free again.
			if err := tx.DeleteMeeting(ctx, prev.ID); err != nil {
				return MeetingRecord{}, err
			}
			if err := s.record(ctx, tx, prev.ID, EventMeetingEnded, "", nil); err != nil {
				return MeetingRecord{}, err
			}
		case err == nil && prev.RequestHash == rec.RequestHash:
			return tx.LockMeeting(ctx, prev.ID)
		case err == nil:
			return MeetingRecord{}, apierr.New(apierr.Conflict,
				"ClientRequestToken was already used with different parameters")
		case !errors.Is(err, store.ErrNoRecord):
			return MeetingRecord{}, err
		}
	}
	if primaryID != "" {
		// D17: the primary must be a live meeting that is not itself a replica.
		if !IsGUID(primaryID) {
			return MeetingRecord{}, apierr.New(apierr.BadRequest, "PrimaryMeetingId does not name an existing meeting")
		}
		primary, err := s.liveMeeting(ctx, tx, primaryID)
		if apierr.Is(err, apierr.NotFound) {
			return MeetingRecord{}, apierr.New(apierr.BadRequest, "PrimaryMeetingId does not name an existing meeting")
		}
		if err != nil {
			return MeetingRecord{}, err
		}
		if primary.PrimaryMeetingID != "" {
			return MeetingRecord{}, apierr.New(apierr.BadRequest, "PrimaryMeetingId names a replica meeting; a replica cannot be a primary")
		}
		rec.PrimaryMeetingID = primary.ID
	}
	if err := s.checkMeetingQuota(ctx, tx); err != nil {
		return MeetingRecord{}, err
	}
	if err := tx.InsertMeeting(ctx, rec); err != nil {
		return MeetingRecord{}, err
	}
	if err := s.record(ctx, tx, rec.ID, EventMeetingCreated, "", nil); err != nil {
		return MeetingRecord{}, err
	}
	if len(tags) > 0 {
		if err := tx.PutTags(ctx, rec.ID, tags); err != nil {
			return MeetingRecord{}, err
		}
	}
	return rec, nil
}

// checkMeetingQuota applies --max-meetings: LimitExceededException when the
// account already has that many live meetings. The account lock makes the
// count and the insert atomic across nodes.
func (s *Service) checkMeetingQuota(ctx context.Context, tx Tx) error {
	if s.cfg.MaxMeetings <= 0 {
		return nil
	}
	if err := tx.LockAccount(ctx, s.cfg.Account); err != nil {
		return err
	}
	n, err := tx.CountMeetings(ctx, s.cfg.Account, s.now().Add(-s.cfg.MaxMeetingDuration))
	if err != nil {
		return err
	}
	if n >= s.cfg.MaxMeetings {
		return apierr.New(apierr.LimitExceeded, "The account already has its maximum of %d live meetings", s.cfg.MaxMeetings)
	}
	return nil
}

// idempotencyHashes returns the hash under which the ClientRequestToken is
// remembered (the token itself is sensitive) and a hash of everything else in
// the request, so that a replay with other parameters is a conflict (D14).
func idempotencyHashes(op string, in CreateMeetingInput, attendees []CreateAttendeeInput) (string, string, error) {
	if in.ClientRequestToken == "" {
		return "", "", nil
	}
	token := sha256.Sum256([]byte("carillon-client-request-token\x00" + in.ClientRequestToken))
	in.ClientRequestToken = ""
	body, err := json.Marshal(struct {
		Op        string
		Meeting   CreateMeetingInput
		Attendees []CreateAttendeeInput
	}{op, in, attendees})
	if err != nil {
		return "", "", err
	}
	req := sha256.Sum256(body)
	return hex.EncodeToString(token[:]), hex.EncodeToString(req[:]), nil
}

// checkFeatures applies D13: with Video FHD or Content UHD a meeting holds at
// most 25 attendees.
func checkFeatures(f *Features) error {
	if f.videoResolution() != ResolutionFHD && f.contentResolution() != ResolutionUHD {
		return nil
	}
	if f.Attendee != nil && f.Attendee.MaxCount != nil && *f.Attendee.MaxCount > 25 {
		return apierr.New(apierr.BadRequest,
			"MeetingFeatures.Attendee.MaxCount must be at most 25 when MeetingFeatures.Video.MaxResolution is FHD or MeetingFeatures.Content.MaxResolution is UHD")
	}
	return nil
}

// GetMeeting returns a live meeting.
func (s *Service) GetMeeting(ctx context.Context, meetingID string) (*Meeting, error) {
	var view Meeting
	err := s.store.View(ctx, func(tx ReadTx) error {
		m, err := s.liveMeeting(ctx, tx, meetingID)
		if err != nil {
			return err
		}
		view = s.meetingView(&m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &view, nil
}

// DeleteMeeting deletes a meeting with its attendees and tags, and the
// meetings that replicate it (D17, D20).
func (s *Service) DeleteMeeting(ctx context.Context, meetingID string) error {
	return s.update(ctx, func(tx Tx) error {
		m, err := s.lockLiveMeeting(ctx, tx, meetingID)
		if err != nil {
			return err
		}
		return s.removeMeeting(ctx, tx, m.ID, EventMeetingDeleted)
	})
}

// removeMeeting deletes a locked meeting and its replicas (D17), recording
// eventType for each.
func (s *Service) removeMeeting(ctx context.Context, tx Tx, id, eventType string) error {
	replicas, err := tx.Replicas(ctx, id)
	if err != nil {
		return err
	}
	for _, id := range append(replicas, id) {
		if err := tx.DeleteMeeting(ctx, id); err != nil && !errors.Is(err, store.ErrNoRecord) {
			return err
		}
		if err := s.record(ctx, tx, id, eventType, "", nil); err != nil {
			return err
		}
	}
	return nil
}

// meetingView turns a stored meeting into the API shape.
func (s *Service) meetingView(m *MeetingRecord) Meeting {
	tenants := m.TenantIDs
	if tenants == nil {
		tenants = []string{} // D17: unset TenantIds is returned as []
	}
	var features *Features
	if m.Features.Audio != nil || m.Features.Video != nil || m.Features.Content != nil || m.Features.Attendee != nil {
		f := m.Features
		features = &f
	}
	placement := s.mediaPlacement(m)
	return Meeting{
		MeetingId:         m.ID,
		MeetingHostId:     m.MeetingHostID,
		ExternalMeetingId: m.ExternalMeetingID,
		MediaRegion:       m.MediaRegion,
		MediaPlacement:    &placement,
		MeetingFeatures:   features,
		PrimaryMeetingId:  m.PrimaryMeetingID,
		TenantIds:         tenants,
		MeetingArn:        m.ARN,
	}
}

// mediaPlacement derives a meeting's endpoints from the media base URL of
// the node it is placed on, so that its sessions go to that node
// (docs/wire.md, "Response layouts", for the real service's shapes).
func (s *Service) mediaPlacement(m *MeetingRecord) MediaPlacement {
	meetingID := m.ID
	base := s.cfg.MediaBaseURL
	if m.MediaURL != "" && m.MediaURL != base.String() {
		if u, err := url.Parse(m.MediaURL); err == nil {
			base = u // placed on another node
		}
	}
	prefix := strings.TrimSuffix(base.Path, "/") + "/carillon"
	ws := "ws"
	if base.Scheme == "https" {
		ws = "wss"
	}
	httpURL := func(path string) string { return base.Scheme + "://" + base.Host + prefix + path }
	wsURL := func(path string) string { return ws + "://" + base.Host + prefix + path }
	return MediaPlacement{
		AudioHostUrl:      base.Host,
		AudioFallbackUrl:  wsURL("/calls/" + meetingID),
		SignalingUrl:      wsURL("/control/" + meetingID),
		TurnControlUrl:    httpURL("/v2/turn_sessions"),
		ScreenDataUrl:     wsURL("/v2/screen/" + meetingID),
		ScreenViewingUrl:  wsURL("/ws/connect?passcode=null&viewer_uuid=null&X-BitHub-Call-Id=" + meetingID),
		ScreenSharingUrl:  wsURL("/v2/screen/" + meetingID),
		EventIngestionUrl: httpURL("/v1/client-events"),
	}
}

// meetingARN follows the real service: arn:aws:chime:{MediaRegion}:{account}:meeting/{id}.
func meetingARN(region, account, id string) string {
	return "arn:" + partition(region) + ":chime:" + region + ":" + account + ":meeting/" + id
}

func partition(region string) string {
	if strings.HasPrefix(region, "us-gov-") {
		return "aws-us-gov"
	}
	return "aws"
}
