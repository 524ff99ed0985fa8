package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add(goodAuth)
	f.Add("AWS4-HMAC-SHA256 Credential=A/20260101/r/s/aws4_request,SignedHeaders=host,Signature=" + strings.Repeat("0", 64))
	f.Add("AWS4-HMAC-SHA256")
	f.Add("AWS AKID:sig")
	f.Add("AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;;;, Signature=")
	if files, _ := filepath.Glob("testdata/fixtures/*.http"); len(files) > 0 {
		for _, p := range files {
			raw, _ := os.ReadFile(p)
			if r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw))); err == nil {
				f.Add(r.Header.Get("Authorization"))
			}
		}
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParseAuthorization(h)
		if err != nil {
			return
		}
		// A well-formed header round-trips through its canonical form.
		b, err := ParseAuthorization(a.String())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", a.String(), err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip:\n%+v\n%+v", a, b)
		}
		if len(a.Signature) != 64 || len(a.Date) != 8 || len(a.SignedHeaders) == 0 {
			t.Fatalf("accepted %+v", a)
		}
	})
}

// FuzzVerify has two properties:
//  1. Arbitrary Authorization header, path, query, extra header and body:
//     Verify never panics and never succeeds (it cannot know the secret).
//  2. The same path, query, header and body signed by aws-sdk-go-v2's signer
//     with the right secret verifies, and fails with a wrong secret or a
//     changed body (differential test of the canonicalisation).
func FuzzVerify(f *testing.F) {
	f.Add(goodAuth, "/meetings/m1", "next-token=a%2Fb%3D%2B", "v", []byte(jsonBody))
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("a", 64),
		"/meetings/a%2Fb%20c%E2%82%AC", "a=x+y&b=%7e&b=a-b", "  a   b  ", []byte(nil))
	f.Add("", "/", "X-Amz-Signature=x", "", []byte("{}"))
	f.Add("x", "/a//b/../c", "a;b=1&&=&%zz", "\t", []byte{0})
	f.Fuzz(func(t *testing.T, auth, path, query, hv string, body []byte) {
		v := testVerifier(testTime)

		// 1. Arbitrary input.
		raw := &http.Request{Method: "POST", URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{},
			Host: "h.example", RequestURI: path + "?" + query}
		raw.Header.Set("Authorization", auth)
		raw.Header.Set("X-Amz-Date", testTime.Format(AmzDateFormat))
		raw.Header.Set("X-Fuzz", hv)
		if _, err := v.Verify(raw, body); err == nil {
			t.Fatalf("forged request verified: %q", auth)
		}

		// 2. Differential against the SDK signer.
		u := &url.URL{Scheme: "http", Host: "meetings-chime.example.test", Path: "/" + strings.TrimLeft(path, "/"), RawQuery: query}
		req, err := http.NewRequest("POST", u.String(), bytes.NewReader(body))
		if err != nil || req.URL.RawQuery != query {
			return
		}
		if !validFieldValue(hv) {
			return // http.Transport refuses to send it
		}
		req.Header.Set("X-Fuzz", hv)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret},
			req, sha256Hex(body), testSvc, testRegion, testTime); err != nil {
			return
		}
		var buf bytes.Buffer
		if err := req.Write(&buf); err != nil {
			return
		}
		sr, err := http.ReadRequest(bufio.NewReader(&buf))
		if err != nil {
			return // not a valid HTTP/1.1 request; no server would see it
		}
		if hasQueryAuth(sr) {
			if _, err := v.Verify(sr, body); err == nil {
				t.Fatal("header and query auth together verified")
			}
			return
		}
		if _, err := v.Verify(sr, body); err != nil {
			t.Fatalf("SDK-signed request (target %q, header %q) rejected: %v", sr.RequestURI, hv, err)
		}
		wrong := testVerifier(testTime)
		wrong.Keys = StaticKeys{AccessKeyID: testAKID, SecretAccessKey: testSecret + "x"}
		if _, err := wrong.Verify(sr, body); err == nil {
			t.Fatal("verified with a wrong secret")
		}
		if _, err := v.Verify(sr, append(bytes.Clone(body), 'x')); err == nil {
			t.Fatal("verified with a changed body")
		}
	})
}

// validFieldValue mirrors httpguts.ValidHeaderFieldValue: no CTLs but tab.
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
