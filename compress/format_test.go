package compress

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/binary"
	"io"
	"math/bits"
	"testing"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// xxh32 is XXH32 written from its specification, to check the LZ4 descriptor checksum
// independently of the library under test.
func xxh32(b []byte, seed uint32) uint32 {
	const p1, p2, p3, p4, p5 uint32 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
	round := func(acc, in uint32) uint32 { return bits.RotateLeft32(acc+in*p2, 13) * p1 }
	n := len(b)
	var h uint32
	if n >= 16 {
		v1, v2, v3, v4 := seed+p1+p2, seed+p2, seed, seed-p1
		for ; len(b) >= 16; b = b[16:] {
			v1 = round(v1, binary.LittleEndian.Uint32(b))
			v2 = round(v2, binary.LittleEndian.Uint32(b[4:]))
			v3 = round(v3, binary.LittleEndian.Uint32(b[8:]))
			v4 = round(v4, binary.LittleEndian.Uint32(b[12:]))
		}
		h = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) + bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		h = seed + p5
	}
	h += uint32(n)
	for ; len(b) >= 4; b = b[4:] {
		h += binary.LittleEndian.Uint32(b) * p3
		h = bits.RotateLeft32(h, 17) * p4
	}
	for _, c := range b {
		h += uint32(c) * p5
		h = bits.RotateLeft32(h, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	h ^= h >> 16
	return h
}

func TestXXH32(t *testing.T) {
	// Published XXH32 vectors (seed 0).
	tests := []struct {
		in   string
		want uint32
	}{
		{"", 0x02cc5d05},
		{"a", 0x550d7456},
		{"abc", 0x32d153ff},
		{"Nobody inspects the spammish repetition", 0xe2293b2f},
	}
	for _, tt := range tests {
		if got := xxh32([]byte(tt.in), 0); got != tt.want {
			t.Errorf("xxh32(%q) = %#08x, want %#08x", tt.in, got, tt.want)
		}
	}
	// And against pierrec/lz4's frame descriptors, which checksum FLG, BD and the optional
	// content size with its own XXH32.
	for _, opts := range [][]lz4.Option{
		{lz4.ChecksumOption(true)},
		{lz4.BlockChecksumOption(true), lz4.BlockSizeOption(lz4.Block4Mb)},
		{lz4.SizeOption(1), lz4.BlockSizeOption(lz4.Block256Kb)},
	} {
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf)
		if err := w.Apply(opts...); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		descLen := 2
		if b[4]&0x08 != 0 {
			descLen += 8
		}
		if got, want := b[4+descLen], byte(xxh32(b[4:4+descLen], 0)>>8); got != want {
			t.Errorf("%v: descriptor checksum %#02x, xxh32 gives %#02x", opts, got, want)
		}
	}
}

