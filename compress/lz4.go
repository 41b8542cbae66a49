package compress

import (
	"bytes"
	"encoding/binary"
	"slices"
	"sync"

	"github.com/pierrec/lz4/v4"
)

// The LZ4 frame the Java client writes (Lz4BlockOutputStream): the magic 0x184D2204
// (little-endian), FLG 0x60 (version 01, independent blocks, no block checksum, no content
// size, no content checksum), BD 0x40 (64 KiB maximum block size), and the descriptor
// checksum (xxHash32(FLG, BD; seed 0) >> 8) & 0xFF = 0x82. Then blocks of at most 64 KiB
// of input, each an int32 little-endian size — its high bit set when the block is stored
// uncompressed — and the data; then a zero size as the end mark.
var lz4FrameHeader = [7]byte{0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82}

const (
	lz4BlockInput   = 64 << 10
	lz4Uncompressed = 1 << 31
)

// lz4SearchDepth maps a compression.lz4.level to the high-compression search depth, 0 for
// the fast compressor (see NewCompressor).
func lz4SearchDepth(level int) int {
	if level == lz4DefaultLevel {
		return 0
	}
	return 1 << min(level+2, 16)
}

// lz4BlockCompressor is our *lz4FastEncoder or pierrec/lz4's *lz4.CompressorHC, pooled
// because their hash tables (32 KiB and 256 KiB) are too large to allocate per batch.
type lz4BlockCompressor interface {
	CompressBlock(src, dst []byte) (int, error)
}

// newLZ4Encoder returns the block compressor for a search depth (0: the fast one).
func newLZ4Encoder(depth int) any {
	if depth == 0 {
		return new(lz4FastEncoder)
	}
	return &lz4.CompressorHC{Level: lz4.CompressionLevel(depth)}
}

// appendLZ4 writes the frame itself rather than through lz4.Writer, so that its layout is
// exactly the Java client's and the blocks are compressed straight into dst. A block is
// compressed into the room dst has; only when it does not fit there does dst grow by a whole
// block's worth and the block is compressed again. So a dst sized to the expected output is
// not reallocated for the worst case of its last blocks.
func (c *Compressor) appendLZ4(dst, src []byte) []byte {
	e := c.pool.Get().(lz4BlockCompressor)
	dst = append(dst, lz4FrameHeader[:]...)
	for len(src) > 0 {
		n := min(len(src), lz4BlockInput)
		block := src[:n]
		src = src[n:]
		off := len(dst)
		k := lz4Block(e, block, dst[off:cap(dst)])
		if k == 0 && cap(dst)-off-4 < n {
			// It may fit in n bytes, or be stored in them.
			dst = slices.Grow(dst, 4+n)
			k = lz4Block(e, block, dst[off:cap(dst)])
		}
		if k == 0 {
			dst = dst[:off+4+n]
			copy(dst[off+4:], block)
			binary.LittleEndian.PutUint32(dst[off:], uint32(n)|lz4Uncompressed)
			continue
		}
		dst = dst[:off+4+k]
		binary.LittleEndian.PutUint32(dst[off:], uint32(k))
	}
	c.pool.Put(e)
	return binary.LittleEndian.AppendUint32(dst, 0)
}

// lz4Block compresses block into spare after 4 bytes left for its size, in at most
// len(block)-1 bytes: a compressed block is used only if it is smaller than the input, as in
// Java. It returns the compressed length, or 0 when the block does not fit in spare or would
// not be smaller (the compressors return 0, or an error, when it does not fit).
func lz4Block(e lz4BlockCompressor, block, spare []byte) int {
	room := min(len(spare)-4, len(block))
	if room <= 0 {
		return 0
	}
	k, err := e.CompressBlock(block, spare[4:4+room:4+room])
	if err != nil || k <= 0 || k >= len(block) {
		return 0
	}
	return k
}

// lz4Decoder is a pooled frame reader with the source reader it reads from.
type lz4Decoder struct {
	src   bytes.Reader
	zr    *lz4.Reader
	probe [1]byte
}

var lz4Decoders = sync.Pool{New: func() any { return &lz4Decoder{zr: lz4.NewReader(nil)} }}

// decompressLZ4 reads any valid LZ4 frame (or concatenation of frames, skippable frames
// included) through the capped reader: dependent blocks, checksums, content sizes and
// other block sizes too, though the Java reader refuses some of these.
func decompressLZ4(dst, src []byte, maxSize int) ([]byte, error) {
	d := lz4Decoders.Get().(*lz4Decoder)
	defer lz4Decoders.Put(d)
	d.src.Reset(src)
	d.zr.Reset(&d.src)
	out, err := readCapped(dst, d.zr, maxSize, lz4SizeHint(src), d.probe[:])
	// Release the source and the reader's block buffer before pooling.
	d.zr.Reset(nil)
	d.src.Reset(nil)
	return out, err
}

// lz4SizeHint bounds the output of the LZ4 frames in src from their headers, for the
// first output buffer: the content size where a frame declares one, else the sum of its
// stored blocks' sizes and of the maximum block size for each compressed block. On input
// it cannot walk it guesses a ratio of 4; the reader rejects such input anyway.
func lz4SizeHint(src []byte) int {
	guess := 4 * len(src)
	total := 0
	for len(src) > 0 {
		if len(src) < 8 {
			return guess
		}
		magic := binary.LittleEndian.Uint32(src)
		if magic&^0xf == 0x184d2a50 { // skippable frame
			n := binary.LittleEndian.Uint32(src[4:])
			if uint64(n) > uint64(len(src)-8) {
				return guess
			}
			src = src[8+n:]
			continue
		}
		flg, bd := src[4], src[5]
		if magic != 0x184d2204 || flg>>6 != 1 {
			return guess
		}
		blockMax := 1 << (8 + 2*(bd>>4&7))
		blockChecksum, contentSize := flg&0x10 != 0, flg&0x08 != 0
		src = src[6:]
		size := -1
		if contentSize {
			if len(src) < 8 {
				return guess
			}
			if n := binary.LittleEndian.Uint64(src); n <= uint64(len(src))*255 {
				size = int(n)
			}
			src = src[8:]
		}
		if flg&0x01 != 0 { // dictionary id
			if len(src) < 4 {
				return guess
			}
			src = src[4:]
		}
		src = src[min(1, len(src)):] // header checksum
		bound := 0
		for {
			if len(src) < 4 {
				return guess
			}
			h := binary.LittleEndian.Uint32(src)
			src = src[4:]
			if h == 0 {
				break
			}
			n := int(h &^ lz4Uncompressed)
			if n > len(src) {
				return guess
			}
			src = src[n:]
			if h&lz4Uncompressed != 0 {
				bound += n
			} else {
				bound += blockMax
			}
			if blockChecksum {
				src = src[min(4, len(src)):]
			}
		}
		if flg&0x04 != 0 { // content checksum
			src = src[min(4, len(src)):]
		}
		if size >= 0 {
			bound = min(bound, size)
		}
		total += bound
	}
	return total
}
