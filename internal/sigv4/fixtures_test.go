package sigv4

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Requests recorded byte for byte from boto3 1.43.11 (botocore SigV4Auth) and
// the JS SDK v3 (@aws-sdk/client-chime-sdk-meetings, @smithy/signature-v4) by
// testdata/gen_fixtures.sh. They are parsed with http.ReadRequest, exactly as
// net/http's server parses them (Host moved to r.Host, RequestURI kept raw),
// and verified at their own X-Amz-Date.

type fixture struct {
	name string
	req  *http.Request
	body []byte
	at   time.Time
}

func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	files, err := filepath.Glob("testdata/fixtures/*.http")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var out []fixture
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, parseFixture(t, filepath.Base(f), raw))
	}
	return out
}

func parseFixture(t testing.TB, name string, raw []byte) fixture {
	t.Helper()
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	at, err := time.Parse(AmzDateFormat, req.Header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return fixture{name: name, req: req, body: body, at: at}
}

func TestVerifyRecordedBoto3AndJSRequests(t *testing.T) {
	seen := map[string]int{}
	for _, f := range loadFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			sdk, _, _ := strings.Cut(f.name, "-")
			seen[sdk]++
			akid, err := testVerifier(f.at).Verify(f.req, f.body)
			if err != nil {
				t.Fatalf("Verify %s %s: %v", f.req.Method, f.req.RequestURI, err)
			}
			if akid != testAKID {
				t.Fatalf("akid %q", akid)
			}
			// Same request, 16 minutes later: rejected.
			if _, err := testVerifier(f.at.Add(16*time.Minute)).Verify(f.req, f.body); err == nil {
				t.Fatal("verified 16 minutes late")
			}
			// Any change to the body after signing is rejected.
			changed := append(append([]byte(nil), f.body...), ' ')
			if _, err := testVerifier(f.at).Verify(f.req, changed); err == nil {
				t.Fatal("verified with a changed body")
			}
		})
	}
	if seen["boto3"] < 8 || seen["js"] < 9 {
		t.Fatalf("fixtures per SDK: %v", seen)
	}
}

// The fixtures cover what docs/wire.md ("What the SDKs send") says each SDK
// signs.
func TestFixturesSignWhatTheSDKsAreDocumentedToSign(t *testing.T) {
	want := map[string]map[string]bool{
		"boto3": {"host;x-amz-date": true, "content-type;host;x-amz-date": true},
		"js": {
			"amz-sdk-invocation-id;amz-sdk-request;host;x-amz-content-sha256;x-amz-date;x-amz-user-agent":                             true,
			"amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-user-agent": true,
		},
	}
	got := map[string]map[string]bool{"boto3": {}, "js": {}}
	for _, f := range loadFixtures(t) {
		sdk, _, _ := strings.Cut(f.name, "-")
		a, err := ParseAuthorization(f.req.Header.Get("Authorization"))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		sh := strings.Join(a.SignedHeaders, ";")
		if !want[sdk][sh] {
			t.Errorf("%s signs unexpected %q", f.name, sh)
		}
		got[sdk][sh] = true
	}
	for sdk, m := range want {
		for sh := range m {
			if !got[sdk][sh] {
				t.Errorf("no %s fixture signs %q", sdk, sh)
			}
		}
	}
}
