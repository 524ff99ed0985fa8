// Package browser is Carillon's browser conformance suite: the real,
// unmodified Amazon Chime SDK for JavaScript (npm amazon-chime-sdk-js,
// bundled from web/) runs in headless Chromium, driven over the DevTools
// protocol with chromedp, against a Carillon started in-process through
// app.Run. The tests need Chromium and the built bundle, so they skip unless
// CARILLON_BROWSER_TESTS=1 (bash .ci/run sets everything up).
package browser

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"

	"github.com/carillon-dev/carillon/internal/app"
)

const (
	testRegion  = "us-east-1"
	testAccount = "123456789012"
	testKeyID   = "AKIDCARILLONBROWSER"
	testSecret  = "carillon-browser-test-secret-0123456789"
)

// server is a Carillon started in-process through app.Run on a free
// loopback port with a throwaway in-memory store, as main starts it.
type server struct {
	Endpoint string
	API      *chimesdkmeetings.Client
	log      *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer starts Carillon and stops it when the test ends. Its log is
// printed when the test fails.
func startServer(t *testing.T, extraArgs ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", ":memory:",
		"--region", testRegion, "--account-id", testAccount, "--log-level", "debug"}, extraArgs...)
	env := map[string]string{
		"CARILLON_ROOT_ACCESS_KEY_ID":     testKeyID,
		"CARILLON_ROOT_SECRET_ACCESS_KEY": testSecret,
	}
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	log := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		err := app.Run(ctx, args, func(k string) string { return env[k] }, outW, log)
		outW.CloseWithError(io.EOF)
		done <- err
	}()
	endpoint := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			if ep, ok := strings.CutPrefix(sc.Text(), "Endpoint: "); ok {
				endpoint <- strings.TrimSpace(ep)
			}
		}
		close(endpoint)
	}()
	s := &server{log: log}
	select {
	case ep, ok := <-endpoint:
		if !ok {
			cancel()
			t.Fatalf("server exited before serving: %v\n%s", <-done, log.String())
		}
		s.Endpoint = ep
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("server did not start in 30s\n%s", log.String())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("server did not stop in 30s")
		}
		if t.Failed() {
			t.Logf("server log (tail):\n%s", tail(log.String(), 12000))
		}
	})
	s.API = chimesdkmeetings.New(chimesdkmeetings.Options{
		Region:           testRegion,
		BaseEndpoint:     aws.String(s.Endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
		RetryMaxAttempts: 1,
	})
	return s
}

// joinInfo is what the page hands to the SDK's MeetingSessionConfiguration:
// the CreateMeeting and CreateAttendee responses, as the SDK documents them.
type joinInfo struct {
	Meeting  *types.Meeting
	Attendee *types.Attendee
}

func (j joinInfo) attendeeID() string { return aws.ToString(j.Attendee.AttendeeId) }
func (j joinInfo) meetingID() string  { return aws.ToString(j.Meeting.MeetingId) }

func (j joinInfo) json(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// createMeeting creates a meeting through the official Go SDK.
func (s *server) createMeeting(t *testing.T) *types.Meeting {
	t.Helper()
	out, err := s.API.CreateMeeting(context.Background(), &chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String(rand.Text()),
		MediaRegion:        aws.String(testRegion),
		ExternalMeetingId:  aws.String(tail(strings.ReplaceAll(t.Name(), "/", "-"), 60)),
	})
	if err != nil {
		t.Fatalf("CreateMeeting: %v", err)
	}
	return out.Meeting
}

// createAttendee adds an attendee to m and returns what its browser needs.
func (s *server) createAttendee(t *testing.T, m *types.Meeting, externalUserID string) joinInfo {
	t.Helper()
	out, err := s.API.CreateAttendee(context.Background(), &chimesdkmeetings.CreateAttendeeInput{
		MeetingId:      m.MeetingId,
		ExternalUserId: aws.String(externalUserID),
	})
	if err != nil {
		t.Fatalf("CreateAttendee: %v", err)
	}
	return joinInfo{Meeting: m, Attendee: out.Attendee}
}

func (s *server) deleteAttendee(t *testing.T, j joinInfo) {
	t.Helper()
	if _, err := s.API.DeleteAttendee(context.Background(), &chimesdkmeetings.DeleteAttendeeInput{
		MeetingId: j.Meeting.MeetingId, AttendeeId: j.Attendee.AttendeeId,
	}); err != nil {
		t.Fatalf("DeleteAttendee: %v", err)
	}
}

func (s *server) deleteMeeting(t *testing.T, m *types.Meeting) {
	t.Helper()
	if _, err := s.API.DeleteMeeting(context.Background(), &chimesdkmeetings.DeleteMeetingInput{
		MeetingId: m.MeetingId,
	}); err != nil {
		t.Fatalf("DeleteMeeting: %v", err)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
