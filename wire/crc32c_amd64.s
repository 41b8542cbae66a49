//go:build amd64 && !purego

#include "textflag.h"

// crc32cK holds the folding constants, one 16-byte (K_lo, K_hi) pair per fold distance D:
// K_lo is x^(D+32) and K_hi is x^(D-32) modulo the polynomial, bit-reversed and shifted
// left by one so that a carry-less product of two reversed operands lands in reversed
// 128-bit order. TestCRC32CFoldConstants computes them and checks this table.
DATA crc32cK<>+0(SB)/8, $0xdcb17aa4   // D = 2048: four registers, 256 bytes ahead
DATA crc32cK<>+8(SB)/8, $0xb9e02b86
DATA crc32cK<>+16(SB)/8, $0x740eef02  // D = 512: one register, 64 bytes ahead
DATA crc32cK<>+24(SB)/8, $0x9e4addf8
DATA crc32cK<>+32(SB)/8, $0x1c291d04  // D = 384: lane 0 onto lane 3
DATA crc32cK<>+40(SB)/8, $0x1d82c63da
DATA crc32cK<>+48(SB)/8, $0x1384aa63a // D = 256: lane 1 onto lane 3
DATA crc32cK<>+56(SB)/8, $0xba4fc28e
DATA crc32cK<>+64(SB)/8, $0xf20c0dfe  // D = 128: lane 2 onto lane 3
DATA crc32cK<>+72(SB)/8, $0x14cd00bd6
DATA crc32cK<>+80(SB)/8, $0           // lane 3 stays where it is
DATA crc32cK<>+88(SB)/8, $0
GLOBL crc32cK<>(SB), RODATA|NOPTR, $96

// FOLD moves the 128-bit lanes of x forward by the distance k's constants are for and
// adds the data d: x = x.lo·K_lo ⊕ x.hi·K_hi ⊕ d. t is clobbered.
#define FOLD(k, x, d, t) \
	VPCLMULQDQ $0x00, k, x, t; \
	VPCLMULQDQ $0x11, k, x, x; \
	VPTERNLOGD $0x96, t, d, x

// REDUCE folds the four lanes of Z0 into one and returns the CRC32Q of its 16 bytes, the
// raw CRC register of everything folded, in DX.
#define REDUCE \
	VMOVDQU64     crc32cK<>+32(SB), Z8; \
	VPCLMULQDQ    $0x00, Z8, Z0, Z11; \
	VPCLMULQDQ    $0x11, Z8, Z0, Z12; \
	VEXTRACTI32X4 $3, Z0, X13; \
	VPTERNLOGD    $0x96, Z11, Z12, Z13; \
	VEXTRACTI64X4 $1, Z13, Y11; \
	VPXOR         Y11, Y13, Y13; \
	VEXTRACTI128  $1, Y13, X11; \
	VPXOR         X11, X13, X13; \
	VMOVQ         X13, AX; \
	VPEXTRQ       $1, X13, BX; \
	XORL          DX, DX; \
	CRC32Q        AX, DX; \
	CRC32Q        BX, DX; \
	VZEROUPPER

// func crc32cHasKernel() bool
TEXT ·crc32cHasKernel(SB), NOSPLIT, $0-1
	MOVB $0, ret+0(FP)
	XORL AX, AX
	CPUID
	CMPL AX, $7
	JB   no

	// Leaf 1 ECX: SSE4.2 (bit 20) and OSXSAVE (bit 27).
	MOVL $1, AX
	XORL CX, CX
	CPUID
	ANDL $0x08100000, CX
	CMPL CX, $0x08100000
	JNE  no

	// XCR0: the OS saves SSE (bit 1), AVX (bit 2), opmask (bit 5) and ZMM (bits 6, 7) state.
	XORL   CX, CX
	XGETBV
	ANDL   $0xe6, AX
	CMPL   AX, $0xe6
	JNE    no

	// Leaf 7 EBX: AVX512F (bit 16) and AVX512VL (bit 31); ECX: VPCLMULQDQ (bit 10).
	MOVL $7, AX
	XORL CX, CX
	CPUID
	ANDL $0x80010000, BX
	CMPL BX, $0x80010000
	JNE  no
	BTL  $10, CX
	JCC  no
	MOVB $1, ret+0(FP)

no:
	RET

// func crc32cFold(crc uint32, p []byte) uint32
//
// crc is the raw CRC register (not inverted); len(p) is at least 64.
TEXT ·crc32cFold(SB), NOSPLIT, $0-36
	MOVL            crc+0(FP), AX
	MOVQ            p_base+8(FP), SI
	MOVQ            p_len+16(FP), CX
	VMOVD           AX, X9
	VBROADCASTI32X4 crc32cK<>+16(SB), Z8
	CMPQ            CX, $256
	JB              one

	VMOVDQU64 (SI), Z0
	VMOVDQU64 64(SI), Z1
	VMOVDQU64 128(SI), Z2
	VMOVDQU64 192(SI), Z3
	VPXORQ    Z9, Z0, Z0
	ADDQ      $256, SI
	SUBQ      $256, CX
	CMPQ      CX, $256
	JB        collapse

	VBROADCASTI32X4 crc32cK<>+0(SB), Z10

	PCALIGN $32
loop4:
	VMOVDQU64 (SI), Z4
	VMOVDQU64 64(SI), Z5
	VMOVDQU64 128(SI), Z6
	VMOVDQU64 192(SI), Z7
	FOLD(Z10, Z0, Z4, Z11)
	FOLD(Z10, Z1, Z5, Z12)
	FOLD(Z10, Z2, Z6, Z13)
	FOLD(Z10, Z3, Z7, Z14)
	ADDQ      $256, SI
	SUBQ      $256, CX
	CMPQ      CX, $256
	JAE       loop4

