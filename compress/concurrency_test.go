package compress

import (
	"bytes"
	"sync"
	"testing"
)

// TestConcurrentUse shares one Compressor per codec between goroutines that compress and
// decompress different payloads at once; run it with -race.
func TestConcurrentUse(t *testing.T) {
	json := jsonEvents(200 << 10)
	var wg sync.WaitGroup
	for _, c := range codecs {
		z := mustCompressor(t, c, DefaultLevel(c))
		for g := range 4 {
			wg.Go(func() {
				dst := make([]byte, 0, 1<<10)
				var out []byte
				for i := range 20 {
					src := json[(g*7+i)*1000 : (g*7+i)*1000+5000+i*3000]
					var err error
					if dst, err = z.AppendCompress(dst[:0], src); err != nil {
						t.Error(err)
						return
					}
					if out, err = Decompress(c, out[:0], dst, len(src)); err != nil || !bytes.Equal(out, src) {
						t.Errorf("%s goroutine %d round %d: %v", c, g, i, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
}

// TestSteadyStateAllocs checks that compressing a 16 KiB batch into a reused buffer, and
// decompressing it into another, allocates nothing once the pools are warm.
func TestSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops values under the race detector")
	}
	src := jsonEvents(16 << 10)
	for _, c := range codecs {
		for _, level := range testLevels(c) {
			z := mustCompressor(t, c, level)
			comp, _ := z.AppendCompress(nil, src)
			dst := make([]byte, 0, 2*len(comp)+1<<10)
			out := make([]byte, 0, len(src))
			ca := testing.AllocsPerRun(50, func() { dst, _ = z.AppendCompress(dst[:0], src) })
			da := testing.AllocsPerRun(50, func() { out, _ = Decompress(c, out[:0], comp, len(src)) })
			// A garbage collection during the runs may empty a pool and cost one rebuild.
			if ca > 1 || da > 1 {
				t.Errorf("%s level %d: %v allocs per compression, %v per decompression; want 0", c, level, ca, da)
			}
		}
	}
}
