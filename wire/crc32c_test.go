package wire

import (
	"bytes"
	"hash/crc32"
	"math/rand/v2"
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
