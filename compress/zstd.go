package compress

import (
	"encoding/binary"
	"errors"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// newZstdEncoder returns a *zstd.Encoder for EncodeAll, or nil on an option error. As the
// Java client (zstd-jni with default parameters) it writes no content checksum; unlike
// klauspost's default it writes a frame for empty input too, so that every payload is
// a valid zstd stream. Up to the default level the window is 64 KiB (zstdFastWindow).
func newZstdEncoder(level int) any {
	if level == 0 {
		level = zstdDefaultLevel
	}
	speed := zstd.EncoderLevelFromZstd(level)
	opts := []zstd.EOption{
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderLevel(speed),
		zstd.WithEncoderCRC(false),
		zstd.WithZeroFrames(true),
	}
	if speed <= zstd.SpeedDefault {
		opts = append(opts, zstd.WithWindowSize(zstdFastWindow))
	}
	enc, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		return nil
	}
	return enc
}

func (c *Compressor) appendZstd(dst, src []byte) ([]byte, error) {
	e, _ := c.pool.Get().(*zstd.Encoder)
	if e == nil {
		return dst, errNoEncoder
	}
	dst = e.EncodeAll(src, dst)
	c.pool.Put(e)
	return dst, nil
}

// zstdFastWindow is the window of the fastest and default levels. Records of a batch find
// their matches close by: on 1 MiB of JSON events it compresses as well as klauspost's
// default window (8 MiB) at the default level, about 12% faster, and each encoder and
// every reader of the batch need less memory. The better levels keep their windows.
const zstdFastWindow = 64 << 10

// zstdMaxWindow is the largest frame window accepted: libzstd's default decoding limit
// (ZSTD_WINDOWLOG_LIMIT_DEFAULT, 2^27), which the Java client's zstd-jni reader applies.
// Decoding with DecodeAll keeps the whole output as its history, so the window costs no
// memory of its own.
const zstdMaxWindow = 1 << 27

// zstdDecoders holds decoders for DecodeAll, each limited to the capacity of the buffer
// it is given (WithDecodeAllCapLimit): that capacity is the output cap.
var zstdDecoders = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(zstdMaxWindow),
		zstd.WithDecodeAllCapLimit(true),
	)
	if err != nil {
		return nil
	}
	return d
}}

var errNoDecoder = errors.New("compress: cannot build zstd decoder")

// decompressZstd first walks the frames (zstdBounds) to bound the output: a declared
// content size or raw/RLE blocks beyond maxSize fail at once, before any decoding. The
// buffer is then sized to the upper bound, at most maxSize plus one block of slack, and
// DecodeAll may not write past its capacity. When the upper bound is within that, no block
// can outgrow the buffer. Otherwise the decoder stops at the first block that does not fit;
// the slack lets it decode any valid block that starts within maxSize, so that an error
// with no more than maxSize bytes out is corruption, not size. (A raw or RLE block, or one
// of literals only, that crosses the capacity makes the decoder grow the buffer once, by
// append, before it stops: the only case where memory passes the buffer, to about 2.25
// times its size in all; TestBombs measures it.)
func decompressZstd(dst, src []byte, maxSize int) ([]byte, error) {
	lower, upper, err := zstdBounds(src)
	if err != nil {
		return dst, corrupt(err)
	}
	if lower > uint64(maxSize) {
		return dst, tooLarge(maxSize)
	}
	want := int(min(upper, uint64(maxSize)+zstdSlack))
	d, _ := zstdDecoders.Get().(*zstd.Decoder)
	if d == nil {
		return dst, errNoDecoder
	}
	defer zstdDecoders.Put(d)
	start := len(dst)
	out := reserve(dst, want)
	out, err = d.DecodeAll(src, out[:start:start+want])
	switch {
	case len(out)-start > maxSize:
		return dst, tooLarge(maxSize)
	case err != nil:
		return dst, corrupt(err)
	}
	return out, nil
}

// zstdSlack is room for one more maximum-size block, plus the decoder's over-allocation.
const zstdSlack = zstdMaxBlockSize + 32

// Zstandard frame layout (RFC 8878, section 3.1).
const (
	zstdFrameMagic     = 0xfd2fb528
	zstdSkippableMagic = 0x184d2a50 // low 4 bits free
	zstdMaxBlockSize   = 128 << 10
)

