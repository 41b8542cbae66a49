package schemaregistry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The Confluent wire format of a key or value: the magic byte 0, the schema id as 4 bytes
// big-endian, then (Protobuf only) the message indexes, then the encoded payload.
const (
	MagicByte  = 0
	HeaderSize = 5
)

// maxMessageIndexes caps the depth of a message-index list: messages nest far less deep.
const maxMessageIndexes = 100

// ErrBadWireFormat is matched by the errors of [ParseHeader] and [ParseMessageIndexes].
var ErrBadWireFormat = errors.New("schemaregistry: not in the schema registry wire format")

// AppendHeader appends the magic byte and id to dst.
func AppendHeader(dst []byte, id int) []byte {
	return binary.BigEndian.AppendUint32(append(dst, MagicByte), uint32(id))
}

// ParseHeader splits b into its schema id and the rest (for Protobuf, the message indexes
// and the payload).
func ParseHeader(b []byte) (id int, rest []byte, err error) {
	if len(b) < HeaderSize {
		return 0, nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrBadWireFormat, len(b), HeaderSize)
	}
	if b[0] != MagicByte {
		return 0, nil, fmt.Errorf("%w: magic byte %d, want %d", ErrBadWireFormat, b[0], MagicByte)
	}
	return int(binary.BigEndian.Uint32(b[1:5])), b[HeaderSize:], nil
}

// AppendMessageIndexes appends a Protobuf message's path in its file: its index among the
// file's top-level messages, then among each enclosing message's nested messages. The
// list is a zigzag varint count followed by zigzag varint indexes, and the common [0]
// (the file's first message) is the single byte 0.
func AppendMessageIndexes(dst []byte, indexes []int) []byte {
	if len(indexes) == 1 && indexes[0] == 0 {
		return append(dst, 0)
	}
	dst = binary.AppendVarint(dst, int64(len(indexes)))
	for _, i := range indexes {
		dst = binary.AppendVarint(dst, int64(i))
	}
	return dst
}

// ParseMessageIndexes reads a message-index list from the start of b and returns it and
// the payload after it. The single byte 0 reads as [0].
func ParseMessageIndexes(b []byte) (indexes []int, rest []byte, err error) {
	n, size := binary.Varint(b)
	if size <= 0 {
		return nil, nil, fmt.Errorf("%w: truncated message-index count", ErrBadWireFormat)
	}
	b = b[size:]
	if n == 0 {
		return []int{0}, b, nil
	}
	// Each index takes at least a byte, so a count beyond what is left is a lie.
	if n < 0 || n > maxMessageIndexes || n > int64(len(b)) {
		return nil, nil, fmt.Errorf("%w: message-index count %d with %d bytes left", ErrBadWireFormat, n, len(b))
	}
	indexes = make([]int, n)
	for i := range indexes {
		v, size := binary.Varint(b)
		if size <= 0 {
			return nil, nil, fmt.Errorf("%w: truncated message index %d of %d", ErrBadWireFormat, i, n)
		}
		if v < 0 || v > math.MaxInt32 {
			return nil, nil, fmt.Errorf("%w: message index %d", ErrBadWireFormat, v)
		}
		indexes[i] = int(v)
		b = b[size:]
	}
	return indexes, b, nil
}
