// Package wire is gregor's hand-written implementation of the Kafka protocol: the primitive
// types, request and response headers, the request and response messages a producer uses,
// RecordBatch v2 and the protocol error codes.
//
// Encoders append to a caller's buffer and never allocate beyond growing it. Decoders read
// from a bounded byte slice through [Reader], which keeps the first error it meets and checks
// every length against the bytes left before allocating, so hostile input yields an error,
// never a panic or an outsized allocation.
package wire

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// AppendInt8 appends v.
func AppendInt8(dst []byte, v int8) []byte { return append(dst, byte(v)) }

// AppendBool appends v as one byte, 1 or 0.
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// AppendInt16 appends v big-endian.
func AppendInt16(dst []byte, v int16) []byte { return binary.BigEndian.AppendUint16(dst, uint16(v)) }

// AppendInt32 appends v big-endian.
func AppendInt32(dst []byte, v int32) []byte { return binary.BigEndian.AppendUint32(dst, uint32(v)) }

// AppendUint32 appends v big-endian.
func AppendUint32(dst []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(dst, v) }

// AppendInt64 appends v big-endian.
func AppendInt64(dst []byte, v int64) []byte { return binary.BigEndian.AppendUint64(dst, uint64(v)) }

// AppendFloat64 appends v as a big-endian IEEE 754 double.
func AppendFloat64(dst []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(v))
}

// AppendUvarint appends v as an unsigned base-128 varint.
func AppendUvarint(dst []byte, v uint32) []byte { return binary.AppendUvarint(dst, uint64(v)) }

// AppendVarint appends v as a zigzag varint, as the record format uses.
func AppendVarint(dst []byte, v int32) []byte { return binary.AppendVarint(dst, int64(v)) }

// AppendVarlong appends v as a zigzag varlong, as the record format uses.
func AppendVarlong(dst []byte, v int64) []byte { return binary.AppendVarint(dst, v) }

// AppendVarintBytes appends b with a zigzag varint length, -1 when b is nil (null): the
// encoding of record keys, values and header values.
func AppendVarintBytes(dst []byte, b []byte) []byte {
	if b == nil {
		return append(dst, 1) // zigzag(-1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// AppendVarintString appends s with a zigzag varint length: the encoding of record header
// keys, which are never null.
func AppendVarintString(dst []byte, s string) []byte {
	dst = binary.AppendVarint(dst, int64(len(s)))
	return append(dst, s...)
}

// varlongSize returns the number of bytes AppendVarlong(v) appends.
func varlongSize(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	return (bits.Len64(u|1) + 6) / 7
}

// varintBytesSize returns the number of bytes AppendVarintBytes appends for a value of n
// bytes, or for null when n < 0.
func varintBytesSize(n int) int {
	if n < 0 {
		return 1
	}
	return varlongSize(int64(n)) + n
}

// AppendUUID appends the 16 raw bytes of id.
func AppendUUID(dst []byte, id UUID) []byte { return append(dst, id[:]...) }

// AppendString appends a non-null string: int16 length, or compact (uvarint N+1) when flexible.
func AppendString(dst []byte, s string, flexible bool) []byte {
	if flexible {
		dst = AppendUvarint(dst, uint32(len(s))+1)
	} else {
		dst = AppendInt16(dst, int16(len(s)))
	}
	return append(dst, s...)
}

// AppendNullableString appends s, or null (-1, or 0 when flexible) when s is nil.
func AppendNullableString(dst []byte, s *string, flexible bool) []byte {
	if s == nil {
		if flexible {
			return append(dst, 0)
		}
		return AppendInt16(dst, -1)
	}
	return AppendString(dst, *s, flexible)
}

// AppendBytes appends b with an int32 length, or compact (uvarint N+1) when flexible.
// A nil b is encoded as null; use a non-nil empty slice for empty bytes.
func AppendBytes(dst []byte, b []byte, flexible bool) []byte {
	if b == nil {
		if flexible {
			return append(dst, 0)
		}
		return AppendInt32(dst, -1)
	}
	if flexible {
		dst = AppendUvarint(dst, uint32(len(b))+1)
	} else {
		dst = AppendInt32(dst, int32(len(b)))
	}
	return append(dst, b...)
}

// AppendArrayLen appends an array count: int32, or compact (uvarint N+1) when flexible.
// n < 0 encodes a null array.
func AppendArrayLen(dst []byte, n int, flexible bool) []byte {
	if n < 0 {
		if flexible {
			return append(dst, 0)
		}
		return AppendInt32(dst, -1)
	}
	if flexible {
		return AppendUvarint(dst, uint32(n)+1)
	}
	return AppendInt32(dst, int32(n))
}

// AppendEmptyTags appends an empty tagged-field section when flexible, nothing otherwise.
func AppendEmptyTags(dst []byte, flexible bool) []byte {
	if flexible {
		return append(dst, 0)
	}
	return dst
}

// TaggedField is one raw field of a tagged-field section.
type TaggedField struct {
	Tag  uint32
	Data []byte
}

// AppendTags appends a tagged-field section holding fields, which must be in ascending tag
// order. It writes nothing when not flexible.
func AppendTags(dst []byte, fields []TaggedField, flexible bool) []byte {
	if !flexible {
		return dst
	}
	dst = AppendUvarint(dst, uint32(len(fields)))
	for _, f := range fields {
		dst = AppendUvarint(dst, f.Tag)
		dst = AppendUvarint(dst, uint32(len(f.Data)))
		dst = append(dst, f.Data...)
	}
	return dst
}

// InsertUvarintLen inserts, at offset start of dst, the unsigned varint length of dst[start:],
// moving those bytes up. A tagged field's size prefix is such a varint, whose width is not
// known until its data is written, so it cannot be back-patched in place.
func InsertUvarintLen(dst []byte, start int) []byte {
	n := len(dst) - start
	var tmp [binary.MaxVarintLen32]byte
	w := binary.PutUvarint(tmp[:], uint64(n))
	dst = append(dst, tmp[:w]...)
	copy(dst[start+w:], dst[start:start+n])
	copy(dst[start:], tmp[:w])
	return dst
}

// UUID is a Kafka UUID (topic ids): 16 raw bytes. The zero value is the null UUID.
type UUID [16]byte

// PutInt32 overwrites 4 bytes of b at off with v big-endian; used to back-patch lengths.
func PutInt32(b []byte, off int, v int32) { binary.BigEndian.PutUint32(b[off:], uint32(v)) }
