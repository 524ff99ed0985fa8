package access

import (
	"strings"
	"testing"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "GetMeeting", true},
		{"Get*", "GetMeeting", true},
		{"Get*", "ListAttendees", false},
		{"*Attendee*", "BatchCreateAttendee", true},
		{"*Attendee*", "GetMeeting", false},
		{"GetMeeting", "GetMeeting", true},
		{"GetMeeting", "GetMeetings", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"arn:aws:chime:*:*:meeting/abc*", "arn:aws:chime:us-east-1:111122223333:meeting/abcdef", true},
		{"arn:aws:chime:*:*:meeting/abc*", "arn:aws:chime:us-east-1:111122223333:meeting/xbcdef", false},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestPolicy(t *testing.T) {
	p := Policy{Actions: []string{"chime:Get*", "chime:ListAttendees"},
		MeetingARNs: []string{"arn:aws:chime:us-east-1:111122223333:meeting/11111111-*"}}
	for op, want := range map[string]bool{
		"GetMeeting": true, "GetAttendee": true, "getmeeting": true, "ListAttendees": true,
		"DeleteMeeting": false, "BatchUpdateAttendeeCapabilitiesExcept": false,
	} {
		if got := p.AllowsAction(op); got != want {
			t.Errorf("AllowsAction(%s) = %v, want %v", op, got, want)
		}
	}
	if !p.AllowsMeeting("arn:aws:chime:us-east-1:111122223333:meeting/11111111-2222-4333-8444-555555555555") {
		t.Error("matching ARN refused")
	}
	if !p.AllowsMeeting("arn:aws:chime:us-east-1:111122223333:meeting/11111111-2222-4333-8444-AAAAAAAAAAAA") {
		t.Error("ARNs must compare case-insensitively (D3)")
	}
	if p.AllowsMeeting("arn:aws:chime:us-east-1:111122223333:meeting/21111111-2222-4333-8444-555555555555") {
		t.Error("other meeting allowed")
	}
	if !(Policy{Actions: []string{"chime:*"}}).AllowsMeeting("arn:anything") {
		t.Error("no ARN patterns must mean every meeting")
	}
	if (Policy{Actions: []string{"s3:*"}}).AllowsAction("GetMeeting") {
		t.Error("another service's actions must not grant chime operations")
	}
}

func TestCheckPolicy(t *testing.T) {
	ops := []string{"GetMeeting", "CreateMeeting"}
	good := []Policy{
		{Actions: []string{"chime:*"}},
		{Actions: []string{"chime:Get*"}, MeetingARNs: []string{"arn:aws:chime:*"}},
	}
	for _, p := range good {
		if err := CheckPolicy(p, ops); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	bad := []Policy{
		{},
		{Actions: []string{"GetMeeting"}},
		{Actions: []string{"chime:GetMeetingz"}},
		{Actions: []string{"chime:Get Meeting"}},
		{Actions: []string{"chime:*"}, MeetingARNs: []string{"meeting/*"}},
	}
	for _, p := range bad {
		if err := CheckPolicy(p, ops); err == nil {
			t.Errorf("%+v: accepted", p)
		}
	}
}

func TestSealer(t *testing.T) {
	s, err := NewSealer("root-secret")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("CKIA1", "the-secret")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "the-secret") {
		t.Fatal("sealed form contains the secret in plain text")
	}
	if got, err := s.Open("CKIA1", sealed); err != nil || got != "the-secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open("CKIA2", sealed); err != ErrUnsealable {
		t.Fatalf("a sealed secret moved to another key opened: %v", err)
	}
	other, _ := NewSealer("another-root-secret")
	if _, err := other.Open("CKIA1", sealed); err != ErrUnsealable {
		t.Fatalf("opened under another root secret: %v", err)
	}
	if _, err := s.Open("CKIA1", sealed[:5]); err != ErrUnsealable {
		t.Fatalf("truncated: %v", err)
	}
	again, _ := s.Seal("CKIA1", "the-secret")
	if string(again) == string(sealed) {
		t.Fatal("sealing must use a fresh nonce")
	}
}
