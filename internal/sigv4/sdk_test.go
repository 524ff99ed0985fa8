package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
	"github.com/aws/smithy-go/logging"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// These tests use aws-sdk-go-v2 (the signer and a real chimesdkmeetings
// client) as the reference implementation: whatever it signs must verify, and
// the canonical request it logs must equal ours byte for byte.

const (
	testAKID   = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testRegion = "us-east-1"
	testSvc    = "chime"
)

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testVerifier(now time.Time) *Verifier {
	return &Verifier{
		Region:  testRegion,
		Service: testSvc,
		Keys:    StaticKeys{AccessKeyID: testAKID, SecretAccessKey: testSecret},
		Now:     func() time.Time { return now },
	}
}

// result is what the test server's handler saw.
type result struct {
	akid      string
	err       *apierr.Error
	canonical string // our canonical request (test-only)
	req       *http.Request
	body      []byte
}

// verifyServer is an httptest server whose handler reads the body, calls
// Verify and records the outcome, then answers 200 "{}".
type verifyServer struct {
	*httptest.Server
	v       *Verifier
	mu      sync.Mutex
	results []result
}

func newVerifyServer(t *testing.T, v *Verifier) *verifyServer {
	t.Helper()
	s := &verifyServer{v: v}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		akid, err := v.Verify(r, body)
		verr, _ := apierr.As(err)
		res := result{akid: akid, err: verr, req: r, body: body, canonical: canonicalForTest(r, body)}
		s.mu.Lock()
		s.results = append(s.results, res)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if verr != nil {
			w.Header().Set("X-Amzn-ErrorType", verr.Kind.Code())
			w.WriteHeader(verr.Kind.Status())
			fmt.Fprintf(w, `{"Code":%q,"Message":%q}`, verr.Kind.Code(), verr.Message)
			return
		}
		io.WriteString(w, "{}")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *verifyServer) take() []result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.results
	s.results = nil
	return r
}

// canonicalForTest rebuilds our canonical request from the Authorization
// header, for comparison with what the SDK logged.
func canonicalForTest(r *http.Request, body []byte) string {
	a, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return ""
	}
	hash := sha256Hex(body)
	cr, _ := appendCanonicalRequest(nil, r, &a, hash)
	return string(cr)
}

// sdkLog captures the aws-sdk-go-v2 signing log (LogSigning).
type sdkLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *sdkLog) Logf(_ logging.Classification, format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, fmt.Sprintf(format, v...))
}

// canonicals extracts every CANONICAL STRING section logged so far.
func (l *sdkLog) canonicals() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, m := range l.msgs {
		const start = "---[ CANONICAL STRING  ]-----------------------------\n"
		const end = "\n---[ STRING TO SIGN ]"
		i := strings.Index(m, start)
		j := strings.Index(m, end)
		if i >= 0 && j > i {
			out = append(out, m[i+len(start):j])
		}
	}
	l.msgs = nil
	return out
}

// signWithSDK signs req the way a standalone user of aws/signer/v4 would.
func signWithSDK(t *testing.T, req *http.Request, body []byte, secret, region, service string, at time.Time, log *sdkLog) {
	t.Helper()
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: secret}
	err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sha256Hex(body), service, region, at,
		func(o *v4.SignerOptions) {
			if log != nil {
				o.LogSigning = true
				o.Logger = log
			}
		})
	if err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
}

type sdkCase struct {
	name    string
	method  string
	target  string // path?query, already escaped as it goes on the wire
	body    string
	headers map[string][]string
}

var sdkCases = []sdkCase{
	{name: "GET next-token with /=+", method: "GET", target: "/meetings/6d9c3b1e-0000-4000-8000-000000000001/attendees?next-token=abc%2Fdef%3D%2Bghi&max-results=10"},
	{name: "GET query needing re-encoding", method: "GET", target: "/tags?arn=arn:aws:chime:us-east-1:123456789012:meeting/x+y&z=%7e&b=a%2fb&b=a-b&empty&=novalue"},
	{name: "PUT JSON body", method: "PUT", target: "/meetings/m1/attendees/a1/capabilities",
		body:    `{"Capabilities":{"Audio":"SendReceive","Content":"None","Video":"Receive"}}`,
		headers: map[string][]string{"Content-Type": {"application/json"}}},
	{name: "DELETE", method: "DELETE", target: "/meetings/m1"},
	{name: "POST no body", method: "POST", target: "/meetings/m1/transcription?operation=stop"},
	{name: "POST JSON with literal", method: "POST", target: "/meetings?operation=create-attendees",
		body:    `{"ClientRequestToken":"t","ExternalMeetingId":"x","MediaRegion":"us-east-1"}`,
		headers: map[string][]string{"Content-Type": {"application/json"}}},
	{name: "label with %2F space unicode", method: "GET", target: "/meetings/a%2Fb%20c%E2%82%AC%25%3F%21%27%2A"},
	{name: "label with raw sub-delims", method: "GET", target: "/meetings/a!b$c&d'e(f)g*h+i,j;k=l:m@n"},
	{name: "extra headers, spaces and repeats", method: "POST", target: "/tags?operation=tag-resource",
		body: `{}`,
		headers: map[string][]string{
			"Content-Type": {"application/json"},
			"X-Custom":     {"  a   b  c ", "second"},
			"X-Amz-Meta":   {"v"},
		}},
}

