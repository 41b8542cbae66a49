package compress

import (
	"encoding/binary"
	"math/bits"
)

// LZ4 block format limits (lz4_Block_format.md): a match is at least 4 bytes long, the
// last 5 bytes of a block are always literals, and no match starts in the last 12 bytes,
// so that decoders may copy in 8-byte words without checking each one.
const (
	lz4MinMatch     = 4
	lz4LastLiterals = 5
	lz4MFLimit      = 12
)

// lz4HashLog is the size of the fast encoder's hash table, 2^lz4HashLog positions of 2
// bytes: 32 KiB, which stays in a core's level-1 data cache (48 KiB and more on current
// x86 and arm64 cores) while a block is compressed. pierrec/lz4's table, 2^16 positions and
// a bitmap of those in use (136 KiB), does not; that is most of the 20% by which this encoder
// is faster on record batches (BenchmarkLZ4Block).
const lz4HashLog = 14

// lz4HashBytes is how many bytes at a position lz4Hash hashes.
const lz4HashBytes = 6

// lz4SkipLog sets how fast the search gives up on incompressible input: after 2^lz4SkipLog
// literals it steps one more position, and so on, until the next match.
const lz4SkipLog = 5

// lz4Step is how far the search moves after probing 3 positions without a match.
const lz4Step = 3

// lz4FastEncoder is the LZ4 block encoder of the default lz4 level: a greedy matcher with
// one hash-table candidate per position, as the reference fast compressor (and lz4-java's,
// which the Java client uses at its default level).
//
// Its table holds positions in the block being compressed (at most 64 KiB, so 16 bits
// each), and is cleared at the start of every block: a clear of 32 KiB costs about what
// compressing 100 bytes of it does. It is pooled by [Compressor] like the other encoders and
// used by one goroutine at a time.
type lz4FastEncoder struct {
	table [1 << lz4HashLog]uint16
}

// lz4Hash hashes the 6 low bytes of v into a table index (a multiplicative hash by 2^64
// over the golden ratio). Hashing 6 bytes rather than the 4 a match needs makes the table
// hold candidates for matches of 6 bytes or more: the greedy matcher then takes fewer
// short matches, which cost about what they save, and compresses text some 10% better.
func lz4Hash(v uint64) uint32 {
	return uint32(v << (64 - 8*lz4HashBytes) * 0x9E3779B97F4A7C15 >> (64 - lz4HashLog))
}

