package compress

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gregor-kafka/producer/wire"
	"github.com/pierrec/lz4/v4"
)

// lz4Seq is one sequence of an LZ4 block: its literal length and, but for the last, the
// offset and length of its match.
type lz4Seq struct{ lit, off, match int }

// parseLZ4Block walks an LZ4 block that decodes to n bytes and checks, independently of
// any decoder, the rules that strict decoders rely on: the last sequence is literals only,
// offsets are 1..65535 and within the block, no match starts in the last 12 bytes
// (MFLIMIT) or reaches into the last 5 (LASTLITERALS), and the block decodes to n bytes.
func parseLZ4Block(t testing.TB, block []byte, n int) []lz4Seq {
	t.Helper()
	var seqs []lz4Seq
	readLen := func(p *int, l int) int {
		if l != 15 {
			return l
		}
		for {
			if *p >= len(block) {
				t.Fatalf("length extension runs past the block")
			}
			b := block[*p]
			*p++
			l += int(b)
			if b != 255 {
				return l
			}
		}
	}
	p, pos := 0, 0
	for {
		if p >= len(block) {
			t.Fatalf("block ends without a last literals-only sequence")
		}
		tok := block[p]
		p++
		lit := readLen(&p, int(tok>>4))
		if p+lit > len(block) {
			t.Fatalf("literals run past the block")
		}
		p += lit
		pos += lit
		if p == len(block) {
			if tok&15 != 0 {
				t.Fatalf("last sequence has a match length nibble %d", tok&15)
			}
			seqs = append(seqs, lz4Seq{lit: lit})
			break
		}
		if p+2 > len(block) {
			t.Fatalf("offset runs past the block")
		}
		off := int(block[p]) | int(block[p+1])<<8
		p += 2
		match := readLen(&p, int(tok&15)) + lz4MinMatch
		switch {
		case off == 0 || off > pos:
			t.Fatalf("offset %d at output position %d", off, pos)
		case pos+lz4MFLimit >= n:
			t.Fatalf("match starts at %d, within the last %d bytes of %d", pos, lz4MFLimit, n)
		case pos+match > n-lz4LastLiterals:
			t.Fatalf("match [%d, %d) reaches into the last %d bytes of %d", pos, pos+match, lz4LastLiterals, n)
		}
		pos += match
		seqs = append(seqs, lz4Seq{lit, off, match})
	}
	if pos != n {
		t.Fatalf("block decodes to %d bytes, want %d", pos, n)
	}
	if last := seqs[len(seqs)-1].lit; last < min(n, lz4LastLiterals) {
		t.Fatalf("last literals %d of %d", last, n)
	}
	return seqs
}

// lz4BlockBound is the most an LZ4 block of n bytes can take: all literals.
func lz4BlockBound(n int) int { return n + n/255 + 16 }

// encodeLZ4Block compresses src with e into a dst of dstLen bytes followed by a guard, and
// checks that nothing past the returned length was written; it returns the block.
func encodeLZ4Block(t testing.TB, e *lz4FastEncoder, src []byte, dstLen int) []byte {
	t.Helper()
	const guard = 64
	buf := bytes.Repeat([]byte{0xa5}, dstLen+guard)
	k, err := e.CompressBlock(src, buf[:dstLen])
	if err != nil || k < 0 || k > dstLen {
		t.Fatalf("CompressBlock(%d bytes into %d) = %d, %v", len(src), dstLen, k, err)
	}
	untouched := dstLen
	if k > 0 {
		untouched = k
	}
	for i := untouched; i < len(buf); i++ {
		if buf[i] != 0xa5 {
			t.Fatalf("CompressBlock(%d bytes into %d) returned %d but wrote at %d", len(src), dstLen, k, i)
		}
	}
	return buf[:k]
}

// checkLZ4Block compresses src with room to spare, checks the block's rules, and decodes
// it with pierrec/lz4; then compresses it into len(src) bytes, as appendLZ4 does, and
// checks that it either does not fit or is the same block. It returns the sequences.
func checkLZ4Block(t testing.TB, e *lz4FastEncoder, src []byte) []lz4Seq {
	t.Helper()
	block := encodeLZ4Block(t, e, src, lz4BlockBound(len(src)))
	if len(block) == 0 {
		t.Fatalf("%d bytes: no block with a dst of %d", len(src), lz4BlockBound(len(src)))
	}
	seqs := parseLZ4Block(t, block, len(src))
	out := make([]byte, len(src)+1)
	k, err := lz4.UncompressBlock(block, out)
	if err != nil || !bytes.Equal(out[:k], src) {
		t.Fatalf("%d bytes: UncompressBlock: %v, equal %v", len(src), err, bytes.Equal(out[:k], src))
	}
	tight := encodeLZ4Block(t, e, src, len(src))
	if len(tight) != 0 && !bytes.Equal(tight, block) {
		t.Fatalf("%d bytes: the block in len(src) bytes differs from the one with room", len(src))
	}
	if len(tight) == 0 && len(block) <= len(src) {
		t.Fatalf("%d bytes: a block of %d did not fit in %d", len(src), len(block), len(src))
	}
	return seqs
}

