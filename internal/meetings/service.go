package meetings

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/ids"
	"github.com/carillon-dev/carillon/internal/store"
)

// Config holds what the domain needs to know about the deployment.
type Config struct {
	// Account is the 12-digit account id used in meeting ARNs.
	Account string
	// PublicBaseURL is where clients reach this server; MediaPlacement URLs
	// are derived from it.
	PublicBaseURL *url.URL
	// MediaBaseURL is where clients reach this node's media plane; the
	// meetings this node creates are placed on it (their MediaPlacement
	// URLs). Nil means PublicBaseURL.
	MediaBaseURL *url.URL
	// MaxMeetingDuration ends a meeting this long after its creation (D20).
	// Zero means 24 hours.
	MaxMeetingDuration time.Duration
	// DefaultMaxAttendees is the attendee limit of a meeting whose request
	// sets no MeetingFeatures.Attendee.MaxCount (D13). Zero means 250. It may
	// be raised above the model's 250 for large self-hosted meetings.
	DefaultMaxAttendees int
	// MaxMeetings caps the live meetings of the account; zero means no cap.
	MaxMeetings int
	// PageKey authenticates ListAttendees NextTokens (D19). Every node of a
	// deployment must use the same key.
	PageKey []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the randomness for ids and join tokens; nil means crypto/rand.
	Rand io.Reader
}

// Service implements the operations of the API on top of a Store.
type Service struct {
	store    Store
	cfg      Config
	watchers watchers
}

// NewService returns a Service over store.
func NewService(store Store, cfg Config) *Service {
	if cfg.MaxMeetingDuration == 0 {
		cfg.MaxMeetingDuration = 24 * time.Hour
	}
	if cfg.DefaultMaxAttendees == 0 {
		cfg.DefaultMaxAttendees = 250
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.PublicBaseURL == nil {
		cfg.PublicBaseURL = &url.URL{Scheme: "http", Host: "127.0.0.1:8080"}
	}
	if cfg.MediaBaseURL == nil {
		cfg.MediaBaseURL = cfg.PublicBaseURL
	}
	return &Service{store: store, cfg: cfg}
}

// Ready reports whether the service can serve requests.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// newID returns a lowercase random UUID (D3).
func (s *Service) newID() (string, error) { return ids.NewUUID(s.cfg.Rand) }

// normalizeID lower-cases an id: lookups are case-insensitive (D3).
func normalizeID(id string) string { return strings.ToLower(id) }

func meetingNotFound(id string) error {
	return apierr.New(apierr.NotFound, "Meeting %s not found", id)
}

func attendeeNotFound(id string) error {
	return apierr.New(apierr.NotFound, "Attendee %s not found", id)
}

// expired reports whether a meeting has ended by age (D20).
func (s *Service) expired(m *MeetingRecord) bool {
	return !s.now().Before(m.CreatedAt.Add(s.cfg.MaxMeetingDuration))
}

// liveMeeting reads a meeting that exists, has not ended and that the
// caller may access.
func (s *Service) liveMeeting(ctx context.Context, tx ReadTx, id string) (MeetingRecord, error) {
	m, err := tx.Meeting(ctx, normalizeID(id))
	return s.checkLive(ctx, m, err, id)
}

// lockLiveMeeting locks a meeting that exists, has not ended and that the
// caller may access (D10).
func (s *Service) lockLiveMeeting(ctx context.Context, tx Tx, id string) (MeetingRecord, error) {
	m, err := tx.LockMeeting(ctx, normalizeID(id))
	return s.checkLive(ctx, m, err, id)
}

func (s *Service) checkLive(ctx context.Context, m MeetingRecord, err error, id string) (MeetingRecord, error) {
	if errors.Is(err, store.ErrNoRecord) || (err == nil && s.expired(&m)) {
		return MeetingRecord{}, meetingNotFound(id)
	}
	if err != nil {
		return MeetingRecord{}, err
	}
	return m, authorize(ctx, &m)
}

// maxAttendees is the attendee limit of a meeting (D13).
func (s *Service) maxAttendees(f *Features) int {
	if f.Attendee != nil && f.Attendee.MaxCount != nil {
		return *f.Attendee.MaxCount
	}
	if f.videoResolution() == ResolutionFHD || f.contentResolution() == ResolutionUHD {
		return 25
	}
	return s.cfg.DefaultMaxAttendees
}

// attendeeView turns a stored attendee into the API shape.
func attendeeView(m *MeetingRecord, a *AttendeeRecord) Attendee {
	caps := EffectiveCapabilities(m, a)
	return Attendee{
		ExternalUserId: a.ExternalUserID,
		AttendeeId:     a.ID,
		JoinToken:      a.JoinToken,
		Capabilities:   &caps,
	}
}

// SweepExpired deletes up to limit meetings that have ended by age (D20) and
// returns how many it deleted. Expired meetings are already invisible to
// every operation; this only reclaims their storage.
func (s *Service) SweepExpired(ctx context.Context, limit int) (int, error) {
	var n int
	err := s.update(ctx, func(tx Tx) error {
		n = 0
		ids, err := tx.ExpiredMeetings(ctx, s.now().Add(-s.cfg.MaxMeetingDuration), limit)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.DeleteMeeting(ctx, id); err != nil && !errors.Is(err, store.ErrNoRecord) {
				return err
			}
			if err := s.record(ctx, tx, id, EventMeetingEnded, "", nil); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