// CompressBlock writes src as one independent LZ4 block to dst and returns its length, or
// 0 if the block does not fit in len(dst) bytes or src is longer than 64 KiB (the caller
// then stores src uncompressed). It writes nothing outside dst[:len(dst)], nor past the
// length it returns. The error is always nil; it is there to match pierrec/lz4's block
// compressors (lz4BlockCompressor).
func (e *lz4FastEncoder) CompressBlock(src, dst []byte) (int, error) {
	n := len(src)
	if n > lz4BlockInput {
		return 0, nil
	}
	clear(e.table[:])

	d, anchor := 0, 0
	if n > lz4MFLimit {
		table := &e.table
		// A match starts before limit and ends at matchLimit at most.
		limit, matchLimit := n-lz4MFLimit, n-lz4LastLiterals
		i := 0
	search:
		for {
			// Find a position whose 4 bytes equal those at the table's candidate, probing
			// three positions from one load; their table reads are independent, so that
			// they overlap.
			var ref int
			for {
				if i >= limit {
					break search
				}
				v := binary.LittleEndian.Uint64(src[i:])
				h0, h1, h2 := lz4Hash(v), lz4Hash(v>>8), lz4Hash(v>>16)
				c0, c1, c2 := int(table[h0]), int(table[h1]), int(table[h2])
				table[h0], table[h1], table[h2] = uint16(i), uint16(i+1), uint16(i+2)
				if uint(c0) < uint(i) && uint32(v) == binary.LittleEndian.Uint32(src[c0:]) {
					ref = c0
					break
				}
				if uint(c1) < uint(i+1) && uint32(v>>8) == binary.LittleEndian.Uint32(src[c1:]) && i+1 < limit {
					i, ref = i+1, c1
					break
				}
				if uint(c2) < uint(i+2) && uint32(v>>16) == binary.LittleEndian.Uint32(src[c2:]) && i+2 < limit {
					i, ref = i+2, c2
					break
				}
				i += lz4Step + (i-anchor)>>lz4SkipLog
			}
			// Extend it backwards over the pending literals, then forwards.
			for i > anchor && ref > 0 && src[i-1] == src[ref-1] {
				i--
				ref--
			}
			end := lz4MatchEnd(src, i+lz4MinMatch, ref+lz4MinMatch, matchLimit)

			lit, ml := i-anchor, end-i-lz4MinMatch
			// The sequence takes at most 5+lit+(lit>>7)+(ml>>7) bytes (a token, an offset,
			// and each length's extension bytes, at most 1+l/255): check that first,
			// without dividing by 255 for its exact size.
			if d+5+lit+lit>>7+ml>>7 > len(dst) && d+3+lz4LenBytes(lit)+lit+lz4LenBytes(ml) > len(dst) {
				return 0, nil
			}
			tok := d
			d++
			if lit >= 15 {
				dst[tok] = 15 << 4
				d = lz4PutLen(dst, d, lit-15)
			} else {
				dst[tok] = byte(lit << 4)
			}
			if lit <= 16 && d+16 <= len(dst) {
				// Short literals go in 8-byte words. The bytes written past them are
				// overwritten: the block has at least 8 more (an offset, a token and the
				// last 5 literals).
				binary.LittleEndian.PutUint64(dst[d:], binary.LittleEndian.Uint64(src[anchor:]))
				if lit > 8 {
					binary.LittleEndian.PutUint64(dst[d+8:], binary.LittleEndian.Uint64(src[anchor+8:]))
				}
				d += lit
			} else {
				d += copy(dst[d:], src[anchor:i])
			}
			off := i - ref
			dst[d] = byte(off)
			dst[d+1] = byte(off >> 8)
			d += 2
			if ml >= 15 {
				dst[tok] |= 15
				d = lz4PutLen(dst, d, ml-15)
			} else {
				dst[tok] |= byte(ml)
			}
			i, anchor = end, end
			// Positions inside the match are not indexed: on records and JSON that cost
			// more time than it saved bytes.
		}
	}
	// The last sequence: literals only.
	lit := n - anchor
	if d+1+lz4LenBytes(lit)+lit > len(dst) {
		return 0, nil
	}
	if lit >= 15 {
		dst[d] = 15 << 4
		d = lz4PutLen(dst, d+1, lit-15)
	} else {
		dst[d] = byte(lit << 4)
		d++
	}
	d += copy(dst[d:], src[anchor:])
	return d, nil
}

// lz4MatchEnd returns where the match of src[i:] with src[ref:] ends, at limit at most:
// the first j >= i with src[j] != src[ref+j-i], compared 8 bytes at a time.
func lz4MatchEnd(src []byte, i, ref, limit int) int {
	for i+8 <= limit {
		if x := binary.LittleEndian.Uint64(src[i:]) ^ binary.LittleEndian.Uint64(src[ref:]); x != 0 {
			return i + bits.TrailingZeros64(x)>>3
		}
		i += 8
		ref += 8
	}
	for i < limit && src[i] == src[ref] {
		i++
		ref++
	}
	return i
}

// lz4LenBytes is the number of extension bytes that a literal length, or a match length
// less 4, of l takes after the token.
func lz4LenBytes(l int) int {
	if l < 15 {
		return 0
	}
	return (l-15)/255 + 1
}

// lz4PutLen writes the extension bytes of a length whose token nibble is 15, l being the
// rest of it: as many 255s as fit, then what remains; it returns the new end of dst.
func lz4PutLen(dst []byte, d, l int) int {
	for l >= 255 {
		dst[d] = 255
		d++
		l -= 255
	}
	dst[d] = byte(l)
	return d + 1
}
