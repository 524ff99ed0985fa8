package e2e

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/smithy-go"

	"github.com/carillon-dev/carillon/internal/app"
)

func createMeetingAs(t *testing.T, s *server, keyID, secret, region string) error {
	t.Helper()
	_, err := s.clientWith(t, keyID, secret, region).CreateMeeting(context.Background(), &chimesdkmeetings.CreateMeetingInput{
		MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("dev"),
	})
	return err
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != code {
		t.Errorf("%s: got %v, want %s", what, err, code)
	}
}

// TestDevModeAcceptsAnyKeyAndDocumentedRegion: --dev behaves like
// LocalStack on loopback; without it the same requests are 401.
func TestDevModeAcceptsAnyKeyAndDocumentedRegion(t *testing.T) {
	e := engines(t)[0]
	dev := startServer(t, e, "--dev")
	if !strings.Contains(dev.Banner, "DEVELOPMENT MODE") || !strings.Contains(dev.stderr.String(), "--dev") {
		t.Errorf("--dev must warn loudly; banner:\n%s\nlog:\n%s", dev.Banner, dev.stderr.String())
	}
	if err := createMeetingAs(t, dev, "test", "test", testRegion); err != nil {
		t.Errorf("--dev, keys test/test: %v", err)
	}
	if err := createMeetingAs(t, dev, "test", "test", "eu-west-2"); err != nil {
		t.Errorf("--dev, another documented region: %v", err)
	}
	if err := createMeetingAs(t, dev, "anything", "else", "ap-southeast-1"); err != nil {
		t.Errorf("--dev, any key: %v", err)
	}
	wantCode(t, "--dev, an undocumented region", createMeetingAs(t, dev, "test", "test", "xx-nowhere-1"), "UnauthorizedException")
	// The signature's shape is still checked.
	req := dev.signedRequestAs(t, "test", "test", "POST", "/meetings", []byte(`{"MediaRegion":"us-east-1","ExternalMeetingId":"x"}`), time.Now())
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "Signature=", "Signature=zz", 1))
	if r := send(t, req); r.Status != 401 {
		t.Errorf("--dev, malformed signature: %d, want 401", r.Status)
	}

	normal := startServer(t, e)
	wantCode(t, "without --dev, keys test/test", createMeetingAs(t, normal, "test", "test", testRegion), "UnauthorizedException")
	wantCode(t, "without --dev, another region", createMeetingAs(t, normal, testKeyID, testSecret, "eu-west-2"), "UnauthorizedException")
}

func TestDevModeRefusesNonLoopbackAddresses(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.10:0"} {
		var out, errOut bytes.Buffer
		err := app.Run(context.Background(), []string{"serve", "--dev", "--data", app.InMemory, "--addr", addr},
			func(string) string { return "" }, &out, &errOut)
		if app.ExitCode(err) != app.ExitUsage || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("--dev --addr %s: %v, want a usage error about loopback", addr, err)
		}
		if strings.Contains(out.String(), "Endpoint") {
			t.Errorf("--dev --addr %s started serving", addr)
		}
	}
}
