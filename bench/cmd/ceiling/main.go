// Command ceiling is the reference server the benchmarks compare Carillon
// with: the cheapest HTTP+JSON service net/http can be. One handler answers
// every path (so carload can point its scenarios at it unchanged): it drains
// the request body, decodes a fixed ~300-byte GetAttendee-shaped document
// with encoding/json (standing in for reading the record), sets the
// AttendeeId from the path when there is one, and encodes the result as the
// 200 response. No authentication (the signature carload sends is ignored),
// no storage, no routing, no validation.
//
// It does not answer the setup calls meaningfully (CreateMeeting returns the
// same attendee document), so carload runs against it with -setup=false and
// uses random meeting and attendee IDs instead.
//
//	ceiling -addr 127.0.0.1:0
//
// prints "Endpoint: http://127.0.0.1:PORT" once it is listening.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type capabilities struct {
	Audio   string `json:"Audio"`
	Video   string `json:"Video"`
	Content string `json:"Content"`
}

type attendee struct {
	ExternalUserId string       `json:"ExternalUserId"`
	AttendeeId     string       `json:"AttendeeId"`
	JoinToken      string       `json:"JoinToken"`
	Capabilities   capabilities `json:"Capabilities"`
}

type attendeeOutput struct {
	Attendee attendee `json:"Attendee"`
}

// doc is the record decoded on every request: 289 bytes, the layout of a real
// GetAttendee response (docs/wire.md, "Response layouts").
var doc = []byte(`{"Attendee":{"ExternalUserId":"agent","AttendeeId":"16a94227-b55f-e07b-dc33-9d3629f33d1f","JoinToken":"MTZhOTQyMjctYjU1Zi1lMDdiLWRjMzMtOWQzNjI5ZjMzZDFmOmQ3N2YzZjBhLTdmNTMtNDY5MC1hZmFiLTk5ZGVjZjgzNmYwYQ","Capabilities":{"Audio":"SendReceive","Video":"SendReceive","Content":"SendReceive"}}}`)

func handle(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	var out attendeeOutput
	if err := json.Unmarshal(doc, &out); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	// /meetings/{m}/attendees/{a}[/capabilities]: echo the attendee id.
	if parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); len(parts) >= 4 && parts[2] == "attendees" && parts[3] != "capabilities" {
		out.Attendee.AttendeeId = parts[3]
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
	json.NewEncoder(w).Encode(&out)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: http.HandlerFunc(handle), ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("Endpoint: http://%s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
}
