// Package apierr holds the transport-neutral errors that every layer returns
// and the one table that maps them to the AWS wire (D1): exception name and
// HTTP status. Handlers never write wire errors themselves.
package apierr

import (
	"errors"
	"fmt"
)

// Kind is one of the service's modeled exceptions, plus the route-level
// UnknownOperationException of D4.
type Kind int

const (
	BadRequest Kind = iota + 1
	LimitExceeded
	TooManyTags
	Unauthorized
	Forbidden
	NotFound
	ResourceNotFound
	Conflict
	UnprocessableEntity
	Throttling
	ServiceFailure
	ServiceUnavailable
	UnknownOperation
)

var table = map[Kind]struct {
	code   string
	status int
}{
	BadRequest:          {"BadRequestException", 400},
	LimitExceeded:       {"LimitExceededException", 400},
	TooManyTags:         {"TooManyTagsException", 400},
	Unauthorized:        {"UnauthorizedException", 401},
	Forbidden:           {"ForbiddenException", 403},
	NotFound:            {"NotFoundException", 404},
	ResourceNotFound:    {"ResourceNotFoundException", 404},
	Conflict:            {"ConflictException", 409},
	UnprocessableEntity: {"UnprocessableEntityException", 422},
	Throttling:          {"ThrottlingException", 429},
	ServiceFailure:      {"ServiceFailureException", 500},
	ServiceUnavailable:  {"ServiceUnavailableException", 503},
	UnknownOperation:    {"UnknownOperationException", 404},
}

// Code is the exception name sent in X-Amzn-ErrorType and the body's Code.
func (k Kind) Code() string { return table[k].code }

// Status is the HTTP status the model gives the exception.
func (k Kind) Status() int { return table[k].status }

// Error is an error the API reports to the caller. Message must never contain
// secrets or sensitive member values.
type Error struct {
	Kind    Kind
	Message string
	// ResourceName is set on ResourceNotFoundException and TooManyTagsException.
	ResourceName string
	// RetryAfterSeconds is sent as Retry-After on ServiceUnavailableException.
	RetryAfterSeconds int
}

func (e *Error) Error() string { return e.Kind.Code() + ": " + e.Message }

// New returns an Error of the given kind with a formatted message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err is an *Error of this kind.
func Is(err error, kind Kind) bool {
	e, ok := As(err)
	return ok && e.Kind == kind
}
