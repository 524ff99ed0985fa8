package e2e

// Durability of acknowledged writes across SIGKILL, and graceful SIGTERM
// with requests in flight, against the real binary (D10).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
)

// durMeeting is the expected state of one meeting, built only from
// acknowledged (2xx) responses.
type durMeeting struct {
	id, arn, ext string
	deleted      bool
	attendees    []attendeeState
	tags         map[string]string
}

// durWorker performs n acknowledged writes of mixed kinds on meetings it
// alone owns, so its model of them is exact whatever the interleaving with
// other workers.
func durWorker(ctx context.Context, c *chimesdkmeetings.Client, w, n int) ([]*durMeeting, error) {
	var ms []*durMeeting
	writes := 0
	ack := func(err error) error {
		if err == nil {
			writes++
		}
		return err
	}
	newMeeting := func() error {
		ext := fmt.Sprintf("dur-%d-%d", w, len(ms))
		out, err := c.CreateMeeting(ctx, &chimesdkmeetings.CreateMeetingInput{MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String(ext),
			Tags: []types.Tag{{Key: aws.String("worker"), Value: aws.String(fmt.Sprint(w))}}})
		if ack(err) != nil {
			return err
		}
		ms = append(ms, &durMeeting{id: *out.Meeting.MeetingId, arn: *out.Meeting.MeetingArn, ext: ext, tags: map[string]string{"worker": fmt.Sprint(w)}})
		return nil
	}
	add := func(m *durMeeting, a types.Attendee) {
		m.attendees = append(m.attendees, attendeeState{*a.AttendeeId, *a.ExternalUserId, *a.JoinToken, tripleOf(a.Capabilities)})
	}
	if err := newMeeting(); err != nil {
		return nil, err
	}
	for step := 0; writes < n; step++ {
		m := ms[len(ms)-1]
		var err error
		switch step % 9 {
		case 0:
			var out *chimesdkmeetings.CreateAttendeeOutput
			out, err = c.CreateAttendee(ctx, &chimesdkmeetings.CreateAttendeeInput{MeetingId: &m.id, ExternalUserId: aws.String(fmt.Sprintf("a-%d", step))})
			if ack(err) == nil {
				add(m, *out.Attendee)
			}
		case 1:
			var out *chimesdkmeetings.BatchCreateAttendeeOutput
			out, err = c.BatchCreateAttendee(ctx, &chimesdkmeetings.BatchCreateAttendeeInput{MeetingId: &m.id, Attendees: []types.CreateAttendeeRequestItem{
				{ExternalUserId: aws.String(fmt.Sprintf("b-%d-0", step))}, {ExternalUserId: aws.String(fmt.Sprintf("b-%d-1", step)), Capabilities: triple{recv, recv, none}.caps()}, {ExternalUserId: aws.String(fmt.Sprintf("b-%d-2", step))},
			}})
			if ack(err) == nil {
				if len(out.Errors) != 0 {
					return nil, fmt.Errorf("batch errors %+v", out.Errors)
				}
				for _, a := range out.Attendees {
					add(m, a)
				}
			}
		case 2:
			if len(m.attendees) < 2 {
				continue
			}
			tr := triple{snd, recv, none}
			if step%2 == 0 {
				tr = triple{recv, sr, recv}
			}
			err = batchExcept(c, m.id, []string{m.attendees[0].ID}, tr)
			if ack(err) == nil {
				for i := 1; i < len(m.attendees); i++ {
					m.attendees[i].Caps = tr
				}
			}
		case 3:
			if len(m.attendees) == 0 {
				continue
			}
			tr := triple{none, none, none}
			_, err = c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{MeetingId: &m.id, AttendeeId: &m.attendees[0].ID, Capabilities: tr.caps()})
			if ack(err) == nil {
				m.attendees[0].Caps = tr
			}
		case 4:
			k := fmt.Sprintf("k%d", step)
			_, err = c.TagResource(ctx, &chimesdkmeetings.TagResourceInput{ResourceARN: &m.arn, Tags: []types.Tag{{Key: &k, Value: aws.String("v")}}})
			if ack(err) == nil {
				m.tags[k] = "v"
			}
		case 5:
			_, err = c.UntagResource(ctx, &chimesdkmeetings.UntagResourceInput{ResourceARN: &m.arn, TagKeys: []string{"worker"}})
			if ack(err) == nil {
				delete(m.tags, "worker")
			}
		case 6:
			if len(m.attendees) == 0 {
				continue
			}
			last := m.attendees[len(m.attendees)-1]
			_, err = c.DeleteAttendee(ctx, &chimesdkmeetings.DeleteAttendeeInput{MeetingId: &m.id, AttendeeId: &last.ID})
			if ack(err) == nil {
				m.attendees = m.attendees[:len(m.attendees)-1]
			}
		case 7:
			err = newMeeting()
		case 8:
			// Delete the previous meeting now and then.
			if len(ms) < 2 || ms[len(ms)-2].deleted || step%18 != 8 {
				continue
			}
			prev := ms[len(ms)-2]
			_, err = c.DeleteMeeting(ctx, &chimesdkmeetings.DeleteMeetingInput{MeetingId: &prev.id})
			if ack(err) == nil {
				prev.deleted = true
			}
		}
		if err != nil {
			return nil, fmt.Errorf("worker %d step %d: %w", w, step, err)
		}
	}
	return ms, nil
}

