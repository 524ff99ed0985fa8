package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/carillon-dev/carillon/internal/signaling/chimeclient"
)

// JoinTokens travel in the subprotocol header: they must never reach the
// log, even at debug level, whether the join succeeds or is refused.
func TestMediaNoTokenInLogs(t *testing.T) {
	srv := startServer(t, sqliteEngine(), "--log-level", "debug")
	mm := newMediaMeeting(t, srv, "alice")
	token := *mm.attendees[0].JoinToken
	c := mm.connect(t, 0, 1)
	if err := c.Leave(context.Background(), frameWait); err != nil {
		t.Fatal(err)
	}
	bad := mm.dial(t, token[:len(token)-4]+"AAAA")
	_, _, _ = bad.Join(context.Background(), 2, frameWait)
	_, _ = bad.WaitClosed(frameWait)
	logs := srv.stderr.String()
	for _, secret := range []string{token, token[:len(token)-4], "_aws_wt_session, "} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log contains a join token (%q...)", secret[:8])
		}
	}
}

// Sockets that never JOIN are bounded: past the cap the upgrade is refused
// with 503, and joined sessions are unaffected.
func TestMediaPendingSocketsBounded(t *testing.T) {
	srv := startServer(t, sqliteEngine())
	mm := newMediaMeeting(t, srv, "alice")
	a := mm.connect(t, 0, 1)
	url := *mm.meeting.MediaPlacement.SignalingUrl
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		refused int
		open    []*chimeclient.Client
	)
	for range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := chimeclient.Dial(context.Background(), url, "no-token")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if strings.Contains(err.Error(), "503") {
					refused++
				}
				return
			}
			open = append(open, c)
		}()
	}
	wg.Wait()
	for _, c := range open {
		c.Close()
	}
	if refused == 0 || len(open) > 256 {
		t.Fatalf("%d sockets opened and %d refused, want at most 256 open", len(open), refused)
	}
	if err := a.Ping(context.Background(), 5); err != nil {
		t.Fatalf("a joined session suffered from the flood: %v", err)
	}
}
