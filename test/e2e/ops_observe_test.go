package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape fetches and parses a /metrics page.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// metric finds the sample of family name whose labels are exactly labels.
func metric(families map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	f := families[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		for _, l := range m.Label {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		return m
	}
	return nil
}

// TestMetricsAfterKnownTraffic: after a known mix of requests, /metrics has
// the right counts by operation and status, the latency histograms count
// the same requests, the store and live gauges are there, and the metrics
// listener serves nothing but /metrics.
func TestMetricsAfterKnownTraffic(t *testing.T) {
	forEachEngine(t, testMetricsAfterKnownTraffic)
}

func testMetricsAfterKnownTraffic(t *testing.T, e engine) {
	s := startServer(t, e, "--metrics-addr", "127.0.0.1:0")
	if s.Metrics == "" {
		t.Fatalf("no Metrics line in the banner:\n%s", s.Banner)
	}
	ctx := context.Background()
	c := s.client(t)
	var ids []string
	for i := 0; i < 3; i++ {
		m, err := c.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{
			MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("metrics")})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, *m.Meeting.MeetingId)
	}
	for _, u := range []string{"a", "b"} {
		if _, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: &ids[0], ExternalUserId: aws.String("user-" + u)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String("00000000-0000-4000-8000-000000000000")}); err == nil {
			t.Fatal("want 404")
		}
	}
	if _, err := c.DeleteMeeting(ctx, &chimesdkmeetings.DeleteMeetingInput{MeetingId: &ids[2]}); err != nil {
		t.Fatal(err)
	}
	if r, err := http.Post(s.Endpoint+"/meetings", "application/json", strings.NewReader("{}")); err != nil || r.StatusCode != 401 {
		t.Fatalf("unsigned request: %v %v", r, err)
	} else {
		r.Body.Close()
	}

	f := scrape(t, s.Metrics)
	for _, tc := range []struct {
		op, status string
		n          float64
	}{
		{"CreateMeeting", "200", 3}, {"CreateAttendee", "200", 2}, {"GetMeeting", "404", 2},
		{"DeleteMeeting", "204", 1}, {"unknown", "401", 1},
	} {
		m := metric(f, "carillon_api_requests_total", map[string]string{"operation": tc.op, "status": tc.status})
		if m == nil || m.GetCounter().GetValue() != tc.n {
			t.Errorf("carillon_api_requests_total{operation=%q,status=%q} = %v, want %v", tc.op, tc.status, m, tc.n)
		}
	}
	for op, n := range map[string]uint64{"CreateMeeting": 3, "CreateAttendee": 2, "GetMeeting": 2, "DeleteMeeting": 1} {
		m := metric(f, "carillon_api_request_duration_seconds", map[string]string{"operation": op})
		if m == nil || m.GetHistogram().GetSampleCount() != n || m.GetHistogram().GetSampleSum() <= 0 {
			t.Errorf("latency histogram of %s: %v, want %d samples", op, m, n)
		}
	}
	// 3 creations, 2 attendees, 1 deletion: at least 6 writes committed,
	// in at most 6 commits.
	commits := metric(f, "carillon_store_commit_duration_seconds", map[string]string{})
	groups := metric(f, "carillon_store_commit_group_size", map[string]string{})
	if commits == nil || groups == nil || commits.GetHistogram().GetSampleCount() == 0 ||
		groups.GetHistogram().GetSampleSum() < 6 {
		t.Errorf("store metrics: commits %v, groups %v", commits, groups)
	}
	if m := metric(f, "carillon_meetings_live", map[string]string{}); m == nil || m.GetGauge().GetValue() != 2 {
		t.Errorf("carillon_meetings_live = %v, want 2", m)
	}
	if m := metric(f, "carillon_attendees_live", map[string]string{}); m == nil || m.GetGauge().GetValue() != 2 {
		t.Errorf("carillon_attendees_live = %v, want 2", m)
	}
	// The media plane registers its own metrics on the same registry.
	for name, want := range map[string]float64{"carillon_media_rooms_live": 2, "carillon_media_sessions_live": 0} {
		if m := metric(f, name, map[string]string{}); m == nil || m.GetGauge().GetValue() != want {
			t.Errorf("%s = %v, want %v (two live meetings here, nobody joined)", name, m, want)
		}
	}
	if f["go_goroutines"] == nil {
		t.Error("the Go runtime metrics are missing")
	}

	// Only GET /metrics: the listener is unauthenticated.
	base := strings.TrimSuffix(s.Metrics, "/metrics")
	for _, path := range []string{"/", "/carillon/health/ready", "/meetings", "/debug/pprof/", "/metrics/x", "/carillon/admin/keys"} {
		r, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 404 {
			t.Errorf("metrics listener GET %s: %d, want 404", path, r.StatusCode)
		}
	}
	if r, err := http.Post(s.Metrics, "text/plain", nil); err != nil || r.StatusCode != 405 {
		t.Errorf("metrics listener POST /metrics: %v, want 405", r.StatusCode)
	}
	// And the API listener does not serve /metrics.
	if r, err := http.Get(s.Endpoint + "/metrics"); err != nil || r.StatusCode < 400 {
		t.Errorf("API listener GET /metrics: %v", r.StatusCode)
	}
}

