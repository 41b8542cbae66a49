package wire

import "hash/crc32"

// TEMPORARY stand-ins until the AVX-512 kernel lands.
func crc32cUpdate(crc uint32, p []byte) uint32 { return crc32.Update(crc, castagnoli, p) }

func crc32cCopy(crc uint32, dst, src []byte) uint32 {
	copy(dst, src)
	return crc32.Update(crc, castagnoli, src)
}
