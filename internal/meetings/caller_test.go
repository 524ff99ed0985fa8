package meetings

import (
	"context"
	"errors"
	"testing"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// A context without a caller did not come through the wire layer's
// authentication: authorize refuses it, as it refuses a caller whose policy
// does not cover the meeting.
func TestAuthorize(t *testing.T) {
	m := &MeetingRecord{ID: "m1", ARN: "arn:aws:chime:us-east-1:111122223333:meeting/m1"}
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		refuse bool
	}{
		{"no caller", context.Background(), true},
		{"caller with every meeting", WithCaller(context.Background(), Caller{AccessKeyID: "root"}), false},
		{"policy covers it", WithCaller(context.Background(), Caller{MayAccess: func(arn string) bool { return arn == m.ARN }}), false},
		{"policy does not cover it", WithCaller(context.Background(), Caller{MayAccess: func(string) bool { return false }}), true},
	} {
		err := authorize(tc.ctx, m)
		var ae *apierr.Error
		switch {
		case tc.refuse && !(errors.As(err, &ae) && ae.Kind == apierr.Forbidden):
			t.Errorf("%s: authorize = %v, want ForbiddenException", tc.name, err)
		case !tc.refuse && err != nil:
			t.Errorf("%s: authorize = %v, want nil", tc.name, err)
		}
	}
}
