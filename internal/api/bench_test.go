package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// BenchmarkServeHTTP measures the server's own work for one request through
// the whole wire stack (SigV4, routing, validation, domain, an in-memory
// store, JSON encoding), without a network or a client: the part of the
// per-request CPU in docs/benchmarks.md that Carillon's code decides.
// Requests are signed once, outside the timed loop; every iteration serves
// a fresh copy.
func BenchmarkServeHTTP(b *testing.B) {
	s, meetingID, attendeeID := newTestServer(b)
	batchBody := []byte(`{"ExcludedAttendeeIds":[{"AttendeeId":"` + attendeeID + `"}],"Capabilities":{"Audio":"SendReceive","Video":"Receive","Content":"None"}}`)
	cases := []struct {
		name, method, target string
		body                 []byte
	}{
		{"GetAttendee", http.MethodGet, "/meetings/" + meetingID + "/attendees/" + attendeeID, nil},
		{"GetMeeting", http.MethodGet, "/meetings/" + meetingID, nil},
		{"BatchUpdateAttendeeCapabilitiesExcept", http.MethodPut,
			"/meetings/" + meetingID + "/attendees/capabilities?operation=batch-update-except", batchBody},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			signed := signOnce(b, c.method, c.target, c.body)
			b.ReportAllocs()
			for b.Loop() {
				req := signed.Clone(context.Background())
				req.Body = io.NopCloser(bytes.NewReader(c.body))
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code/100 != 2 {
					b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
				}
			}
		})
	}
}

func signOnce(tb testing.TB, method, target string, body []byte) *http.Request {
	tb.Helper()
	req := httptest.NewRequest(method, "http://carillon.test"+target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(body))
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: fuzzKey, SecretAccessKey: fuzzSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "chime", "us-east-1", time.Now()); err != nil {
		tb.Fatal(err)
	}
	if !strings.HasPrefix(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		tb.Fatal(fmt.Sprintf("not signed: %v", req.Header))
	}
	return req
}
