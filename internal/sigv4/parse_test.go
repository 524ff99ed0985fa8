package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

const goodAuth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=fa4995c0d3ca201c041c34a99ce9aa822579c2619a04584f648e6f3da9fe4db7"

func TestParseAuthorization(t *testing.T) {
	want := Authorization{
		AccessKeyID: "AKIDEXAMPLE", Date: "20260101", Region: "us-east-1", Service: "chime",
		SignedHeaders: []string{"host", "x-amz-date"},
		Signature:     "fa4995c0d3ca201c041c34a99ce9aa822579c2619a04584f648e6f3da9fe4db7",
	}
	sig := want.Signature
	variants := []string{
		goodAuth,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/chime/aws4_request,SignedHeaders=host;x-amz-date,Signature=" + sig,
		"AWS4-HMAC-SHA256  Credential=AKIDEXAMPLE/20260101/us-east-1/chime/aws4_request ,  SignedHeaders=host;x-amz-date , Signature=" + sig + " ",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/chime/aws4_request SignedHeaders=host;x-amz-date Signature=" + sig,
		"AWS4-HMAC-SHA256\tCredential=AKIDEXAMPLE/20260101/us-east-1/chime/aws4_request,\tSignedHeaders=host;x-amz-date,\tSignature=" + sig,
		"AWS4-HMAC-SHA256 Signature=" + sig + ", SignedHeaders=host;x-amz-date, Credential=AKIDEXAMPLE/20260101/us-east-1/chime/aws4_request",
	}
	for _, h := range variants {
		got, err := ParseAuthorization(h)
		if err != nil {
			t.Fatalf("%q: %v", h, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", h, got, want)
		}
	}
	if got := want.String(); got != goodAuth {
		t.Fatalf("String() = %q", got)
	}
}

func TestParseAuthorizationErrors(t *testing.T) {
	sig := strings.Repeat("0", 64)
	cred := "Credential=AKIDEXAMPLE/20260101/us-east-1/chime/aws4_request"
	sh := "SignedHeaders=host;x-amz-date"
	unsupported := []string{
		"AWS AKID:sig",
		"AWS4-ECDSA-P256-SHA256 " + cred + ", " + sh + ", Signature=" + sig,
		"aws4-hmac-sha256 " + cred + ", " + sh + ", Signature=" + sig,
		"Bearer token",
		"AWS4-HMAC-SHA256Credential=x",
	}
	for _, h := range unsupported {
		if _, err := ParseAuthorization(h); !errors.Is(err, ErrUnsupportedAlgorithm) {
			t.Errorf("%q: err %v, want ErrUnsupportedAlgorithm", h, err)
		}
	}
	malformed := []string{
		"",
		"   ",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256 ",
		"AWS4-HMAC-SHA256 " + cred + ", " + sh,
		"AWS4-HMAC-SHA256 " + cred + ", Signature=" + sig,
		"AWS4-HMAC-SHA256 " + sh + ", Signature=" + sig,
		"AWS4-HMAC-SHA256 " + cred + ", " + cred + ", " + sh + ", Signature=" + sig,
		"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sh + ", Signature=" + sig,
		"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature=" + sig + ", Signature=" + sig,
		"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature=" + strings.ToUpper(strings.Repeat("a", 64)),
		"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature=" + sig + "0",
		"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature",
		"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature=" + sig + ", Extra=1",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/chime/aws4_requestX, " + sh + ", Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2026011/us-east-1/chime/aws4_request, " + sh + ", Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=/20260101/us-east-1/chime/aws4_request, " + sh + ", Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=AKID/20260101//chime/aws4_request, " + sh + ", Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1//aws4_request, " + sh + ", Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/chime/x/aws4_request, " + sh + ", Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=AK\"ID/20260101/us-east-1/chime/aws4_request, " + sh + ", Signature=" + sig,
		"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=, Signature=" + sig,
		"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=Host;x-amz-date, Signature=" + sig,
		"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=x-amz-date;host, Signature=" + sig,
		"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;host, Signature=" + sig,
		"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, Signature=" + sig,
		"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=ho:st, Signature=" + sig,
		"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=" + strings.Repeat("a;", 64) + "b, Signature=" + sig,
	}
	for _, h := range malformed {
		_, err := ParseAuthorization(h)
		if !errors.Is(err, ErrMalformedAuthorization) {
			t.Errorf("%q: err %v, want ErrMalformedAuthorization", h, err)
		}
		if err != nil && len(h) > 20 && strings.Contains(err.Error(), h) {
			t.Errorf("error quotes the header: %v", err)
		}
	}
}

func TestCanonicalURIDoubleEncodesTheWirePath(t *testing.T) {
	cases := map[string]string{
		"":                                    "/",
		"/":                                   "/",
		"/meetings/m1/attendees":              "/meetings/m1/attendees",
		"/meetings/a%2Fb%20c":                 "/meetings/a%252Fb%2520c",
		"/meetings/%E2%82%AC":                 "/meetings/%25E2%2582%25AC",
		"/meetings/a%25b%3F":                  "/meetings/a%2525b%253F",
		"/meetings/a!b$c&d'e(f)g*h+i,j;k=l:m": "/meetings/a%21b%24c%26d%27e%28f%29g%2Ah%2Bi%2Cj%3Bk%3Dl%3Am",
		"/meetings/-._~":                      "/meetings/-._~",
		"/a//b/./c/../d":                      "/a//b/./c/../d", // no normalisation
	}
	for in, want := range cases {
		if got := string(appendCanonicalURI(nil, in)); got != want {
			t.Errorf("appendCanonicalURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	cases := map[string]string{
		"": "",
		"next-token=abc%2Fdef%3D%2B&max-results=5": "max-results=5&next-token=abc%2Fdef%3D%2B",
		"operation=batch-create":                   "operation=batch-create",
		"a=x+y":                                    "a=x%20y",
		"a=%7e%41%2f%2b":                           "a=~A%2F%2B",
		"a=b=c":                                    "a=b%3Dc",
		"b=a-b&b=a%2Fb":                            "b=a%2Fb&b=a-b", // sorted after encoding
		"flag&a=1":                                 "a=1&flag=",
		"a=1&&b=2&":                                "a=1&b=2",
		"a=1;b=2&c=3":                              "c=3", // as url.ParseQuery: dropped
		"a=%zz&c=3":                                "c=3", // bad escape: dropped
		"=v":                                       "=v",
		"arn=arn:aws:chime:us-east-1:1:meeting/m1": "arn=arn%3Aaws%3Achime%3Aus-east-1%3A1%3Ameeting%2Fm1",
		"k=%C3%A9%20":     "k=%C3%A9%20",
		"z=1&Z=1&_=1&~=1": "Z=1&_=1&z=1&~=1",
	}
	for in, want := range cases {
		got, ok := appendCanonicalQuery(nil, in)
		if !ok || string(got) != want {
			t.Errorf("appendCanonicalQuery(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := appendCanonicalQuery(nil, strings.Repeat("a=1&", maxQueryPairs+1)); ok {
		t.Error("no limit on query pairs")
	}
}

func TestCanonicalHeaders(t *testing.T) {
	r, _ := http.NewRequest("POST", "http://h.example:8080/x", strings.NewReader("abc"))
	r.Header["X-Multi"] = []string{"  a   b  ", "c"}
	r.Header["X-Tab"] = []string{"\ta  \t b\t"}
	r.Header["x-lower"] = []string{"v"} // hand-built map, non-canonical key
	r.Header["X-Empty"] = []string{""}
	got := string(appendCanonicalHeaders(nil, r, []string{"content-length", "host", "x-absent", "x-empty", "x-lower", "x-multi", "x-tab"}))
	want := "content-length:3\nhost:h.example:8080\nx-absent:\nx-empty:\nx-lower:v\nx-multi:a b,c\nx-tab:a \t b\n"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// The AWS SigV4 test suite's "get-vanilla" case and the documented example
// signing key.
func TestKnownAnswers(t *testing.T) {
	k := deriveSigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam")
	if got := hex.EncodeToString(k[:]); got != "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9" {
		t.Fatalf("signing key %s", got)
	}
	r, _ := http.NewRequest("GET", "http://example.amazonaws.com/", nil)
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
	now, _ := time.Parse(AmzDateFormat, "20150830T123600Z")
	v := &Verifier{Region: "us-east-1", Service: "service", Now: func() time.Time { return now },
		Keys: StaticKeys{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}}
	if _, err := v.Verify(r, nil); err != nil {
		t.Fatal(err)
	}
}

func TestHMACMatchesCryptoHMAC(t *testing.T) {
	for _, kl := range []int{0, 1, 32, 63, 64, 65, 200} {
		for _, ml := range []int{0, 1, 55, 56, 64, 200, 256, 257, 1000} {
			key := []byte(strings.Repeat("k", kl))
			msg := []byte(strings.Repeat("m", ml))
			got := hmacSHA256(key, msg)
			m := hmac.New(sha256.New, key)
			m.Write(msg)
			if !hmac.Equal(got[:], m.Sum(nil)) {
				t.Fatalf("key %d msg %d: mismatch", kl, ml)
			}
		}
	}
}
