// Package store holds what the domain packages (meetings, access) and the
// storage engines (sqlite, postgres) share without depending on each other:
// the errors an engine returns for the domain to tell apart, and what both
// engines do alike around a transaction (CallAborting) and at Close (Gate).
package store

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
)

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

// CallAborting calls fn, a transaction's callback, and turns a panic in it
// into an error matching ErrAborted (logged with its stack). If fn calls
// runtime.Goexit, onGoexit runs with such an error before the goroutine
// ends (nothing can stop it), so that the engine can roll back and answer.
// engine prefixes the messages.
func CallAborting(log *slog.Logger, engine string, fn func() error, onGoexit func(error)) (err error) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if v := recover(); v != nil {
			log.Error(engine+": panic in a transaction callback; its writes are rolled back", "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("%s: %w: panic: %v", engine, ErrAborted, v)
			return
		}
		// Since Go 1.21 a nil panic value is a *runtime.PanicNilError, so
		// nothing recovered means runtime.Goexit.
		log.Error(engine + ": runtime.Goexit in a transaction callback; its writes are rolled back")
		onGoexit(fmt.Errorf("%s: %w: runtime.Goexit", engine, ErrAborted))
	}()
	err = fn()
	returned = true
	return err
}
