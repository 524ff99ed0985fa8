package meetings

import (
	"context"
	"encoding/json"
	"time"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// Event types of a meeting's history (D12).
const (
	EventMeetingCreated       = "MeetingCreated"
	EventMeetingDeleted       = "MeetingDeleted"
	EventMeetingEnded         = "MeetingEnded" // by age (D20)
	EventAttendeeCreated      = "AttendeeCreated"
	EventAttendeeDeleted      = "AttendeeDeleted"
	EventCapabilitiesUpdated  = "AttendeeCapabilitiesUpdated"
	EventCapabilitiesBatch    = "AttendeeCapabilitiesBatchUpdated"
	EventTranscriptionStarted = "TranscriptionStarted"
	EventTranscriptionStopped = "TranscriptionStopped"
)

// eventData is the JSON payload of an event: the triple an attendee got, or
// a batch's triple and the attendees it excluded.
type eventData struct {
	Capabilities *Capabilities `json:"Capabilities,omitempty"`
	Excluded     []string      `json:"ExcludedAttendeeIds,omitempty"`
}

// record appends one event to the meeting's history, in the transaction of
// the change it describes, so history and state cannot disagree.
func (s *Service) record(ctx context.Context, tx Tx, meetingID, typ, attendeeID string, data *eventData) error {
	c, _ := callerFrom(ctx)
	e := Event{MeetingID: meetingID, Time: s.now(), RequestID: c.RequestID, AccessKeyID: c.AccessKeyID,
		Type: typ, AttendeeID: attendeeID}
	if data != nil {
		raw, err := json.Marshal(data)
		if err != nil {
			return err
		}
		e.Data = raw
	}
	return tx.AppendEvents(ctx, []Event{e})
}

// CapabilityChange is one attendee's capability change in the audit trail.
type CapabilityChange struct {
	Time        time.Time     `json:"Time"`
	RequestId   string        `json:"RequestId"`
	AccessKeyId string        `json:"AccessKeyId"`
	MeetingId   string        `json:"MeetingId"`
	AttendeeId  string        `json:"AttendeeId"`
	Event       string        `json:"Event"`
	Old         *Capabilities `json:"Old"` // nil when the attendee was created
	New         Capabilities  `json:"New"`
}

// CapabilityHistory returns every capability change of a meeting, oldest
// first: creations, single updates, and one entry per attendee whose triple a
// batch actually changed. Batches are stored as one event (O(excluded)), so
// their per-attendee entries are derived here by replaying the history. It
// works for deleted meetings too; a meeting with no history is NotFound.
func (s *Service) CapabilityHistory(ctx context.Context, meetingID string) ([]CapabilityChange, error) {
	id := normalizeID(meetingID)
	var events []Event
	err := s.store.View(ctx, func(tx ReadTx) error {
		events = events[:0]
		var after int64
		for {
			page, err := tx.Events(ctx, id, after, 1000)
			if err != nil {
				return err
			}
			events = append(events, page...)
			if len(page) < 1000 {
				return nil
			}
			after = page[len(page)-1].Seq
		}
	})
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, meetingNotFound(meetingID)
	}
	return replayCapabilities(events)
}

func replayCapabilities(events []Event) ([]CapabilityChange, error) {
	changes := []CapabilityChange{}
	caps := map[string]Capabilities{}
	var order []string // live attendees in creation order
	for _, e := range events {
		var d eventData
		if len(e.Data) > 0 {
			if err := json.Unmarshal(e.Data, &d); err != nil {
				return nil, apierr.New(apierr.ServiceFailure, "history of meeting %s is unreadable", e.MeetingID)
			}
		}
		change := func(attendee string, old *Capabilities, c Capabilities) {
			changes = append(changes, CapabilityChange{Time: e.Time, RequestId: e.RequestID, AccessKeyId: e.AccessKeyID,
				MeetingId: e.MeetingID, AttendeeId: attendee, Event: e.Type, Old: old, New: c})
		}
		switch e.Type {
		case EventAttendeeCreated:
			caps[e.AttendeeID] = *d.Capabilities
			order = append(order, e.AttendeeID)
			change(e.AttendeeID, nil, *d.Capabilities)
		case EventCapabilitiesUpdated:
			old := caps[e.AttendeeID]
			caps[e.AttendeeID] = *d.Capabilities
			change(e.AttendeeID, &old, *d.Capabilities)
		case EventCapabilitiesBatch:
			excluded := make(map[string]bool, len(d.Excluded))
			for _, x := range d.Excluded {
				excluded[x] = true
			}
			for _, a := range order {
				if old := caps[a]; !excluded[a] && old != *d.Capabilities {
					caps[a] = *d.Capabilities
					change(a, &old, *d.Capabilities)
				}
			}
		case EventAttendeeDeleted:
			delete(caps, e.AttendeeID)
			for i, a := range order {
				if a == e.AttendeeID {
					order = append(order[:i], order[i+1:]...)
					break
				}
			}
		}
	}
	return changes, nil
}
