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

// TestAppendCompressInSizedDst compresses into a dst whose capacity is just the output's
// size, as the producer sizes a batch's compressed copy by its partition's last ratio: the
// output must be the same and written in dst's own storage, even where a codec would reserve
// a block's worst case (lz4, snappy). A dst one block too short still gets the whole output.
func TestAppendCompressInSizedDst(t *testing.T) {
	payloads := map[string][]byte{
		"records": recordBatch(1 << 20),
		"json":    jsonEvents(1 << 20),
		// Blocks stored uncompressed, then compressible ones.
		"mixed": append(randomBytes(200<<10, 2), jsonEvents(300<<10)...),
	}
	for _, c := range codecs[1:] {
		for _, level := range testLevels(c) {
			z := mustCompressor(t, c, level)
			for name, src := range payloads {
				t.Run(fmt.Sprintf("%s/%d/%s", c, level, name), func(t *testing.T) {
					want, err := z.AppendCompress(nil, src)
					if err != nil {
						t.Fatal(err)
					}
					dst := make([]byte, 0, len(want))
					got, err := z.AppendCompress(dst, src)
					if err != nil || !bytes.Equal(got, want) {
						t.Fatalf("into a sized dst: %v, equal %v", err, bytes.Equal(got, want))
					}
					if &got[:1][0] != &dst[:1][0] {
						t.Fatalf("output of %d bytes left a dst of capacity %d", len(got), cap(dst))
					}
					short := make([]byte, 0, len(want)-min(len(want)-1, 40<<10))
					if got, err := z.AppendCompress(short, src); err != nil || !bytes.Equal(got, want) {
						t.Fatalf("into a short dst: %v, equal %v", err, bytes.Equal(got, want))
					}
				})
			}
		}
	}
}
