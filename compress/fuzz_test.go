package compress

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/golang/snappy"
	"github.com/pierrec/lz4/v4"
)

// fuzzCompressors re-encode what the fuzz targets decode, one per codec.
var fuzzCompressors = func() map[Codec]*Compressor {
	m := map[Codec]*Compressor{}
	for _, c := range codecs {
		z, err := NewCompressor(c, DefaultLevel(c))
		if err != nil {
			panic(err)
		}
		m[c] = z
	}
	return m
}()

// fuzzDecompress decodes data with a cap of 16*max bytes. It must not panic, must return
// a classified error and leave dst alone, or output no more than the cap; and what it
// decodes must survive encode→decode unchanged.
func fuzzDecompress(t *testing.T, c Codec, data []byte, max uint16) {
	maxSize := int(max) * 16
	prefix := []byte("dst")
	out, err := Decompress(c, prefix, data, maxSize)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("unclassified error: %v", err)
		}
		if !bytes.Equal(out, prefix) {
			t.Fatalf("dst changed on error: %q", out)
		}
		return
	}
	if !bytes.HasPrefix(out, prefix) {
		t.Fatal("dst prefix lost")
	}
	plain := out[len(prefix):]
	if len(plain) > maxSize {
		t.Fatalf("%d bytes out, cap %d", len(plain), maxSize)
	}
	comp, err := fuzzCompressors[c].AppendCompress(nil, plain)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decompress(c, nil, comp, len(plain))
	if err != nil || !bytes.Equal(back, plain) {
		t.Fatalf("re-encoded payload: %v", err)
	}
}

func FuzzDecompressGzip(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, max uint16) { fuzzDecompress(t, Gzip, data, max) })
}

func FuzzDecompressSnappy(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, max uint16) { fuzzDecompress(t, Snappy, data, max) })
}

func FuzzDecompressLZ4(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, max uint16) { fuzzDecompress(t, LZ4, data, max) })
}

func FuzzDecompressZstd(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, max uint16) { fuzzDecompress(t, Zstd, data, max) })
}

var writeCorpus = flag.Bool("write-fuzz-corpus", false, "write the fuzz seed corpus to testdata/fuzz")

// TestWriteFuzzCorpus regenerates the seed corpus when run with -write-fuzz-corpus: for
// every codec, payloads of ours and of other encoders, bombs, truncations and garbage.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*writeCorpus {
		t.Skip("run with -write-fuzz-corpus to regenerate testdata/fuzz")
	}
	json := jsonEvents(3000)
	zeros := make([]byte, 64<<10)
	garbage := [][]byte{[]byte("not compressed at all"), randomBytes(64, 11)}
	type seed struct {
		data []byte
		max  uint16
	}
	seeds := map[string][]seed{}
	for _, c := range []Codec{Gzip, Snappy, LZ4, Zstd} {
		var s []seed
		for _, src := range [][]byte{nil, []byte("a"), json, randomBytes(300, 12)} {
			comp := mustCompress(t, c, DefaultLevel(c), src)
			s = append(s, seed{comp, uint16(len(src)/16 + 1)}, seed{comp[:len(comp)/2], 1000})
		}
		bomb := mustCompress(t, c, DefaultLevel(c), zeros)
		s = append(s, seed{bomb, 100}, seed{bomb, 0xffff})
		for _, g := range garbage {
			s = append(s, seed{g, 1000})
		}
		seeds[c.String()] = s
	}
	seeds["snappy"] = append(seeds["snappy"],
		seed{snappy.Encode(nil, json), 1000},
		seed{append(mustCompress(t, Snappy, 0, json[:100]), mustCompress(t, Snappy, 0, json[100:300])...), 1000})
	var l4 bytes.Buffer
	w := lz4.NewWriter(&l4)
	w.Apply(lz4.ChecksumOption(true), lz4.BlockChecksumOption(true), lz4.SizeOption(uint64(len(json))))
	w.Write(json)
	w.Close()
	seeds["lz4"] = append(seeds["lz4"], seed{l4.Bytes(), 1000})
	seeds["zstd"] = append(seeds["zstd"], seed{zstdStreamed(t, json), 1000}, seed{zstdRLEFrame(3), 0xffff})

	names := map[string]string{"gzip": "FuzzDecompressGzip", "snappy": "FuzzDecompressSnappy", "lz4": "FuzzDecompressLZ4", "zstd": "FuzzDecompressZstd"}
	for codec, list := range seeds {
		dir := filepath.Join("testdata", "fuzz", names[codec])
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range list {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint16(%d)\n", s.data, s.max)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// FuzzCompressIntoDst compresses src, data repeated reps times (so that lz4 and snappy write
// several blocks), with each codec into a dst that already holds a prefix and has capacity
// for the fraction room/255 of the output: the output must be the same whatever dst's
// capacity, after the prefix, and decode to src.
func FuzzCompressIntoDst(f *testing.F) {
	f.Add([]byte("kafka producer record batch "), uint8(200), uint8(128))
	f.Add(randomBytes(1000, 5), uint8(100), uint8(250))
	f.Add(append(randomBytes(40000, 6), jsonEvents(20000)...), uint8(3), uint8(200))
	f.Add([]byte{0}, uint8(255), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, reps, room uint8) {
		src := bytes.Repeat(data, int(reps))
		if len(src) > 256<<10 {
			src = src[:256<<10]
		}
		prefix := []byte("dst")
		for _, c := range codecs[1:] {
			z := fuzzCompressors[c]
			want, err := z.AppendCompress(nil, src)
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]byte, len(prefix), len(prefix)+len(want)*int(room)/255)
			copy(dst, prefix)
			got, err := z.AppendCompress(dst, src)
			if err != nil || !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], want) {
				t.Fatalf("%s into a dst of capacity %d: %v, not the output into nil", c, cap(dst), err)
			}
			back, err := Decompress(c, nil, want, len(src))
			if err != nil || !bytes.Equal(back, src) {
				t.Fatalf("%s: %v", c, err)
			}
		}
	})
}
