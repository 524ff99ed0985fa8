package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/signaling/chimeclient"
)

// TestFailedJoinsSpendTheAddressBudget: a signaling upgrade whose
// JoinToken is refused spends the same per-address budget as a failed API
// authentication; an address that has spent it is refused before the
// upgrade, and may join again once the budget refills.
func TestFailedJoinsSpendTheAddressBudget(t *testing.T) {
	srv := startServer(t, sqliteEngine(), "--auth-failure-limit", "1/3")
	mm := newMediaMeeting(t, srv, "alice")
	ctx := context.Background()
	url := *mm.meeting.MediaPlacement.SignalingUrl
	for i := 0; i < 3; i++ {
		c := dialURL(t, url, "bad-token-"+strings.Repeat("x", i+1))
		_, _, _ = c.Join(ctx, 1, frameWait)
		if code, err := c.WaitClosed(frameWait); err != nil || code != 4403 {
			t.Fatalf("join %d with a bad token: close %d %v, want 4403", i+1, code, err)
		}
	}
	_, err := chimeclient.Dial(ctx, url, *mm.attendees[0].JoinToken)
	if err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("an upgrade from an address that spent its budget: %v, want a 429 refusal", err)
	}
	time.Sleep(1100 * time.Millisecond) // one token back at 1/s
	c := dialURL(t, url, *mm.attendees[0].JoinToken)
	if _, _, err := c.Join(ctx, 1, frameWait); err != nil {
		t.Fatalf("a valid join after the refill: %v", err)
	}
}
