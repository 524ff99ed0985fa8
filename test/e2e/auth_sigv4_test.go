package e2e

// SigV4 authentication (D23, D24): every bad signature is 401
// UnauthorizedException in the D1 JSON form and changes nothing; health
// endpoints need no signature; the root secret never reaches the logs.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
)

// authSig is how a request is signed.
type authSig struct {
	key, secret, region, service string
	at                           time.Time
}

func authGood() authSig {
	return authSig{testKeyID, testSecret, testRegion, "chime", time.Now()}
}

// authRequest builds a request signed as sig.
func authRequest(t *testing.T, s *server, method, pathAndQuery string, body []byte, sig authSig) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, s.Endpoint+pathAndQuery, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: sig.key, SecretAccessKey: sig.secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), sig.service, sig.region, sig.at); err != nil {
		t.Fatal(err)
	}
	return req
}

// authAttempt is one way to make a request unauthentic.
type authAttempt struct {
	name string
	// build returns the tampered request for method/path/body.
	build func(t *testing.T, s *server, method, path string, body []byte) *http.Request
}

func authAttempts() []authAttempt {
	with := func(f func(*authSig)) func(t *testing.T, s *server, method, path string, body []byte) *http.Request {
		return func(t *testing.T, s *server, method, path string, body []byte) *http.Request {
			sig := authGood()
			f(&sig)
			return authRequest(t, s, method, path, body, sig)
		}
	}
	return []authAttempt{
		{"unsigned", func(t *testing.T, s *server, method, path string, body []byte) *http.Request {
			req, err := http.NewRequest(method, s.Endpoint+path, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			return req
		}},
		{"wrong secret", with(func(s *authSig) { s.secret = testSecret + "x" })},
		{"unknown access key", with(func(s *authSig) { s.key = "AKIDUNKNOWN000000000" })},
		{"wrong region in scope", with(func(s *authSig) { s.region = "eu-west-1" })},
		{"wrong service in scope", with(func(s *authSig) { s.service = "chime-sdk-meetings" })},
		{"clock 16 minutes behind", with(func(s *authSig) { s.at = time.Now().Add(-16 * time.Minute) })},
		{"clock 16 minutes ahead", with(func(s *authSig) { s.at = time.Now().Add(16 * time.Minute) })},
		{"body changed after signing", func(t *testing.T, s *server, method, path string, body []byte) *http.Request {
			req := authRequest(t, s, method, path, body, authGood())
			changed := bytes.Replace(body, []byte(`"`), []byte(`"z`), 2)
			if bytes.Equal(changed, body) || len(body) == 0 {
				t.Fatalf("cannot change body %q", body)
			}
			req.Body = io.NopCloser(bytes.NewReader(changed))
			req.ContentLength = int64(len(changed))
			return req
		}},
		{"query changed after signing", func(t *testing.T, s *server, method, path string, body []byte) *http.Request {
			req := authRequest(t, s, method, path, body, authGood())
			q := req.URL.Query()
			q.Set("x-extra", "1")
			req.URL.RawQuery = q.Encode()
			return req
		}},
		{"signature bytes flipped", func(t *testing.T, s *server, method, path string, body []byte) *http.Request {
			req := authRequest(t, s, method, path, body, authGood())
			h := req.Header.Get("Authorization")
			last := h[len(h)-1]
			repl := byte('0')
			if last == '0' {
				repl = '1'
			}
			req.Header.Set("Authorization", h[:len(h)-1]+string(repl))
			return req
		}},
		{"malformed Authorization", func(t *testing.T, s *server, method, path string, body []byte) *http.Request {
			req := authRequest(t, s, method, path, body, authGood())
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 garbage")
			return req
		}},
		{"Basic auth", func(t *testing.T, s *server, method, path string, body []byte) *http.Request {
			req := authRequest(t, s, method, path, body, authGood())
			req.Header.Del("Authorization")
			req.SetBasicAuth(testKeyID, testSecret)
			return req
		}},
	}
}

// TestAuthRejectsAndChangesNothing (D23): each attempt against CreateMeeting,
// CreateAttendee, BatchUpdateAttendeeCapabilitiesExcept, TagResource and
// DeleteMeeting is 401 UnauthorizedException with a JSON body, and none of
// them happened.
func TestAuthRejectsAndChangesNothing(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := startServer(t, e)
		c := s.client(t)
		tg := valNewTarget(t, c, "auth-target")
		before := valSnapshot(t, c, tg)

		// Control: inside the 15-minute window (14 minutes off) is accepted,
		// so the 16-minute cases below test the window, not the clock.
		for _, off := range []time.Duration{-14 * time.Minute, 14 * time.Minute} {
			sig := authGood()
			sig.at = time.Now().Add(off)
			r := send(t, authRequest(t, s, http.MethodGet, "/meetings/"+tg.mid, nil, sig))
			if r.Status != http.StatusOK {
				t.Errorf("request signed %v off: %d %s, want 200", off, r.Status, r.Body)
			}
		}

		writes := []struct {
			name, method, path string
			body               []byte
		}{
			{"CreateMeeting", http.MethodPost, "/meetings", []byte(`{"ClientRequestToken":"auth-token-1","MediaRegion":"us-east-1","ExternalMeetingId":"auth"}`)},
			{"CreateAttendee", http.MethodPost, "/meetings/" + tg.mid + "/attendees", []byte(`{"ExternalUserId":"intruder"}`)},
			{"BatchUpdateAttendeeCapabilitiesExcept", http.MethodPut, batchExceptPath(tg.mid), []byte(`{"ExcludedAttendeeIds":[{"AttendeeId":"00000000-0000-4000-8000-000000000000"}],"Capabilities":{"Audio":"None","Video":"None","Content":"None"}}`)},
			{"TagResource", http.MethodPost, "/tags?operation=tag-resource", opsJSON(t, map[string]any{"ResourceARN": tg.arn, "Tags": []map[string]string{{"Key": "intruder", "Value": "v"}}})},
			{"UntagResource", http.MethodPost, "/tags?operation=untag-resource", opsJSON(t, map[string]any{"ResourceARN": tg.arn, "TagKeys": []string{"orig"}})},
			{"DeleteAttendee", http.MethodDelete, "/meetings/" + tg.mid + "/attendees/" + tg.aid, nil},
			{"DeleteMeeting", http.MethodDelete, "/meetings/" + tg.mid, nil},
		}
		for _, a := range authAttempts() {
			for _, w := range writes {
				if a.name == "body changed after signing" && len(w.body) == 0 {
					continue
				}
				t.Run(a.name+"/"+w.name, func(t *testing.T) {
					r := send(t, a.build(t, s, w.method, w.path, w.body))
					wantRawError(t, r, http.StatusUnauthorized, "UnauthorizedException")
					if strings.Contains(string(r.Body), testSecret) {
						t.Errorf("401 body reveals the secret: %s", r.Body)
					}
				})
			}
		}
		if after := valSnapshot(t, c, tg); !before.equal(after) {
			t.Errorf("unauthenticated requests changed the meeting:\nbefore %+v\nafter  %+v", before, after)
		}
		// No meeting was created under auth-token-1: the token is still free
		// for different parameters (else 409, D14).
		if _, err := c.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String("auth-token-1"),
			MediaRegion: aws.String("eu-west-1"), ExternalMeetingId: aws.String("legit")}); err != nil {
			t.Errorf("an unauthenticated CreateMeeting used the token: %v", err)
		}

		// Through the official client: wrong secret and wrong region.
		for name, bad := range map[string]*chimesdkmeetings.Client{
			"wrong secret": s.clientWith(t, testKeyID, "nope", testRegion),
			"wrong region": s.clientWith(t, testKeyID, testSecret, "us-west-2"),
			"unknown key":  s.clientWith(t, "AKIDNOPE", testSecret, testRegion),
		} {
			_, err := bad.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(tg.mid)})
			t.Run("sdk/"+name, func(t *testing.T) {
				opsWantErr[*types.UnauthorizedException](t, err, 401, "UnauthorizedException")
			})
		}
	})
}

