package compress

import (
	"fmt"
	"testing"
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
