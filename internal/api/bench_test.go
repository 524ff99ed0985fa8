package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
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
			signed := signedRequest(b, c.method, c.target, c.body)
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
