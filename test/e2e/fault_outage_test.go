package e2e

// Database faults seen from the wire (issue 3): a node whose database goes
// away must answer fast with 503 ServiceUnavailableException (JSON body,
// Retry-After), report not-ready, stay live, and recover by itself without
// losing an acknowledged write.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/faultproxy"
)

// faultOp is one API call made while the database is away.
type faultOp struct {
	name, method, path string
	body               []byte
}

func faultOps(t *testing.T, meetingID, attendeeID, arn string, i int) []faultOp {
	return []faultOp{
		{"GetMeeting", http.MethodGet, "/meetings/" + meetingID, nil},
		{"ListAttendees", http.MethodGet, "/meetings/" + meetingID + "/attendees", nil},
		{"GetAttendee", http.MethodGet, "/meetings/" + meetingID + "/attendees/" + attendeeID, nil},
		{"CreateAttendee", http.MethodPost, "/meetings/" + meetingID + "/attendees",
			mnJSON(t, map[string]any{"ExternalUserId": fmt.Sprintf("during-outage-%d", i)})},
		{"CreateMeeting", http.MethodPost, "/meetings", mnJSON(t, map[string]any{
			"ClientRequestToken": fmt.Sprintf("outage-%d", i), "ExternalMeetingId": "outage", "MediaRegion": "us-east-1"})},
		{"BatchUpdateAttendeeCapabilitiesExcept", http.MethodPut, "/meetings/" + meetingID + "/attendees/capabilities?operation=batch-update-except",
			mnJSON(t, map[string]any{"ExcludedAttendeeIds": []map[string]string{{"AttendeeId": attendeeID}},
				"Capabilities": map[string]string{"Audio": "Send", "Video": "None", "Content": "None"}})},
		{"TagResource", http.MethodPost, "/tags?operation=tag-resource", mnJSON(t, map[string]any{
			"ResourceARN": arn, "Tags": []map[string]string{{"Key": fmt.Sprintf("outage-%d", i), "Value": "x"}}})},
		{"ListTagsForResource", http.MethodGet, "/tags?arn=" + url.QueryEscape(arn), nil},
	}
}

// faultCheck503 checks one response to a request made while the database
// is away: 503 ServiceUnavailableException with the D1 JSON body, a
// Retry-After of whole seconds, and an answer in less than 5 s.
func faultCheck503(t *testing.T, what string, r rawResponse, err error, took time.Duration) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: no answer after %v: %v", what, took, err)
		return
	}
	if took >= 5*time.Second {
		t.Errorf("%s took %v, want < 5s (fail fast, never a hang)", what, took)
	}
	if r.Status != http.StatusServiceUnavailable {
		t.Errorf("%s: status %d, want 503: %s", what, r.Status, r.Body)
		return
	}
	if got := r.Header.Get("X-Amzn-ErrorType"); got != "ServiceUnavailableException" {
		t.Errorf("%s: X-Amzn-ErrorType %q, want ServiceUnavailableException", what, got)
	}
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("%s: Retry-After %q, want a positive number of seconds", what, r.Header.Get("Retry-After"))
	}
	var body struct{ Code, Message, RequestId string }
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Errorf("%s: 503 body is not JSON (%v): %q", what, err, r.Body)
		return
	}
	if body.Code != "ServiceUnavailableException" || body.Message == "" || body.RequestId != r.Header.Get("x-amzn-RequestId") {
		t.Errorf("%s: 503 body %s, want Code ServiceUnavailableException, a Message and the x-amzn-RequestId", what, r.Body)
	}
}

// faultHealth returns the status of a health endpoint and how long it took.
func faultHealth(t *testing.T, s *server, path string) (int, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	st, err := mnGet(ctx, s, path)
	if err != nil {
		t.Errorf("GET %s: %v", path, err)
	}
	return st, time.Since(start)
}

// faultWriter creates attendees in a loop through one node and remembers
// those acknowledged (200) until stopped. Any answer other than 200 or a
// well-formed 503 is an error.
type faultWriter struct {
	mu         sync.Mutex
	acked      map[string]string // AttendeeId -> ExternalUserId
	unavail    int
	ackedAfter map[string]bool // set by markRecovered: acks after recovery
	recovered  bool
	problems   []string
	stop, done chan struct{}
}

