package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
	"github.com/aws/smithy-go"

	"github.com/carillon-dev/carillon/internal/meetings"
)

// TestThrottling: --rate-limit RPS/BURST gives each key a bucket; excess
// requests get 429 ThrottlingException (refill is tested with an injected
// clock in internal/ratelimit and internal/api).
func TestThrottling(t *testing.T) {
	s := startServer(t, engines(t)[0], "--rate-limit", "0.01/3")
	c := s.client(t)
	id, _ := createMeetingWithARN(t, c, "throttle")
	for i := 0; i < 2; i++ {
		if _, err := c.GetMeeting(context.Background(), &chimesdkmeetings.GetMeetingInput{MeetingId: &id}); err != nil {
			t.Fatalf("request %d within the burst: %v", i+2, err)
		}
	}
	_, err := c.GetMeeting(context.Background(), &chimesdkmeetings.GetMeetingInput{MeetingId: &id})
	var te *types.ThrottlingException
	if !errors.As(err, &te) {
		t.Fatalf("4th request: want ThrottlingException, got %v", err)
	}
	r := s.do(t, "GET", "/meetings/"+id, nil)
	if r.Status != 429 || r.Header.Get("X-Amzn-ErrorType") != "ThrottlingException" {
		t.Fatalf("raw: %d %v", r.Status, r.Header)
	}
}

// TestThrottlingPerKey: one key's exhausted bucket does not throttle another.
func TestThrottlingPerKey(t *testing.T) {
	s := startServer(t, engines(t)[0], "--rate-limit", "0.01/3")
	k := s.createKey(t, "--allow", "chime:*") // root: 1 of 3
	c := s.client(t)
	id, _ := createMeetingWithARN(t, c, "throttle") // root: 2 of 3
	for i := 0; i < 3; i++ {
		s.do(t, "GET", "/meetings/"+id, nil)
	}
	if r := s.do(t, "GET", "/meetings/"+id, nil); r.Status != 429 {
		t.Fatalf("root not throttled: %d", r.Status)
	}
	if r := s.doAs(t, k.AccessKeyId, k.SecretAccessKey, "GET", "/meetings/"+id, nil); r.Status != 200 {
		t.Fatalf("a fresh key was throttled by root's bucket: %d %s", r.Status, r.Body)
	}
}

// TestMaxMeetings: --max-meetings caps live meetings of the account with
// LimitExceededException; deleting one frees a place.
func TestMaxMeetings(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		s := startServer(t, e, "--max-meetings", "3")
		c := s.client(t)
		var ids []string
		for i := 0; i < 3; i++ {
			id, _ := createMeetingWithARN(t, c, "quota")
			ids = append(ids, id)
		}
		_, err := c.CreateMeeting(context.Background(), &chimesdkmeetings.CreateMeetingInput{
			MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("one-too-many")})
		var le *types.LimitExceededException
		if !errors.As(err, &le) {
			t.Fatalf("4th meeting: want LimitExceededException, got %v", err)
		}
		if _, err := c.DeleteMeeting(context.Background(), &chimesdkmeetings.DeleteMeetingInput{MeetingId: &ids[0]}); err != nil {
			t.Fatal(err)
		}
		createMeetingWithARN(t, c, "fits-again")
	})
}

