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

// crc32cModes runs f once with the kernel, where this build and CPU have one, and once
// with it switched off, so that both paths of crc32cUpdate are tested.
func crc32cModes(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	kernel := crc32cKernel
	t.Cleanup(func() { crc32cKernel = kernel })
	if kernel {
		t.Run("kernel", f)
	} else {
		t.Log("no CRC-32C kernel in this build or on this CPU; testing the fallback only")
	}
	crc32cKernel = false
	t.Run("fallback", f)
	crc32cKernel = kernel
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
	crc32cModes(t, func(t *testing.T) {
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
	})
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