func TestLZ4Format(t *testing.T) {
	z := mustCompressor(t, LZ4, DefaultLevel(LZ4))
	for _, src := range [][]byte{nil, []byte("a"), jsonEvents(200 << 10), randomBytes(70<<10, 3)} {
		comp, err := z.AppendCompress(nil, src)
		if err != nil {
			t.Fatal(err)
		}
		if len(comp) < 11 {
			t.Fatalf("frame of %d bytes", len(comp))
		}
		if magic := binary.LittleEndian.Uint32(comp); magic != 0x184d2204 {
			t.Fatalf("magic %#08x", magic)
		}
		flg, bd, hc := comp[4], comp[5], comp[6]
		if flg>>6 != 1 || flg>>5&1 != 1 || flg>>4&1 != 0 || flg>>3&1 != 0 || flg>>2&1 != 0 || flg&3 != 0 {
			t.Fatalf("FLG %08b: want version 01, independent blocks, no checksums, no content size", flg)
		}
		if bd != 4<<4 {
			t.Fatalf("BD %08b: want block size code 4 (64 KiB) and no other bits", bd)
		}
		if want := byte(xxh32([]byte{flg, bd}, 0) >> 8); hc != want {
			t.Fatalf("descriptor checksum %#02x, want %#02x", hc, want)
		}

		// Walk the blocks: 64 KiB of input each but the last; high bit = stored.
		var got []byte
		rest := comp[7:]
		for {
			if len(rest) < 4 {
				t.Fatal("missing end mark")
			}
			size := binary.LittleEndian.Uint32(rest)
			rest = rest[4:]
			if size == 0 {
				break
			}
			n := int(size &^ (1 << 31))
			if n > 64<<10 || n > len(rest) {
				t.Fatalf("block size %d", n)
			}
			var block []byte
			if size&(1<<31) != 0 {
				block = rest[:n]
			} else {
				buf := make([]byte, 64<<10)
				k, err := lz4.UncompressBlock(rest[:n], buf)
				if err != nil {
					t.Fatalf("block: %v", err)
				}
				if k <= n {
					t.Fatalf("compressed block of %d bytes decodes to %d: should have been stored", n, k)
				}
				block = buf[:k]
			}
			if rem := len(src) - len(got); len(block) != min(rem, 64<<10) {
				t.Fatalf("block decodes to %d bytes, want %d", len(block), min(rem, 64<<10))
			}
			got = append(got, block...)
			rest = rest[n:]
		}
		if len(rest) != 0 {
			t.Fatalf("%d bytes after the end mark", len(rest))
		}
		if !bytes.Equal(got, src) {
			t.Fatal("blocks do not reassemble the input")
		}
		// An independent reader agrees.
		back, err := io.ReadAll(lz4.NewReader(bytes.NewReader(comp)))
		if err != nil || !bytes.Equal(back, src) {
			t.Fatalf("lz4.Reader: %v", err)
		}
	}
	// Incompressible blocks are stored, as Java's Lz4BlockOutputStream does.
	comp := mustCompress(t, LZ4, DefaultLevel(LZ4), randomBytes(1000, 4))
	if size := binary.LittleEndian.Uint32(comp[7:]); size != 1000|1<<31 {
		t.Fatalf("random block header %#08x, want stored 1000", size)
	}
}

func TestSnappyFormat(t *testing.T) {
	header := []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}
	z := mustCompressor(t, Snappy, 0)
	for _, src := range [][]byte{nil, []byte("a"), jsonEvents(100 << 10), randomBytes(40<<10, 5)} {
		comp, err := z.AppendCompress(nil, src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(comp, header) {
			t.Fatalf("header % x", comp[:min(16, len(comp))])
		}
		var got []byte
		for rest := comp[16:]; len(rest) > 0; {
			if len(rest) < 4 {
				t.Fatal("truncated chunk length")
			}
			n := int(binary.BigEndian.Uint32(rest))
			if n > len(rest)-4 {
				t.Fatalf("chunk length %d", n)
			}
			block, err := snappy.Decode(nil, rest[4:4+n])
			if err != nil {
				t.Fatalf("chunk: %v", err)
			}
			if rem := len(src) - len(got); len(block) != min(rem, 32<<10) {
				t.Fatalf("chunk decodes to %d bytes, want %d", len(block), min(rem, 32<<10))
			}
			got = append(got, block...)
			rest = rest[4+n:]
		}
		if !bytes.Equal(got, src) {
			t.Fatal("chunks do not reassemble the input")
		}
	}
}

func TestGzipFormat(t *testing.T) {
	src := jsonEvents(100 << 10)
	for _, level := range testLevels(Gzip) {
		comp := mustCompress(t, Gzip, level, src)
		if !bytes.HasPrefix(comp, []byte{0x1f, 0x8b, 8}) {
			t.Fatalf("header % x", comp[:3])
		}
		zr, err := stdgzip.NewReader(bytes.NewReader(comp))
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		back, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(back, src) {
			t.Fatalf("compress/gzip: %v", err)
		}
		// A single member: nothing follows it.
		if rest, _ := io.ReadAll(zr); len(rest) != 0 {
			t.Fatal("data after the gzip member")
		}
	}
}

func TestZstdFormat(t *testing.T) {
	src := jsonEvents(100 << 10)
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, level := range testLevels(Zstd) {
		for _, in := range [][]byte{nil, src} {
			comp := mustCompress(t, Zstd, level, in)
			if !bytes.HasPrefix(comp, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
				t.Fatalf("magic % x", comp[:4])
			}
			if comp[4]&0x04 != 0 {
				t.Fatal("content checksum set; the Java client writes none")
			}
			back, err := dec.DecodeAll(comp, nil)
			if err != nil || !bytes.Equal(back, in) {
				t.Fatalf("zstd.Decoder: %v", err)
			}
		}
	}
}

