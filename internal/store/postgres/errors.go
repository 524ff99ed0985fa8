package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATE codes the engine acts on.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeReadOnlyTransaction  = "25006" // connected to a hot standby (failover)
	codeLockNotAvailable     = "55P03" // lock_timeout
	codeQueryCanceled        = "57014" // statement_timeout (or a cancelled context)
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03" // starting up, shutting down, recovering
	codeDatabaseDropped      = "57P04"
	codeIdleSessionTimeout   = "57P05"
	codeTooManyConnections   = "53300"
	codeIdleInTxTimeout      = "25P03"
)

// retryable reports whether a transaction that failed with err may simply
// run again: PostgreSQL aborted it to break a serialization conflict or a
// deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

// unavailableCode reports whether a server error means "the database cannot
// serve right now, try again later" rather than a bug or bad data.
func unavailableCode(code string) bool {
	switch code {
	case codeAdminShutdown, codeCrashShutdown, codeCannotConnectNow, codeDatabaseDropped,
		codeIdleSessionTimeout, codeIdleInTxTimeout, codeTooManyConnections,
		codeReadOnlyTransaction, codeLockNotAvailable, codeQueryCanceled:
		return true
	}
	// Class 08: connection exception.
	return len(code) == 5 && code[:2] == "08"
}

// classify maps a driver error to the store's sentinel errors, keeping the
// driver error in the chain:
//
//   - unique_violation: store.ErrDuplicate
//   - foreign_key_violation (a row for an absent meeting), pgx.ErrNoRows:
//     store.ErrNoRecord
//   - the database unreachable, restarting, shut down, refusing connections,
//     a hot standby, or a statement/lock timeout: store.ErrUnavailable
//   - ctx done: the error is returned with ctx.Err() in its chain (the API
//     layer maps context.DeadlineExceeded to 503 as well)
//
// Anything else (a bug, bad data) is returned wrapped but unclassified.
func classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNoRecord) || errors.Is(err, store.ErrDuplicate) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == codeUniqueViolation:
			return fmt.Errorf("postgres: %w: %w", store.ErrDuplicate, err)
		case pe.Code == codeForeignKeyViolation:
			return fmt.Errorf("postgres: %w: %w", store.ErrNoRecord, err)
		case pe.Code == codeQueryCanceled && ctx.Err() != nil:
			return ctxErr(ctx, err)
		case unavailableCode(pe.Code):
			return fmt.Errorf("postgres: %w: %w", store.ErrUnavailable, err)
		}
		return fmt.Errorf("postgres: %w", err)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %w", store.ErrNoRecord)
	}
	if ctx.Err() != nil {
		return ctxErr(ctx, err)
	}
	if connectionError(err) {
		return fmt.Errorf("postgres: %w: %w", store.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %w", err)
}

// ctxErr returns err with ctx's cause in its chain: the caller's
// ctx.Err(), or errOperationTimeout (ErrUnavailable) when the engine's own
// OperationTimeout ran out.
func ctxErr(ctx context.Context, err error) error {
	cause := context.Cause(ctx)
	if errors.Is(err, cause) {
		return fmt.Errorf("postgres: %w", err)
	}
	return fmt.Errorf("postgres: %w: %w", cause, err)
}

// connectionError reports whether err comes from the transport rather than
// from the server: a failed connection attempt, a timeout, a reset or closed
// socket, or a connection the driver has already closed.
func connectionError(err error) bool {
	var (
		ce *pgconn.ConnectError
		ne net.Error
	)
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.Timeout(err), pgconn.SafeToRetry(err):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}
