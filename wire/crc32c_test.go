package wire

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestCRC32CCombine checks the combination against hash/crc32 over the concatenation, for
// lengths around every power of two up to 4 MiB and for empty parts.
func TestCRC32CCombine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 4<<20+1+1000)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	lens := []int{0, 1, 2, 3}
	for n := 4; n <= 4<<20; n <<= 1 {
		lens = append(lens, n-1, n, n+1)
	}
	for _, lenB := range lens {
		for _, lenA := range []int{0, 1, 40, 1000} {
			a, b := data[:lenA], data[lenA:lenA+lenB]
			want := crc32.Checksum(data[:lenA+lenB], castagnoli)
			if got := crc32cCombine(crc32.Checksum(a, castagnoli), crc32.Checksum(b, castagnoli), lenB); got != want {
				t.Fatalf("len(A) %d, len(B) %d: combined %#x, want %#x", lenA, lenB, got, want)
			}
		}
	}
}

// TestFinishBatchCRC: a batch finished with its records' CRC summed piecewise is byte for
// byte the batch FinishBatch writes, and parses.
func TestFinishBatchCRC(t *testing.T) {
	for _, n := range []int{0, 1, 7, 500} {
		buf := make([]byte, RecordBatchHeaderSize)
		var sum uint32
		for i := range n {
			from := len(buf)
			buf = AppendRecord(buf, int32(i), int64(i), []byte("k"), bytes.Repeat([]byte{byte(i)}, i%97), nil)
			sum = UpdateRecordsCRC(sum, buf[from:])
		}
		h := BatchHeader{LastOffsetDelta: int32(n - 1), NumRecords: int32(n), BaseTimestamp: 1700000000000,
			MaxTimestamp: 1700000000000 + int64(n), ProducerID: 7, ProducerEpoch: 1, BaseSequence: 3, PartitionLeaderEpoch: -1}
		want := bytes.Clone(buf)
		hw := h
		FinishBatch(want, &hw)
		FinishBatchCRC(buf, &h, sum)
		if !bytes.Equal(buf, want) || h.CRC != hw.CRC {
			t.Fatalf("%d records: FinishBatchCRC wrote a different batch (CRC %#x, want %#x)", n, h.CRC, hw.CRC)
		}
		if _, _, _, err := ParseBatchHeader(buf); err != nil {
			t.Fatalf("%d records: %v", n, err)
		}
	}
}

func BenchmarkCRC32CCombine(b *testing.B) {
	for b.Loop() {
		crc32cCombine(0x12345678, 0x9abcdef0, 1<<20-17)
	}
}

// crc32cCopyModes runs f with crc32cCopy (the kernel's, where this build and CPU have
// one) and with crc32cCopyGeneric, its path without the kernel.
func crc32cCopyModes(t *testing.T, f func(t *testing.T, copyCRC func(crc uint32, dst, src []byte) uint32)) {
	t.Helper()
	t.Run("crc32cCopy", func(t *testing.T) { f(t, crc32cCopy) })
	t.Run("generic", func(t *testing.T) { f(t, crc32cCopyGeneric) })
}

// randomBytes returns n bytes from rng.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestCRC32CUpdate compares crc32cUpdate with hash/crc32 for every length up to 4 KiB at
// every alignment within a cache line, and for random lengths up to 1 MiB, each from a
// random initial CRC.
func TestCRC32CUpdate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := randomBytes(rng, 1<<20+64)
	for n := 0; n <= 4096; n++ {
		for off := range 64 {
			p := data[off : off+n]
			crc := rng.Uint32()
			if got, want := crc32cUpdate(crc, p), crc32.Update(crc, castagnoli, p); got != want {
				t.Fatalf("len %d at offset %d from %#08x: %#08x, want %#08x", n, off, crc, got, want)
			}
		}
	}
	for range 300 {
		n, off := rng.IntN(1<<20+1), rng.IntN(64)
		p := data[off : off+n]
		crc := rng.Uint32()
		if got, want := crc32cUpdate(crc, p), crc32.Update(crc, castagnoli, p); got != want {
			t.Fatalf("len %d at offset %d from %#08x: %#08x, want %#08x", n, off, crc, got, want)
		}
	}
}

