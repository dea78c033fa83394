package regie

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it. The web layer maps
// each kind to one HTTP status in a single place.
type Kind string

const (
	Invalid      Kind = "invalid"      // the request is malformed or breaks a rule; nothing changed
	NotFound     Kind = "not_found"    // the thing named does not exist
	Conflict     Kind = "conflict"     // the request contradicts the current state
	Unauthorized Kind = "unauthorized" // no valid credentials
	Forbidden    Kind = "forbidden"    // valid credentials, wrong role or scope
	Unavailable  Kind = "unavailable"  // a dependency is down; retry later
	Internal     Kind = "internal"     // a bug or an unexpected failure
)

// Error is the application error. Code is a stable, documented, machine-readable
// string (for example "bsn_invalid"); Message is for people and may change.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Field names the request field at fault, when there is one.
	Field string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error of the given kind and code.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an Invalid error about one request field.
func FieldError(field, code, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the kind of an application error anywhere in err's chain,
// "" for nil, and Internal for any other error.
func ErrorKind(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// ErrorCode returns the code of an application error anywhere in err's chain,
// "" for nil, and "internal" for any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "internal"
}
