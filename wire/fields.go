package wire

import (
	"bytes"
	"fmt"
)

// Helpers shared by the message files: fields Kafka declares non-nullable (arrays of
// primitives, bytes), the fewest bytes a field takes on the wire (for the minimum element
// sizes handed to [Reader.ArrayLen]), and the error wrapping of Decode methods.

// minLenSize is the fewest bytes a length prefix takes: 1 when flexible (uvarint), else 2
// for a string (short) or 4 for bytes and arrays.
func minLenSize(flexible, short bool) int {
	switch {
	case flexible:
		return 1
	case short:
		return 2
	default:
		return 4
	}
}

// tagsSize is the fewest bytes a tagged-field section takes: 1 when flexible, else none.
func tagsSize(flexible bool) int {
	if flexible {
		return 1
	}
	return 0
}

// appendStringArray appends a non-nullable array of non-null strings; nil encodes as empty.
func appendStringArray(dst []byte, ss []string, flexible bool) []byte {
	dst = AppendArrayLen(dst, len(ss), flexible)
	for _, s := range ss {
		dst = AppendString(dst, s, flexible)
	}
	return dst
}

// readStringArray reads a non-nullable array of non-null strings. An empty array yields nil.
func readStringArray(r *Reader, flexible bool) []string {
	n := r.ArrayLenNonNull(flexible, minLenSize(flexible, true))
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.String(flexible)
	}
	return out
}

// appendRequiredBytes appends bytes Kafka declares non-nullable: nil is written as empty.
func appendRequiredBytes(dst, b []byte, flex bool) []byte {
	if b == nil {
		b = []byte{}
	}
	return AppendBytes(dst, b, flex)
}

// readRequiredBytes reads bytes Kafka declares non-nullable and returns a copy (non-nil, even
// when empty); null is an error.
func readRequiredBytes(r *Reader, flex bool) []byte {
	b := r.Bytes(flex)
	if r.Err() != nil {
		return nil
	}
	if b == nil {
		r.Failf("null where bytes are required")
		return nil
	}
	return bytes.Clone(b)
}

// decodeError wraps a Decode failure with the API name, version and message kind ("request"
// or "response"), keeping err matchable with errors.Is (for [ErrTruncated]).
func decodeError(key, version int16, kind string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("wire: %s v%d %s: %w", APIName(key), version, kind, err)
}