// TestCRC32CCopy checks that crc32cCopy returns hash/crc32's CRC of src, leaves dst[:len(src)]
// equal to src and does not write dst past len(src), for every length up to 4 KiB at
// several alignments of src and dst, and for random lengths up to 1 MiB.
func TestCRC32CCopy(t *testing.T) {
	crc32cCopyModes(t, func(t *testing.T, copyCRC func(crc uint32, dst, src []byte) uint32) {
		rng := rand.New(rand.NewPCG(5, 6))
		data := randomBytes(rng, 1<<20+64)
		dstBuf := make([]byte, 1<<20+64+100)
		check := func(n, srcOff, dstOff int) {
			t.Helper()
			src := data[srcOff : srcOff+n]
			for i := range dstBuf[:dstOff+n+100] {
				dstBuf[i] = 0xa5
			}
			dst := dstBuf[dstOff : dstOff+n+100]
			crc := rng.Uint32()
			if got, want := copyCRC(crc, dst, src), crc32.Update(crc, castagnoli, src); got != want {
				t.Fatalf("len %d, src offset %d, dst offset %d, from %#08x: %#08x, want %#08x", n, srcOff, dstOff, crc, got, want)
			}
			if !bytes.Equal(dst[:n], src) {
				t.Fatalf("len %d, src offset %d, dst offset %d: dst differs from src", n, srcOff, dstOff)
			}
			for i, c := range dstBuf[:dstOff] {
				if c != 0xa5 {
					t.Fatalf("len %d, src offset %d, dst offset %d: wrote dst[%d], before dst", n, srcOff, dstOff, i-dstOff)
				}
			}
			for i, c := range dst[n:] {
				if c != 0xa5 {
					t.Fatalf("len %d, src offset %d, dst offset %d: wrote dst[%d], past len(src)", n, srcOff, dstOff, n+i)
				}
			}
		}
		for n := 0; n <= 4096; n++ {
			for _, offs := range [][2]int{{0, 0}, {1, 0}, {0, 7}, {13, 31}, {63, 1}, {32, 32}} {
				check(n, offs[0], offs[1])
			}
		}
		for range 100 {
			check(rng.IntN(1<<20+1), rng.IntN(64), rng.IntN(64))
		}
	})
}

// TestCRC32CCopyOverlap: crc32cCopy between overlapping slices of one buffer copies as copy
// does and sums the bytes src held.
func TestCRC32CCopyOverlap(t *testing.T) {
	crc32cCopyModes(t, func(t *testing.T, copyCRC func(crc uint32, dst, src []byte) uint32) {
		rng := rand.New(rand.NewPCG(7, 8))
		orig := randomBytes(rng, 8192)
		for _, n := range []int{100, 256, 1000, 4096} {
			for _, shift := range []int{-200, -64, -1, 0, 1, 64, 200} {
				buf := bytes.Clone(orig)
				srcOff := 1000
				src, dst := buf[srcOff:srcOff+n], buf[srcOff+shift:]
				want := crc32.Update(0, castagnoli, orig[srcOff:srcOff+n])
				if got := copyCRC(0, dst, src); got != want {
					t.Fatalf("len %d shifted by %d: %#08x, want %#08x", n, shift, got, want)
				}
				if !bytes.Equal(dst[:n], orig[srcOff:srcOff+n]) {
					t.Fatalf("len %d shifted by %d: dst is not the old src", n, shift)
				}
			}
		}
	})
}

// TestCRC32CCopyShortDst: a dst shorter than src is a programming error and panics, as
// slicing it would.
func TestCRC32CCopyShortDst(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("crc32cCopy into a short dst did not panic")
		}
	}()
	crc32cCopy(0, make([]byte, 10), make([]byte, 11))
}

// TestCRC32CFoldConstants recomputes the folding constants from the polynomial and checks
// them against the DATA lines of crc32c_amd64.s. On a mismatch it prints the lines to paste.
func TestCRC32CFoldConstants(t *testing.T) {
	src, err := os.ReadFile("crc32c_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]uint64{}
	re := regexp.MustCompile(`(?m)^DATA crc32cK<>\+(\d+)\(SB\)/8, \$(0x[0-9a-f]+|0)\b`)
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		off, _ := strconv.Atoi(m[1])
		v, err := strconv.ParseUint(m[2], 0, 64)
		if err != nil {
			t.Fatal(err)
		}
		got[off] = v
	}
	// The fold distances in bits, in table order; 0 is the pair of zeros for lane 3.
	distances := []int{2048, 512, 384, 256, 128, 0}
	var want []uint64
	var lines strings.Builder
	for i, d := range distances {
		lo, hi := crc32cFoldPair(d)
		want = append(want, lo, hi)
		fmt.Fprintf(&lines, "DATA crc32cK<>+%d(SB)/8, $%#x // D = %d\nDATA crc32cK<>+%d(SB)/8, $%#x\n", 16*i, lo, d, 16*i+8, hi)
	}
	if len(got) != len(want) {
		t.Errorf("crc32c_amd64.s has %d constants, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[8*i] != w {
			t.Errorf("crc32cK<>+%d is %#x, want %#x", 8*i, got[8*i], w)
		}
	}
	if t.Failed() {
		t.Logf("the constants are:\n%s", lines.String())
	}
}

