package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/carillon-dev/carillon/internal/apierr"
)

const jsonBody = `{"Capabilities":{"Audio":"SendReceive","Content":"None","Video":"Receive"}}`

// wire sends req through an HTTP/1.1 serialisation and net/http's request
// parser, so the result looks exactly like what a server handler receives.
func wire(t testing.TB, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatalf("write: %v", err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		t.Fatal(err)
	}
	return sr, body
}

// signedOpts shape a test request before it is signed by the SDK signer.
type signedOpts struct {
	method, target, body string
	secret, region, svc  string
	at                   time.Time
	headers              map[string]string // set before signing (so signed)
	js                   bool              // add the JS v3 header set, incl. x-amz-content-sha256
}

// signedReq builds a request, signs it with aws-sdk-go-v2's signer and passes it
// through the wire. The Go signer signs every header present except its
// ignore-list, so the headers set here are exactly the signed set.
func signedReq(t testing.TB, o signedOpts) (*http.Request, []byte) {
	t.Helper()
	if o.method == "" {
		o.method, o.target, o.body = "PUT", "/meetings/m1/attendees/a1/capabilities", jsonBody
	}
	if o.secret == "" {
		o.secret = testSecret
	}
	if o.region == "" {
		o.region = testRegion
	}
	if o.svc == "" {
		o.svc = testSvc
	}
	if o.at.IsZero() {
		o.at = testTime
	}
	var body io.Reader = http.NoBody
	if o.body != "" {
		body = strings.NewReader(o.body)
	}
	req, err := http.NewRequest(o.method, "http://meetings-chime.example.test"+o.target, body)
	if err != nil {
		t.Fatal(err)
	}
	if o.js {
		req.Header.Set("Amz-Sdk-Invocation-Id", "141b4270-22c9-4cd8-a75c-b06d210b2bd6")
		req.Header.Set("Amz-Sdk-Request", "attempt=1; max=1")
		req.Header.Set("X-Amz-User-Agent", "aws-sdk-js/3.1141.0")
		req.Header.Set("X-Amz-Content-Sha256", sha256Hex([]byte(o.body)))
		if o.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	for k, v := range o.headers {
		req.Header.Set(k, v)
	}
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: o.secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sha256Hex([]byte(o.body)), o.svc, o.region, o.at); err != nil {
		t.Fatal(err)
	}
	// Headers the SDKs send unsigned.
	req.Header.Set("User-Agent", "aws-sdk-js/3.1141.0 ua/2.1")
	return wire(t, req)
}

func TestVerifyHandBuiltJSAndBoto3Style(t *testing.T) {
	cases := []struct {
		name, wantSigned string
		o                signedOpts
		unsigned         map[string]string
	}{
		{
			name:       "js PUT with body",
			o:          signedOpts{js: true},
			wantSigned: "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-user-agent",
		},
		{
			name:       "js GET",
			o:          signedOpts{js: true, method: "GET", target: "/meetings/m1/attendees?max-results=5&next-token=a%2Fb%3D%2B"},
			wantSigned: "amz-sdk-invocation-id;amz-sdk-request;host;x-amz-content-sha256;x-amz-date;x-amz-user-agent",
		},
		{
			name:       "boto3 POST with body",
			o:          signedOpts{method: "POST", target: "/tags?operation=tag-resource", body: `{"ResourceARN": "arn", "Tags": []}`, headers: map[string]string{"Content-Type": "application/json"}},
			wantSigned: "content-length;content-type;host;x-amz-date",
			unsigned:   map[string]string{"Amz-Sdk-Invocation-Id": "86dfbed1", "Amz-Sdk-Request": "attempt=1", "Accept-Encoding": "identity"},
		},
		{
			name:       "boto3 DELETE",
			o:          signedOpts{method: "DELETE", target: "/meetings/m1"},
			wantSigned: "host;x-amz-date",
			unsigned:   map[string]string{"Amz-Sdk-Invocation-Id": "86dfbed1", "Content-Length": "0"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, body := signedReq(t, tc.o)
			for k, v := range tc.unsigned {
				r.Header.Set(k, v)
			}
			a, err := ParseAuthorization(r.Header.Get("Authorization"))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(a.SignedHeaders, ";"); got != tc.wantSigned {
				t.Fatalf("signed %q, want %q", got, tc.wantSigned)
			}
			if _, verr := testVerifier(testTime).Verify(r, body); verr != nil {
				t.Fatalf("Verify: %v", verr)
			}
		})
	}
}

