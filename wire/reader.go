package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrTruncated is the error a [Reader] keeps when it needs more bytes than it holds.
var ErrTruncated = errors.New("wire: truncated input")

// Reader decodes Kafka primitives from a bounded byte slice. It keeps the first error it
// meets ("sticky"); after that every read returns a zero value, so a decoder reads all its
// fields and checks [Reader.Err] once at the end. Every length it reads is checked against
// the bytes left before anything is allocated.
//
// Slices returned by [Reader.Bytes] and friends alias the input; strings are copies.
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Reset makes r read b from the start with no error.
func (r *Reader) Reset(b []byte) { *r = Reader{b: b} }

// Err returns the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Remaining returns how many bytes are left unread.
func (r *Reader) Remaining() int { return len(r.b) - r.off }

// Offset returns how many bytes have been read.
func (r *Reader) Offset() int { return r.off }

// Fail records err as the reader's error if it has none yet, and stops further reads.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
		r.off = len(r.b)
	}
}

// Failf records a formatted error, as [Reader.Fail].
func (r *Reader) Failf(format string, args ...any) { r.Fail(fmt.Errorf("wire: "+format, args...)) }

// Complete returns the reader's error, or an error if unread bytes remain.
func (r *Reader) Complete() error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.b) {
		return fmt.Errorf("wire: %d unexpected trailing bytes", len(r.b)-r.off)
	}
	return nil
}

// take returns the next n bytes, or nil after recording ErrTruncated.
func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.Fail(ErrTruncated)
		return nil
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s
}

// Raw returns the next n bytes as a sub-slice of the input (no copy).
func (r *Reader) Raw(n int) []byte { return r.take(n) }

// Int8 reads one signed byte.
func (r *Reader) Int8() int8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return int8(b[0])
}

// Bool reads one byte; any non-zero value is true.
func (r *Reader) Bool() bool { return r.Int8() != 0 }

// Int16 reads a big-endian int16.
func (r *Reader) Int16() int16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return int16(binary.BigEndian.Uint16(b))
}

// Int32 reads a big-endian int32.
func (r *Reader) Int32() int32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

// Uint32 reads a big-endian uint32.
func (r *Reader) Uint32() uint32 { return uint32(r.Int32()) }

// Int64 reads a big-endian int64.
func (r *Reader) Int64() int64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// Float64 reads a big-endian IEEE 754 double.
func (r *Reader) Float64() float64 { return math.Float64frombits(uint64(r.Int64())) }

// UUID reads 16 raw bytes.
func (r *Reader) UUID() UUID {
	var id UUID
	copy(id[:], r.take(16))
	return id
}

// Uvarint reads an unsigned varint of at most 5 bytes that fits in 32 bits.
func (r *Reader) Uvarint() uint32 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 || n > 5 || v > math.MaxUint32 {
		if n == 0 {
			r.Fail(ErrTruncated)
		} else {
			r.Failf("bad unsigned varint")
		}
		return 0
	}
	r.off += n
	return uint32(v)
}

// Varint reads a zigzag varint that fits in an int32.
func (r *Reader) Varint() int32 {
	v := r.varint(5)
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.Failf("varint %d out of int32 range", v)
		return 0
	}
	return int32(v)
}

// Varlong reads a zigzag varlong.
func (r *Reader) Varlong() int64 { return r.varint(10) }

func (r *Reader) varint(maxLen int) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 || n > maxLen {
		if n == 0 {
			r.Fail(ErrTruncated)
		} else {
			r.Failf("bad varint")
		}
		return 0
	}
	r.off += n
	return v
}

// length reads a string/bytes/array length: int16 or int32 (classic) or uvarint N+1
// (compact). It returns -1 for null and fails on other negative lengths.
func (r *Reader) length(flexible, short bool) int {
	var n int
	switch {
	case flexible:
		n = int(r.Uvarint()) - 1
	case short:
		n = int(r.Int16())
	default:
		n = int(r.Int32())
	}
	if r.err != nil {
		return 0
	}
	if n < -1 {
		r.Failf("negative length %d", n)
		return 0
	}
	return n
}

