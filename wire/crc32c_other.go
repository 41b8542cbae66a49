//go:build !amd64 || purego

package wire

import "hash/crc32"

// crc32cUpdate returns crc, the CRC-32C of some bytes, updated with p, as
// crc32.Update(crc, castagnoli, p) does.
func crc32cUpdate(crc uint32, p []byte) uint32 { return crc32.Update(crc, castagnoli, p) }

// crc32cCopy copies src into dst[:len(src)] and returns crc updated with src. It panics
// if dst is shorter than src.
func crc32cCopy(crc uint32, dst, src []byte) uint32 { return crc32cCopyGeneric(crc, dst, src) }
