package compress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"

	"github.com/golang/snappy"
)

// The xerial snappy-java stream format (SnappyOutputStream), which the Java client writes:
// a 16-byte header — the magic 0x82 "SNAPPY" 0x00, int32 version 1, int32 minimum
// compatible version 1, both big-endian — then, for every input block of at most 32 KiB,
// an int32 big-endian length and that many bytes of raw snappy block.
const (
	xerialHeaderLen  = 16
	xerialVersion    = 1
	snappyBlockInput = 32 << 10
)

var xerialMagic = [8]byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// snappyScratch holds buffers of a block's worst case, for the blocks appendSnappy cannot
// encode in place.
var snappyScratch = sync.Pool{New: func() any {
	b := make([]byte, snappy.MaxEncodedLen(snappyBlockInput))
	return &b
}}

// appendSnappy appends src in xerial framing. An empty src yields the header alone. A block
// is encoded in place where dst has room for its worst case; where it has not (near the end
// of a dst sized to the expected output, or in a dst with no room reserved) it is encoded
// aside and copied in, dst growing only if the block does not fit.
func appendSnappy(dst, src []byte) []byte {
	dst = append(dst, xerialMagic[:]...)
	dst = binary.BigEndian.AppendUint32(dst, xerialVersion)
	dst = binary.BigEndian.AppendUint32(dst, xerialVersion)
	var scratch *[]byte
	for len(src) > 0 {
		n := min(len(src), snappyBlockInput)
		off := len(dst)
		var block []byte
		if cap(dst)-off-4 >= snappy.MaxEncodedLen(n) {
			// Encode writes into the spare capacity in place, as it is long enough.
			block = snappy.Encode(dst[off+4:cap(dst)], src[:n])
			dst = dst[:off+4+len(block)]
		} else {
			if scratch == nil {
				scratch = snappyScratch.Get().(*[]byte)
			}
			block = snappy.Encode(*scratch, src[:n])
			dst = append(dst, 0, 0, 0, 0)
			dst = append(dst, block...)
		}
		binary.BigEndian.PutUint32(dst[off:], uint32(len(block)))
		src = src[n:]
	}
	if scratch != nil {
		snappyScratch.Put(scratch)
	}
	return dst
}

var (
	errXerialChunk  = errors.New("snappy: truncated or negative xerial chunk length")
	errXerialHeader = errors.New("snappy: bad xerial header")
)

// isXerial reports whether src starts with a full xerial header; like snappy-java's
// SnappyInputStream, anything else is read as one raw snappy block.
func isXerial(src []byte) bool {
	return len(src) >= xerialHeaderLen && bytes.Equal(src[:len(xerialMagic)], xerialMagic[:])
}

// checkXerialHeader checks the version of a header that isXerial accepted, as
// SnappyInputStream does (the version must be at least the minimum compatible, 1).
func checkXerialHeader(h []byte) error {
	if int32(binary.BigEndian.Uint32(h[8:12])) < xerialVersion {
		return errXerialHeader
	}
	return nil
}

// nextXerialChunk splits the next raw snappy block off rest, the part of a xerial stream
// after its header. It skips the header of a concatenated stream where a chunk length
// would be, as snappy-java does. ok is false at the end of the stream.
func nextXerialChunk(rest []byte) (block, after []byte, ok bool, err error) {
	for len(rest) > 0 {
		if len(rest) >= 4 && bytes.Equal(rest[:4], xerialMagic[:4]) {
			if !isXerial(rest) {
				return nil, nil, false, errXerialHeader
			}
			if err := checkXerialHeader(rest); err != nil {
				return nil, nil, false, err
			}
			rest = rest[xerialHeaderLen:]
			continue
		}
		if len(rest) < 4 {
			return nil, nil, false, errXerialChunk
		}
		n := int32(binary.BigEndian.Uint32(rest))
		if n < 0 || int64(n) > int64(len(rest)-4) {
			return nil, nil, false, errXerialChunk
		}
		return rest[4 : 4+n], rest[4+n:], true, nil
	}
	return nil, nil, false, nil
}

// decompressSnappy reads a xerial stream or a single raw snappy block. Every block's
// decoded length comes from its header: a first pass validates the framing and sums them,
// so the output is checked against maxSize and allocated once, before anything is decoded.
func decompressSnappy(dst, src []byte, maxSize int) ([]byte, error) {
	if !isXerial(src) {
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return dst, corrupt(err)
		}
		if n > maxSize {
			return dst, tooLarge(maxSize)
		}
		out, err := appendSnappyBlock(reserve(dst, n), src, n)
		if err != nil {
			return dst, err
		}
		return out, nil
	}
	if err := checkXerialHeader(src); err != nil {
		return dst, corrupt(err)
	}
	body := src[xerialHeaderLen:]
	total := 0
	for rest := body; ; {
		block, after, ok, err := nextXerialChunk(rest)
		if err != nil {
			return dst, corrupt(err)
		}
		if !ok {
			break
		}
		n, err := snappy.DecodedLen(block)
		if err != nil {
			return dst, corrupt(err)
		}
		if n > maxSize-total {
			return dst, tooLarge(maxSize)
		}
		total += n
		rest = after
	}
	out := reserve(dst, total)
	for rest := body; ; {
		block, after, ok, _ := nextXerialChunk(rest)
		if !ok {
			return out, nil
		}
		n, _ := snappy.DecodedLen(block)
		var err error
		if out, err = appendSnappyBlock(out, block, n); err != nil {
			return dst, err
		}
		rest = after
	}
}

// appendSnappyBlock decodes one raw block of decoded length n into out's spare capacity,
// which must hold n bytes.
func appendSnappyBlock(out, block []byte, n int) ([]byte, error) {
	// Decode writes in place when its dst holds the decoded length, and checks that the
	// block decodes to exactly that length.
	if _, err := snappy.Decode(out[len(out):len(out)+n], block); err != nil {
		return out, corrupt(err)
	}
	return out[:len(out)+n], nil
}