// String reads a non-null string (int16 length, or compact when flexible).
func (r *Reader) String(flexible bool) string {
	n := r.length(flexible, true)
	if n < 0 {
		r.Failf("null where a string is required")
		return ""
	}
	return string(r.take(n))
}

// StringBytes reads a non-null string as [Reader.String] does, but returns its bytes as a
// sub-slice of the input instead of a copy, so a decoder can compare them with a string it
// already holds without allocating.
func (r *Reader) StringBytes(flexible bool) []byte {
	n := r.length(flexible, true)
	if n < 0 {
		r.Failf("null where a string is required")
		return nil
	}
	return r.take(n)
}

// NullableString reads a string that may be null.
func (r *Reader) NullableString(flexible bool) *string {
	n := r.length(flexible, true)
	if n < 0 || r.err != nil {
		return nil
	}
	b := r.take(n)
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

// Bytes reads bytes that may be null (int32 length, or compact when flexible). Null yields
// nil; empty yields a non-nil empty slice. The result aliases the input.
func (r *Reader) Bytes(flexible bool) []byte {
	n := r.length(flexible, false)
	if n < 0 || r.err != nil {
		return nil
	}
	return r.take(n)
}

// VarintBytes reads bytes with a zigzag varint length, as the record format stores keys,
// values and header values: -1 is null and yields nil, other negative lengths are errors.
// The result aliases the input.
func (r *Reader) VarintBytes() []byte {
	n := r.Varint()
	if r.err != nil || n == -1 {
		return nil
	}
	if n < -1 {
		r.Failf("negative length %d", n)
		return nil
	}
	return r.take(int(n))
}

// ArrayLen reads an array count (int32, or compact when flexible) and returns it, or -1 for
// a null array. Each element takes at least minElemSize bytes on the wire (use 1 when unsure),
// so a count larger than the bytes left could hold is rejected before anything is allocated.
func (r *Reader) ArrayLen(flexible bool, minElemSize int) int {
	n := r.length(flexible, false)
	if r.err != nil {
		return 0
	}
	if minElemSize < 1 {
		minElemSize = 1
	}
	if n > 0 && n > r.Remaining()/minElemSize {
		r.Failf("array of %d elements cannot fit in %d bytes", n, r.Remaining())
		return 0
	}
	return n
}

// ArrayLenNonNull reads an array count as [Reader.ArrayLen] does, for an array Kafka declares
// non-nullable: a null count is an error.
func (r *Reader) ArrayLenNonNull(flexible bool, minElemSize int) int {
	n := r.ArrayLen(flexible, minElemSize)
	if n < 0 {
		r.Failf("null where an array is required")
		return 0
	}
	return n
}

// Tags reads a tagged-field section when flexible, handing each field to fn (which may be
// nil: every field is then skipped). fn's data aliases the input. Tags must ascend.
func (r *Reader) Tags(flexible bool, fn func(tag uint32, data []byte)) {
	if !flexible {
		return
	}
	n := r.Uvarint()
	if r.err != nil {
		return
	}
	if int(n) > r.Remaining()/2 { // each field takes at least 2 bytes
		r.Failf("tagged-field count %d cannot fit in %d bytes", n, r.Remaining())
		return
	}
	last := int64(-1)
	for i := uint32(0); i < n && r.err == nil; i++ {
		tag := r.Uvarint()
		size := r.Uvarint()
		if r.err != nil {
			return
		}
		if int64(tag) <= last {
			r.Failf("tagged fields out of order (%d after %d)", tag, last)
			return
		}
		last = int64(tag)
		data := r.take(int(size))
		if r.err == nil && fn != nil {
			fn(tag, data)
		}
	}
}

// reuseSlice returns a slice of n elements backed by s's array when it is large enough, so a
// decoder into a reused message does not allocate. Elements keep their old contents (their
// nested slices keep their capacity); the caller overwrites every field. n <= 0 gives nil.
func reuseSlice[T any](s []T, n int) []T {
	if n <= 0 {
		return nil
	}
	if cap(s) >= n {
		return s[:n]
	}
	ns := make([]T, n)
	copy(ns, s[:cap(s)])
	return ns
}