// textBytes returns n bytes of words from a fixed vocabulary, the same for the same seed.
func textBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 3))
	words := strings.Fields("kafka producer record batch partition leader broker offset topic value key header")
	var b []byte
	for len(b) < n {
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, ' ')
	}
	return b[:n]
}

func TestLZ4BlockSmall(t *testing.T) {
	e := new(lz4FastEncoder)
	for n := 0; n <= 64; n++ {
		for _, src := range [][]byte{randomBytes(n, uint64(n)), bytes.Repeat([]byte{'a'}, n), textBytes(n, uint64(n))} {
			seqs := checkLZ4Block(t, e, src)
			if n <= lz4MFLimit && len(seqs) != 1 {
				t.Fatalf("%d bytes: %d sequences, want literals only", n, len(seqs))
			}
		}
	}
}

func TestLZ4BlockShapes(t *testing.T) {
	e := new(lz4FastEncoder)
	json := jsonEvents(200 << 10)
	text := textBytes(200<<10, 1)
	random := randomBytes(200<<10, 5)
	for _, n := range []int{100, 1000, 4096, 64<<10 - 1, 64 << 10} {
		for name, src := range map[string][]byte{"json": json[:n], "text": text[:n], "random": random[:n], "zeros": make([]byte, n)} {
			t.Run(fmt.Sprint(name, n), func(t *testing.T) {
				seqs := checkLZ4Block(t, e, src)
				switch name {
				case "random":
					if got := encodeLZ4Block(t, e, src, n); len(got) != 0 {
						t.Fatalf("random data compressed to %d of %d bytes", len(got), n)
					}
				case "zeros":
					if len(seqs) != 2 || seqs[0].off != 1 || seqs[0].match != n-1-lz4LastLiterals {
						t.Fatalf("zeros: sequences %v, want one match of offset 1 and length %d", seqs, n-1-lz4LastLiterals)
					}
				}
			})
		}
	}
	// More than a block is refused, and stored by appendLZ4.
	if k, _ := e.CompressBlock(make([]byte, 64<<10+1), make([]byte, 128<<10)); k != 0 {
		t.Fatalf("64 KiB + 1 compressed to %d", k)
	}
}

// TestLZ4BlockLengths makes sequences with literal and match lengths around the points where
// their encodings change (15 in the token, 15+255 with one extension byte, the longest
// possible in a block), and checks that the encoder writes them as made.
func TestLZ4BlockLengths(t *testing.T) {
	e := new(lz4FastEncoder)
	r := rand.New(rand.NewPCG(9, 9))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	lengths := []int{4, 5, 14, 15, 16, 18, 19, 20, 269, 270, 271, 272, 274, 275, 1000}
	for _, lit := range lengths {
		for _, match := range lengths {
			// lit random bytes, then a match of them at offset lit (overlapping itself when
			// longer), then random bytes that no match reaches into.
			head := random(lit)
			src := append([]byte(nil), head...)
			for i := range match {
				src = append(src, head[i%lit])
			}
			src = append(src, random(32)...)
			seqs := checkLZ4Block(t, e, src)
			if match < lz4HashBytes || lit > 1<<lz4SkipLog && match < 14 {
				// The table finds matches as long as what it hashes, and the search steps
				// over short ones after long runs of literals.
				continue
			}
			if seqs[0].lit != lit || seqs[0].off != lit || seqs[0].match < match {
				t.Errorf("lit %d match %d: first sequence %+v", lit, match, seqs[0])
			}
		}
	}
	// The longest of each in one block: 64 KiB of literals; a match of 64 KiB less the first
	// byte and the last literals.
	seqs := checkLZ4Block(t, e, randomBytes(64<<10, 6))
	if len(seqs) != 1 || seqs[0].lit != 64<<10 {
		t.Errorf("random 64 KiB: %d sequences, first %+v", len(seqs), seqs[0])
	}
	seqs = checkLZ4Block(t, e, bytes.Repeat([]byte{7}, 64<<10))
	if seqs[0].match != 64<<10-1-lz4LastLiterals {
		t.Errorf("64 KiB of one byte: first sequence %+v", seqs[0])
	}
}