// TestIdleAndSlowConnections: hundreds of idle connections and slow
// half-sent requests do not keep another client from being served.
func TestIdleAndSlowConnections(t *testing.T) {
	s := startServer(t, engines(t)[0])
	c := s.client(t)
	id, _ := createMeetingWithARN(t, c, "busy")
	host := strings.TrimPrefix(s.Endpoint, "http://")
	var conns []net.Conn
	defer func() {
		for _, conn := range conns {
			conn.Close()
		}
	}()
	for i := 0; i < 300; i++ {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, conn)
		if i%2 == 0 { // slowloris: a request line and part of the headers, never finished
			if _, err := conn.Write([]byte("GET /meetings/" + id + " HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: &id})
		cancel()
		if err != nil {
			t.Fatalf("request %d while 300 connections hang: %v", i, err)
		}
	}
}

// TestAuditTrailOfBatch: the audit history lists every capability change
// with request id and access key, and for a batch-except exactly the
// attendees whose triple it changed (D12); `carillon audit` prints one JSON
// object per change, oldest first.
func TestAuditTrailOfBatch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := startServer(t, e)
		c := s.client(t)
		id, _ := createMeetingWithARN(t, c, "audited")
		var attendees []string
		for _, ext := range []string{"user-a", "user-b", "user-c", "user-d"} {
			a, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: &id, ExternalUserId: aws.String(ext)})
			if err != nil {
				t.Fatal(err)
			}
			attendees = append(attendees, *a.Attendee.AttendeeId)
		}
		recv := types.AttendeeCapabilities{Audio: "Receive", Video: "Receive", Content: "None"}
		// d already has the batch's triple: the batch does not change it.
		if _, err := c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
			MeetingId: &id, AttendeeId: &attendees[3], Capabilities: &recv}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteAttendee(ctx, &chimesdkmeetings.DeleteAttendeeInput{MeetingId: &id, AttendeeId: &attendees[2]}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.BatchUpdateAttendeeCapabilitiesExcept(ctx, &chimesdkmeetings.BatchUpdateAttendeeCapabilitiesExceptInput{
			MeetingId: &id, ExcludedAttendeeIds: []types.AttendeeIdItem{{AttendeeId: &attendees[0]}}, Capabilities: &recv}); err != nil {
			t.Fatal(err)
		}
		out, err := s.cli(t, "audit", "--meeting", id)
		if err != nil {
			t.Fatal(err)
		}
		var changes []meetings.CapabilityChange
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var ch meetings.CapabilityChange
			if err := json.Unmarshal(sc.Bytes(), &ch); err != nil {
				t.Fatalf("audit line %q: %v", sc.Text(), err)
			}
			changes = append(changes, ch)
		}
		// 4 creations, 1 single update, then the batch: only b changes.
		if len(changes) != 6 {
			t.Fatalf("%d changes, want 6:\n%s", len(changes), out)
		}
		for i, ch := range changes[:4] {
			if ch.Event != meetings.EventAttendeeCreated || ch.AttendeeId != attendees[i] || ch.Old != nil {
				t.Fatalf("change %d: %+v", i, ch)
			}
		}
		if ch := changes[4]; ch.Event != meetings.EventCapabilitiesUpdated || ch.AttendeeId != attendees[3] {
			t.Fatalf("change 4: %+v", ch)
		}
		b := changes[5]
		if b.Event != meetings.EventCapabilitiesBatch || b.AttendeeId != attendees[1] ||
			b.Old == nil || b.Old.Audio != "SendReceive" || b.New.Audio != "Receive" || b.New.Content != "None" {
			t.Fatalf("batch change: %+v", b)
		}
		for i, ch := range changes {
			if ch.RequestId == "" || ch.AccessKeyId != testKeyID || ch.MeetingId != id || ch.Time.IsZero() {
				t.Fatalf("change %d lacks who/when: %+v", i, ch)
			}
			if i > 0 && ch.Time.Before(changes[i-1].Time) {
				t.Fatalf("changes not oldest first")
			}
		}
		if r := s.do(t, "GET", "/carillon/admin/audit?meeting="+url.QueryEscape("11111111-2222-4333-8444-555555555555"), nil); r.Status != 404 {
			t.Fatalf("audit of an unknown meeting: %d", r.Status)
		}
	})
}

// TestNoSecretInLogs runs a varied workload against a debug-logging server,
// including failures, and checks that neither the root secret nor a created
// key's secret appears anywhere in its logs or responses' error messages.
func TestNoSecretInLogs(t *testing.T) {
	s := startServer(t, engines(t)[0], "--log-level", "debug", "--rate-limit", "1000/5")
	k := s.createKey(t, "--allow", "chime:Get*")
	c := s.client(t)
	kc := s.clientWith(t, k.AccessKeyId, k.SecretAccessKey, testRegion)
	bad := s.clientWith(t, k.AccessKeyId, "wrong-"+k.SecretAccessKey, testRegion)
	id, _ := createMeetingWithARN(t, c, "logs")
	var (
		mu       sync.Mutex
		messages []string
	)
	collect := func(err error) {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			mu.Lock()
			messages = append(messages, ae.ErrorMessage())
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.GetMeeting(context.Background(), &chimesdkmeetings.GetMeetingInput{MeetingId: &id})
			collect(err)
		}()
	}
	wg.Wait()
	_, err := kc.DeleteMeeting(context.Background(), &chimesdkmeetings.DeleteMeetingInput{MeetingId: &id})
	collect(err)
	_, err = bad.GetMeeting(context.Background(), &chimesdkmeetings.GetMeetingInput{MeetingId: &id})
	collect(err)
	_, err = c.GetMeeting(context.Background(), &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String("11111111-2222-4333-8444-555555555555")})
	collect(err)
	logs := s.stderr.String()
	if !strings.Contains(logs, "request_id=") {
		t.Fatalf("debug logs do not show requests; the check below would prove nothing:\n%s", logs)
	}
	for _, secret := range []string{testSecret, k.SecretAccessKey, "wrong-" + k.SecretAccessKey} {
		if strings.Contains(logs, secret) {
			t.Fatalf("a secret appears in the server log")
		}
		for _, m := range messages {
			if strings.Contains(m, secret) {
				t.Fatalf("a secret appears in an error message: %q", m)
			}
		}
	}
	if len(messages) < 3 {
		t.Fatalf("only %d error messages collected", len(messages))
	}
}
