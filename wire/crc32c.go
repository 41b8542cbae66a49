package wire

import "hash/crc32"

// A batch's CRC-32C covers its header from the attributes on and its records. The producer
// sums the records as it appends them, while they are in the cache, and FinishBatchCRC
// joins that sum to the header's when the header is known (crc32cCombine), so that the
// records are not read again only to be summed.
//
// Every CRC-32C here goes through crc32cUpdate: on amd64 with AVX-512 VPCLMULQDQ it folds
// 256 bytes per step (crc32c_amd64.s), three to four times hash/crc32's speed from 1 KiB;
// elsewhere it is hash/crc32.

// crc32cPoly is the Castagnoli polynomial, bit-reversed, as hash/crc32 uses it.
const crc32cPoly = 0x82f63b78

// crc32cX2n[k] is x^(2^k) modulo the polynomial, in the same reversed bit order.
var crc32cX2n = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	t[0] = p
	for k := 1; k < 32; k++ {
		p = crc32cMulMod(p, p)
		t[k] = p
	}
	return t
}()

// crc32cMulMod returns a·b modulo the polynomial (reversed bit order: the top bit is x^0).
func crc32cMulMod(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
		}
		if b&1 != 0 {
			b = b>>1 ^ crc32cPoly
		} else {
			b >>= 1
		}
	}
	return p
}

// crc32cShift returns x^(8n) modulo the polynomial: what appending n zero bytes multiplies
// a CRC's register by.
func crc32cShift(n int) uint32 {
	p := uint32(1) << 31 // x^0
	for k := 3; n != 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			p = crc32cMulMod(crc32cX2n[k&31], p)
		}
	}
	return p
}

// crc32cCombine returns the CRC-32C of A followed by B from crcA, crcB and len(B).
func crc32cCombine(crcA, crcB uint32, lenB int) uint32 {
	return crc32cMulMod(crc32cShift(lenB), crcA) ^ crcB
}

// crc32cCopyGeneric is crc32cCopy without a kernel: copy, then hash/crc32 over the copy
// (which is src's bytes even when the two overlap). It panics if dst is shorter than src.
func crc32cCopyGeneric(crc uint32, dst, src []byte) uint32 {
	dst = dst[:len(src)]
	copy(dst, src)
	return crc32.Update(crc, castagnoli, dst)
}

// UpdateRecordsCRC adds p, the next bytes of a batch's records, to crc, their CRC-32C so
// far (0 for none), for [FinishBatchCRC].
func UpdateRecordsCRC(crc uint32, p []byte) uint32 { return crc32cUpdate(crc, p) }
