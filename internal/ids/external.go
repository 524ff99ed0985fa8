package ids

import (
	"errors"
	"regexp"
	"strings"
)

// The rules of the ids clients choose, ExternalUserId and ExternalMeetingId,
// that the service model states only in their documentation
// (docs/wire.md, "External ids"). The wire layer checks them on every
// request (internal/apimodel); the domain checks them on the items of a
// batch, whose problems are reported per item (docs/behaviour.md, D16).

// ExternalIDPattern is the documented pattern, verbatim, in Java regular
// expression syntax, as error messages quote it.
const ExternalIDPattern = `[-_&@+=,(){}\[\]\/«».:|'"#a-zA-Z0-9À-ÿ\s]*`

// ReservedPrefix is reserved for AWS at the start of an external id,
// compared case-insensitively.
const ReservedPrefix = "aws:"

// matchExternalID is ExternalIDPattern in RE2, as a full match: Java's \s
// is [ \t\n\x0B\f\r], RE2's lacks \x0B. internal/apimodel's tests check that
// its own translation of the Java pattern agrees with this one.
var matchExternalID = regexp.MustCompile(`^[-_&@+=,(){}\[\]/«».:|'"#a-zA-Z0-9À-ÿ \t\n\x0B\f\r]*$`).MatchString

// Errors of ValidateExternalID. Their text never includes the value (the
// members are sensitive), so callers may show it to the client; it follows
// AWS's wording of constraint failures, capital letter included.
var (
	//lint:ignore ST1005 AWS's wording, shown to clients
	ErrExternalIDPattern = errors.New("Member must satisfy regular expression pattern: " + ExternalIDPattern)
	//lint:ignore ST1005 AWS's wording, shown to clients
	ErrExternalIDReserved = errors.New("Member must not begin with the reserved prefix '" + ReservedPrefix + "' (case-insensitive)")
)

// ValidateExternalID applies the documented rules of ExternalUserId and
// ExternalMeetingId: the pattern (full match) and the reserved prefix. It
// does not check the model's length (2..64). It returns nil,
// ErrExternalIDPattern or ErrExternalIDReserved.
func ValidateExternalID(s string) error {
	if HasReservedPrefix(s) {
		return ErrExternalIDReserved
	}
	if !MatchExternalID(s) {
		return ErrExternalIDPattern
	}
	return nil
}

// MatchExternalID reports whether s matches ExternalIDPattern, wholly.
func MatchExternalID(s string) bool { return matchExternalID(s) }

// HasReservedPrefix reports whether s starts with "aws:" under Unicode
// simple case folding, comparing the first four runes (not bytes, so a
// multi-byte first rune is never cut).
func HasReservedPrefix(s string) bool {
	const runes = 4 // utf8.RuneCountInString(ReservedPrefix)
	n := 0
	for i := range s {
		if n == runes {
			return strings.EqualFold(s[:i], ReservedPrefix)
		}
		n++
	}
	return n == runes && strings.EqualFold(s, ReservedPrefix)
}