func (a valState) equal(b valState) bool {
	return opsEqualJSON(a, b)
}

// TestAuthHealthUnsigned: the health endpoints answer 200 without a
// signature; an unsigned API call on the same server is 401.
func TestAuthHealthUnsigned(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		s := startServer(t, e)
		for _, p := range []string{"/carillon/health/live", "/carillon/health/ready"} {
			resp, err := http.Get(s.Endpoint + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s unsigned: %d, want 200", p, resp.StatusCode)
			}
		}
		resp, err := http.Get(s.Endpoint + "/meetings/11111111-2222-4333-8444-555555555555")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantRawError(t, rawResponse{resp.StatusCode, resp.Header, b}, 401, "UnauthorizedException")
	})
}

// TestAuthSecretNeverLogged (D24): after a run of every operation, failed
// signatures and errors, at --log-level debug and at the default level, the
// server's logs never contain the root secret (nor the signing key's
// obvious derivative, the secret prefixed with AWS4).
func TestAuthSecretNeverLogged(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		for _, level := range []string{"debug", "info"} {
			t.Run(level, func(t *testing.T) {
				ctx := context.Background()
				s := startServer(t, e, "--log-level", level)
				c := s.client(t)
				tg := valNewTarget(t, c, "log-target")
				mid, aid := tg.mid, tg.aid
				caps := triple{sr, sr, sr}.caps()
				_, _ = c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: &mid})
				_, _ = c.GetAttendee(ctx, &chimesdkmeetings.GetAttendeeInput{MeetingId: &mid, AttendeeId: &aid})
				_, _ = c.ListAttendees(ctx, &chimesdkmeetings.ListAttendeesInput{MeetingId: &mid})
				_, _ = c.BatchCreateAttendee(ctx, &chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: &mid, Attendees: []types.CreateAttendeeRequestItem{{ExternalUserId: aws.String("b1")}, {ExternalUserId: aws.String("aws:x")}}})
				_, _ = c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{MeetingId: &mid, AttendeeId: &aid, Capabilities: caps})
				_ = batchExcept(c, mid, []string{aid}, triple{recv, recv, none})
				_, _ = c.TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: &tg.arn, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
				_, _ = c.UntagResource(ctx, &chimesdkmeetings.UntagResourceInput{ResourceARN: &tg.arn, TagKeys: []string{"k"}})
				_, _ = c.ListTagsForResource(ctx, &chimesdkmeetings.ListTagsForResourceInput{ResourceARN: &tg.arn})
				_, _ = c.StartMeetingTranscription(ctx, &chimesdkmeetings.StartMeetingTranscriptionInput{MeetingId: &mid, TranscriptionConfiguration: &types.TranscriptionConfiguration{EngineTranscribeSettings: &types.EngineTranscribeSettings{LanguageCode: "en-US"}}})
				_, _ = c.StopMeetingTranscription(ctx, &chimesdkmeetings.StopMeetingTranscriptionInput{MeetingId: &mid})
				_, _ = c.CreateMeetingWithAttendees(ctx, &chimesdkmeetings.CreateMeetingWithAttendeesInput{MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("m2"), Attendees: []types.CreateAttendeeRequestItem{{ExternalUserId: aws.String("u")}}})
				_, _ = c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String("bad")})
				_ = s.do(t, http.MethodGet, "/nope", nil)
				_ = s.do(t, http.MethodPost, "/meetings", []byte("{"))
				for _, a := range authAttempts() {
					_ = send(t, a.build(t, s, http.MethodPost, "/meetings/"+mid+"/attendees", []byte(`{"ExternalUserId":"x1"}`)))
				}
				_, _ = c.DeleteAttendee(ctx, &chimesdkmeetings.DeleteAttendeeInput{MeetingId: &mid, AttendeeId: &aid})
				_, _ = c.DeleteMeeting(ctx, &chimesdkmeetings.DeleteMeetingInput{MeetingId: &mid})

				logs := s.stderr.String()
				if level == "debug" && !strings.Contains(logs, testKeyID) && !strings.Contains(logs, "request") {
					t.Errorf("debug log looks empty; the check below would prove nothing:\n%s", logs)
				}
				for _, secret := range []string{testSecret, "AWS4" + testSecret, testSecret[:16]} {
					if strings.Contains(logs, secret) {
						t.Errorf("server log contains the root secret (%q):\n%s", secret, logs)
					}
				}
			})
		}
	})
}