// TestLZ4BlockEnd puts repeats at every distance from the end of short blocks, so that the
// encoder meets matches that would start in the last 12 bytes or run into the last 5.
func TestLZ4BlockEnd(t *testing.T) {
	e := new(lz4FastEncoder)
	for n := 13; n <= 100; n++ {
		for start := 1; start < n; start++ {
			// Random bytes, then from start on a copy of the first bytes.
			src := randomBytes(n, uint64(n*1000+start))
			copy(src[start:], src)
			checkLZ4Block(t, e, src)
			// And a run of one byte from start on.
			for i := start; i < n; i++ {
				src[i] = 'z'
			}
			checkLZ4Block(t, e, src)
		}
	}
}

// TestLZ4BlockStaleEntries compresses blocks that repeat an earlier block exactly: no match
// may refer to the earlier block, from the same batch or an earlier one.
func TestLZ4BlockStaleEntries(t *testing.T) {
	e := new(lz4FastEncoder)
	src := textBytes(64<<10, 4)
	for i := range 5 {
		checkLZ4Block(t, e, src)
		checkLZ4Block(t, e, src[:1000+i])
	}
}

// TestLZ4FastFrames round-trips whole frames of the default level through Decompress: a 1 MiB
// multi-block batch of records, and sizes around the 64 KiB block.
func TestLZ4FastFrames(t *testing.T) {
	z := mustCompressor(t, LZ4, lz4DefaultLevel)
	records := recordBatch(1 << 20)
	json := jsonEvents(1 << 20)
	for _, src := range [][]byte{records, json, json[:64<<10-1], json[:64<<10], json[:64<<10+1], randomBytes(1<<20, 8)} {
		var comp []byte
		for range 3 { // the pooled encoder serves several batches
			var err error
			if comp, err = z.AppendCompress(comp[:0], src); err != nil {
				t.Fatal(err)
			}
			out, err := Decompress(LZ4, nil, comp, len(src))
			if err != nil || !bytes.Equal(out, src) {
				t.Fatalf("%d bytes: %v, equal %v", len(src), err, bytes.Equal(out, src))
			}
		}
		t.Logf("%d -> %d bytes", len(src), len(comp))
	}
}

// FuzzLZ4Encode compresses any input with one encoder, reused from input to input (a table
// entry left from an earlier input must not be taken for a match), into a dst with room, into
// one of len(src) bytes and into two shorter than the block: the blocks must follow the
// format's rules, decode to the input with pierrec/lz4, and leave dst alone past their end.
func FuzzLZ4Encode(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
	f.Add([]byte("abcdabcdabcdabcdx"))
	f.Add(jsonEvents(2000))
	f.Add(textBytes(300, 2))
	f.Add(randomBytes(100, 3))
	e := new(lz4FastEncoder)
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > lz4BlockInput {
			src = src[:lz4BlockInput]
		}
		checkLZ4Block(t, e, src)
		// Into dsts too short for the block, by one byte and by an amount the input picks:
		// nothing fits, nothing is written past them.
		full := encodeLZ4Block(t, e, src, lz4BlockBound(len(src)))
		for _, n := range []int{len(full) - 1, len(full) - 1 - len(src)%97} {
			if n >= 0 && len(encodeLZ4Block(t, e, src, n)) != 0 {
				t.Fatalf("%d bytes: a block of %d fit in %d", len(src), len(full), n)
			}
		}
	})
}

// TestLZ4BlockEveryDstLen compresses blocks into every dst length around their size (and
// the smallest ones): a dst shorter than the block gets 0 and nothing written past it, a
// longer one the same block. Records with long runs and both lengths past 15 found a quick
// size check that was one byte short (a write past dst).
func TestLZ4BlockEveryDstLen(t *testing.T) {
	var records []byte
	for i := 0; len(records) < lz4BlockInput; i++ {
		records = wire.AppendRecord(records, int32(i), int64(i), []byte(fmt.Sprintf("key-%d", i)),
			bytes.Repeat([]byte{byte(i)}, 50+i%40), []wire.RecordHeader{{Key: "h", Value: []byte(fmt.Sprint(i))}})
	}
	e := new(lz4FastEncoder)
	for name, src := range map[string][]byte{
		"records": records[:lz4BlockInput],
		"text":    textBytes(20000, 9),
		"json":    jsonEvents(30000),
		"runs":    bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz0123456789"), 1000),
	} {
		// Every length for the first 6 KiB of it, the lengths around the size for all of it.
		for _, src := range [][]byte{src[:6<<10], src} {
			full := encodeLZ4Block(t, e, src, lz4BlockBound(len(src)))
			from := 0
			if len(src) > 6<<10 {
				from = max(0, len(full)-600)
			}
			for n := from; n <= len(full)+20; n++ {
				got := encodeLZ4Block(t, e, src, n)
				if n < len(full) && len(got) != 0 || n >= len(full) && !bytes.Equal(got, full) {
					t.Fatalf("%s: %d bytes into %d: a block of %d, want %d", name, len(src), n, len(got), len(full))
				}
			}
		}
	}
}
