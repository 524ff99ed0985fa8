package sigv4

import (
	"strings"
	"testing"
	"time"
)

// TestDevMode: any secret and the listed regions pass; the shape checks
// (service, unlisted region, skew, signature format) still refuse, and
// without Dev the same requests are refused.
func TestDevMode(t *testing.T) {
	dev := testVerifier(testTime)
	dev.Dev, dev.DevRegions = true, []string{"eu-west-2"}
	strict := testVerifier(testTime)

	for _, tc := range []struct {
		name   string
		o      signedOpts
		devOK  bool
		tamper func(auth string) string
	}{
		{name: "wrong secret", o: signedOpts{secret: "test"}, devOK: true},
		{name: "listed region", o: signedOpts{region: "eu-west-2"}, devOK: true},
		{name: "unlisted region", o: signedOpts{region: "xx-nowhere-1"}},
		{name: "wrong service", o: signedOpts{svc: "s3"}},
		{name: "too old", o: signedOpts{at: testTime.Add(-time.Hour)}},
		{name: "malformed signature", tamper: func(a string) string { return strings.Replace(a, "Signature=", "Signature=x", 1) }},
	} {
		req, body := signedReq(t, tc.o)
		if tc.tamper != nil {
			req.Header.Set("Authorization", tc.tamper(req.Header.Get("Authorization")))
		}
		if _, err := dev.Verify(req, body); (err == nil) != tc.devOK {
			t.Errorf("%s, dev: %v, want accepted=%v", tc.name, err, tc.devOK)
		}
		if _, err := strict.Verify(req, body); err == nil {
			t.Errorf("%s: accepted without Dev", tc.name)
		}
	}
}
