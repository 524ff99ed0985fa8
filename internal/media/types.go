package media

import (
	"errors"

	"github.com/carillon-dev/carillon/internal/meetings"
)

// Statuses a session ends with, as AUDIO_STATUS codes of the Chime protocol.
const (
	StatusJoinedFromAnotherDevice = 301
	StatusMeetingEnded            = 410
	StatusAttendeeRemoved         = 411
)

// Close codes of a signaling connection that ends without a status. The
// Chime SDK reconnects on 4500-4599 and treats other 4xxx as final.
const (
	CloseReplaced      = 4002 // the same client reconnected on a new socket
	CloseMediaLost     = 4501 // ICE failed: the client should reconnect
	CloseServerRestart = 4502 // the node is shutting down: reconnect
)

var (
	// ErrShuttingDown: the hub is closing and admits no session.
	ErrShuttingDown = errors.New("media: the server is shutting down")
	// ErrMeetingEnded: the room ended while the session was joining.
	ErrMeetingEnded = errors.New("media: the meeting has ended")
	// ErrContentNotAllowed: a content share of an attendee without
	// Content Send; it is never announced.
	ErrContentNotAllowed = errors.New("media: the attendee may not share content")
)

// JoinRequest is an authorized join.
type JoinRequest struct {
	Grant meetings.JoinGrant
	// Content marks the attendee's content-share session (<id>#content).
	Content bool
	// AudioSessionID is the client's id for its signaling client: the same
	// id on a new socket is a reconnect, another id another device.
	AudioSessionID uint64
}

// Presence is one entry of the attendee roster (AUDIO_STREAM_ID_INFO).
type Presence struct {
	StreamID       uint32
	AttendeeID     string // "" for an entry that only carries Muted, or a leave
	ExternalUserID string
	Muted          *bool
	Dropped        bool
}

// DataMessage is a real-time data message (DATA_MESSAGE).
type DataMessage struct {
	Topic                string
	Data                 []byte
	LifetimeMs           uint32
	SenderAttendeeID     string
	SenderExternalUserID string
	// IngestTimeNs is when the server accepted it; zero tells the sender
	// that it was throttled and not delivered.
	IngestTimeNs int64
}

// AudioLevel is one sender's volume and signal strength (AUDIO_METADATA).
type AudioLevel struct {
	StreamID uint32
	// Volume is the attenuation in dB below full scale, 0 (loudest) to 127
	// (silence): the RFC 6464 audio level, as the SDK reads it.
	Volume uint32
	// SignalStrength is 0 (every packet lost) to 2 (none lost).
	SignalStrength uint32
}

// Index is what a client may subscribe to (INDEX).
type Index struct {
	AtCapacity      bool
	NumParticipants int
	Sources         []Source
}

// Client is the signaling side of a session: the media plane tells the
// client what changed through it. Every method must return at once (queue,
// never block on the network): they are called with the room locked.
type Client interface {
	Presence(entries []Presence)
	Index(idx Index)
	Data(msgs []DataMessage)
	Metadata(levels []AudioLevel)
	// End sends the final AUDIO_STATUS and closes the connection.
	End(status int)
	// Close closes the connection without a status.
	Close(code int, reason string)
}