var (
	errZstdTruncated = errors.New("zstd: truncated frame")
	errZstdMagic     = errors.New("zstd: unknown frame magic")
	errZstdReserved  = errors.New("zstd: reserved bit or block type")
	errZstdBlockSize = errors.New("zstd: block larger than 128 KiB")
	errZstdFCS       = errors.New("zstd: content size smaller than the frame's raw blocks")
)

// zstdBounds walks the frames of src without decoding them and bounds the decoded size.
// lower sums each frame's declared content size, or where there is none the sizes of its
// raw and RLE blocks (which are exact); upper counts each compressed block as the 128 KiB
// maximum block size, and is capped by the content size. Sums saturate. It fails on any
// structural error, which the decoder would reject too.
func zstdBounds(src []byte) (lower, upper uint64, err error) {
	for len(src) > 0 {
		if len(src) < 4 {
			return 0, 0, errZstdTruncated
		}
		magic := binary.LittleEndian.Uint32(src)
		if magic&^0xf == zstdSkippableMagic {
			if len(src) < 8 {
				return 0, 0, errZstdTruncated
			}
			n := uint64(binary.LittleEndian.Uint32(src[4:]))
			if n > uint64(len(src)-8) {
				return 0, 0, errZstdTruncated
			}
			src = src[8+n:]
			continue
		}
		if magic != zstdFrameMagic {
			return 0, 0, errZstdMagic
		}
		var lo, hi uint64
		if lo, hi, src, err = zstdFrameBounds(src[4:]); err != nil {
			return 0, 0, err
		}
		lower, upper = satAdd(lower, lo), satAdd(upper, hi)
	}
	return lower, upper, nil
}

// zstdFrameBounds bounds one frame, src starting after its magic, and returns the rest.
func zstdFrameBounds(src []byte) (lower, upper uint64, rest []byte, err error) {
	if len(src) < 1 {
		return 0, 0, nil, errZstdTruncated
	}
	fhd := src[0]
	src = src[1:]
	if fhd&0x08 != 0 {
		return 0, 0, nil, errZstdReserved
	}
	singleSegment := fhd&0x20 != 0
	hasChecksum := fhd&0x04 != 0
	dictLen := [4]int{0, 1, 2, 4}[fhd&3]
	fcsLen := [4]int{0, 2, 4, 8}[fhd>>6]
	if fcsLen == 0 && singleSegment {
		fcsLen = 1
	}
	headerLen := dictLen + fcsLen
	if !singleSegment {
		headerLen++ // window descriptor
	}
	if len(src) < headerLen {
		return 0, 0, nil, errZstdTruncated
	}
	fcs := src[headerLen-fcsLen : headerLen]
	src = src[headerLen:]

	var raw, bound uint64
	for last := false; !last; {
		if len(src) < 3 {
			return 0, 0, nil, errZstdTruncated
		}
		h := uint32(src[0]) | uint32(src[1])<<8 | uint32(src[2])<<16
		src = src[3:]
		last = h&1 != 0
		size := int(h >> 3)
		if size > zstdMaxBlockSize {
			return 0, 0, nil, errZstdBlockSize
		}
		switch (h >> 1) & 3 {
		case 0: // raw: size bytes, copied
			if len(src) < size {
				return 0, 0, nil, errZstdTruncated
			}
			src = src[size:]
			raw += uint64(size)
			bound += uint64(size)
		case 1: // RLE: one byte, repeated size times
			if len(src) < 1 {
				return 0, 0, nil, errZstdTruncated
			}
			src = src[1:]
			raw += uint64(size)
			bound += uint64(size)
		case 2: // compressed: size bytes, decoding to at most the maximum block size
			if len(src) < size {
				return 0, 0, nil, errZstdTruncated
			}
			src = src[size:]
			bound += zstdMaxBlockSize
		default:
			return 0, 0, nil, errZstdReserved
		}
	}
	if hasChecksum {
		if len(src) < 4 {
			return 0, 0, nil, errZstdTruncated
		}
		src = src[4:]
	}
	if len(fcs) == 0 {
		return raw, bound, src, nil
	}
	var size uint64
	switch len(fcs) {
	case 1:
		size = uint64(fcs[0])
	case 2:
		size = uint64(binary.LittleEndian.Uint16(fcs)) + 256
	case 4:
		size = uint64(binary.LittleEndian.Uint32(fcs))
	default:
		size = binary.LittleEndian.Uint64(fcs)
	}
	if size < raw {
		return 0, 0, nil, errZstdFCS
	}
	return size, min(bound, size), src, nil
}

func satAdd(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return ^uint64(0)
}