func TestVerifyRequestsSignedBySDKSigner(t *testing.T) {
	v := testVerifier(testTime)
	srv := newVerifyServer(t, v)
	for _, tc := range sdkCases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.target, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.body == "" {
				req.Body, req.ContentLength = http.NoBody, 0
			}
			for k, vs := range tc.headers {
				req.Header[k] = vs
			}
			log := &sdkLog{}
			signWithSDK(t, req, []byte(tc.body), testSecret, testRegion, testSvc, testTime, log)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			res := srv.take()
			if len(res) != 1 {
				t.Fatalf("server saw %d requests", len(res))
			}
			if res[0].err != nil {
				t.Fatalf("Verify: %v", res[0].err)
			}
			if res[0].akid != testAKID {
				t.Fatalf("akid = %q", res[0].akid)
			}
			sdk := log.canonicals()
			if len(sdk) != 1 || sdk[0] != res[0].canonical {
				t.Fatalf("canonical request differs\nsdk:  %q\nours: %q", sdk, res[0].canonical)
			}
		})
	}
}

func newChimeClient(url string, log *sdkLog) *chimesdkmeetings.Client {
	cfg := aws.Config{
		Region:           testRegion,
		Credentials:      credentials.NewStaticCredentialsProvider(testAKID, testSecret, ""),
		RetryMaxAttempts: 1,
		Logger:           log,
		ClientLogMode:    aws.LogSigning,
	}
	return chimesdkmeetings.NewFromConfig(cfg, func(o *chimesdkmeetings.Options) {
		o.BaseEndpoint = aws.String(url)
	})
}

func TestVerifyRequestsFromChimeSDKMeetingsClient(t *testing.T) {
	v := testVerifier(time.Now())
	srv := newVerifyServer(t, v)
	log := &sdkLog{}
	c := newChimeClient(srv.URL, log)
	ctx := context.Background()
	ops := []struct {
		name   string
		method string
		call   func() error
	}{
		{"ListAttendees next-token /=+", "GET", func() error {
			_, err := c.ListAttendees(ctx, &chimesdkmeetings.ListAttendeesInput{
				MeetingId: aws.String("6d9c3b1e-0000-4000-8000-000000000001"),
				NextToken: aws.String("abc/def=+ghi jkl"), MaxResults: aws.Int32(5)})
			return err
		}},
		{"GetMeeting label with / space unicode", "GET", func() error {
			_, err := c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String("a/b c€%?")})
			return err
		}},
		{"UpdateAttendeeCapabilities PUT JSON", "PUT", func() error {
			_, err := c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
				MeetingId: aws.String("m1"), AttendeeId: aws.String("a1"),
				Capabilities: &types.AttendeeCapabilities{Audio: types.MediaCapabilitiesSendReceive,
					Video: types.MediaCapabilitiesNone, Content: types.MediaCapabilitiesReceive}})
			return err
		}},
		{"DeleteMeeting", "DELETE", func() error {
			_, err := c.DeleteMeeting(ctx, &chimesdkmeetings.DeleteMeetingInput{MeetingId: aws.String("m1")})
			return err
		}},
		{"StopMeetingTranscription POST no body", "POST", func() error {
			_, err := c.StopMeetingTranscription(ctx, &chimesdkmeetings.StopMeetingTranscriptionInput{MeetingId: aws.String("m1")})
			return err
		}},
		{"CreateMeeting POST JSON", "POST", func() error {
			_, err := c.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{
				ExternalMeetingId: aws.String("ext é"), MediaRegion: aws.String("us-east-1")})
			return err
		}},
		{"ListTagsForResource arn query", "GET", func() error {
			_, err := c.ListTagsForResource(ctx, &chimesdkmeetings.ListTagsForResourceInput{
				ResourceARN: aws.String("arn:aws:chime:us-east-1:123456789012:meeting/m1")})
			return err
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			log.canonicals() // drop anything left by a failed sibling
			srv.take()
			if err := op.call(); err != nil {
				t.Fatalf("client call: %v", err)
			}
			res := srv.take()
			if len(res) != 1 {
				t.Fatalf("server saw %d requests", len(res))
			}
			if res[0].req.Method != op.method {
				t.Fatalf("method %s, want %s", res[0].req.Method, op.method)
			}
			if res[0].err != nil {
				t.Fatalf("Verify: %v", res[0].err)
			}
			sdk := log.canonicals()
			if len(sdk) != 1 || sdk[0] != res[0].canonical {
				t.Fatalf("canonical request differs\nsdk:  %q\nours: %q", sdk, res[0].canonical)
			}
		})
	}
}

// The client surfaces our 401 as a modeled UnauthorizedException.
func TestChimeSDKMeetingsClientWrongSecretIsUnauthorized(t *testing.T) {
	v := testVerifier(time.Now())
	v.Keys = StaticKeys{AccessKeyID: testAKID, SecretAccessKey: "not-the-secret"}
	srv := newVerifyServer(t, v)
	c := newChimeClient(srv.URL, &sdkLog{})
	_, err := c.GetMeeting(context.Background(), &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String("m1")})
	var ue *types.UnauthorizedException
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want UnauthorizedException", err)
	}
	res := srv.take()
	if len(res) != 1 || res[0].err == nil || !strings.Contains(res[0].err.Message, "signature mismatch") {
		t.Fatalf("server result %+v", res)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
