package apimodel

import (
	"fmt"
	"strings"

	"github.com/carillon-dev/carillon/internal/ids"
)

// Rules the model states only in documentation (docs/wire.md, "Rules
// stated only in prose"),
// enforced per D2. They are attached to members by shape name, so every
// member using the shape gets them (MeetingHostId uses the ExternalUserId
// shape and therefore gets the ExternalUserId rules).

// MediaRegions returns the MediaRegion values the CreateMeeting documentation
// lists (docs/wire.md): 18 commercial Regions and the 2 GovCloud Regions. The
// model's MediaRegion shape itself only constrains the length (2..64).
func MediaRegions() []string {
	return []string{
		"af-south-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1",
		"ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1",
		"eu-north-1", "eu-south-1", "eu-west-1", "eu-west-2", "eu-west-3",
		"sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
		"us-gov-east-1", "us-gov-west-1",
	}
}

// applyDocRules attaches the documentation-only rules and the deliberate
// exemptions to a member.
func applyDocRules(opName string, mem *Member) {
	switch mem.Shape {
	case "ExternalUserId", "ExternalMeetingId":
		mem.DocPattern = ids.ExternalIDPattern
		mem.ReservedPrefix = ids.ReservedPrefix
		mem.docMatch = ids.MatchExternalID
	case "MediaRegion":
		mem.DocEnum = MediaRegions()
		mem.docEnum = make(map[string]struct{}, len(mem.DocEnum))
		for _, r := range mem.DocEnum {
			mem.docEnum[r] = struct{}{}
		}
	}
	// D8: ExcludedAttendeeIds entries are compared with the meeting's
	// attendee IDs and ignored when they match none, including "" (the
	// official JS demo sends [{"AttendeeId": ""}] to mean "everyone"), so
	// the GuidString pattern is not enforced. Required and type still are.
	if opName == "BatchUpdateAttendeeCapabilitiesExcept" && mem.Path == "ExcludedAttendeeIds[].AttendeeId" {
		mem.PatternExempt = true
	}
	// D16: in batch creations an invalid or reserved ExternalUserId is an
	// item-level problem reported in Errors by the domain (which calls
	// ids.ValidateExternalID); the model's own constraints still apply here.
	if (opName == "BatchCreateAttendee" || opName == "CreateMeetingWithAttendees") && mem.Path == "Attendees[].ExternalUserId" {
		mem.DocRulesExempt = true
	}
}

// compilePattern turns a model pattern into a full-match predicate (D2).
// Patterns that RE2 cannot express are handled explicitly, by shape and
// exact pattern text; any other pattern that fails to compile makes Load
// fail rather than be skipped.
func compilePattern(shape, pattern string) (func(string) bool, error) {
	if shape == "TenantId" && pattern == tenantIDPattern {
		return matchTenantID, nil
	}
	re, err := compileFullMatch(pattern)
	if err != nil {
		return nil, fmt.Errorf("pattern %q of shape %s does not compile in Go and has no explicit handling: %w", pattern, shape, err)
	}
	return re.MatchString, nil
}

// tenantIDPattern uses a negative lookahead and a backreference, which RE2
// lacks. Its meaning: the whole string is made of [-_!@#$a-zA-Z0-9] and no
// character occurs 4 or more times in a row ((.)\1{3} anywhere). The
// lookahead's "." stops at line terminators, but none is in the character
// set, so the two readings agree.
const tenantIDPattern = `^(?!.*?(.)\1{3})[-_!@#$a-zA-Z0-9]*$`

func matchTenantID(s string) bool {
	var prev byte
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '!' || c == '@' || c == '#' || c == '$') {
			return false // also rejects every byte of a multi-byte rune
		}
		if i > 0 && c == prev {
			run++
		} else {
			run = 1
		}
		if run >= 4 {
			return false
		}
		prev = c
	}
	return true
}

// javaToRE2 rewrites the two constructs of the model's Java-flavoured
// regexes whose meaning differs in Go's RE2:
//   - \s is [ \t\n\x0B\f\r] in Java but lacks \x0B in RE2: it becomes
//     [:space:] (which includes \v) inside a class, [[:space:]] outside.
//   - "." excludes \n, \r, \x85, \u2028 and \u2029 in Java but only \n in
//     RE2: outside a class it becomes [^\n\r\x{85}\x{2028}\x{2029}].
//
// \w, \d, ranges and escaped punctuation mean the same in both.
func javaToRE2(p string) string {
	var b strings.Builder
	inClass := false
	classStart := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			next := p[i+1]
			i++
			classStart = false
			if next == 's' {
				if inClass {
					b.WriteString(`[:space:]`)
				} else {
					b.WriteString(`[[:space:]]`)
				}
				continue
			}
			b.WriteByte(c)
			b.WriteByte(next)
		case c == '[' && !inClass:
			inClass, classStart = true, true
			b.WriteByte(c)
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
		case c == ']' && inClass && !classStart:
			inClass = false
			b.WriteByte(c)
		case c == '.' && !inClass:
			b.WriteString(`[^\n\r\x{85}\x{2028}\x{2029}]`)
		default:
			classStart = false
			b.WriteByte(c)
		}
	}
	return b.String()
}