// crc32cFoldPair returns the constants that fold a 128-bit lane forward by d bits: x^(d+32)
// and x^(d-32) modulo the polynomial, bit-reversed, shifted left by one to make up for the
// carry-less product of two reversed operands being one bit short of the reversed 128-bit
// order. d must be a multiple of 8 and at least 32, or 0 for a pair of zeros.
func crc32cFoldPair(d int) (lo, hi uint64) {
	if d == 0 {
		return 0, 0
	}
	return uint64(crc32cShift((d+32)/8)) << 1, uint64(crc32cShift((d-32)/8)) << 1
}

func FuzzCRC32C(f *testing.F) {
	f.Add(uint32(0), []byte{}, uint8(0))
	f.Add(uint32(0xffffffff), bytes.Repeat([]byte{0xff}, 300), uint8(1))
	f.Add(uint32(0x12345678), bytes.Repeat([]byte("kafka"), 200), uint8(63))
	f.Fuzz(func(t *testing.T, crc uint32, data []byte, off uint8) {
		p := data[min(int(off), len(data)):]
		want := crc32.Update(crc, castagnoli, p)
		if got := crc32cUpdate(crc, p); got != want {
			t.Fatalf("crc32cUpdate(%#08x, %d bytes) = %#08x, want %#08x", crc, len(p), got, want)
		}
		dst := make([]byte, len(p)+1)
		if got := crc32cCopy(crc, dst, p); got != want || !bytes.Equal(dst[:len(p)], p) || dst[len(p)] != 0 {
			t.Fatalf("crc32cCopy(%#08x, %d bytes) = %#08x, want %#08x, or copied wrongly", crc, len(p), got, want)
		}
	})
}

// crc32cBenchSizes are the buffer sizes the CRC benchmarks run at.
var crc32cBenchSizes = []int{256, 1 << 10, 4 << 10, 16 << 10, 64 << 10}

func BenchmarkCRC32C(b *testing.B) {
	p := randomBytes(rand.New(rand.NewPCG(1, 1)), 64<<10)
	for _, n := range crc32cBenchSizes {
		b.Run(fmt.Sprintf("ours/%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				crc32cUpdate(0, p[:n])
			}
		})
		b.Run(fmt.Sprintf("hash-crc32/%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				crc32.Update(0, castagnoli, p[:n])
			}
		})
	}
}

// BenchmarkCRC32CCopy compares the fused copy and sum with copy followed by hash/crc32,
// from a warm source (the same n bytes each time) and from a cold one (successive n bytes of
// 256 MiB, far more than the caches hold). The destination is one warm n-byte buffer, as
// the producer's batch buffer would be.
func BenchmarkCRC32CCopy(b *testing.B) {
	const coldSize = 256 << 20
	cold := randomBytes(rand.New(rand.NewPCG(2, 2)), coldSize)
	for _, n := range []int{4 << 10, 64 << 10, 1 << 20} {
		dst := make([]byte, n)
		for _, temp := range []string{"warm", "cold"} {
			next := func(i int) []byte { return cold[:n] }
			if temp == "cold" {
				next = func(i int) []byte {
					off := i * n % coldSize
					return cold[off : off+n]
				}
			}
			b.Run(fmt.Sprintf("fused/%s/%d", temp, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					crc32cCopy(0, dst, next(i))
					i++
				}
			})
			for _, sum := range []struct {
				name string
				fn   func(uint32, []byte) uint32
			}{
				{"copy+hash-crc32", func(crc uint32, p []byte) uint32 { return crc32.Update(crc, castagnoli, p) }},
				{"copy+ours", crc32cUpdate},
			} {
				b.Run(fmt.Sprintf("%s/%s/%d", sum.name, temp, n), func(b *testing.B) {
					b.SetBytes(int64(n))
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						src := next(i)
						copy(dst, src)
						sum.fn(0, src)
						i++
					}
				})
			}
		}
	}
}
