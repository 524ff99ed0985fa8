package sigv4

import (
	"testing"
)

// BenchmarkVerify measures Verify on requests as net/http's server hands
// them over: a JS v3-style PUT (8 signed headers, JSON body) signed by the
// SDK signer, and a recorded boto3 GET with a query.
func BenchmarkVerify(b *testing.B) {
	put, putBody := signedReq(b, signedOpts{js: true})
	var get fixture
	for _, f := range loadFixtures(b) {
		if f.name == "boto3-01.http" {
			get = f
		}
	}
	if get.req == nil {
		b.Fatal("fixture boto3-01.http missing")
	}
	cases := []struct {
		name string
		v    *Verifier
		run  func(v *Verifier) error
	}{
		{"js-put-json", testVerifier(testTime), func(v *Verifier) error {
			if _, err := v.Verify(put, putBody); err != nil {
				return err
			}
			return nil
		}},
		{"boto3-get-query", testVerifier(get.at), func(v *Verifier) error {
			if _, err := v.Verify(get.req, get.body); err != nil {
				return err
			}
			return nil
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.run(c.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
