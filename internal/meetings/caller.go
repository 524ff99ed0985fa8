package meetings

import (
	"context"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// Caller is who makes a request: recorded in the history (D12) and asked
// whether it may touch a meeting. The wire layer attaches it to the context.
type Caller struct {
	RequestID   string
	AccessKeyID string
	// MayAccess reports whether the caller's policy covers the meeting with
	// this ARN; nil means every meeting.
	MayAccess func(meetingARN string) bool
}

type callerKey struct{}

// WithCaller returns ctx carrying the caller of the request.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// authorize refuses a meeting that the caller's policy does not cover, and
// any meeting when the context carries no caller: the wire layer attaches
// one to every request it has authenticated (D23), so a context without one
// did not come through it, and failing closed is the safe answer.
func authorize(ctx context.Context, m *MeetingRecord) error {
	c, ok := callerFrom(ctx)
	if !ok {
		return apierr.New(apierr.Forbidden, "The request carries no authenticated caller")
	}
	if c.MayAccess != nil && !c.MayAccess(m.ARN) {
		return apierr.New(apierr.Forbidden, "The access key is not allowed to access meeting %s", m.ID)
	}
	return nil
}
