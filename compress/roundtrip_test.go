package compress

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	payloads := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"1byte", []byte{'x'}},
		{"random100KiB", randomBytes(100<<10, 1)},
		{"json1MiB", jsonEvents(1 << 20)},
	}
	prefix := []byte("prefix")
	for _, c := range codecs {
		for _, level := range testLevels(c) {
			z := mustCompressor(t, c, level)
			for _, p := range payloads {
				t.Run(fmt.Sprintf("%s/%d/%s", c, level, p.name), func(t *testing.T) {
					start := time.Now()
					comp, err := z.AppendCompress(append([]byte(nil), prefix...), p.data)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.HasPrefix(comp, prefix) {
						t.Fatal("AppendCompress did not keep dst")
					}
					comp = comp[len(prefix):]
					if c != None && len(comp) == 0 {
						t.Fatal("empty compressed payload")
					}
					// The exact size is allowed; one byte less is not.
					out, err := Decompress(c, append([]byte(nil), prefix...), comp, len(p.data))
					if err != nil {
						t.Fatalf("Decompress: %v", err)
					}
					if !bytes.HasPrefix(out, prefix) || !bytes.Equal(out[len(prefix):], p.data) {
						t.Fatalf("round trip mismatch: got %d bytes, want %d", len(out)-len(prefix), len(p.data))
					}
					if len(p.data) > 0 {
						if _, err := Decompress(c, nil, comp, len(p.data)-1); !isTooLarge(err) {
							t.Fatalf("Decompress with maxSize one short: %v, want ErrTooLarge", err)
						}
					}
					t.Logf("%d -> %d bytes in %v", len(p.data), len(comp), time.Since(start))
				})
			}
		}
	}
}

// TestRoundTripSizes crosses the block boundaries of every codec (32 KiB snappy, 64 KiB lz4,
// 128 KiB zstd blocks) with compressible and incompressible data.
func TestRoundTripSizes(t *testing.T) {
	sizes := []int{2, 15, 16, 100, 32<<10 - 1, 32 << 10, 32<<10 + 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 128<<10 + 3, 300 << 10}
	json := jsonEvents(300 << 10)
	random := randomBytes(300<<10, 2)
	for _, c := range codecs {
		z := mustCompressor(t, c, DefaultLevel(c))
		for _, n := range sizes {
			for _, src := range [][]byte{json[:n], random[:n]} {
				comp, err := z.AppendCompress(nil, src)
				if err != nil {
					t.Fatal(err)
				}
				out, err := Decompress(c, nil, comp, n)
				if err != nil || !bytes.Equal(out, src) {
					t.Fatalf("%s size %d: err %v, equal %v", c, n, err, bytes.Equal(out, src))
				}
			}
		}
	}
}

// TestLevelsDiffer checks that the level reaches the encoder: on JSON, the highest level
// compresses better than the lowest.
func TestLevelsDiffer(t *testing.T) {
	src := jsonEvents(256 << 10)
	for _, c := range []Codec{Gzip, LZ4, Zstd} {
		levels := testLevels(c)
		low := len(mustCompress(t, c, levels[0], src))
		high := len(mustCompress(t, c, levels[2], src))
		if high >= low {
			t.Errorf("%s: level %d gives %d bytes, level %d gives %d; want smaller at the higher level", c, levels[2], high, levels[0], low)
		}
	}
}

func isTooLarge(err error) bool { return err != nil && errors.Is(err, ErrTooLarge) }
