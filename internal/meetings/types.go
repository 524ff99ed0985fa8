// Package meetings is Carillon's domain layer: meetings, attendees and the
// capability rules of the Chime SDK Meetings API. It knows nothing about HTTP;
// the wire layer (internal/api) decodes requests into these types and encodes
// the results. The JSON tags are the API's member names, because these types
// are also the API's output shapes.
package meetings

import "time"

// Media capability values (MediaCapabilities enum).
const (
	SendReceive = "SendReceive"
	Send        = "Send"
	Receive     = "Receive"
	None        = "None"
)

// Capabilities is one attendee's capability triple (AttendeeCapabilities).
type Capabilities struct {
	Audio   string `json:"Audio"`
	Video   string `json:"Video"`
	Content string `json:"Content"`
}

// Features is MeetingFeaturesConfiguration. Nil members were not set by the
// caller and are not echoed (D13).
type Features struct {
	Audio    *AudioFeatures    `json:"Audio,omitempty"`
	Video    *VideoFeatures    `json:"Video,omitempty"`
	Content  *ContentFeatures  `json:"Content,omitempty"`
	Attendee *AttendeeFeatures `json:"Attendee,omitempty"`
}

type AudioFeatures struct {
	EchoReduction string `json:"EchoReduction,omitempty"`
}

type VideoFeatures struct {
	MaxResolution string `json:"MaxResolution,omitempty"`
}

type ContentFeatures struct {
	MaxResolution string `json:"MaxResolution,omitempty"`
}

type AttendeeFeatures struct {
	MaxCount *int `json:"MaxCount,omitempty"`
}

// Notifications is NotificationsConfiguration.
type Notifications struct {
	LambdaFunctionArn string `json:"LambdaFunctionArn,omitempty"`
	SnsTopicArn       string `json:"SnsTopicArn,omitempty"`
	SqsQueueArn       string `json:"SqsQueueArn,omitempty"`
}

// MediaPlacement is the set of endpoints a client connects to.
type MediaPlacement struct {
	AudioHostUrl      string `json:"AudioHostUrl"`
	AudioFallbackUrl  string `json:"AudioFallbackUrl"`
	SignalingUrl      string `json:"SignalingUrl"`
	TurnControlUrl    string `json:"TurnControlUrl"`
	ScreenDataUrl     string `json:"ScreenDataUrl"`
	ScreenViewingUrl  string `json:"ScreenViewingUrl"`
	ScreenSharingUrl  string `json:"ScreenSharingUrl"`
	EventIngestionUrl string `json:"EventIngestionUrl"`
}

// Tag is one key/value tag on a meeting.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Meeting is the API's Meeting output shape.
type Meeting struct {
	MeetingId         string          `json:"MeetingId"`
	MeetingHostId     string          `json:"MeetingHostId,omitempty"`
	ExternalMeetingId string          `json:"ExternalMeetingId,omitempty"`
	MediaRegion       string          `json:"MediaRegion"`
	MediaPlacement    *MediaPlacement `json:"MediaPlacement"`
	MeetingFeatures   *Features       `json:"MeetingFeatures,omitempty"`
	PrimaryMeetingId  string          `json:"PrimaryMeetingId,omitempty"`
	TenantIds         []string        `json:"TenantIds"`
	MeetingArn        string          `json:"MeetingArn"`
}

// Attendee is the API's Attendee output shape.
type Attendee struct {
	ExternalUserId string        `json:"ExternalUserId"`
	AttendeeId     string        `json:"AttendeeId"`
	JoinToken      string        `json:"JoinToken"`
	Capabilities   *Capabilities `json:"Capabilities"`
}

// CreateAttendeeError is one item-level failure of a batch creation (D16).
type CreateAttendeeError struct {
	ExternalUserId string `json:"ExternalUserId,omitempty"`
	ErrorCode      string `json:"ErrorCode"`
	ErrorMessage   string `json:"ErrorMessage"`
}

// MeetingRecord is a meeting as the store keeps it.
//
// Capabilities are versioned so that a batch update costs O(excluded
// attendees), not O(attendees), and writes only the meeting: the meeting
// carries the triple of its latest batch (Batch, BatchVersion) and the
// triples its excluded attendees kept (BatchPins), and each attendee
// carries its own triple with the version at which it was set. An
// attendee's own triple wins when its version is at least the batch's (see
// EffectiveCapabilities).
type MeetingRecord struct {
	ID                string
	Account           string
	ARN               string
	ExternalMeetingID string
	MeetingHostID     string
	MediaRegion       string
	PrimaryMeetingID  string
	TenantIDs         []string
	Features          Features
	Notifications     *Notifications
	NetworkType       string
	CreatedAt         time.Time
	// MediaURL is the base URL of the node the meeting is placed on: its
	// MediaPlacement URLs, and so its attendees' sessions, go there. Empty
	// for meetings stored before placement existed.
	MediaURL string

	// Idempotency (D14): a hash of the ClientRequestToken (the token itself is
	// sensitive and is not stored) and a hash of the request's parameters.
	TokenHash   string
	RequestHash string

	// Version counts capability writes in this meeting; every write takes
	// the next value.
	Version      int64
	Batch        *Capabilities // nil until the first batch update
	BatchVersion int64
	// BatchPins maps the attendees the latest batch excluded (those that
	// existed) to the triple each had then, which the batch leaves them.
	// Nil when there are none. A later batch replaces it whole: only the
	// latest batch's exclusions matter, since every attendee whose own
	// version is older than the latest batch gets that batch or its pin.
	BatchPins map[string]Capabilities

	Transcribing        bool
	TranscriptionConfig []byte // JSON of the TranscriptionConfiguration last started
}

// AttendeeRecord is an attendee as the store keeps it.
type AttendeeRecord struct {
	MeetingID      string
	ID             string
	ExternalUserID string
	JoinToken      string
	Seq            int64 // creation order within the store; assigned by InsertAttendee
	Caps           Capabilities
	CapsVersion    int64
}

// EffectiveCapabilities is the capability triple an attendee has now: its
// own when set at or after the latest batch, else the triple the batch
// pinned for it if it was excluded, else the batch's.
func EffectiveCapabilities(m *MeetingRecord, a *AttendeeRecord) Capabilities {
	if m.Batch != nil && m.BatchVersion > a.CapsVersion {
		if pin, ok := m.BatchPins[a.ID]; ok {
			return pin
		}
		return *m.Batch
	}
	return a.Caps
}

// PinsFor returns the BatchPins of a new batch of meeting m that excludes
// these attendees: each keeps the triple it has now. Nil when there are none.
func PinsFor(m *MeetingRecord, excluded []AttendeeRecord) map[string]Capabilities {
	if len(excluded) == 0 {
		return nil
	}
	pins := make(map[string]Capabilities, len(excluded))
	for i := range excluded {
		pins[excluded[i].ID] = EffectiveCapabilities(m, &excluded[i])
	}
	return pins
}
