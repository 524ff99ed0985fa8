// Package store holds what the domain packages (meetings, access) and the
// storage engines (sqlite, postgres) share without depending on each other:
// the errors an engine returns for the domain to tell apart.
package store

import "errors"

// Engines return these, wrapped or not, so that the domain can tell
// "absent" and "already exists" from real failures.
var (
	// ErrNoRecord: the meeting, attendee, access key or token does not
	// exist.
	ErrNoRecord = errors.New("store: no such record")
	// ErrDuplicate: a unique key (meeting id, attendee id, client request
	// token, external user id within a meeting, access key id) is already
	// taken. On a multi-node engine this happens when another node won a
	// race; the domain retries its transaction once.
	ErrDuplicate = errors.New("store: duplicate key")
	// ErrUnavailable: the engine cannot serve requests right now (database
	// unreachable or restarting). Mapped to 503 with Retry-After.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrAborted: a transaction's callback panicked or called
	// runtime.Goexit; its writes were rolled back and the engine serves on.
	ErrAborted = errors.New("store: transaction callback panicked or exited")
)
