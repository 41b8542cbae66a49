package compress

import (
	"fmt"
	"testing"

	"github.com/pierrec/lz4/v4"
)

// BenchmarkCompress compresses JSON events of a typical batch (16 KiB, batch.size's
// default) and of a large one (1 MiB) at each codec's default level, into a reused buffer.
// It reports the compression ratio (input/output) besides speed and allocations.
func BenchmarkCompress(b *testing.B) {
	for _, size := range []int{16 << 10, 1 << 20} {
		src := jsonEvents(size)
		for _, c := range codecs {
			b.Run(fmt.Sprintf("%s/%dKiB", c, size>>10), func(b *testing.B) {
				z := mustCompressor(b, c, DefaultLevel(c))
				dst, _ := z.AppendCompress(nil, src)
				b.ReportAllocs()
				b.SetBytes(int64(len(src)))
				for b.Loop() {
					dst, _ = z.AppendCompress(dst[:0], src)
				}
				b.ReportMetric(float64(len(src))/float64(len(dst)), "ratio")
			})
		}
	}
}

// BenchmarkDecompress decompresses the same payloads into a reused buffer; bytes/s count
// the decompressed size.
func BenchmarkDecompress(b *testing.B) {
	for _, size := range []int{16 << 10, 1 << 20} {
		src := jsonEvents(size)
		for _, c := range codecs {
			b.Run(fmt.Sprintf("%s/%dKiB", c, size>>10), func(b *testing.B) {
				comp := mustCompress(b, c, DefaultLevel(c), src)
				out := make([]byte, 0, len(src))
				b.ReportAllocs()
				b.SetBytes(int64(len(src)))
				for b.Loop() {
					var err error
					if out, err = Decompress(c, out[:0], comp, len(src)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkLZ4Levels compares the lz4 level mapping on a typical batch.
func BenchmarkLZ4Levels(b *testing.B) {
	src := jsonEvents(16 << 10)
	for _, level := range []int{1, 4, 8, 9, 10, 13, 17} {
		b.Run(fmt.Sprint(level), func(b *testing.B) {
			z := mustCompressor(b, LZ4, level)
			dst, _ := z.AppendCompress(nil, src)
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				dst, _ = z.AppendCompress(dst[:0], src)
			}
			b.ReportMetric(float64(len(src))/float64(len(dst)), "ratio")
		})
	}
}

// BenchmarkLZ4Block compares the fast lz4 level's block encoder with pierrec/lz4's fast
// Compressor on 1 MiB of records with 100-byte text values, on 1 MiB of JSON events, and on
// the small batches of a short linger.ms (4 KiB and 300 bytes of records), compressed as
// appendLZ4 does: 64 KiB blocks, each into a dst of its own size. The ratio is
// input/output, a block that does not fit counting at its own size (it would be stored).
func BenchmarkLZ4Block(b *testing.B) {
	inputs := []struct {
		name string
		src  []byte
	}{{"records", recordBatch(1 << 20)}, {"json", jsonEvents(1 << 20)}, {"records-4k", recordBatch(4 << 10)}, {"records-300", recordBatch(300)}}
	encoders := []struct {
		name string
		new  func() lz4BlockCompressor
	}{
		{"gregor", func() lz4BlockCompressor { return new(lz4FastEncoder) }},
		{"pierrec", func() lz4BlockCompressor { return new(lz4.Compressor) }},
	}
	for _, in := range inputs {
		for _, enc := range encoders {
			b.Run(in.name+"/"+enc.name, func(b *testing.B) {
				e := enc.new()
				dst := make([]byte, lz4BlockInput)
				out := 0
				b.ReportAllocs()
				b.SetBytes(int64(len(in.src)))
				for b.Loop() {
					out = 0
					for src := in.src; len(src) > 0; {
						n := min(len(src), lz4BlockInput)
						k, err := e.CompressBlock(src[:n], dst[:n])
						if err != nil || k <= 0 || k >= n {
							k = n
						}
						out += k
						src = src[n:]
					}
				}
				b.ReportMetric(float64(len(in.src))/float64(out), "ratio")
			})
		}
	}
}