type failingKeys struct{}

func (failingKeys) Secret(context.Context, string) (string, bool, error) {
	return "", false, errors.New("db down: password=hunter2")
}

func TestVerifyRejections(t *testing.T) {
	type tc struct {
		name string
		req  func(t *testing.T) (*http.Request, []byte)
		v    func() *Verifier
		kind apierr.Kind
		want string // substring of the message
	}
	base := func(o signedOpts) func(t *testing.T) (*http.Request, []byte) {
		return func(t *testing.T) (*http.Request, []byte) { return signedReq(t, o) }
	}
	edit := func(o signedOpts, f func(r *http.Request, body []byte) []byte) func(t *testing.T) (*http.Request, []byte) {
		return func(t *testing.T) (*http.Request, []byte) {
			r, b := signedReq(t, o)
			return r, f(r, b)
		}
	}
	setAuth := func(s string) func(t *testing.T) (*http.Request, []byte) {
		return edit(signedOpts{}, func(r *http.Request, b []byte) []byte { r.Header.Set("Authorization", s); return b })
	}
	okV := func() *Verifier { return testVerifier(testTime) }
	validSig := strings.Repeat("ab", 32)
	cases := []tc{
		{"no Authorization", edit(signedOpts{}, func(r *http.Request, b []byte) []byte { r.Header.Del("Authorization"); return b }),
			okV, apierr.Unauthorized, "missing Authorization header"},
		{"two Authorization headers", edit(signedOpts{}, func(r *http.Request, b []byte) []byte {
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
			return b
		}), okV, apierr.Unauthorized, "more than one Authorization header"},
		{"malformed: no components", setAuth("AWS4-HMAC-SHA256"), okV, apierr.Unauthorized, "malformed Authorization header"},
		{"malformed: bad credential", setAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/chime, SignedHeaders=host;x-amz-date, Signature=" + validSig),
			okV, apierr.Unauthorized, "malformed Authorization header"},
		{"malformed: short signature", setAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd"),
			okV, apierr.Unauthorized, "malformed Authorization header"},
		{"malformed: unsorted signed headers", setAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/chime/aws4_request, SignedHeaders=x-amz-date;host, Signature=" + validSig),
			okV, apierr.Unauthorized, "sorted"},
		{"unsupported algorithm: SigV4a", setAuth("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20260102/chime/aws4_request, SignedHeaders=host, Signature=" + validSig),
			okV, apierr.Unauthorized, "unsupported authorization algorithm"},
		{"unsupported algorithm: SigV2", setAuth("AWS AKIDEXAMPLE:c2lnbmF0dXJl"), okV, apierr.Unauthorized, "unsupported authorization algorithm"},
		{"unknown key", base(signedOpts{}), func() *Verifier {
			v := okV()
			v.Keys = StaticKeys{AccessKeyID: "AKIDOTHER", SecretAccessKey: testSecret}
			return v
		}, apierr.Unauthorized, "unknown access key"},
		{"wrong secret", base(signedOpts{secret: "wrong-secret"}), okV, apierr.Unauthorized, "signature mismatch"},
		{"wrong region in scope", base(signedOpts{region: "us-west-2"}), okV, apierr.Unauthorized, "wrong region in the credential scope"},
		{"wrong service in scope", base(signedOpts{svc: "chime-sdk-meetings"}), okV, apierr.Unauthorized, "wrong service in the credential scope"},
		{"clock 16 minutes behind the request", base(signedOpts{}), func() *Verifier { return testVerifier(testTime.Add(-16 * time.Minute)) },
			apierr.Unauthorized, "request time too skewed"},
		{"clock 16 minutes ahead of the request", base(signedOpts{}), func() *Verifier { return testVerifier(testTime.Add(16 * time.Minute)) },
			apierr.Unauthorized, "request time too skewed"},
		{"custom MaxSkew", base(signedOpts{}), func() *Verifier {
			v := testVerifier(testTime.Add(2 * time.Minute))
			v.MaxSkew = time.Minute
			return v
		}, apierr.Unauthorized, "request time too skewed"},
		{"missing X-Amz-Date", edit(signedOpts{}, func(r *http.Request, b []byte) []byte { r.Header.Del("X-Amz-Date"); return b }),
			okV, apierr.Unauthorized, "missing X-Amz-Date"},
		{"bad X-Amz-Date", edit(signedOpts{}, func(r *http.Request, b []byte) []byte { r.Header.Set("X-Amz-Date", "2026-01-02T03:04:05Z"); return b }),
			okV, apierr.Unauthorized, "malformed X-Amz-Date"},
		{"X-Amz-Date not signed", setAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/chime/aws4_request, SignedHeaders=host, Signature=" + validSig),
			okV, apierr.Unauthorized, "X-Amz-Date must be a signed header"},
		{"scope date differs from X-Amz-Date", setAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + validSig),
			okV, apierr.Unauthorized, "credential scope date does not match"},
		{"host not signed", setAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/chime/aws4_request, SignedHeaders=content-type;x-amz-date, Signature=" + validSig),
			okV, apierr.Unauthorized, "host header must be signed"},
		{"body changed after signing", edit(signedOpts{}, func(r *http.Request, b []byte) []byte {
			return bytes.Replace(b, []byte("None"), []byte("Send"), 1)
		}), okV, apierr.Unauthorized, "signature mismatch"},
		{"X-Amz-Content-Sha256 does not match body", edit(signedOpts{js: true}, func(r *http.Request, b []byte) []byte {
			return bytes.Replace(b, []byte("None"), []byte("Send"), 1)
		}), okV, apierr.Unauthorized, "payload hash mismatch"},
		{"UNSIGNED-PAYLOAD", base(signedOpts{headers: map[string]string{"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}}),
			okV, apierr.Unauthorized, "unsigned or streaming payloads are not supported"},
		{"signed header changed", edit(signedOpts{js: true}, func(r *http.Request, b []byte) []byte {
			r.Header.Set("Amz-Sdk-Request", "attempt=2; max=3")
			return b
		}), okV, apierr.Unauthorized, "signature mismatch"},
		{"host changed", edit(signedOpts{}, func(r *http.Request, b []byte) []byte { r.Host = "evil.example"; return b }),
			okV, apierr.Unauthorized, "signature mismatch"},
		{"query changed", edit(signedOpts{method: "GET", target: "/meetings/m1/attendees?max-results=5"}, func(r *http.Request, b []byte) []byte {
			r.RequestURI = "/meetings/m1/attendees?max-results=6"
			return b
		}), okV, apierr.Unauthorized, "signature mismatch"},
		{"path changed", edit(signedOpts{method: "GET", target: "/meetings/m1"}, func(r *http.Request, b []byte) []byte {
			r.RequestURI = "/meetings/m2"
			return b
		}), okV, apierr.Unauthorized, "signature mismatch"},
		{"method changed", edit(signedOpts{method: "GET", target: "/meetings/m1"}, func(r *http.Request, b []byte) []byte {
			r.Method = "DELETE"
			return b
		}), okV, apierr.Unauthorized, "signature mismatch"},
		{"query-string auth", func(t *testing.T) (*http.Request, []byte) {
			req, _ := http.NewRequest("GET", "http://meetings-chime.example.test/meetings/m1", nil)
			u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret},
				req, emptySHA256, testSvc, testRegion, testTime)
			if err != nil {
				t.Fatal(err)
			}
			req, _ = http.NewRequest("GET", u, nil)
			return wire(t, req)
		}, okV, apierr.Unauthorized, "query-string authentication is not supported"},
		{"query-string auth and Authorization", edit(signedOpts{}, func(r *http.Request, b []byte) []byte {
			r.RequestURI += "?X-Amz-Signature=" + validSig
			r.URL.RawQuery = "X-Amz-Signature=" + validSig
			return b
		}), okV, apierr.Unauthorized, "only one authentication mechanism"},
		{"keys lookup error", base(signedOpts{}), func() *Verifier {
			v := okV()
			v.Keys = failingKeys{}
			return v
		}, apierr.ServiceFailure, "could not be looked up"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, body := c.req(t)
			v := c.v()
			akid, verr := v.Verify(r, body)
			if verr == nil {
				t.Fatalf("verified (akid %q), want %s", akid, c.want)
			}
			err, ok := apierr.As(verr)
			if !ok {
				t.Fatalf("Verify = %v, want an *apierr.Error", verr)
			}
			if akid != "" {
				t.Errorf("akid %q returned with an error", akid)
			}
			if err.Kind != c.kind || !strings.Contains(err.Message, c.want) {
				t.Fatalf("got %v (kind %v), want kind %v message containing %q", err, err.Kind, c.kind, c.want)
			}
			assertNoSecrets(t, v, r, body, err)
		})
	}
}

