// Package access holds Carillon's access keys beyond root: their policies
// (IAM-style actions, meeting ARN globs) and how their secrets are kept.
package access

import (
	"context"
	"time"
)

// Key is an access key as the store keeps it. The secret is sealed (see
// Sealer): a copy of the store alone does not reveal it.
type Key struct {
	AccessKeyID  string
	Name         string
	SealedSecret []byte
	// Actions are IAM-style action names with wildcards: "chime:GetMeeting",
	// "chime:Get*", "chime:*".
	Actions []string
	// MeetingARNs are meeting ARN globs ("*" matches any run of characters);
	// empty means every meeting.
	MeetingARNs []string
	CreatedAt   time.Time
}

// Store keeps access keys. Engines: internal/store/sqlite and
// internal/store/postgres, which return store.ErrNoRecord and
// store.ErrDuplicate like the meetings store does.
type Store interface {
	// InsertKey stores a new key; ErrDuplicate if its id is taken.
	InsertKey(ctx context.Context, k Key) error
	// Key returns one key, or ErrNoRecord.
	Key(ctx context.Context, accessKeyID string) (Key, error)
	// Keys returns every key, ordered by CreatedAt then AccessKeyID.
	Keys(ctx context.Context) ([]Key, error)
	// DeleteKey removes a key; ErrNoRecord if absent.
	DeleteKey(ctx context.Context, accessKeyID string) error
}
