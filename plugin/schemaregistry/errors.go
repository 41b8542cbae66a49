package schemaregistry

import (
	"errors"
	"fmt"
)

// Error codes the registry puts in the error_code field of its error bodies. Errors without
// a more specific code carry the HTTP status (401, 403, 404, 409, 415, 422, 500...).
const (
	CodeSubjectNotFound           = 40401 // the subject has no versions
	CodeVersionNotFound           = 40402 // the subject has no such version
	CodeSchemaNotFound            = 40403 // no schema with that id, or not under that subject
	CodeIncompatibleSchema        = 409   // the schema breaks the subject's compatibility level
	CodeInvalidSchema             = 42201 // the schema does not parse, or its type is unknown
	CodeInvalidVersion            = 42202 // a version that is neither 1..2^31-1 nor "latest"
	CodeInvalidCompatibilityLevel = 42203
	CodeStoreError                = 50001 // the registry's backing store failed
	CodeOperationTimeout          = 50002 // the registry timed out
	CodeForwardingError           = 50003 // a follower could not forward to the primary
)

// Error is an error answer from the registry. Use [errors.As] to read it, or [errors.Is]
// with the sentinels below ([ErrSubjectNotFound], ...) to test its code:
//
//	var rerr *schemaregistry.Error
//	if errors.As(err, &rerr) && rerr.Code == schemaregistry.CodeIncompatibleSchema { ... }
type Error struct {
	Method     string // the request's method
	URL        string // the request's URL, without credentials
	StatusCode int    // the HTTP status
	Code       int    // the registry's error_code, or the HTTP status when the body had none
	Message    string // the registry's message, or the start of a body that was not an error object
}

func (e *Error) Error() string {
	name := codeNames[e.Code]
	if name == "" {
		name = "error"
	}
	msg := fmt.Sprintf("schemaregistry: %s %s: %s (HTTP %d, error code %d)", e.Method, e.URL, name, e.StatusCode, e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Is reports whether target is a sentinel with e's code (a sentinel is an *Error with only
// Code set), so that errors.Is(err, ErrSubjectNotFound) works through wrapping.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Method == "" && t.URL == "" && t.StatusCode == 0 && t.Code == e.Code
}

// Retriable reports whether the same request may succeed later or at another registry
// instance: a 5xx answer or 429 (rate limited). The client fails over to the next URL on
// these itself.
func (e *Error) Retriable() bool {
	return e.StatusCode >= 500 || e.StatusCode == 429
}

// Sentinels for [errors.Is]; each matches an [*Error] with that code.
var (
	ErrSubjectNotFound    = &Error{Code: CodeSubjectNotFound}
	ErrVersionNotFound    = &Error{Code: CodeVersionNotFound}
	ErrSchemaNotFound     = &Error{Code: CodeSchemaNotFound}
	ErrIncompatibleSchema = &Error{Code: CodeIncompatibleSchema}
	ErrInvalidSchema      = &Error{Code: CodeInvalidSchema}
	ErrInvalidVersion     = &Error{Code: CodeInvalidVersion}
	ErrUnauthorized       = &Error{Code: 401}
	ErrForbidden          = &Error{Code: 403}
)

var codeNames = map[int]string{
	CodeSubjectNotFound:           "subject not found",
	CodeVersionNotFound:           "version not found",
	CodeSchemaNotFound:            "schema not found",
	CodeIncompatibleSchema:        "incompatible schema",
	CodeInvalidSchema:             "invalid schema",
	CodeInvalidVersion:            "invalid version",
	CodeInvalidCompatibilityLevel: "invalid compatibility level",
	CodeStoreError:                "registry store error",
	CodeOperationTimeout:          "registry operation timed out",
	CodeForwardingError:           "registry forwarding error",
	400:                           "bad request",
	401:                           "unauthorized",
	403:                           "forbidden",
	404:                           "not found",
	405:                           "method not allowed",
	406:                           "not acceptable",
	415:                           "unsupported media type",
	422:                           "unprocessable entity",
	429:                           "rate limited",
	500:                           "registry internal error",
	502:                           "bad gateway",
	503:                           "registry unavailable",
	504:                           "gateway timeout",
}

// ErrNoSubject is returned by a record-name subject strategy for a schema without a record
// name: a JSON Schema without a "title".
var ErrNoSubject = errors.New("schemaregistry: the schema has no record name for the subject name strategy")
