package compress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
)

// zstdStreamed compresses src as a streaming encoder does when it must start the frame
// before it has seen all the input: no content size, as the Java client writes.
func zstdStreamed(t testing.TB, src []byte) []byte {
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(src[:1])
	w.Flush()
	w.Write(src[1:])
	w.Close()
	if buf.Bytes()[4]&0xc0 != 0 {
		t.Fatal("streamed zstd frame has a content size")
	}
	return buf.Bytes()
}

// zstdRLEFrame builds a frame of n RLE blocks of 128 KiB each and no content size: 3+1
// bytes of input per 128 KiB of output.
func zstdRLEFrame(n int) []byte {
	b := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58} // FHD: nothing; window 2^(10+11) = 2 MiB
	for i := range n {
		h := uint32(128<<10)<<3 | 1<<1 // RLE
		if i == n-1 {
			h |= 1
		}
		b = append(b, byte(h), byte(h>>8), byte(h>>16), 'z')
	}
	return b
}

// zstdCompressedThenRLE builds a frame without content size: the compressed blocks of
// n*128 KiB of zeros (the encoder makes the first an RLE block too), then one 128 KiB RLE
// block.
func zstdCompressedThenRLE(t testing.TB, n int) []byte {
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, n*128<<10))
	w.Flush() // the frame so far, without its end
	b := append([]byte(nil), buf.Bytes()...)
	if b[4]&0xc0 != 0 {
		t.Fatal("frame has a content size")
	}
	h := uint32(128<<10)<<3 | 1<<1 | 1 // last, RLE
	return append(b, byte(h), byte(h>>8), byte(h>>16), 0)
}

// allocBytes returns the fewest bytes allocated by one call of f over a few runs; the
// first run warms the pools.
func allocBytes(f func()) uint64 {
	f()
	best := ^uint64(0)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		best = min(best, after.TotalAlloc-before.TotalAlloc)
	}
	return best
}

// TestBombs decompresses small payloads that expand to 64 times the cap. Each must fail
// with ErrTooLarge, allocating about the cap at most, never the full expansion.
func TestBombs(t *testing.T) {
	const maxSize = 1 << 20
	const errAlloc = 1 << 10 // the returned error
	const page = 8 << 10     // large allocations are rounded up to pages
	zeros := make([]byte, 64*maxSize)
	rawSnappyBomb := binary.AppendUvarint(nil, 1<<30) // a block declaring 1 GiB
	rawSnappyBomb = append(rawSnappyBomb, 0)
	tests := []struct {
		name  string
		c     Codec
		comp  []byte
		limit uint64 // most bytes the call may allocate
	}{
		// Sizes declared in headers: rejected before decoding, allocating only the error.
		{"none", None, zeros, errAlloc},
		{"snappy/xerial", Snappy, mustCompress(t, Snappy, 0, zeros[:16*maxSize]), errAlloc},
		{"snappy/raw", Snappy, rawSnappyBomb, errAlloc},
		{"zstd/content-size", Zstd, mustCompress(t, Zstd, 3, zeros), errAlloc},
		{"zstd/rle", Zstd, zstdRLEFrame(64 * 8), errAlloc},
		// Streams decoded up to the cap.
		{"gzip", Gzip, mustCompress(t, Gzip, 9, zeros), maxSize + errAlloc},
		{"lz4", LZ4, mustCompress(t, LZ4, 9, zeros), maxSize + errAlloc},
		{"zstd/streamed", Zstd, zstdStreamed(t, zeros), maxSize + zstdSlack + page + errAlloc},
		// The worst case for zstd (see decompressZstd): compressed blocks fill the buffer,
		// then an RLE block crosses its end and the decoder reallocates once.
		{"zstd/realloc", Zstd, zstdCompressedThenRLE(t, 9), 3 * maxSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.comp) > 2<<20 && tt.c != None {
				t.Fatalf("bomb of %d bytes is not small", len(tt.comp))
			}
			var err error
			n := allocBytes(func() { _, err = Decompress(tt.c, nil, tt.comp, maxSize) })
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			t.Logf("%d-byte payload: %d bytes allocated (cap %d)", len(tt.comp), n, maxSize)
			if !raceEnabled && n > tt.limit {
				t.Errorf("allocated %d bytes, want at most %d", n, tt.limit)
			}
		})
	}
}