// TestAccessLog: one info line per request with the operation, status,
// latency, request id and access key id, in JSON with --log-format json,
// and never a secret or a join token.
func TestAccessLog(t *testing.T) {
	s := startServer(t, engines(t)[0], "--log-format", "json")
	ctx := context.Background()
	c := s.client(t)
	m, err := c.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{
		MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("log"), ClientRequestToken: aws.String("token-secret-0001")})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: m.Meeting.MeetingId, ExternalUserId: aws.String("u1")})
	if err != nil {
		t.Fatal(err)
	}
	bad := s.signedRequestAs(t, testKeyID, "wrong-secret-0002", "GET", "/meetings/"+*m.Meeting.MeetingId, nil, time.Now())
	badResp := send(t, bad)

	type line struct {
		Level, Msg, Operation, RequestID, AccessKeyID string
		Status                                        int
		LatencyMS                                     *float64 `json:"latency_ms"`
	}
	var lines []line
	sc := bufio.NewScanner(strings.NewReader(s.stderr.String()))
	for sc.Scan() {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("--log-format json wrote a line that is not JSON: %q", sc.Text())
		}
		if raw["msg"] != "request" {
			continue
		}
		var l line
		b, _ := json.Marshal(raw)
		b = []byte(strings.NewReplacer(`"request_id"`, `"RequestID"`, `"access_key_id"`, `"AccessKeyID"`).Replace(string(b)))
		_ = json.Unmarshal(b, &l)
		lines = append(lines, l)
	}
	if len(lines) != 3 {
		t.Fatalf("want 3 access-log lines, got %d:\n%s", len(lines), s.stderr.String())
	}
	want := []struct {
		op     string
		status int
		key    string
	}{{"CreateMeeting", 200, testKeyID}, {"CreateAttendee", 200, testKeyID}, {"", 401, ""}}
	for i, w := range want {
		l := lines[i]
		if l.Level != "INFO" || l.Operation != w.op || l.Status != w.status || l.AccessKeyID != w.key || l.RequestID == "" || l.LatencyMS == nil {
			t.Errorf("access-log line %d: %+v, want %+v", i, l, w)
		}
	}
	if lines[2].RequestID != badResp.Header.Get("x-amzn-RequestId") {
		t.Errorf("request id %q in the log, %q in the response", lines[2].RequestID, badResp.Header.Get("x-amzn-RequestId"))
	}
	log := s.stderr.String()
	for _, secret := range []string{testSecret, "wrong-secret-0002", "token-secret-0001", *a.Attendee.JoinToken, "Signature="} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}
