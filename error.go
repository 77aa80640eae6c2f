package stripesync

import (
	"errors"
	"fmt"
)

// ErrorCode is a stable, machine-readable error class. Callers branch on the
// code (retry, report, map to an HTTP status), never on message text.
type ErrorCode string

// The error codes. Adapters translate upstream failures into one of these at
// their boundary.
const (
	EINVALID      ErrorCode = "invalid"       // bad input; retrying unchanged will fail again
	ENOTFOUND     ErrorCode = "not_found"     // the object does not exist (or was deleted)
	ECONFLICT     ErrorCode = "conflict"      // the request conflicts with current state
	EUNAUTHORIZED ErrorCode = "unauthorized"  // credentials missing, wrong or expired
	ERATELIMITED  ErrorCode = "rate_limited"  // slow down and retry later
	ELIMIT        ErrorCode = "limit_reached" // a quota (e.g. the CRM's daily API allocation) is spent; stop the run
	EUNAVAILABLE  ErrorCode = "unavailable"   // transient outage or an outcome we could not learn; retry later
	EINTERNAL     ErrorCode = "internal"      // a bug or an unexpected state
)

// Error is the domain error. Code is stable; Message is safe to show an
// operator (it never carries secrets); Err keeps the cause for logs and
// errors.Is / errors.As.
type Error struct {
	Code    ErrorCode
	Message string
	Err     error
}

func (e *Error) Error() string {
	switch {
	case e.Message != "" && e.Err != nil:
		return e.Message + ": " + e.Err.Error()
	case e.Message != "":
		return e.Message
	case e.Err != nil:
		return e.Err.Error()
	}
	return string(e.Code)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with the given code and message that wraps err.
func WrapError(code ErrorCode, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func CodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// MessageOf returns the operator-safe message of the first *Error in err's
// chain, or a generic text for other errors (whose text may hold details not
// fit for an operator or a customer).
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	if err == nil {
		return ""
	}
	return "internal error"
}

// Retryable reports whether the same operation may succeed if tried again
// later without changing its input. It is the one rule every worker uses
// (account push, write-back, receipts, triggers, events) to choose between
// trying again, within its attempt cap, and recording a failure for good.
//
// Only a verdict on the input itself is final: invalid data, an object
// that does not exist, a conflict with the current state. Everything else
// is worth another try: an outage, a rate limit or a spent quota pass; bad
// credentials are the operator's to fix and say nothing about the record;
// an internal error (a database hiccup, an unexpected answer) may not
// recur. A nil error is not retryable: there is nothing to retry.
func Retryable(err error) bool {
	switch code := CodeOf(err); code {
	case "", EINVALID, ENOTFOUND, ECONFLICT:
		return false
	case EUNAUTHORIZED, ERATELIMITED, ELIMIT, EUNAVAILABLE, EINTERNAL:
		return true
	default:
		return true // a code added later: retrying is the safe default
	}
}
