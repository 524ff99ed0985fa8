package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/carillon-dev/carillon/internal/access"
	"github.com/carillon-dev/carillon/internal/apimodel"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/sigv4"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
)

const (
	fuzzKey    = "AKIDFUZZ"
	fuzzSecret = "fuzz-secret"
)

// newTestServer returns the whole wire stack over a throwaway store, and the
// id of a meeting with one attendee in it.
func newTestServer(tb testing.TB) (*Server, string, string) {
	return newTestServerWith(tb, Options{})
}

// newTestServerWith is newTestServer with the limits of o.
func newTestServerWith(tb testing.TB, o Options) (*Server, string, string) {
	tb.Helper()
	ctx := meetings.WithCaller(context.Background(), meetings.Caller{RequestID: "test-setup", AccessKeyID: fuzzKey})
	store, err := sqlite.Open(ctx, sqlite.Options{InMemory: true, LiveAttendees: sqlite.DefaultLiveAttendees})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	svc := meetings.NewService(store, meetings.Config{Account: "123456789012", PageKey: []byte("k")})
	m, err := svc.CreateMeeting(ctx, meetings.CreateMeetingInput{MediaRegion: "us-east-1", ExternalMeetingId: "fuzz"})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := svc.CreateAttendee(ctx, m.MeetingId, meetings.CreateAttendeeInput{ExternalUserId: "someone"})
	if err != nil {
		tb.Fatal(err)
	}
	keyring, err := access.NewKeyring(fuzzKey, fuzzSecret, store)
	if err != nil {
		tb.Fatal(err)
	}
	verifier := &sigv4.Verifier{Region: "us-east-1", Service: "chime", Keys: keyring}
	o.Model, o.Service, o.Verifier, o.Keyring = apimodel.MustLoad(), svc, verifier, keyring
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return NewServer(o), m.MeetingId, a.AttendeeId
}

// serveSigned sends one request signed like the SDKs sign it.
func serveSigned(tb testing.TB, s *Server, method, target string, body []byte) *httptest.ResponseRecorder {
	tb.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, signedRequest(tb, method, target, body))
	return rec
}

// signedRequest is a request signed like the SDKs sign it.
func signedRequest(tb testing.TB, method, target string, body []byte) *http.Request {
	tb.Helper()
	req := httptest.NewRequest(method, "http://carillon.test"+target, bytes.NewReader(body))
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: fuzzKey, SecretAccessKey: fuzzSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "chime", "us-east-1", time.Now()); err != nil {
		tb.Fatal(err)
	}
	return req
}

// FuzzServeHTTP drives the whole wire stack (decode, validate, domain,
// encode) with signed requests of every operation carrying arbitrary bodies,
// labels and queries. Bad input must never panic, never get a 5xx, and
// every error must be in the D1 form.
func FuzzServeHTTP(f *testing.F) {
	s, meetingID, attendeeID := newTestServer(f)
	ops := apimodel.MustLoad().Operations()
	seeds := map[string]string{
		"BatchUpdateAttendeeCapabilitiesExcept": `{"ExcludedAttendeeIds":[{"AttendeeId":""}],"Capabilities":{"Audio":"None","Video":"Receive","Content":"Receive"}}`,
		"UpdateAttendeeCapabilities":            `{"Capabilities":{"Audio":"Send","Video":"None","Content":"SendReceive"}}`,
		"CreateAttendee":                        `{"ExternalUserId":"aws:reserved"}`,
		"BatchCreateAttendee":                   `{"Attendees":[{"ExternalUserId":"a1"},{"ExternalUserId":"aws:x"},{"ExternalUserId":"a1","Capabilities":{"Audio":"None","Video":"None","Content":"None"}}]}`,
		"CreateMeeting":                         `{"ClientRequestToken":"tok-1","MediaRegion":"us-east-1","ExternalMeetingId":"m","MeetingFeatures":{"Video":{"MaxResolution":"FHD"},"Attendee":{"MaxCount":26}},"PrimaryMeetingId":"nope"}`,
		"CreateMeetingWithAttendees":            `{"ClientRequestToken":"tok-2","MediaRegion":"us-east-1","ExternalMeetingId":"m","Attendees":[{"ExternalUserId":"u1"}],"Tags":[{"Key":"aws:k","Value":"v"}]}`,
		"StartMeetingTranscription":             `{"TranscriptionConfiguration":{"EngineTranscribeSettings":{"IdentifyLanguage":true,"LanguageOptions":"en-US,en-AU"}}}`,
		"TagResource":                           `{"ResourceARN":"arn:aws:chime:us-east-1:123456789012:meeting/` + meetingID + `","Tags":[{"Key":"k","Value":"v"}]}`,
		"UntagResource":                         `{"ResourceARN":"arn:","TagKeys":["k"]}`,
	}
	for i, op := range ops {
		f.Add(uint8(i), []byte(seeds[op.Name]), meetingID, attendeeID, "")
		f.Add(uint8(i), []byte(`{}`), "not-a-guid", "", "operation=bogus")
	}
	f.Add(uint8(0), []byte(`[1,2`), "", "", "")
	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte, meeting, attendee, query string) {
		op := ops[int(opIndex)%len(ops)]
		path := op.PathTemplate
		path = replaceLabel(path, "{MeetingId}", meeting)
		path = replaceLabel(path, "{AttendeeId}", attendee)
		q := op.QueryLiteral
		if query != "" {
			if q != "" {
				q += "&"
			}
			q += url.PathEscape(query)
		}
		target := path
		if q != "" {
			target += "?" + q
		}
		if _, err := url.ParseRequestURI(target); err != nil {
			return
		}
		rec := serveSigned(t, s, op.Method, target, body)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: status %d: %s", op.Method, target, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 {
			var e struct{ Code, Message, RequestId string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" ||
				e.Code != rec.Header().Get("X-Amzn-ErrorType") || e.RequestId != rec.Header().Get("x-amzn-RequestId") {
				t.Fatalf("%s %s: error not in the D1 form: %d %q %v", op.Method, target, rec.Code, rec.Body.String(), rec.Header())
			}
		}
	})
}

func replaceLabel(path, label, value string) string {
	return string(bytes.Replace([]byte(path), []byte(label), []byte(url.PathEscape(value)), 1))
}

// TestServerRecoversFromPanics: a panic in a handler becomes a 500 in the D1
// form, not a dropped connection.
func TestServerRecoversFromPanics(t *testing.T) {
	s, _, _ := newTestServer(t)
	s.handlers["GetMeeting"] = func(context.Context, *request) (any, error) { panic("boom") }
	rec := serveSigned(t, s, http.MethodGet, "/meetings/11111111-2222-4333-8444-555555555555", nil)
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("X-Amzn-ErrorType") != "ServiceFailureException" {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("X-Amzn-ErrorType"))
	}
}
