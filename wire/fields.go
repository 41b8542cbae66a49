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

// readArrayLen reads the count of an array Kafka declares non-nullable: a null count is an
// error, as in Kafka's generated decoders. minElemSize is passed on to [Reader.ArrayLen].
func readArrayLen(r *Reader, flexible bool, minElemSize int) int {
	n := r.ArrayLen(flexible, minElemSize)
	if n < 0 {
		r.Failf("null where an array is required")
		return 0
	}
	return n
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
	n := readArrayLen(r, flexible, minLenSize(flexible, true))
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.String(flexible)
	}
	return out
}

// appendInt32Array appends a non-nullable array of int32; nil encodes as empty.
func appendInt32Array(dst []byte, vs []int32, flexible bool) []byte {
	dst = AppendArrayLen(dst, len(vs), flexible)
	for _, v := range vs {
		dst = AppendInt32(dst, v)
	}
	return dst
}

// readInt32Array reads a non-nullable array of int32. An empty array yields nil.
func readInt32Array(r *Reader, flexible bool) []int32 {
	n := readArrayLen(r, flexible, 4)
	if n == 0 {
		return nil
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = r.Int32()
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