// assertNoSecrets checks that err's message carries neither the secret nor
// the signature the server computed, nor the string to sign or its hash.
func assertNoSecrets(t *testing.T, v *Verifier, r *http.Request, body []byte, err *apierr.Error) {
	t.Helper()
	for _, s := range []string{testSecret, "wrong-secret", "hunter2"} {
		if strings.Contains(err.Message, s) {
			t.Fatalf("message leaks a secret: %q", err.Message)
		}
	}
	a, perr := ParseAuthorization(r.Header.Get("Authorization"))
	if perr != nil {
		return
	}
	cr, _ := appendCanonicalRequest(nil, r, &a, sha256Hex(body))
	sts := appendStringToSign(nil, r.Header.Get("X-Amz-Date"), &a, cr)
	key := deriveSigningKey(testSecret, a.Date, a.Region, a.Service)
	mac := hmacSHA256(key[:], sts)
	computed := hex.EncodeToString(mac[:])
	crHash := sts[bytes.LastIndexByte(sts, '\n')+1:]
	for _, s := range []string{computed, string(sts), string(crHash), string(cr)} {
		if strings.Contains(err.Message, s) {
			t.Fatalf("message leaks signing material: %q", err.Message)
		}
	}
	_ = v
}

func TestVerifySkewBoundaryIsInclusive(t *testing.T) {
	r, body := signedReq(t, signedOpts{})
	for _, d := range []time.Duration{-15 * time.Minute, 15 * time.Minute, 0} {
		if _, err := testVerifier(testTime.Add(d)).Verify(r, body); err != nil {
			t.Errorf("now %+v: %v", d, err)
		}
	}
	for _, d := range []time.Duration{-15*time.Minute - time.Second, 15*time.Minute + time.Second} {
		if _, err := testVerifier(testTime.Add(d)).Verify(r, body); err == nil {
			t.Errorf("now %+v: verified", d)
		}
	}
}

