package sqlite

import (
	"encoding/base64"
	"encoding/hex"

	"github.com/carillon-dev/carillon/internal/meetings"
)

// liveAttendee is how the live state holds an attendee: the map key is its
// id and its meeting is the map it is in, so neither is kept again; the
// capability triple is packed into one byte; and a join token shaped as the
// domain makes it, base64url("<attendee id>:<32 hex digits>"), is kept as
// its 16 random bytes. That takes the heap per attendee held from 492 to
// 265 bytes (BenchmarkLiveStateMemory). A record that does not pack
// (capabilities outside the four values, a token of another shape) is
// kept whole in odd.
type liveAttendee struct {
	seq, capsVersion int64
	externalUserID   string
	tokenRandom      [16]byte
	caps             uint8
	odd              *meetings.AttendeeRecord
}

// capValues are the capability values, in the order of their 2-bit codes.
var capValues = [4]string{meetings.SendReceive, meetings.Send, meetings.Receive, meetings.None}

func capCode(s string) (uint8, bool) {
	for i, v := range capValues {
		if s == v {
			return uint8(i), true
		}
	}
	return 0, false
}

func packCaps(c meetings.Capabilities) (uint8, bool) {
	a, ok1 := capCode(c.Audio)
	v, ok2 := capCode(c.Video)
	ct, ok3 := capCode(c.Content)
	return a | v<<2 | ct<<4, ok1 && ok2 && ok3
}

func unpackCaps(p uint8) meetings.Capabilities {
	return meetings.Capabilities{Audio: capValues[p&3], Video: capValues[p>>2&3], Content: capValues[p>>4&3]}
}

// packToken returns the random part of a join token of the domain's shape
// for this attendee id, and false for any other token.
func packToken(id, token string) (r [16]byte, ok bool) {
	if base64.RawURLEncoding.DecodedLen(len(token)) != len(id)+1+32 {
		return r, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != len(id)+1+32 || string(raw[:len(id)]) != id || raw[len(id)] != ':' {
		return r, false
	}
	hexPart := raw[len(id)+1:]
	if _, err := hex.Decode(r[:], hexPart); err != nil {
		return r, false
	}
	// Only lower-case hex and canonical base64 round-trip exactly.
	if makeToken(id, r) != token {
		return r, false
	}
	return r, true
}

func makeToken(id string, r [16]byte) string {
	raw := make([]byte, 0, len(id)+1+32)
	raw = append(raw, id...)
	raw = append(raw, ':')
	raw = hex.AppendEncode(raw, r[:])
	return base64.RawURLEncoding.EncodeToString(raw)
}

func packAttendee(a meetings.AttendeeRecord) liveAttendee {
	caps, okCaps := packCaps(a.Caps)
	random, okToken := packToken(a.ID, a.JoinToken)
	if !okCaps || !okToken {
		return liveAttendee{seq: a.Seq, odd: &a}
	}
	return liveAttendee{seq: a.Seq, capsVersion: a.CapsVersion, externalUserID: a.ExternalUserID, tokenRandom: random, caps: caps}
}

// record gives back the attendee as the store returns it.
func (la *liveAttendee) record(meetingID, id string) meetings.AttendeeRecord {
	if la.odd != nil {
		a := *la.odd
		a.MeetingID = meetingID
		return a
	}
	return meetings.AttendeeRecord{
		MeetingID: meetingID, ID: id, ExternalUserID: la.externalUserID, JoinToken: makeToken(id, la.tokenRandom),
		Seq: la.seq, Caps: unpackCaps(la.caps), CapsVersion: la.capsVersion,
	}
}

// capabilities returns the attendee's own triple and its version.
func (la *liveAttendee) capabilities() (meetings.Capabilities, int64) {
	if la.odd != nil {
		return la.odd.Caps, la.odd.CapsVersion
	}
	return unpackCaps(la.caps), la.capsVersion
}

// withCaps returns the attendee with a new triple and version.
func (la liveAttendee) withCaps(meetingID, id string, c meetings.Capabilities, version int64) liveAttendee {
	if la.odd == nil {
		if p, ok := packCaps(c); ok {
			la.caps, la.capsVersion = p, version
			return la
		}
	}
	a := la.record(meetingID, id)
	a.Caps, a.CapsVersion = c, version
	return packAttendee(a)
}
