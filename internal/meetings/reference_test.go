package meetings_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store/postgres"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
)

// referenceMeeting is the plain model the versioned store layout must agree
// with: every attendee holds its triple, and a batch rewrites all of them.
type referenceMeeting struct {
	order []string                         // external user ids, creation order
	caps  map[string]meetings.Capabilities // by external user id
}

func (r *referenceMeeting) remove(ext string) {
	delete(r.caps, ext)
	for i, e := range r.order {
		if e == ext {
			r.order = append(r.order[:i], r.order[i+1:]...)
			return
		}
	}
}

var values = []string{meetings.SendReceive, meetings.Send, meetings.Receive, meetings.None}

// validTriple draws a triple that satisfies the content/video rule (C4).
func validTriple(rng *rand.Rand) meetings.Capabilities {
	for {
		c := meetings.Capabilities{Audio: values[rng.IntN(4)], Video: values[rng.IntN(4)], Content: values[rng.IntN(4)]}
		if meetings.CheckCapabilities(&meetings.Features{}, c, "Capabilities") == nil {
			return c
		}
	}
}

// engineUnderTest is one Service over one engine, and the ids it handed out.
type engineUnderTest struct {
	name      string
	svc       *meetings.Service
	meetingID string
	ids       map[string]string // attendee id by external user id
}

// TestEnginesAgreeWithReferenceModel runs the same random mix of attendee
// operations against every engine and the reference model and compares the
// whole meeting after each step (issue 3: both engines share the versioned
// capability layout and must behave identically).
func TestEnginesAgreeWithReferenceModel(t *testing.T) {
	ctx := meetings.WithCaller(context.Background(), meetings.Caller{RequestID: "reference-test"})
	var engines []*engineUnderTest
	add := func(name string, store meetings.Store) {
		t.Cleanup(func() { store.Close() })
		svc := meetings.NewService(store, meetings.Config{Account: "123456789012", PageKey: []byte("k"),
			PublicBaseURL: &url.URL{Scheme: "http", Host: "127.0.0.1:1"}})
		m, err := svc.CreateMeeting(ctx, meetings.CreateMeetingInput{MediaRegion: "us-east-1", ExternalMeetingId: "ref"})
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, &engineUnderTest{name: name, svc: svc, meetingID: m.MeetingId, ids: map[string]string{}})
	}
	sq, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), LiveAttendees: sqlite.DefaultLiveAttendees})
	if err != nil {
		t.Fatal(err)
	}
	add("sqlite", sq)
	if u := os.Getenv("CARILLON_TEST_DATABASE_URL"); u != "" {
		pg, err := postgres.Open(ctx, postgres.Options{URL: u})
		if err != nil {
			t.Fatal(err)
		}
		add("postgres", pg)
	} else {
		t.Log("PostgreSQL engine not compared: set CARILLON_TEST_DATABASE_URL to include it")
	}

	ref := &referenceMeeting{caps: map[string]meetings.Capabilities{}}
	rng := rand.New(rand.NewPCG(1, 2))
	next := 0
	for step := 0; step < 400; step++ {
		switch op := rng.IntN(10); {
		case op < 3 || len(ref.order) == 0: // create
			ext := fmt.Sprintf("user-%d", next)
			next++
			var caps *meetings.Capabilities
			want := meetings.DefaultCapabilities(&meetings.Features{})
			if rng.IntN(2) == 0 {
				c := validTriple(rng)
				caps, want = &c, c
			}
			for _, e := range engines {
				a, err := e.svc.CreateAttendee(ctx, e.meetingID, meetings.CreateAttendeeInput{ExternalUserId: ext, Capabilities: caps})
				if err != nil {
					t.Fatalf("%s step %d create: %v", e.name, step, err)
				}
				e.ids[ext] = a.AttendeeId
			}
			ref.order = append(ref.order, ext)
			ref.caps[ext] = want
		case op < 4: // delete
			ext := ref.order[rng.IntN(len(ref.order))]
			for _, e := range engines {
				if err := e.svc.DeleteAttendee(ctx, e.meetingID, e.ids[ext]); err != nil {
					t.Fatalf("%s step %d delete: %v", e.name, step, err)
				}
			}
			ref.remove(ext)
		case op < 6: // single update
			ext := ref.order[rng.IntN(len(ref.order))]
			c := validTriple(rng)
			for _, e := range engines {
				if _, err := e.svc.UpdateAttendeeCapabilities(ctx, e.meetingID, e.ids[ext], c); err != nil {
					t.Fatalf("%s step %d update: %v", e.name, step, err)
				}
			}
			ref.caps[ext] = c
		default: // batch-except, with some deleted, unknown and empty exclusions (D8)
			c := validTriple(rng)
			excluded := map[string]bool{}
			for _, ext := range ref.order {
				if rng.IntN(4) == 0 {
					excluded[ext] = true
				}
			}
			for _, e := range engines {
				list := []string{"", "00000000-0000-4000-8000-000000000000"}
				for ext, id := range e.ids {
					if _, live := ref.caps[ext]; excluded[ext] || !live {
						list = append(list, id) // excluded, or already deleted
					}
				}
				if err := e.svc.BatchUpdateAttendeeCapabilitiesExcept(ctx, e.meetingID, list, c); err != nil {
					t.Fatalf("%s step %d batch: %v", e.name, step, err)
				}
			}
			for _, ext := range ref.order {
				if !excluded[ext] {
					ref.caps[ext] = c
				}
			}
		}
		for _, e := range engines {
			compareWithReference(t, ctx, e, ref, step)
		}
	}
}

func compareWithReference(t *testing.T, ctx context.Context, e *engineUnderTest, ref *referenceMeeting, step int) {
	t.Helper()
	var got []meetings.Attendee
	token := ""
	for {
		page, next, err := e.svc.ListAttendees(ctx, e.meetingID, token, 7)
		if err != nil {
			t.Fatalf("%s step %d list: %v", e.name, step, err)
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		token = next
	}
	if len(got) != len(ref.order) {
		t.Fatalf("%s step %d: %d attendees, reference has %d", e.name, step, len(got), len(ref.order))
	}
	for i, a := range got {
		ext := ref.order[i]
		if a.ExternalUserId != ext {
			t.Fatalf("%s step %d: attendee %d is %s, reference has %s", e.name, step, i, a.ExternalUserId, ext)
		}
		if *a.Capabilities != ref.caps[ext] {
			t.Fatalf("%s step %d: %s has %v, reference has %v", e.name, step, ext, *a.Capabilities, ref.caps[ext])
		}
	}
}
