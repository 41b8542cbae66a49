package wire

import "fmt"

// Error is a Kafka protocol error code. The known codes are package variables
// ([ErrNotLeaderOrFollower], ...), so errors.Is(err, wire.ErrNotLeaderOrFollower) works; an
// Error for a code this package does not know still prints its number and matches any other
// Error with the same code.
type Error struct {
	Code int16
	// Name is the name Kafka gives the code, such as NOT_LEADER_OR_FOLLOWER.
	Name string
	// Retriable reports whether the Java client retries a request that met this error.
	Retriable bool
	// RefreshMetadata reports whether the error means the client's metadata is stale.
	RefreshMetadata bool
	// Description is Kafka's description of the error.
	Description string
}

// Error returns the name, code and description.
func (e *Error) Error() string {
	return fmt.Sprintf("kafka: %s (%d): %s", e.Name, e.Code, e.Description)
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

// ErrorForCode returns nil for code 0, the package variable for a known code, and a new
// non-retriable *Error named UNKNOWN for any other.
func ErrorForCode(code int16) error {
	if code == 0 {
		return nil
	}
	for _, e := range knownErrors {
		if e.Code == code {
			return e
		}
	}
	for _, e := range groupErrors {
		if e.Code == code {
			return e
		}
	}
	return &Error{Code: code, Name: "UNKNOWN", Description: "error code unknown to this client"}
}