func startFaultWriter(s *server, meetingID string) *faultWriter {
	w := &faultWriter{acked: map[string]string{}, ackedAfter: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			case <-time.After(15 * time.Millisecond):
			}
			ext := fmt.Sprintf("writer-%04d", i)
			body, _ := json.Marshal(map[string]string{"ExternalUserId": ext})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			r, err := mnDo(ctx, s, http.MethodPost, "/meetings/"+meetingID+"/attendees", body)
			cancel()
			w.mu.Lock()
			switch {
			case err != nil:
				w.problems = append(w.problems, fmt.Sprintf("%s: %v", ext, err))
			case r.Status == 201 || r.Status == 200:
				var out struct {
					Attendee struct{ AttendeeId, ExternalUserId string }
				}
				if err := json.Unmarshal(r.Body, &out); err != nil || out.Attendee.ExternalUserId != ext {
					w.problems = append(w.problems, fmt.Sprintf("%s: bad body %s", ext, r.Body))
				}
				w.acked[out.Attendee.AttendeeId] = ext
				if w.recovered {
					w.ackedAfter[out.Attendee.AttendeeId] = true
				}
			case r.Status == 503 && r.Header.Get("Retry-After") != "" && json.Valid(r.Body) && len(r.Body) > 0:
				w.unavail++
			default:
				w.problems = append(w.problems, fmt.Sprintf("%s: status %d, Retry-After %q, body %q", ext, r.Status, r.Header.Get("Retry-After"), r.Body))
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *faultWriter) markRecovered() {
	w.mu.Lock()
	w.recovered = true
	w.mu.Unlock()
}

func (w *faultWriter) halt() {
	close(w.stop)
	<-w.done
}

// TestFaultDatabaseOutage: a node whose database connection goes through a
// proxy. (a) The proxy stops mid-run, while a client keeps writing: every
// kind of API call answers in < 5 s with 503 ServiceUnavailableException, a
// JSON body and Retry-After; /carillon/health/ready turns 503 while
// /carillon/health/live stays 200. (a') The database host stops answering
// (connections accepted, never served): the same. (b) The proxy comes back:
// the node recovers by itself within 10 s (ready 200, calls succeed, the
// writer's calls succeed again), and every write acknowledged before,
// during and after the outage is in the database.
func TestFaultDatabaseOutage(t *testing.T) {
	db := freshDatabase(t, mnDatabaseURL(t))
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, u.Host)
	node := startServer(t, mnEngineAt(mnWithHost(t, db, proxy.Addr)), "--max-attendees", "5000")
	ctx := context.Background()

	// Objects that exist before the outage.
	r, err := mnDo(ctx, node, http.MethodPost, "/meetings", mnJSON(t, map[string]any{
		"ClientRequestToken": "outage-meeting", "ExternalMeetingId": "outage", "MediaRegion": "us-east-1"}))
	if err != nil || r.Status != 200 {
		t.Fatalf("CreateMeeting: %v %d %s", err, r.Status, r.Body)
	}
	var created struct {
		Meeting struct{ MeetingId, MeetingArn string }
	}
	_ = json.Unmarshal(r.Body, &created)
	mid, arn := created.Meeting.MeetingId, created.Meeting.MeetingArn
	r, err = mnDo(ctx, node, http.MethodPost, "/meetings/"+mid+"/attendees", mnJSON(t, map[string]any{"ExternalUserId": "first"}))
	if err != nil || (r.Status != 200 && r.Status != 201) {
		t.Fatalf("CreateAttendee: %v %d %s", err, r.Status, r.Body)
	}
	var att struct{ Attendee struct{ AttendeeId string } }
	_ = json.Unmarshal(r.Body, &att)
	aid := att.Attendee.AttendeeId
	if st, _ := faultHealth(t, node, "/carillon/health/ready"); st != 200 {
		t.Fatalf("ready before the outage: %d", st)
	}

	w := startFaultWriter(node, mid)
	time.Sleep(300 * time.Millisecond)

	// pause lets the node's fail-fast window after a failed connection
	// attempt (if any) run out, so that each call really meets the fault.
	outage := func(t *testing.T, phase string, rounds int, pause time.Duration, only ...string) {
		for i := range rounds {
			for _, op := range faultOps(t, mid, aid, arn, i) {
				if len(only) > 0 && !slices.Contains(only, op.name) {
					continue
				}
				time.Sleep(pause)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				start := time.Now()
				r, err := mnDo(ctx, node, op.method, op.path, op.body)
				took := time.Since(start)
				cancel()
				faultCheck503(t, fmt.Sprintf("%s: %s (round %d)", phase, op.name, i), r, err, took)
				t.Logf("%s: %s answered %d in %v", phase, op.name, r.Status, took.Round(time.Millisecond))
			}
			st, took := faultHealth(t, node, "/carillon/health/ready")
			if st == 200 || took >= 5*time.Second {
				t.Errorf("%s: /carillon/health/ready = %d after %v, want non-200 in < 5s", phase, st, took)
			}
			if st, took := faultHealth(t, node, "/carillon/health/live"); st != 200 || took >= time.Second {
				t.Errorf("%s: /carillon/health/live = %d after %v, want 200 at once", phase, st, took)
			}
		}
	}

	// (a) The database goes away: connections reset, new ones refused.
	proxy.Down()
	outage(t, "refused", 3, 0)
	outage(t, "refused, paced", 1, 300*time.Millisecond)

	// (a') The database host stops answering.
	proxy.Up(true)
	outage(t, "black hole", 1, 300*time.Millisecond, "GetMeeting", "CreateAttendee", "BatchUpdateAttendeeCapabilitiesExcept")

	// (b) The database is back.
	proxy.Down()
	proxy.Up(false)
	back := time.Now()
	for {
		st, _ := faultHealth(t, node, "/carillon/health/ready")
		if st == 200 {
			break
		}
		if time.Since(back) > 10*time.Second {
			t.Fatalf("the node is not ready 10s after the database came back (last status %d)", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("ready again %v after the database came back", time.Since(back).Round(time.Millisecond))
	w.markRecovered()
	for i, op := range faultOps(t, mid, aid, arn, 100) {
		if op.name == "BatchUpdateAttendeeCapabilitiesExcept" {
			continue // would change the writer's attendees' capabilities; harmless, but keep the check simple
		}
		r, err := mnDo(ctx, node, op.method, op.path, op.body)
		if err != nil || r.Status >= 300 {
			t.Errorf("after recovery: %s (%d): %v %d %s", op.name, i, err, r.Status, r.Body)
		}
	}
	time.Sleep(400 * time.Millisecond)
	w.halt()

	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.problems {
		t.Errorf("writer: %s", p)
	}
	if w.unavail == 0 {
		t.Errorf("the writer never saw a 503 during the outage")
	}
	if len(w.ackedAfter) == 0 {
		t.Errorf("the writer got no acknowledged write after recovery")
	}
	t.Logf("writer: %d acknowledged (%d after recovery), %d answered 503", len(w.acked), len(w.ackedAfter), w.unavail)

	// No acknowledged write lost: through the node and in the database.
	listed := map[string]string{}
	for _, a := range mnListAll(t, node.client(t), mid) {
		listed[*a.AttendeeId] = *a.ExternalUserId
	}
	for id, ext := range w.acked {
		if listed[id] != ext {
			t.Errorf("acknowledged attendee %s (%s) is missing after recovery", id, ext)
		}
	}
	if got := mnQueryInt(t, db, `SELECT count(*) FROM attendees WHERE meeting_id = $1 AND external_user_id LIKE 'writer-%'`, mid); got < len(w.acked) {
		t.Errorf("the database holds %d writer attendees, fewer than the %d acknowledged", got, len(w.acked))
	}
}

// TestFaultNetworkPartition: the network to the database goes silent (open
// connections stay open, nothing more is answered; new connections are
// accepted and never answered), right after the node used its connections.
// Calls must still fail fast (< 5 s) with 503 ServiceUnavailableException
// and Retry-After, and the node must recover once the network heals.
func TestFaultNetworkPartition(t *testing.T) {
	db := freshDatabase(t, mnDatabaseURL(t))
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, u.Host)
	node := startServer(t, mnEngineAt(mnWithHost(t, db, proxy.Addr)))
	ctx := context.Background()
	r, err := mnDo(ctx, node, http.MethodPost, "/meetings", mnJSON(t, map[string]any{
		"ClientRequestToken": "partition", "ExternalMeetingId": "partition", "MediaRegion": "us-east-1"}))
	if err != nil || r.Status != 200 {
		t.Fatalf("CreateMeeting: %v %d %s", err, r.Status, r.Body)
	}
	var created struct{ Meeting struct{ MeetingId string } }
	_ = json.Unmarshal(r.Body, &created)
	mid := created.Meeting.MeetingId

	// Warm connections, then partition while they sit idle in the pool.
	for i := range 3 {
		if r, err := mnDo(ctx, node, http.MethodGet, "/meetings/"+mid, nil); err != nil || r.Status != 200 {
			t.Fatalf("GetMeeting %d: %v %d", i, err, r.Status)
		}
	}
	proxy.Freeze()
	// The first call takes the connection the warm-up just released.
	for i, op := range []faultOp{
		{"CreateAttendee", http.MethodPost, "/meetings/" + mid + "/attendees", mnJSON(t, map[string]any{"ExternalUserId": "partitioned"})},
		{"GetMeeting", http.MethodGet, "/meetings/" + mid, nil},
	} {
		cctx, cancel := context.WithTimeout(ctx, 25*time.Second)
		start := time.Now()
		r, err := mnDo(cctx, node, op.method, op.path, op.body)
		took := time.Since(start)
		cancel()
		t.Logf("partition: %s answered %d in %v", op.name, r.Status, took.Round(time.Millisecond))
		faultCheck503(t, fmt.Sprintf("partition: %s (%d)", op.name, i), r, err, took)
	}

	proxy.Down()
	proxy.Up(false)
	back := time.Now()
	for {
		st, _ := faultHealth(t, node, "/carillon/health/ready")
		if st == 200 {
			break
		}
		if time.Since(back) > 10*time.Second {
			t.Fatalf("not ready 10s after the partition healed (status %d)", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r, err := mnDo(ctx, node, http.MethodGet, "/meetings/"+mid, nil); err != nil || r.Status != 200 {
		t.Errorf("GetMeeting after the partition healed: %v %d %s", err, r.Status, r.Body)
	}
}