// durCheck compares the server's state with the model.
func durCheck(t *testing.T, c *chimesdkmeetings.Client, ms []*durMeeting) {
	t.Helper()
	ctx := context.Background()
	for _, m := range ms {
		g, err := c.GetMeeting(ctx, &chimesdkmeetings.GetMeetingInput{MeetingId: &m.id})
		if m.deleted {
			if opsCode(err) != "NotFoundException" {
				t.Errorf("deleted meeting %s came back: %v", m.id, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("acknowledged meeting %s lost: %v", m.id, err)
			continue
		}
		if aws.ToString(g.Meeting.ExternalMeetingId) != m.ext || aws.ToString(g.Meeting.MeetingArn) != m.arn {
			t.Errorf("meeting %s: %+v", m.id, g.Meeting)
		}
		got := snapshot(t, c, m.id)
		if len(got) == 0 && len(m.attendees) == 0 {
			got = nil
		}
		want := m.attendees
		if len(want) == 0 {
			want = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("meeting %s attendees:\n got  %+v\n want %+v", m.id, got, want)
		}
		if tags := opsTags(t, c, m.arn); !reflect.DeepEqual(tags, m.tags) {
			t.Errorf("meeting %s tags %v, want %v", m.id, tags, m.tags)
		}
	}
}

// TestDurabilitySIGKILLAfterAcknowledgedWrites: 8 concurrent clients make
// 200 acknowledged writes of nine kinds; the server is killed with SIGKILL
// right after the last acknowledgment, restarted on the same store, and has
// every acknowledged write (full state of every meeting compared).
func TestDurabilitySIGKILLAfterAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		args := e.args(t)
		p := startProcess(t, args)
		c := p.client(t)
		const workers, total = 8, 200
		var wg sync.WaitGroup
		results := make([][]*durMeeting, workers)
		errs := make([]error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[w], errs[w] = durWorker(context.Background(), c, w, total/workers)
			}()
		}
		wg.Wait()
		_ = p.stop(t, syscall.SIGKILL) // right after the last acknowledgment
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		var all []*durMeeting
		deleted := 0
		for _, r := range results {
			all = append(all, r...)
			for _, m := range r {
				if m.deleted {
					deleted++
				}
			}
		}
		if deleted == 0 {
			t.Fatalf("the workload deleted no meeting; it must mix deletions in")
		}

		p2 := startProcess(t, args)
		durCheck(t, p2.client(t), all)
		t.Logf("%d meetings (%d deleted) checked after SIGKILL", len(all), deleted)
	})
}

// TestDurabilitySIGTERMInFlight: requests whose bodies are still arriving
// when SIGTERM comes complete with 2xx; new connections are refused; the
// process exits 0; the completed writes are there after restart.
func TestDurabilitySIGTERMInFlight(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		args := e.args(t)
		p := startProcess(t, args)
		c := p.client(t)
		mid := aws.ToString(opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{}).MeetingId)

		const inflight = 6
		type result struct {
			status int
			body   string
			err    error
		}
		results := make(chan result, inflight)
		var writers []*io.PipeWriter
		var rests [][]byte
		for i := 0; i < inflight; i++ {
			body := []byte(fmt.Sprintf(`{"ExternalUserId":"inflight-%d"}`, i))
			pr, pw := io.Pipe()
			req, err := http.NewRequest(http.MethodPost, p.Endpoint+"/meetings/"+mid+"/attendees", pr)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = int64(len(body))
			req.Header.Set("Content-Type", "application/json")
			sum := sha256.Sum256(body)
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}, req, hex.EncodeToString(sum[:]), "chime", testRegion, time.Now()); err != nil {
				t.Fatal(err)
			}
			go func() {
				resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
				if err != nil {
					results <- result{err: err}
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				results <- result{status: resp.StatusCode, body: string(b)}
			}()
			half := len(body) / 2
			if _, err := pw.Write(body[:half]); err != nil {
				t.Fatal(err)
			}
			writers = append(writers, pw)
			rests = append(rests, body[half:])
		}
		time.Sleep(300 * time.Millisecond) // the server has read every request's headers
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		// A new connection is no longer accepted.
		if resp, err := (&http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{}}).Get(p.Endpoint + "/carillon/health/live"); err == nil {
			resp.Body.Close()
			t.Errorf("a new request after SIGTERM was served (%d)", resp.StatusCode)
		}
		for i, pw := range writers {
			if _, err := pw.Write(rests[i]); err != nil {
				t.Fatal(err)
			}
			pw.Close()
		}
		for i := 0; i < inflight; i++ {
			r := <-results
			if r.err != nil || r.status != http.StatusOK {
				t.Errorf("in-flight request: %d %s %v, want 200", r.status, r.body, r.err)
			}
		}
		select {
		case err := <-p.waited:
			if err != nil {
				t.Errorf("exit after SIGTERM: %v, want status 0\n%s", err, p.stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no exit within 30s of SIGTERM")
		}

		p2 := startProcess(t, args)
		got := snapshot(t, p2.client(t), mid)
		if len(got) != inflight {
			t.Errorf("%d attendees after restart, want the %d completed in flight: %+v", len(got), inflight, got)
		}
	})
}
