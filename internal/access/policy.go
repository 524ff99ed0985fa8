package access

import (
	"fmt"
	"regexp"
	"strings"
)

// Policy is what one key may do: IAM-style actions and meeting ARN globs.
type Policy struct {
	Actions     []string
	MeetingARNs []string // empty: every meeting
}

var actionPattern = regexp.MustCompile(`^chime:[A-Za-z*]+$`)

// CheckPolicy rejects malformed action names and ARN patterns, so a typo
// does not silently grant nothing (or everything).
func CheckPolicy(p Policy, knownOperations []string) error {
	if len(p.Actions) == 0 {
		return fmt.Errorf("at least one action is required (e.g. chime:GetMeeting, chime:Get*, chime:*)")
	}
	for _, a := range p.Actions {
		if !actionPattern.MatchString(a) {
			return fmt.Errorf("action %q is not of the form chime:OperationName (wildcards * allowed)", a)
		}
		matched := false
		for _, op := range knownOperations {
			if glob(a[len("chime:"):], op) {
				matched = true
				break
			}
		}
		if !matched {
			return fmt.Errorf("action %q matches no operation of the API", a)
		}
	}
	for _, arn := range p.MeetingARNs {
		if !strings.HasPrefix(arn, "arn:") {
			return fmt.Errorf("meeting ARN pattern %q does not start with %q", arn, "arn:")
		}
	}
	return nil
}

// AllowsAction reports whether the policy allows the operation (by name,
// e.g. "GetMeeting"). Action names compare case-insensitively, as in IAM.
func (p Policy) AllowsAction(operation string) bool {
	for _, a := range p.Actions {
		if service, name, ok := strings.Cut(a, ":"); ok && strings.EqualFold(service, "chime") &&
			glob(strings.ToLower(name), strings.ToLower(operation)) {
			return true
		}
	}
	return false
}

// AllowsMeeting reports whether the policy covers the meeting with this ARN.
// ARNs compare case-insensitively: meeting ids are looked up that way (D3).
func (p Policy) AllowsMeeting(arn string) bool {
	if len(p.MeetingARNs) == 0 {
		return true
	}
	for _, pattern := range p.MeetingARNs {
		if glob(strings.ToLower(pattern), strings.ToLower(arn)) {
			return true
		}
	}
	return false
}

// glob matches s against pattern where '*' matches any run of characters
// (including none) and everything else matches itself.
func glob(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	if !strings.HasPrefix(s, pattern[:star]) {
		return false
	}
	s, pattern = s[star:], pattern[star+1:]
	if pattern == "" {
		return true
	}
	// Try every position for the rest; patterns are short.
	for i := 0; i <= len(s); i++ {
		if glob(pattern, s[i:]) {
			return true
		}
	}
	return false
}
