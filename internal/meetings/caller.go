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

func callerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// authorize refuses a meeting that the caller's policy does not cover.
func authorize(ctx context.Context, m *MeetingRecord) error {
	if c := callerFrom(ctx); c.MayAccess != nil && !c.MayAccess(m.ARN) {
		return apierr.New(apierr.Forbidden, "The access key is not allowed to access meeting %s", m.ID)
	}
	return nil
}