// TestCapAllocation checks that a payload within the cap is decoded with about its own
// size allocated, however large the cap.
func TestCapAllocation(t *testing.T) {
	src := jsonEvents(200 << 10)
	for _, c := range codecs {
		comp := mustCompress(t, c, DefaultLevel(c), src)
		var err error
		n := allocBytes(func() { _, err = Decompress(c, nil, comp, 1<<30) })
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes allocated for %d out", c, n, len(src))
		// The first buffer is a guess for gzip and lz4, which then doubles.
		if !raceEnabled && n > 2*uint64(len(src))+64<<10 {
			t.Errorf("%s: allocated %d bytes for %d bytes of output", c, n, len(src))
		}
	}
}

func TestGarbage(t *testing.T) {
	garbage := [][]byte{
		[]byte("hello, this is not compressed"),
		bytes.Repeat([]byte{0xff}, 64),
		randomBytes(1000, 9),
		{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3},                               // gzip header, bad deflate
		{0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x00, 0, 0, 0, 0},                         // lz4, bad descriptor checksum
		{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1}, // xerial, chunk past the end
		{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 0, 0, 0, 0, 1},                // xerial version 0
		{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff},
		{0x28, 0xb5, 0x2f, 0xfd, 0x08, 0x58, 1, 0, 0}, // zstd, reserved bit
		{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, 7, 0, 0}, // zstd, reserved block type
		{0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x05, 9, 0, 0}, // zstd, content size 5, empty raw block
	}
	for _, c := range []Codec{Gzip, Snappy, LZ4, Zstd} {
		for i, g := range garbage {
			dst := []byte("keep")
			out, err := Decompress(c, dst, g, 1<<20)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s garbage %d: err = %v, want ErrCorrupt", c, i, err)
			}
			if string(out) != "keep" {
				t.Errorf("%s garbage %d: dst changed to %q", c, i, out)
			}
		}
		if _, err := Decompress(c, nil, nil, 100); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s empty payload: %v, want ErrCorrupt", c, err)
		}
	}
}

// TestTruncated cuts valid payloads at every length: each prefix must fail, except, for
// snappy, one that ends at a xerial chunk boundary (the format has no end mark), which must
// give the chunks before it.
func TestTruncated(t *testing.T) {
	src := jsonEvents(70 << 10)
	for _, c := range []Codec{Gzip, Snappy, LZ4, Zstd} {
		comps := [][]byte{mustCompress(t, c, DefaultLevel(c), src)}
		if c == Zstd {
			comps = append(comps, zstdStreamed(t, src))
		}
		for _, comp := range comps {
			boundaries := map[int]int{} // snappy: prefix length -> decoded length
			if c == Snappy {
				off, n := 16, 0
				boundaries[off] = n
				for off < len(comp) {
					k := int(binary.BigEndian.Uint32(comp[off:]))
					d, _ := snappy.DecodedLen(comp[off+4 : off+4+k])
					off, n = off+4+k, n+d
					boundaries[off] = n
				}
			}
			for i := 1; i < len(comp); i++ {
				out, err := Decompress(c, nil, comp[:i], len(src))
				if n, ok := boundaries[i]; ok {
					if err != nil || !bytes.Equal(out, src[:n]) {
						t.Errorf("%s: prefix %d at a chunk boundary: err %v, %d bytes", c, i, err, len(out))
					}
					continue
				}
				if err == nil {
					t.Errorf("%s: prefix %d of %d decoded without error", c, i, len(comp))
				}
			}
		}
	}
}

func TestDecompressArguments(t *testing.T) {
	if _, err := Decompress(Gzip, nil, []byte{1}, -1); err == nil {
		t.Error("negative maxSize accepted")
	}
	for _, c := range []Codec{5, 7, -1} {
		if _, err := Decompress(c, nil, []byte{1}, 10); !errors.Is(err, ErrUnknownCodec) {
			t.Errorf("codec %d: %v, want ErrUnknownCodec", c, err)
		}
	}
	if out, err := Decompress(None, []byte("a"), []byte("bc"), 2); err != nil || string(out) != "abc" {
		t.Errorf("none: %q, %v", out, err)
	}
	if _, err := Decompress(None, nil, []byte("abc"), 2); !errors.Is(err, ErrTooLarge) {
		t.Errorf("none over the cap: %v", err)
	}
	// maxSize 0 allows only empty output.
	for _, c := range []Codec{Gzip, Snappy, LZ4, Zstd} {
		if out, err := Decompress(c, nil, mustCompress(t, c, DefaultLevel(c), nil), 0); err != nil || len(out) != 0 {
			t.Errorf("%s empty with maxSize 0: %d bytes, %v", c, len(out), err)
		}
		if _, err := Decompress(c, nil, mustCompress(t, c, DefaultLevel(c), []byte("x")), 0); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s one byte with maxSize 0: %v", c, err)
		}
	}
}