// TestForeignPayloads decodes payloads written by other encoders and with options ours
// never uses, as Java clients and other tools may send them.
func TestForeignPayloads(t *testing.T) {
	a, b := jsonEvents(70<<10), randomBytes(5000, 6)
	ab := append(append([]byte(nil), a...), b...)
	type tc struct {
		name string
		c    Codec
		comp []byte
		want []byte
	}
	var tests []tc

	// snappy: a raw block (one starting with 0x82 too), concatenated xerial streams.
	tests = append(tests,
		tc{"snappy/raw", Snappy, snappy.Encode(nil, a), a},
		tc{"snappy/raw-0x82", Snappy, snappy.Encode(nil, a[:130]), a[:130]},
		tc{"snappy/raw-empty", Snappy, snappy.Encode(nil, nil), nil},
		tc{"snappy/concatenated", Snappy, append(mustCompress(t, Snappy, 0, a), mustCompress(t, Snappy, 0, b)...), ab},
		tc{"snappy/header-only", Snappy, mustCompress(t, Snappy, 0, nil), nil},
	)

	// gzip: the standard library's writer, a named member, two members.
	gz := func(parts ...[]byte) []byte {
		var buf bytes.Buffer
		for i, p := range parts {
			w := stdgzip.NewWriter(&buf)
			w.Name = "part" + string(rune('0'+i))
			w.Write(p)
			w.Close()
		}
		return buf.Bytes()
	}
	tests = append(tests, tc{"gzip/stdlib", Gzip, gz(a), a}, tc{"gzip/members", Gzip, gz(a, b), ab})

	// lz4: other frame options, and two frames with a skippable frame between them.
	l4 := func(src []byte, opts ...lz4.Option) []byte {
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf)
		if err := w.Apply(opts...); err != nil {
			t.Fatal(err)
		}
		w.Write(src)
		w.Close()
		return buf.Bytes()
	}
	skippable := []byte{0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'x', 'y', 'z'}
	tests = append(tests,
		tc{"lz4/checksums-4MiB", LZ4, l4(a, lz4.ChecksumOption(true), lz4.BlockChecksumOption(true)), a},
		tc{"lz4/content-size", LZ4, l4(a, lz4.SizeOption(uint64(len(a))), lz4.BlockSizeOption(lz4.Block256Kb)), a},
		tc{"lz4/hc", LZ4, l4(a, lz4.CompressionLevelOption(lz4.Level5)), a},
		tc{"lz4/frames", LZ4, append(append(mustCompress(t, LZ4, 9, a), skippable...), mustCompress(t, LZ4, 9, b)...), ab},
	)

	// zstd: a streamed frame (no content size, as Java writes), with a checksum, two frames
	// and a skippable frame.
	zs := func(src []byte, opts ...zstd.EOption) []byte {
		var buf bytes.Buffer
		w, err := zstd.NewWriter(&buf, opts...)
		if err != nil {
			t.Fatal(err)
		}
		// Flushing before the end makes the writer start the frame before it knows the
		// content size.
		w.Write(src[:len(src)/2])
		w.Flush()
		w.Write(src[len(src)/2:])
		w.Close()
		return buf.Bytes()
	}
	streamed := zs(a, zstd.WithEncoderCRC(true))
	if streamed[4]&0xc0 != 0 || streamed[4]&0x20 != 0 {
		t.Fatalf("streamed frame header %08b declares a content size", streamed[4])
	}
	tests = append(tests,
		tc{"zstd/streamed", Zstd, streamed, a},
		tc{"zstd/frames", Zstd, append(append(zs(a), skippable...), mustCompress(t, Zstd, 3, b)...), ab},
	)

	for _, tt := range tests {
		got, err := Decompress(tt.c, nil, tt.comp, len(tt.want))
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("%s: err %v, got %d bytes, want %d", tt.name, err, len(got), len(tt.want))
		}
		if len(tt.want) > 0 {
			if _, err := Decompress(tt.c, nil, tt.comp, len(tt.want)-1); !isTooLarge(err) {
				t.Errorf("%s: maxSize one short: %v, want ErrTooLarge", tt.name, err)
			}
		}
	}
}
