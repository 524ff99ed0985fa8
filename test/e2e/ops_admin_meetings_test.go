package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"

	"github.com/carillon-dev/carillon/internal/app"
)

// carillonCLI runs an admin command against s with the test root
// credentials and returns its stdout.
func carillonCLI(t *testing.T, s *server, args ...string) (string, error) {
	t.Helper()
	env := map[string]string{
		"CARILLON_ROOT_ACCESS_KEY_ID":     testKeyID,
		"CARILLON_ROOT_SECRET_ACCESS_KEY": testSecret,
		"CARILLON_ENDPOINT":               s.Endpoint,
	}
	var out, errOut bytes.Buffer
	err := app.Run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), err
}

func TestAdminMeetingsAndReset(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		s := startServer(t, e)
		ctx := context.Background()
		c := s.client(t)
		var ids []string
		for _, ext := range []string{"one", "two", "three"} {
			m, err := c.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String(ext)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, *m.Meeting.MeetingId)
		}
		if _, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: &ids[1], ExternalUserId: aws.String("user-1")}); err != nil {
			t.Fatal(err)
		}

		if out, err := carillonCLI(t, s, "health"); err != nil || out != "ready\n" {
			t.Errorf("carillon health: %q %v", out, err)
		}
		out, err := carillonCLI(t, s, "meetings", "list")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 {
			t.Fatalf("meetings list: %d lines, want 3:\n%s", len(lines), out)
		}
		for i, l := range lines {
			var got struct {
				Meeting   struct{ MeetingId string }
				Attendees int
			}
			if err := json.Unmarshal([]byte(l), &got); err != nil || got.Meeting.MeetingId != ids[i] || got.Attendees != map[int]int{1: 1}[i] {
				t.Errorf("meetings list line %d: %s (%v), want meeting %s oldest first", i, l, err, ids[i])
			}
		}
		if out, err := carillonCLI(t, s, "meetings", "get", ids[1]); err != nil || !strings.Contains(out, ids[1]) {
			t.Errorf("meetings get: %q %v", out, err)
		}
		if _, err := carillonCLI(t, s, "meetings", "delete", ids[0]); err != nil {
			t.Errorf("meetings delete: %v", err)
		}
		if _, err := carillonCLI(t, s, "meetings", "get", ids[0]); err == nil || !strings.Contains(err.Error(), "NotFound") {
			t.Errorf("meetings get after delete: %v, want NotFound", err)
		}
		if _, err := carillonCLI(t, s, "reset"); app.ExitCode(err) != app.ExitUsage {
			t.Errorf("reset without --yes: %v, want a usage error", err)
		}
		if out, _ := carillonCLI(t, s, "meetings", "list"); strings.Count(out, "\n") != 2 {
			t.Errorf("reset without --yes changed something:\n%s", out)
		}
		if out, err := carillonCLI(t, s, "reset", "--yes"); err != nil || out != "deleted 2 meetings\n" {
			t.Errorf("reset --yes: %q %v", out, err)
		}
		if out, err := carillonCLI(t, s, "meetings", "list"); err != nil || out != "" {
			t.Errorf("meetings list after reset: %q %v", out, err)
		}
		if _, err := c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: &ids[1]}); err == nil {
			t.Error("a meeting survived reset")
		}

		// Not on the AWS routes, and root only.
		if r := s.do(t, "GET", "/meetings", nil); r.Status != 404 && r.Status != 400 && r.Status != 405 {
			t.Errorf("GET /meetings on the AWS routes: %d %s", r.Status, r.Body)
		}
		k := s.createKey(t, "--allow", "chime:*")
		if r := s.doAs(t, k.AccessKeyId, k.SecretAccessKey, "GET", "/carillon/admin/meetings", nil); r.Status != 403 {
			t.Errorf("a non-root key on the admin meetings route: %d, want 403", r.Status)
		}
		if r := s.doAs(t, k.AccessKeyId, k.SecretAccessKey, "DELETE", "/carillon/admin/meetings", nil); r.Status != 403 {
			t.Errorf("a non-root key resetting: %d, want 403", r.Status)
		}
	})
}