// TestZstdBounds checks the frame walk against hand-built frames.
func TestZstdBounds(t *testing.T) {
	frame := func(fhd byte, header []byte, blocks ...[]byte) []byte {
		b := append([]byte{0x28, 0xb5, 0x2f, 0xfd, fhd}, header...)
		for _, blk := range blocks {
			b = append(b, blk...)
		}
		return b
	}
	block := func(typ, size int, last bool, data ...byte) []byte {
		h := uint32(size)<<3 | uint32(typ)<<1
		if last {
			h |= 1
		}
		return append([]byte{byte(h), byte(h >> 8), byte(h >> 16)}, data...)
	}
	skippable := []byte{0x5f, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 1, 2}
	tests := []struct {
		name         string
		src          []byte
		lower, upper uint64
		err          bool
	}{
		{"raw", frame(0, []byte{0x58}, block(0, 3, true, 'a', 'b', 'c')), 3, 3, false},
		{"rle+compressed", frame(0, []byte{0x58}, block(1, 1000, false, 'x'), block(2, 2, true, 0, 0)), 1000, 1000 + 128<<10, false},
		{"single-segment fcs1", frame(0x20, []byte{200}, block(2, 2, true, 0, 0)), 200, 200, false},
		{"fcs2", frame(0x40, []byte{0x58, 1, 0}, block(2, 2, true, 0, 0)), 257, 257, false},
		// Content size 65536 but one raw byte: the walk accepts it (the decoder rejects the
		// mismatch), at least 65536 and at most 1.
		{"fcs4 dict1 checksum", frame(0x85, []byte{0x58, 7, 0, 0, 1, 0}, block(0, 1, true, 'q'), []byte{1, 2, 3, 4}), 65536, 1, false},
		{"fcs8", frame(0xc0, []byte{0x58, 0, 0, 0, 0, 0, 0, 0, 1}, block(2, 1, true, 0)), 1 << 56, 128 << 10, false},
		{"two frames and skippable", append(append(frame(0x20, []byte{5}, block(0, 5, true, 1, 2, 3, 4, 5)), skippable...), frame(0, []byte{0x58}, block(1, 9, true, 0))...), 14, 14, false},
		{"only skippable", skippable, 0, 0, false},
		{"fcs below raw", frame(0x20, []byte{2}, block(0, 3, true, 'a', 'b', 'c')), 0, 0, true},
		{"block too big", frame(0, []byte{0x58}, block(1, 128<<10+1, true, 0)), 0, 0, true},
		{"truncated block", frame(0, []byte{0x58}, block(0, 3, true, 'a')), 0, 0, true},
		{"no last block", frame(0, []byte{0x58}, block(0, 1, false, 'a')), 0, 0, true},
		{"truncated header", frame(0x40, []byte{0x58, 1}), 0, 0, true},
		{"missing checksum", frame(0x04, []byte{0x58}, block(0, 1, true, 'a'), []byte{1, 2}), 0, 0, true},
		{"bad magic", []byte{0x28, 0xb5, 0x2f, 0xfe, 0, 0x58, 1, 0, 0}, 0, 0, true},
		{"short magic", []byte{0x28, 0xb5}, 0, 0, true},
		{"truncated skippable", skippable[:9], 0, 0, true},
	}
	for _, tt := range tests {
		lower, upper, err := zstdBounds(tt.src)
		if tt.err {
			if err == nil {
				t.Errorf("%s: no error", tt.name)
			}
			continue
		}
		if err != nil || lower != tt.lower || upper != tt.upper {
			t.Errorf("%s: got %d, %d, %v; want %d, %d", tt.name, lower, upper, err, tt.lower, tt.upper)
		}
	}
	// Saturation.
	big := frame(0xc0, []byte{0x58, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, block(2, 1, true, 0))
	if lower, _, err := zstdBounds(append(append([]byte(nil), big...), big...)); err != nil || lower != ^uint64(0) {
		t.Errorf("saturating sum: %d, %v", lower, err)
	}
}