collapse:
	FOLD(Z8, Z0, Z1, Z11)
	FOLD(Z8, Z0, Z2, Z11)
	FOLD(Z8, Z0, Z3, Z11)
	JMP loop1

one:
	VMOVDQU64 (SI), Z0
	VPXORQ    Z9, Z0, Z0
	ADDQ      $64, SI
	SUBQ      $64, CX

loop1:
	CMPQ      CX, $64
	JB        done
	VMOVDQU64 (SI), Z4
	FOLD(Z8, Z0, Z4, Z11)
	ADDQ      $64, SI
	SUBQ      $64, CX
	JMP       loop1

done:
	REDUCE

	// The last len(p)%64 bytes, 8, 4, 2 and 1 at a time.
tail8:
	CMPQ   CX, $8
	JB     tail4
	CRC32Q (SI), DX
	ADDQ   $8, SI
	SUBQ   $8, CX
	JMP    tail8

tail4:
	BTQ    $2, CX
	JCC    tail2
	CRC32L (SI), DX
	ADDQ   $4, SI

tail2:
	BTQ    $1, CX
	JCC    tail1
	CRC32W (SI), DX
	ADDQ   $2, SI

tail1:
	BTQ    $0, CX
	JCC    ret
	CRC32B (SI), DX

ret:
	MOVL DX, ret+32(FP)
	RET

// func crc32cFoldCopy(crc uint32, dst, src []byte) uint32
//
// As crc32cFold over src, storing each 64 bytes to dst as they are loaded. len(dst) is
// len(src), and they do not overlap.
TEXT ·crc32cFoldCopy(SB), NOSPLIT, $0-60
	MOVL            crc+0(FP), AX
	MOVQ            dst_base+8(FP), DI
	MOVQ            src_base+32(FP), SI
	MOVQ            src_len+40(FP), CX
	VMOVD           AX, X9
	VBROADCASTI32X4 crc32cK<>+16(SB), Z8
	CMPQ            CX, $256
	JB              one

	VMOVDQU64 (SI), Z0
	VMOVDQU64 64(SI), Z1
	VMOVDQU64 128(SI), Z2
	VMOVDQU64 192(SI), Z3
	VMOVDQU64 Z0, (DI)
	VMOVDQU64 Z1, 64(DI)
	VMOVDQU64 Z2, 128(DI)
	VMOVDQU64 Z3, 192(DI)
	VPXORQ    Z9, Z0, Z0
	ADDQ      $256, SI
	ADDQ      $256, DI
	SUBQ      $256, CX
	CMPQ      CX, $256
	JB        collapse

	VBROADCASTI32X4 crc32cK<>+0(SB), Z10

	PCALIGN $32
loop4:
	VMOVDQU64 (SI), Z4
	VMOVDQU64 64(SI), Z5
	VMOVDQU64 128(SI), Z6
	VMOVDQU64 192(SI), Z7
	VMOVDQU64 Z4, (DI)
	VMOVDQU64 Z5, 64(DI)
	VMOVDQU64 Z6, 128(DI)
	VMOVDQU64 Z7, 192(DI)
	FOLD(Z10, Z0, Z4, Z11)
	FOLD(Z10, Z1, Z5, Z12)
	FOLD(Z10, Z2, Z6, Z13)
	FOLD(Z10, Z3, Z7, Z14)
	ADDQ      $256, SI
	ADDQ      $256, DI
	SUBQ      $256, CX
	CMPQ      CX, $256
	JAE       loop4

collapse:
	FOLD(Z8, Z0, Z1, Z11)
	FOLD(Z8, Z0, Z2, Z11)
	FOLD(Z8, Z0, Z3, Z11)
	JMP loop1

one:
	VMOVDQU64 (SI), Z0
	VMOVDQU64 Z0, (DI)
	VPXORQ    Z9, Z0, Z0
	ADDQ      $64, SI
	ADDQ      $64, DI
	SUBQ      $64, CX

loop1:
	CMPQ      CX, $64
	JB        done
	VMOVDQU64 (SI), Z4
	VMOVDQU64 Z4, (DI)
	FOLD(Z8, Z0, Z4, Z11)
	ADDQ      $64, SI
	ADDQ      $64, DI
	SUBQ      $64, CX
	JMP       loop1

done:
	REDUCE

	// The last len(src)%64 bytes, 8, 4, 2 and 1 at a time.
tail8:
	CMPQ   CX, $8
	JB     tail4
	MOVQ   (SI), AX
	MOVQ   AX, (DI)
	CRC32Q AX, DX
	ADDQ   $8, SI
	ADDQ   $8, DI
	SUBQ   $8, CX
	JMP    tail8

tail4:
	BTQ    $2, CX
	JCC    tail2
	MOVL   (SI), AX
	MOVL   AX, (DI)
	CRC32L AX, DX
	ADDQ   $4, SI
	ADDQ   $4, DI

tail2:
	BTQ    $1, CX
	JCC    tail1
	MOVW   (SI), AX
	MOVW   AX, (DI)
	CRC32W AX, DX
	ADDQ   $2, SI
	ADDQ   $2, DI

tail1:
	BTQ    $0, CX
	JCC    ret
	MOVB   (SI), AX
	MOVB   AX, (DI)
	CRC32B AX, DX

ret:
	MOVL DX, ret+56(FP)
	RET
