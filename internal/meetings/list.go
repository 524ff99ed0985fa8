package meetings

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// DefaultPageSize is ListAttendees' page size when MaxResults is not set (D19).
const DefaultPageSize = 100

// ListAttendees returns one page of a live meeting's attendees in creation
// order, and the NextToken of the next page ("" on the last page) (D19).
func (s *Service) ListAttendees(ctx context.Context, meetingID, nextToken string, maxResults int) ([]Attendee, string, error) {
	if maxResults <= 0 {
		maxResults = DefaultPageSize
	}
	var out []Attendee
	var next string
	err := s.store.View(ctx, func(tx ReadTx) error {
		m, err := s.liveMeeting(ctx, tx, meetingID)
		if err != nil {
			return err
		}
		var after int64
		if nextToken != "" {
			if after, err = s.decodePageToken(m.ID, nextToken); err != nil {
				return err
			}
		}
		page, err := tx.Attendees(ctx, m.ID, after, maxResults+1)
		if err != nil {
			return err
		}
		out, next = make([]Attendee, 0, min(len(page), maxResults)), ""
		if len(page) > maxResults {
			page = page[:maxResults]
			next = s.encodePageToken(m.ID, page[len(page)-1].Seq)
		}
		for i := range page {
			out = append(out, attendeeView(&m, &page[i]))
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// A NextToken is base64url(seq || HMAC(meeting id, seq)[:16]): opaque to the
// caller, bound to its meeting, and tamper-evident.
func (s *Service) encodePageToken(meetingID string, seq int64) string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(seq))
	copy(b[8:], s.pageMAC(meetingID, b[:8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Service) decodePageToken(meetingID, token string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != 24 || !hmac.Equal(b[8:], s.pageMAC(meetingID, b[:8])) {
		return 0, apierr.New(apierr.BadRequest, "NextToken is not valid for this meeting")
	}
	return int64(binary.BigEndian.Uint64(b[:8])), nil
}

func (s *Service) pageMAC(meetingID string, seq []byte) []byte {
	mac := hmac.New(sha256.New, s.cfg.PageKey)
	mac.Write([]byte(meetingID))
	mac.Write(seq)
	return mac.Sum(nil)[:16]
}
