package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"

	"github.com/carillon-dev/carillon/internal/app"
)

// cli runs a carillon admin command against s with the test root
// credentials and returns its standard output.
func (s *server) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	env := map[string]string{
		"CARILLON_ROOT_ACCESS_KEY_ID":     testKeyID,
		"CARILLON_ROOT_SECRET_ACCESS_KEY": testSecret,
		"CARILLON_REGION":                 testRegion,
	}
	n := 1 // the command words come first, then flags, then positional arguments
	if args[0] == "keys" {
		n = 2
	}
	args = append(append(append([]string{}, args[:n]...), "--endpoint", s.Endpoint), args[n:]...)
	var out, errOut bytes.Buffer
	err := app.Run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), err
}

type createdKey struct{ AccessKeyId, SecretAccessKey string }

func (s *server) createKey(t *testing.T, args ...string) createdKey {
	t.Helper()
	out, err := s.cli(t, append([]string{"keys", "create", "--name", "test"}, args...)...)
	if err != nil {
		t.Fatalf("keys create: %v", err)
	}
	var k createdKey
	if err := json.Unmarshal([]byte(out), &k); err != nil || k.AccessKeyId == "" || k.SecretAccessKey == "" {
		t.Fatalf("keys create printed %q (%v)", out, err)
	}
	return k
}

func createMeetingWithARN(t *testing.T, c *chimesdkmeetings.Client, ext string) (string, string) {
	t.Helper()
	m, err := c.CreateMeeting(context.Background(), &chimesdkmeetings.CreateMeetingInput{
		MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String(ext)})
	if err != nil {
		t.Fatal(err)
	}
	return *m.Meeting.MeetingId, *m.Meeting.MeetingArn
}

func wantForbidden(t *testing.T, what string, err error) {
	t.Helper()
	var fe *types.ForbiddenException
	if !errors.As(err, &fe) {
		t.Fatalf("%s: want ForbiddenException, got %v", what, err)
	}
}

// TestAccessKeyPolicies: actions and meeting ARN globs allow and forbid
// (403, nothing changed); a deleted key is refused at once (401).
func TestAccessKeyPolicies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := startServer(t, e)
		root := s.client(t)
		allowedID, allowedARN := createMeetingWithARN(t, root, "allowed")
		otherID, _ := createMeetingWithARN(t, root, "other")
		a, err := root.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: &otherID, ExternalUserId: aws.String("u1")})
		if err != nil {
			t.Fatal(err)
		}

		k := s.createKey(t, "--allow", "chime:Get*,chime:ListAttendees,chime:CreateAttendee,chime:BatchUpdateAttendeeCapabilitiesExcept",
			"--meeting-arns", allowedARN)
		c := s.clientWith(t, k.AccessKeyId, k.SecretAccessKey, testRegion)

		if _, err := c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: &allowedID}); err != nil {
			t.Fatalf("allowed action on allowed meeting: %v", err)
		}
		if _, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: &allowedID, ExternalUserId: aws.String("k1")}); err != nil {
			t.Fatalf("allowed CreateAttendee: %v", err)
		}
		_, err = c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: &otherID})
		wantForbidden(t, "allowed action, other meeting", err)
		_, err = c.DeleteMeeting(ctx, &chimesdkmeetings.DeleteMeetingInput{MeetingId: &allowedID})
		wantForbidden(t, "action not allowed", err)
		_, err = c.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("x")})
		wantForbidden(t, "CreateMeeting not allowed", err)
		_, err = c.BatchUpdateAttendeeCapabilitiesExcept(ctx, &chimesdkmeetings.BatchUpdateAttendeeCapabilitiesExceptInput{
			MeetingId: &otherID, ExcludedAttendeeIds: []types.AttendeeIdItem{{AttendeeId: aws.String("")}},
			Capabilities: &types.AttendeeCapabilities{Audio: "None", Video: "None", Content: "None"}})
		wantForbidden(t, "batch on another meeting", err)

		// Nothing changed: the meeting is there and its attendee untouched.
		got, err := root.GetAttendee(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: &otherID, AttendeeId: a.Attendee.AttendeeId})
		if err != nil {
			t.Fatal(err)
		}
		if got.Attendee.Capabilities.Audio != "SendReceive" {
			t.Fatalf("a forbidden batch changed an attendee: %+v", got.Attendee.Capabilities)
		}
		if _, err := root.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: &allowedID}); err != nil {
			t.Fatalf("a forbidden delete deleted: %v", err)
		}

		// A key may not use the administration API.
		if _, err := c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: &allowedID}); err != nil {
			t.Fatal(err)
		}
		r := s.doAs(t, k.AccessKeyId, k.SecretAccessKey, "GET", "/carillon/admin/keys", nil)
		if r.Status != 403 {
			t.Fatalf("admin API with a non-root key: %d %s", r.Status, r.Body)
		}

		// list never shows secrets; delete refuses the key at once.
		out, err := s.cli(t, "keys", "list")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, k.AccessKeyId) || strings.Contains(out, k.SecretAccessKey) || strings.Contains(out, testSecret) {
			t.Fatalf("keys list: %q", out)
		}
		if _, err := s.cli(t, "keys", "delete", k.AccessKeyId); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: &allowedID})
		var ue *types.UnauthorizedException
		if !errors.As(err, &ue) {
			t.Fatalf("deleted key: want UnauthorizedException, got %v", err)
		}
		if _, err := s.cli(t, "keys", "delete", k.AccessKeyId); err == nil || !strings.Contains(err.Error(), "NotFound") {
			t.Fatalf("deleting an unknown key: %v", err)
		}
	})
}

// TestKeyPolicyValidation: malformed policies are refused at creation.
func TestKeyPolicyValidation(t *testing.T) {
	s := startServer(t, engines(t)[0])
	for _, args := range [][]string{
		{"--allow", ""},
		{"--allow", "GetMeeting"},
		{"--allow", "chime:NoSuchOperation"},
		{"--allow", "chime:*", "--meeting-arns", "meeting/*"},
	} {
		if _, err := s.cli(t, append([]string{"keys", "create", "--name", "x"}, args...)...); err == nil || !strings.Contains(err.Error(), "BadRequest") {
			t.Errorf("%v: want BadRequestException, got %v", args, err)
		}
	}
}

// TestSecretsAtRest: the embedded store does not hold key secrets in plain
// text (they are sealed under the root secret, which it never holds).
func TestSecretsAtRest(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, engine{"sqlite", func(*testing.T) []string { return []string{"--data", dir} }})
	k := s.createKey(t, "--allow", "chime:*")
	c := s.clientWith(t, k.AccessKeyId, k.SecretAccessKey, testRegion)
	createMeetingWithARN(t, c, "sealed")
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found = found || bytes.Contains(b, []byte(k.AccessKeyId))
		if bytes.Contains(b, []byte(k.SecretAccessKey)) || bytes.Contains(b, []byte(testSecret)) {
			t.Errorf("%s holds a secret in plain text", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatal("the key id is not in the data directory: the check above looked at the wrong files")
	}
}
