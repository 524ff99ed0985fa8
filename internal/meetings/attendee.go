package meetings

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/ids"
	"github.com/carillon-dev/carillon/internal/store"
)

// CreateAttendeeInput is CreateAttendee's body and one item of the batch
// creations (CreateAttendeeRequestItem).
type CreateAttendeeInput struct {
	ExternalUserId string        `json:"ExternalUserId"`
	Capabilities   *Capabilities `json:"Capabilities,omitempty"`
}

// Item-level error codes of the batch creations (D16).
const (
	ErrorCodeBadRequest    = "BadRequest"
	ErrorCodeLimitExceeded = "LimitExceeded"
)

func itoa(i int) string { return strconv.Itoa(i) }

// CreateAttendee adds one attendee to a live meeting, or returns the live
// attendee that already has this ExternalUserId (D15).
func (s *Service) CreateAttendee(ctx context.Context, meetingID string, in CreateAttendeeInput) (*Attendee, error) {
	var out Attendee
	err := s.update(ctx, func(tx Tx) error {
		m, err := s.lockLiveMeeting(ctx, tx, meetingID)
		if err != nil {
			return err
		}
		if in.Capabilities != nil {
			if err := CheckCapabilities(&m.Features, *in.Capabilities, "Capabilities"); err != nil {
				return err
			}
		}
		created, problems, err := s.createAttendees(ctx, tx, &m, []CreateAttendeeInput{in})
		if err != nil {
			return err
		}
		if len(problems) > 0 {
			kind := apierr.BadRequest
			if problems[0].ErrorCode == ErrorCodeLimitExceeded {
				kind = apierr.LimitExceeded
			}
			return &apierr.Error{Kind: kind, Message: problems[0].ErrorMessage}
		}
		out = created[0]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// BatchCreateAttendee adds up to 100 attendees in one atomic write. Item-level
// problems become Errors entries; request-level ones reject everything (D16).
func (s *Service) BatchCreateAttendee(ctx context.Context, meetingID string, items []CreateAttendeeInput) (*CreateAttendeesResult, error) {
	res := &CreateAttendeesResult{}
	err := s.update(ctx, func(tx Tx) error {
		m, err := s.lockLiveMeeting(ctx, tx, meetingID)
		if err != nil {
			return err
		}
		for i, a := range items {
			if a.Capabilities != nil {
				if err := CheckCapabilities(&m.Features, *a.Capabilities, "Attendees["+itoa(i)+"].Capabilities"); err != nil {
					return err
				}
			}
		}
		res.Attendees, res.Errors, err = s.createAttendees(ctx, tx, &m, items)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// createAttendees creates items in a locked meeting whose capability requests
// have already been checked. Problems of single items are returned as
// CreateAttendeeErrors; only store failures are errors.
func (s *Service) createAttendees(ctx context.Context, tx Tx, m *MeetingRecord, items []CreateAttendeeInput) ([]Attendee, []CreateAttendeeError, error) {
	created := []Attendee{}
	problems := []CreateAttendeeError{}
	count, err := tx.CountAttendees(ctx, m.ID)
	if err != nil {
		return nil, nil, err
	}
	limit := s.maxAttendees(&m.Features)
	for _, item := range items {
		if err := ids.ValidateExternalID(item.ExternalUserId); err != nil {
			problems = append(problems, CreateAttendeeError{
				ExternalUserId: item.ExternalUserId,
				ErrorCode:      ErrorCodeBadRequest,
				ErrorMessage:   "ExternalUserId: " + err.Error(),
			})
			continue
		}
		existing, err := tx.AttendeeByExternalUserID(ctx, m.ID, item.ExternalUserId)
		if err == nil {
			created = append(created, attendeeView(m, &existing)) // D15
			continue
		}
		if !errors.Is(err, store.ErrNoRecord) {
			return nil, nil, err
		}
		if count >= limit {
			problems = append(problems, CreateAttendeeError{
				ExternalUserId: item.ExternalUserId,
				ErrorCode:      ErrorCodeLimitExceeded,
				ErrorMessage:   fmt.Sprintf("The meeting already has its maximum of %d attendees", limit),
			})
			continue
		}
		a, err := s.newAttendee(m, item)
		if err != nil {
			return nil, nil, err
		}
		if a.Seq, err = tx.InsertAttendee(ctx, a); err != nil {
			return nil, nil, err
		}
		if err := s.record(ctx, tx, m.ID, EventAttendeeCreated, a.ID, &eventData{Capabilities: &a.Caps}); err != nil {
			return nil, nil, err
		}
		count++
		created = append(created, attendeeView(m, &a))
	}
	return created, problems, nil
}

func (s *Service) newAttendee(m *MeetingRecord, in CreateAttendeeInput) (AttendeeRecord, error) {
	id, err := s.newID()
	if err != nil {
		return AttendeeRecord{}, err
	}
	token, err := s.joinToken(id)
	if err != nil {
		return AttendeeRecord{}, err
	}
	caps := DefaultCapabilities(&m.Features)
	if in.Capabilities != nil {
		caps = *in.Capabilities
	}
	return AttendeeRecord{
		MeetingID:      m.ID,
		ID:             id,
		ExternalUserID: in.ExternalUserId,
		JoinToken:      token,
		Caps:           caps,
		// Its own triple wins over every batch so far: D7, attendees created
		// after a batch are not affected by it.
		CapsVersion: m.Version,
	}, nil
}

// joinToken is shaped like the real service's (base64 of "<AttendeeId>:<random>")
// and carries 128 random bits (D18).
func (s *Service) joinToken(attendeeID string) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(attendeeID + ":" + hex.EncodeToString(b[:]))), nil
}

// attendeeOf reads one attendee of meeting m: NotFound when absent.
func attendeeOf(ctx context.Context, tx ReadTx, m *MeetingRecord, attendeeID string) (AttendeeRecord, error) {
	a, err := tx.Attendee(ctx, m.ID, normalizeID(attendeeID))
	if errors.Is(err, store.ErrNoRecord) {
		return AttendeeRecord{}, attendeeNotFound(attendeeID)
	}
	return a, err
}

// GetAttendee returns one attendee of a live meeting. It is one statement
// (Store.ReadAttendee), not a View: the meeting checks run on the row read
// with the attendee.
func (s *Service) GetAttendee(ctx context.Context, meetingID, attendeeID string) (*Attendee, error) {
	m, a, found, err := s.store.ReadAttendee(ctx, normalizeID(meetingID), normalizeID(attendeeID))
	if m, err = s.checkLive(ctx, m, err, meetingID); err != nil {
		return nil, err
	}
	if !found {
		return nil, attendeeNotFound(attendeeID)
	}
	out := attendeeView(&m, &a)
	return &out, nil
}

// DeleteAttendee removes an attendee; its JoinToken stops working (D18).
func (s *Service) DeleteAttendee(ctx context.Context, meetingID, attendeeID string) error {
	return s.update(ctx, func(tx Tx) error {
		m, err := s.lockLiveMeeting(ctx, tx, meetingID)
		if err != nil {
			return err
		}
		id := normalizeID(attendeeID)
		err = tx.DeleteAttendee(ctx, m.ID, id)
		if errors.Is(err, store.ErrNoRecord) {
			return attendeeNotFound(attendeeID)
		}
		if err != nil {
			return err
		}
		return s.record(ctx, tx, m.ID, EventAttendeeDeleted, id, nil)
	})
}

// UpdateAttendeeCapabilities sets one attendee's capabilities (D9, D10).
func (s *Service) UpdateAttendeeCapabilities(ctx context.Context, meetingID, attendeeID string, caps Capabilities) (*Attendee, error) {
	var out Attendee
	err := s.update(ctx, func(tx Tx) error {
		m, err := s.lockLiveMeeting(ctx, tx, meetingID)
		if err != nil {
			return err
		}
		a, err := attendeeOf(ctx, tx, &m, attendeeID)
		if err != nil {
			return err
		}
		if err := CheckCapabilities(&m.Features, caps, "Capabilities"); err != nil {
			return err
		}
		m.Version++
		if err := tx.SetAttendeeCaps(ctx, m.ID, a.ID, caps, m.Version); err != nil {
			return err
		}
		if err := tx.UpdateMeeting(ctx, m); err != nil {
			return err
		}
		if err := s.record(ctx, tx, m.ID, EventCapabilitiesUpdated, a.ID, &eventData{Capabilities: &caps}); err != nil {
			return err
		}
		a.Caps, a.CapsVersion = caps, m.Version
		out = attendeeView(&m, &a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// BatchUpdateAttendeeCapabilitiesExcept gives caps to every attendee of the
// meeting except the excluded ones, atomically (D7–D10).
//
// It costs O(len(excluded)), not O(attendees), and writes only the meeting
// row (and its event): the meeting records caps as its latest batch at a new
// version, with the triple each excluded attendee that exists has now as its
// pin (see EffectiveCapabilities).
func (s *Service) BatchUpdateAttendeeCapabilitiesExcept(ctx context.Context, meetingID string, excluded []string, caps Capabilities) error {
	return s.update(ctx, func(tx Tx) error {
		m, err := s.lockLiveMeeting(ctx, tx, meetingID)
		if err != nil {
			return err
		}
		if err := CheckCapabilities(&m.Features, caps, "Capabilities"); err != nil {
			return err
		}
		version := m.Version + 1
		// D8: entries that are not GUIDs (the empty string included) or
		// match no attendee are ignored, and duplicates are fine.
		ids := make([]string, 0, len(excluded))
		seen := make(map[string]bool, len(excluded))
		for _, raw := range excluded {
			id := normalizeID(raw)
			if seen[id] || !IsGUID(id) {
				continue
			}
			seen[id] = true
			ids = append(ids, id)
		}
		found, err := tx.AttendeesByID(ctx, m.ID, ids)
		if err != nil {
			return err
		}
		pins := PinsFor(&m, found)
		// The excluded ids that name attendees, in request order.
		var pinned []string
		for _, id := range ids {
			if _, ok := pins[id]; ok {
				pinned = append(pinned, id)
			}
		}
		m.Version = version
		m.Batch = &caps
		m.BatchVersion = version
		m.BatchPins = pins
		if err := tx.UpdateMeeting(ctx, m); err != nil {
			return err
		}
		return s.record(ctx, tx, m.ID, EventCapabilitiesBatch, "", &eventData{Capabilities: &caps, Excluded: pinned})
	})
}