// A router that rewrites r.URL (here: http.StripPrefix) does not break
// verification: the client signed the request-target it sent.
func TestVerifyUsesRequestURINotRewrittenURL(t *testing.T) {
	r, body := signedReq(t, signedOpts{method: "GET", target: "/meetings/a%2Fb?next-token=x%2By"})
	var got error
	called := false
	h := http.StripPrefix("/meetings", http.HandlerFunc(func(w http.ResponseWriter, r2 *http.Request) {
		called = true
		_, got = testVerifier(testTime).Verify(r2, body)
	}))
	h.ServeHTTP(nopWriter{}, r)
	if !called || got != nil {
		t.Fatalf("called %v, err %v", called, got)
	}
}

type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}

// In-process requests (no RequestURI, Host only in URL, Content-Length only
// in ContentLength) verify too.
func TestVerifyInProcessRequest(t *testing.T) {
	req, _ := http.NewRequest("PUT", "http://meetings-chime.example.test/meetings/a%2Fb/attendees/x/capabilities", strings.NewReader(jsonBody))
	req.Header.Set("Content-Type", "application/json")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret},
		req, sha256Hex([]byte(jsonBody)), testSvc, testRegion, testTime); err != nil {
		t.Fatal(err)
	}
	if _, err := testVerifier(testTime).Verify(req, []byte(jsonBody)); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyCachedKeyFollowsSecretRotation(t *testing.T) {
	r, body := signedReq(t, signedOpts{})
	v := testVerifier(testTime)
	if _, err := v.Verify(r, body); err != nil {
		t.Fatal(err)
	}
	v.Keys = StaticKeys{AccessKeyID: testAKID, SecretAccessKey: "rotated"}
	if _, err := v.Verify(r, body); err == nil {
		t.Fatal("verified with the old secret after rotation")
	}
	r2, body2 := signedReq(t, signedOpts{secret: "rotated"})
	if _, err := v.Verify(r2, body2); err != nil {
		t.Fatal(err)
	}
}

func TestStaticKeys(t *testing.T) {
	k := StaticKeys{AccessKeyID: "A", SecretAccessKey: "S"}
	if s, ok, err := k.Secret(context.Background(), "A"); s != "S" || !ok || err != nil {
		t.Fatal(s, ok, err)
	}
	if _, ok, _ := k.Secret(context.Background(), "B"); ok {
		t.Fatal("unknown key found")
	}
	if _, ok, _ := (StaticKeys{}).Secret(context.Background(), ""); ok {
		t.Fatal("empty key id matched the zero StaticKeys")
	}
}
