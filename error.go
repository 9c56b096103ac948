package leadworker

import (
	"errors"
	"fmt"
)

// Error codes. Callers branch on them with ErrorCode; the HTTP layer maps
// each one to a status.
const (
	EInvalid  = "invalid"   // the input is malformed or breaks a rule
	ENotFound = "not_found" // the lead or partner does not exist
	EConflict = "conflict"  // the lead's state forbids the change
	EInternal = "internal"  // anything else; details are logged, not shown
)

// Error is a domain error with a machine-readable code, a message a person
// can act on and, for invalid input, the offending field.
type Error struct {
	Code    string
	Message string
	Field   string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf returns an EInvalid error naming field.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Message: fmt.Sprintf(format, args...), Field: field}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EInternal
	}
}
