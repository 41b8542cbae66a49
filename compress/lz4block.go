package compress

import (
	"encoding/binary"
	"math"
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

// lz4HashLog is the size of the fast encoder's hash table, 2^lz4HashLog positions.
const lz4HashLog = 14

// lz4SkipTrigger sets how fast the search gives up on incompressible input: after
// 2^lz4SkipTrigger positions without a match it steps by 2, then by 3, and so on, until the
// next match.
const lz4SkipTrigger = 6

// lz4FastEncoder is the LZ4 block encoder of the default lz4 level: a greedy matcher with
// one hash-table candidate per position, as the reference fast compressor (and lz4-java's,
// which the Java client uses at its default level).
//
// Its table holds positions offset by base, a number that grows by each block's length, so
// that every entry written for an earlier block is below the current block's base and is
// ignored with one comparison: the table is never cleared between blocks or batches, nor
// kept with a bitmap of the entries in use. Only when base would overflow int32, after 2 GiB
// of input, is it cleared and restarted. It is pooled by [Compressor] like the other
// encoders and used by one goroutine at a time.
type lz4FastEncoder struct {
	// base is what the next block's positions are offset by; 0 in a new encoder, whose
	// zeroed table is then valid for base 1.
	base  int32
	table [1 << lz4HashLog]int32
}

// lz4Hash hashes the 4 low bytes of v (Knuth's multiplicative hash) into a table index.
func lz4Hash(v uint64) uint32 {
	return uint32(v) * 2654435761 >> (32 - lz4HashLog)
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
	base := e.base
	if base <= 0 || base > math.MaxInt32-2*lz4BlockInput {
		if base != 0 {
			clear(e.table[:])
		}
		base = 1
	}
	e.base = base + int32(n)

	d, anchor := 0, 0
	if n > lz4MFLimit {
		table := &e.table
		// A match starts before limit and ends at matchLimit at most.
		limit, matchLimit := n-lz4MFLimit, n-lz4LastLiterals
		i := 0
	search:
		for {
			// Find a position whose 4 bytes equal those at the table's candidate.
			var ref int
			for skip := 1 << lz4SkipTrigger; ; skip++ {
				if i >= limit {
					break search
				}
				v := binary.LittleEndian.Uint64(src[i:])
				h := lz4Hash(v)
				ref = int(table[h]) - int(base)
				table[h] = base + int32(i)
				if uint(ref) < uint(i) && uint32(v) == binary.LittleEndian.Uint32(src[ref:]) {
					break
				}
				i += skip >> lz4SkipTrigger
			}
			// Extend it backwards over the pending literals, then forwards.
			for i > anchor && ref > 0 && src[i-1] == src[ref-1] {
				i--
				ref--
			}
			end := lz4MatchEnd(src, i+lz4MinMatch, ref+lz4MinMatch, matchLimit)

			lit, ml := i-anchor, end-i-lz4MinMatch
			if d+1+lz4LenBytes(lit)+lit+2+lz4LenBytes(ml) > len(dst) {
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
			d += copy(dst[d:], src[anchor:i])
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
			if i >= limit {
				break
			}
			// Index a position inside the match too, for the data that repeats it.
			table[lz4Hash(binary.LittleEndian.Uint64(src[i-2:]))] = base + int32(i-2)
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
