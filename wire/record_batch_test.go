package wire

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// testHeader is the header a non-idempotent producer writes, before the counts are set.
func testHeader() BatchHeader {
	return BatchHeader{
		PartitionLeaderEpoch: -1,
		BaseTimestamp:        1700000000000,
		MaxTimestamp:         1700000000000,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		BaseSequence:         -1,
	}
}

// buildBatch encodes recs (their OffsetDelta must be their index) the way a producer does:
// reserve the header, append the records, then FinishBatch. It checks RecordSize against
// every appended record.
func buildBatch(t testing.TB, h BatchHeader, recs []Record) []byte {
	t.Helper()
	b := make([]byte, RecordBatchHeaderSize)
	for _, r := range recs {
		before := len(b)
		b = AppendRecord(b, r.OffsetDelta, r.TimestampDelta, r.Key, r.Value, r.Headers)
		if got, want := len(b)-before, RecordSize(r.OffsetDelta, r.TimestampDelta, r.Key, r.Value, r.Headers); got != want {
			t.Fatalf("AppendRecord appended %d bytes, RecordSize said %d", got, want)
		}
	}
	h.NumRecords = int32(len(recs))
	h.LastOffsetDelta = int32(len(recs) - 1)
	FinishBatch(b, &h)
	return b
}

// resealCRC recomputes the CRC of a batch whose bytes a test changed on purpose, so that the
// change reaches the parser behind the CRC check.
func resealCRC(b []byte) {
	binary.BigEndian.PutUint32(b[17:21], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
}

func TestRecordBatchGolden(t *testing.T) {
	// One record, key "k", value "v", no headers, timestamp 1700000000000 (0x18bcfe56800),
	// written by hand from the RecordBatch v2 layout.
	want := []byte{
		0, 0, 0, 0, 0, 0, 0, 0, // baseOffset 0
		0, 0, 0, 58, // batchLength: 70 bytes - 12
		0xff, 0xff, 0xff, 0xff, // partitionLeaderEpoch -1
		2,          // magic
		0, 0, 0, 0, // crc, set below
		0, 0, // attributes: no codec, CreateTime
		0, 0, 0, 0, // lastOffsetDelta 0
		0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // baseTimestamp
		0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // maxTimestamp
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // producerId -1
		0xff, 0xff, // producerEpoch -1
		0xff, 0xff, 0xff, 0xff, // baseSequence -1
		0, 0, 0, 1, // recordsCount 1
		0x10,      // record length 8 (zigzag 16)
		0x00,      // record attributes
		0x00,      // timestampDelta 0
		0x00,      // offsetDelta 0
		0x02, 'k', // key length 1
		0x02, 'v', // value length 1
		0x00, // header count 0
	}
	if len(want) != 70 {
		t.Fatalf("golden is %d bytes, want 70", len(want))
	}
	// The CRC-32C runs from attributes (offset 21) to the end. 0xe99b8dd8 was computed with a
	// bitwise CRC-32C (reflected polynomial 0x82f63b78) outside Go.
	crc := crc32.Checksum(want[21:], crc32.MakeTable(crc32.Castagnoli))
	if crc != 0xe99b8dd8 {
		t.Fatalf("standard library CRC-32C of the golden is %#x, want 0xe99b8dd8", crc)
	}
	binary.BigEndian.PutUint32(want[17:], crc)

	got := buildBatch(t, testHeader(), []Record{{Key: []byte("k"), Value: []byte("v")}})
	if !bytes.Equal(got, want) {
		t.Fatalf("encoded\n%x\nwant\n%x", got, want)
	}

	h, recs, rest, err := DecodeBatch(want, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantH := testHeader()
	wantH.BatchLength = 58
	wantH.Magic = 2
	wantH.CRC = 0xe99b8dd8
	wantH.NumRecords = 1
	if h != wantH {
		t.Errorf("header %+v\nwant   %+v", h, wantH)
	}
	if len(recs) != 1 || string(recs[0].Key) != "k" || string(recs[0].Value) != "v" || recs[0].Headers != nil {
		t.Errorf("records %+v", recs)
	}
	if len(rest) != 0 {
		t.Errorf("rest %x", rest)
	}
}

func TestFinishBatchSetsHeader(t *testing.T) {
	h := testHeader()
	h.Magic = 7 // forced to 2
	h.NumRecords = 0
	h.LastOffsetDelta = -1
	b := make([]byte, RecordBatchHeaderSize)
	FinishBatch(b, &h)
	if h.Magic != 2 || h.BatchLength != RecordBatchHeaderSize-12 || h.CRC != crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)) {
		t.Fatalf("header after FinishBatch: %+v", h)
	}
	got, recs, _, err := DecodeBatch(b, nil)
	if err != nil || got != h || len(recs) != 0 {
		t.Fatalf("empty batch: %+v %v %v", got, recs, err)
	}

	defer func() {
		if recover() == nil {
			t.Error("FinishBatch on a short buffer did not panic")
		}
	}()
	FinishBatch(make([]byte, RecordBatchHeaderSize-1), &h)
}

func TestRecordBatchRoundTrip(t *testing.T) {
	many := make([]Record, 1000)
	for i := range many {
		many[i] = Record{
			OffsetDelta:    int32(i),
			TimestampDelta: int64(i*37 - 5000),
			Key:            []byte(fmt.Sprint("key-", i)),
			Value:          bytes.Repeat([]byte{byte(i)}, i%300),
		}
		if i%7 == 0 {
			many[i].Headers = []RecordHeader{{Key: "n", Value: []byte(fmt.Sprint(i))}}
		}
	}
	manyHeaders := make([]RecordHeader, 200)
	for i := range manyHeaders {
		manyHeaders[i] = RecordHeader{Key: fmt.Sprint("h", i%3), Value: []byte(fmt.Sprint(i))}
	}
	cases := []struct {
		name string
		h    func(*BatchHeader)
		recs []Record
	}{
		{"null key and value", nil, []Record{{}}},
		{"empty key and value", nil, []Record{{Key: []byte{}, Value: []byte{}}}},
		{"null key, empty value", nil, []Record{{Value: []byte{}}}},
		{"headers", nil, []Record{{
			Key:   []byte("k"),
			Value: []byte("v"),
			Headers: []RecordHeader{
				{Key: "null", Value: nil},
				{Key: "empty", Value: []byte{}},
				{Key: "dup", Value: []byte("1")},
				{Key: "dup", Value: []byte("2")},
				{Key: "", Value: []byte("empty key")},
			},
		}}},
		{"200 headers", nil, []Record{{Value: []byte("v"), Headers: manyHeaders}}},
		{"negative and extreme timestamp deltas", nil, []Record{
			{OffsetDelta: 0, TimestampDelta: -1},
			{OffsetDelta: 1, TimestampDelta: math.MinInt64},
			{OffsetDelta: 2, TimestampDelta: math.MaxInt64},
			{OffsetDelta: 3, TimestampDelta: -1 << 40},
		}},
		{"large key and value", nil, []Record{{Key: bytes.Repeat([]byte("K"), 70000), Value: bytes.Repeat([]byte("V"), 1<<20)}}},
		{"idempotent transactional", func(h *BatchHeader) {
			h.Attributes = AttrTransactional
			h.ProducerID = 1234567890123
			h.ProducerEpoch = 7
			h.BaseSequence = math.MaxInt32
			h.BaseOffset = 99
			h.PartitionLeaderEpoch = 5
		}, []Record{{Value: []byte("a")}, {OffsetDelta: 1, Value: []byte("b")}}},
		{"control bit reported", func(h *BatchHeader) { h.Attributes = AttrControl | AttrTransactional }, []Record{{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0}}}},
		{"many records", nil, many},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := testHeader()
			if c.h != nil {
				c.h(&h)
			}
			b := buildBatch(t, h, c.recs)
			next := buildBatch(t, testHeader(), []Record{{Value: []byte("next")}})
			gotH, got, rest, err := DecodeBatch(append(bytes.Clone(b), next...), nil)
			if err != nil {
				t.Fatal(err)
			}
			h.Magic = 2
			h.BatchLength = int32(len(b) - 12)
			h.CRC = binary.BigEndian.Uint32(b[17:])
			h.NumRecords = int32(len(c.recs))
			h.LastOffsetDelta = h.NumRecords - 1
			if gotH != h {
				t.Errorf("header %+v\nwant   %+v", gotH, h)
			}
			if !reflect.DeepEqual(got, c.recs) {
				t.Errorf("records differ:\n got %.300v\nwant %.300v", got, c.recs)
			}
			if !bytes.Equal(rest, next) {
				t.Errorf("rest is %d bytes, want the %d of the next batch", len(rest), len(next))
			}
		})
	}

	h, recs, _, err := DecodeBatch(buildBatch(t, func() BatchHeader {
		h := testHeader()
		h.Attributes = AttrControl
		return h
	}(), []Record{{}}), nil)
	if err != nil || h.Attributes&AttrControl == 0 || len(recs) != 1 {
		t.Fatalf("control batch: attributes %#x, %d records, %v", h.Attributes, len(recs), err)
	}
}

func TestRecordSizeVarintBoundaries(t *testing.T) {
	var lengths = []int{-1, 0, 1, 63, 64, 8191, 8192, 1<<20 - 1, 1 << 20}
	var deltas = []int64{0, -1, 63, -64, 64, -65, 8191, 8192, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64}
	mk := func(n int) []byte {
		if n < 0 {
			return nil
		}
		return make([]byte, n)
	}
	for _, kl := range lengths {
		for _, d := range deltas {
			key, value := mk(kl), mk(kl/2)
			hdrs := make([]RecordHeader, max(kl, 0)%100)
			for i := range hdrs {
				hdrs[i] = RecordHeader{Key: strings.Repeat("h", i), Value: mk(kl%100 - 1)}
			}
			off := int32(d)
			b := AppendRecord(nil, off, d, key, value, hdrs)
			if n := RecordSize(off, d, key, value, hdrs); n != len(b) {
				t.Fatalf("key %d delta %d: RecordSize %d, appended %d", kl, d, n, len(b))
			}
			// The length prefix covers exactly the rest of the record.
			r := NewReader(b)
			body := r.Varint()
			if r.Err() != nil || int(body) != r.Remaining() {
				t.Fatalf("key %d delta %d: length prefix %d, %d bytes follow", kl, d, body, r.Remaining())
			}
		}
	}
}

func TestRecordBatchCorruptByte(t *testing.T) {
	recs := []Record{
		{Key: []byte("k1"), Value: []byte("value one"), Headers: []RecordHeader{{Key: "h", Value: []byte("x")}}},
		{OffsetDelta: 1, TimestampDelta: 3, Value: []byte("value two")},
	}
	batch := buildBatch(t, testHeader(), recs)
	for i := range batch {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			b := bytes.Clone(batch)
			b[i] ^= flip
			h, got, _, err := DecodeBatch(b, nil)
			switch {
			case i < 8 || (i >= 12 && i < 16):
				// baseOffset and partitionLeaderEpoch sit outside the CRC on purpose: brokers
				// rewrite them. The change must show in the decoded header.
				if err != nil || (h.BaseOffset == 0 && h.PartitionLeaderEpoch == -1) || !reflect.DeepEqual(got, recs) {
					t.Errorf("byte %d ^ %#x: header %+v, %v", i, flip, h, err)
				}
			case err == nil:
				t.Errorf("byte %d ^ %#x: corruption not detected", i, flip)
			case !errors.Is(err, ErrCorruptBatch):
				t.Errorf("byte %d ^ %#x: error %v does not wrap ErrCorruptBatch", i, flip, err)
			}
		}
	}
}

func TestRecordBatchTruncated(t *testing.T) {
	batch := buildBatch(t, testHeader(), []Record{{Key: []byte("k"), Value: []byte("v"), Headers: []RecordHeader{{Key: "a"}}}})
	for i := range len(batch) {
		_, _, _, err := DecodeBatch(batch[:i], nil)
		if !errors.Is(err, ErrTruncated) || !errors.Is(err, ErrCorruptBatch) {
			t.Errorf("cut at %d: %v", i, err)
		}
	}
}

func TestRecordBatchInvalid(t *testing.T) {
	rec := func(offsetDelta int32) []byte {
		return AppendRecord(nil, offsetDelta, 0, []byte("k"), []byte("v"), nil)
	}
	// raw builds a sealed batch with the given header counts around a hand-made records region.
	raw := func(numRecords, lastOffsetDelta int32, region ...[]byte) []byte {
		b := make([]byte, RecordBatchHeaderSize)
		for _, r := range region {
			b = append(b, r...)
		}
		h := testHeader()
		h.NumRecords = numRecords
		h.LastOffsetDelta = lastOffsetDelta
		FinishBatch(b, &h)
		return b
	}
	// body builds a record from its body bytes, with a correct length prefix.
	body := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return append(AppendVarint(nil, int32(len(b))), b...)
	}
	v := func(n int64) []byte { return AppendVarlong(nil, n) }
	attrsTsOff := []byte{0, 0, 0}

	good := raw(2, 1, rec(0), rec(1))
	if _, _, _, err := DecodeBatch(good, nil); err != nil {
		t.Fatalf("valid batch rejected: %v", err)
	}
	withByte := func(b []byte, off int, val byte) []byte {
		b = bytes.Clone(b)
		b[off] = val
		return b
	}
	resealed := func(b []byte, f func([]byte)) []byte {
		b = bytes.Clone(b)
		f(b)
		resealCRC(b)
		return b
	}

	cases := map[string][]byte{
		"magic 1":                       withByte(good, 16, 1),
		"magic 0":                       withByte(good, 16, 0),
		"bad crc":                       withByte(good, 17, good[17]^1),
		"batch length under header":     resealed(good, func(b []byte) { PutInt32(b, 8, 48) }),
		"negative batch length":         resealed(good, func(b []byte) { PutInt32(b, 8, -1) }),
		"codec 5":                       resealed(good, func(b []byte) { b[22] = 5 }),
		"codec 7":                       resealed(good, func(b []byte) { b[22] = 7 }),
		"lastOffsetDelta too big":       raw(2, 2, rec(0), rec(1)),
		"lastOffsetDelta too small":     raw(2, 0, rec(0), rec(1)),
		"negative count":                raw(-1, -2),
		"count over the records":        raw(3, 2, rec(0), rec(1)),
		"count under the records":       raw(1, 0, rec(0), rec(1)),
		"huge count":                    raw(math.MaxInt32, math.MaxInt32-1, rec(0)),
		"offsetDelta not index":         raw(2, 1, rec(0), rec(2)),
		"offsetDelta repeated":          raw(2, 1, rec(0), rec(0)),
		"record length past the end":    raw(1, 0, append(v(50), rec(0)[1:]...)),
		"record length short":           raw(1, 0, append(v(int64(len(rec(0))-2)), rec(0)[1:]...)),
		"record length negative":        raw(1, 0, append(v(-1), rec(0)[1:]...)),
		"record length over int32":      raw(1, 0, append(v(math.MaxInt32+1), rec(0)[1:]...)),
		"key length -2":                 raw(1, 0, body(attrsTsOff, v(-2), v(-1), v(0))),
		"key length past the record":    raw(1, 0, body(attrsTsOff, v(5), []byte("ab"), v(-1), v(0))),
		"value length -7":               raw(1, 0, body(attrsTsOff, v(-1), v(-7), v(0))),
		"negative header count":         raw(1, 0, body(attrsTsOff, v(-1), v(-1), v(-1))),
		"header count too big":          raw(1, 0, body(attrsTsOff, v(-1), v(-1), v(1000), v(0), v(-1))),
		"null header key":               raw(1, 0, body(attrsTsOff, v(-1), v(-1), v(1), v(-1), v(-1))),
		"header value length -3":        raw(1, 0, body(attrsTsOff, v(-1), v(-1), v(1), v(1), []byte("a"), v(-3))),
		"bytes left in record":          raw(1, 0, body(attrsTsOff, v(-1), v(-1), v(0), []byte{0})),
		"overlong offsetDelta varint":   raw(1, 0, body([]byte{0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0}, v(-1), v(-1), v(0))),
		"offsetDelta over int32":        raw(1, 0, body([]byte{0, 0}, v(math.MaxInt32+1), v(-1), v(-1), v(0))),
		"overlong timestamp varlong":    raw(1, 0, body([]byte{0}, bytes.Repeat([]byte{0x80}, 10), []byte{0, 0}, v(-1), v(-1), v(0))),
		"trailing bytes after records":  raw(1, 0, rec(0), []byte{0}),
		"header key length over record": raw(1, 0, body(attrsTsOff, v(-1), v(-1), v(1), v(100), v(-1))),
	}
	for name, b := range cases {
		h, recs, _, err := DecodeBatch(b, nil)
		if err == nil {
			t.Errorf("%s: accepted, header %+v, %d records", name, h, len(recs))
		} else if !errors.Is(err, ErrCorruptBatch) {
			t.Errorf("%s: error %v does not wrap ErrCorruptBatch", name, err)
		}
	}
}

// TestHostileCountsAllocateLittle checks that record and header counts are bounded by the
// bytes present before anything is allocated from them.
func TestHostileCountsAllocateLittle(t *testing.T) {
	h := testHeader()
	h.NumRecords = 1 << 20
	h.LastOffsetDelta = h.NumRecords - 1
	records := make([]byte, 1<<20) // could hold 1<<20 one-byte records, not 1<<20 real ones
	var hdrs []byte
	hdrs = append(hdrs, 0, 0, 0, 1, 1) // attributes, timestampDelta, offsetDelta, null key, null value
	hdrs = AppendVarint(hdrs, 1<<20)   // header count
	hdrs = append(hdrs, 0, 1)          // one header: empty key, null value
	oneRecord := append(AppendVarint(nil, int32(len(hdrs))), hdrs...)
	h1 := testHeader()
	h1.NumRecords = 1

	// The bound is not tighter than the format: records of minRecordSize bytes all decode.
	var minimal []byte
	for i := range 10 {
		minimal = AppendRecord(minimal, int32(i), 0, nil, nil, nil)
	}
	h10 := testHeader()
	h10.NumRecords, h10.LastOffsetDelta = 10, 9
	if recs, err := DecodeRecords(nil, &h10, minimal); len(minimal) != 10*minRecordSize || err != nil || len(recs) != 10 {
		t.Fatalf("10 minimal records in %d bytes: %d decoded, %v", len(minimal), len(recs), err)
	}

	for name, f := range map[string]func() error{
		"record count": func() error { _, err := DecodeRecords(nil, &h, records); return err },
		"header count": func() error { _, err := DecodeRecords(nil, &h1, oneRecord); return err },
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := f()
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
			t.Errorf("%s: allocated %d bytes", name, n)
		}
	}
}

func TestDecodeRecordsAppendsAndKeepsDstOnError(t *testing.T) {
	recs := []Record{{Value: []byte("a")}, {OffsetDelta: 1, Value: []byte("b")}}
	h, region, _, err := ParseBatchHeader(buildBatch(t, testHeader(), recs))
	if err != nil {
		t.Fatal(err)
	}
	dst := []Record{{Value: []byte("earlier")}}
	out, err := DecodeRecords(dst, &h, region)
	if err != nil || len(out) != 3 || string(out[0].Value) != "earlier" || !reflect.DeepEqual(out[1:], recs) {
		t.Fatalf("DecodeRecords: %+v, %v", out, err)
	}
	out, err = DecodeRecords(dst, &h, region[:len(region)-1])
	if err == nil || len(out) != 1 || string(out[0].Value) != "earlier" {
		t.Fatalf("on error: %+v, %v", out, err)
	}
}

// gzipDecompress is a decompressor for tests: gzip only, output capped at 64 MiB.
func gzipDecompress(codec int8, src []byte) ([]byte, error) {
	if codec != CodecGzip {
		return nil, fmt.Errorf("codec %d not supported by the test", codec)
	}
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	const limit = 64 << 20
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if len(out) > limit {
		return nil, errors.New("decompressed batch too large")
	}
	return out, nil
}

// gzipBatch builds a gzip-compressed batch the way the producer will: records encoded into one
// buffer, compressed into a second one that starts with the reserved header.
func gzipBatch(t testing.TB, recs []Record) []byte {
	var plain []byte
	for _, r := range recs {
		plain = AppendRecord(plain, r.OffsetDelta, r.TimestampDelta, r.Key, r.Value, r.Headers)
	}
	out := bytes.NewBuffer(make([]byte, RecordBatchHeaderSize))
	zw := gzip.NewWriter(out)
	if _, err := zw.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	h := testHeader()
	h.Attributes = int16(CodecGzip)
	h.NumRecords = int32(len(recs))
	h.LastOffsetDelta = h.NumRecords - 1
	b := out.Bytes()
	FinishBatch(b, &h)
	return b
}

func TestDecodeBatchCompressed(t *testing.T) {
	recs := []Record{
		{Key: []byte("a"), Value: bytes.Repeat([]byte("x"), 5000)},
		{OffsetDelta: 1, TimestampDelta: -2, Value: bytes.Repeat([]byte("y"), 5000), Headers: []RecordHeader{{Key: "h"}}},
	}
	b := gzipBatch(t, recs)
	if len(b) > 500 {
		t.Fatalf("gzip batch of %d bytes: records region not compressed?", len(b))
	}
	h, got, _, err := DecodeBatch(b, gzipDecompress)
	if err != nil {
		t.Fatal(err)
	}
	if h.Codec() != CodecGzip || !reflect.DeepEqual(got, recs) {
		t.Fatalf("codec %d, records differ", h.Codec())
	}

	if _, _, rest, err := DecodeBatch(b, nil); err == nil || rest == nil {
		t.Errorf("no decompressor: err %v, rest %v", err, rest)
	}
	bad := bytes.Clone(b)
	bad[RecordBatchHeaderSize+12] ^= 0xff // inside the deflate stream
	resealCRC(bad)
	if _, _, _, err := DecodeBatch(bad, gzipDecompress); !errors.Is(err, ErrCorruptBatch) {
		t.Errorf("broken gzip stream: %v", err)
	}
	other := bytes.Clone(b)
	binary.BigEndian.PutUint16(other[21:], uint16(CodecZstd))
	resealCRC(other)
	if _, _, _, err := DecodeBatch(other, gzipDecompress); !errors.Is(err, ErrCorruptBatch) {
		t.Errorf("decompressor error: %v", err)
	}
}

// benchBatch fills buf (reused) with a 16 KiB batch of records with a 16-byte key and a
// 100-byte value, as the producer's accumulator would, and seals it.
func benchBatch(buf, key, value []byte) []byte {
	const batchSize = 16 << 10
	buf = append(buf[:0], make([]byte, RecordBatchHeaderSize)...)
	n := int32(0)
	for {
		if len(buf)+RecordSize(n, int64(n), key, value, nil) > batchSize {
			break
		}
		buf = AppendRecord(buf, n, int64(n), key, value, nil)
		n++
	}
	h := BatchHeader{
		PartitionLeaderEpoch: -1, BaseTimestamp: 1700000000000, MaxTimestamp: 1700000000000 + int64(n-1),
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, NumRecords: n, LastOffsetDelta: n - 1,
	}
	FinishBatch(buf, &h)
	return buf
}

func TestAppendRecordsNoAlloc(t *testing.T) {
	key, value := bytes.Repeat([]byte("k"), 16), bytes.Repeat([]byte("v"), 100)
	buf := make([]byte, 0, 16<<10)
	allocs := testing.AllocsPerRun(50, func() { buf = benchBatch(buf, key, value) })
	if allocs != 0 {
		t.Fatalf("%v allocations per batch with a reused buffer", allocs)
	}
	if _, recs, _, err := DecodeBatch(buf, nil); err != nil || len(recs) < 100 {
		t.Fatalf("bench batch: %d records, %v", len(recs), err)
	}
	h, region, _, err := ParseBatchHeader(buf)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]Record, 0, h.NumRecords)
	allocs = testing.AllocsPerRun(50, func() { dst, err = DecodeRecords(dst[:0], &h, region) })
	if err != nil || allocs != 0 {
		t.Fatalf("DecodeRecords into a reused slice: %v allocations, %v", allocs, err)
	}
}

func BenchmarkAppendRecords16KiB(b *testing.B) {
	key, value := bytes.Repeat([]byte("k"), 16), bytes.Repeat([]byte("v"), 100)
	buf := benchBatch(make([]byte, 0, 16<<10), key, value)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = benchBatch(buf, key, value)
	}
}

func BenchmarkDecodeBatch(b *testing.B) {
	key, value := bytes.Repeat([]byte("k"), 16), bytes.Repeat([]byte("v"), 100)
	batch := benchBatch(nil, key, value)
	b.Run("new", func(b *testing.B) {
		b.SetBytes(int64(len(batch)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, _, err := DecodeBatch(batch, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reuse", func(b *testing.B) {
		b.SetBytes(int64(len(batch)))
		b.ReportAllocs()
		var dst []Record
		for b.Loop() {
			h, region, _, err := ParseBatchHeader(batch)
			if err == nil {
				dst, err = DecodeRecords(dst[:0], &h, region)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// fuzzDecompress decompresses gzip (capped at 1 MiB) and refuses the other codecs.
func fuzzDecompress(codec int8, src []byte) ([]byte, error) {
	if codec != CodecGzip {
		return nil, fmt.Errorf("codec %d not supported by the fuzz target", codec)
	}
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, 1<<20+1))
	if err == nil && len(out) > 1<<20 {
		err = errors.New("too large")
	}
	return out, err
}

// FuzzDecodeBatch feeds arbitrary bytes to DecodeBatch, once as given and once with the
// length, magic and CRC fixed up so the bytes reach the records parser. Whatever decodes must
// re-encode (uncompressed) to a batch that decodes to the same header and records.
func FuzzDecodeBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFuzzBatch(t, data)
		if len(data) >= RecordBatchHeaderSize {
			b := bytes.Clone(data)
			PutInt32(b, 8, int32(len(b)-12))
			b[16] = 2
			resealCRC(b)
			checkFuzzBatch(t, b)
		}
	})
}

func checkFuzzBatch(t *testing.T, data []byte) {
	h, recs, rest, err := DecodeBatch(data, fuzzDecompress)
	if err != nil {
		if !errors.Is(err, ErrCorruptBatch) {
			t.Fatalf("error %v does not wrap ErrCorruptBatch", err)
		}
		return
	}
	if len(recs) != int(h.NumRecords) || int(h.BatchLength)+12+len(rest) != len(data) {
		t.Fatalf("%d records of %d, batch length %d + rest %d vs %d bytes", len(recs), h.NumRecords, h.BatchLength, len(rest), len(data))
	}
	for i := range recs {
		recs[i].Attributes = 0 // AppendRecord always writes 0
	}
	re := h
	re.Attributes &^= CodecMask
	b := buildBatch(t, re, recs)
	h2, recs2, rest2, err := DecodeBatch(b, nil)
	if err != nil {
		t.Fatalf("re-encoded batch does not decode: %v", err)
	}
	re.CRC, re.BatchLength = h2.CRC, h2.BatchLength
	if h2 != re || len(rest2) != 0 || !reflect.DeepEqual(recs, recs2) {
		t.Fatalf("decode→encode→decode changed the batch:\n%+v\n%+v\n%+v\n%+v", re, h2, recs, recs2)
	}
}

// TestAppendRecordSummed: records appended by AppendRecordSummed, mixed with records
// appended by AppendRecordBody and summed by UpdateRecordsCRC, are byte for byte those
// AppendRecord writes, and the running sum is the CRC-32C of the records up to summed,
// which ends at the last summed record's value.
func TestAppendRecordSummed(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		var want, got []byte
		summed, crc := 0, uint32(0)
		for i := range 1 + rng.IntN(20) {
			var value []byte
			switch rng.IntN(4) {
			case 0: // null
			case 1:
				value = []byte{}
			default:
				value = make([]byte, rng.IntN(5000))
				for j := range value {
					value[j] = byte(rng.Uint32())
				}
			}
			key := []byte("key")[:rng.IntN(4)]
			var headers []RecordHeader
			if rng.IntN(3) == 0 {
				headers = []RecordHeader{{Key: "h", Value: []byte("v")}}
			}
			ts := rng.Int64N(1 << 40)
			body := RecordBodySize(key, value, headers)
			want = AppendRecord(want, int32(i), ts, key, value, headers)
			if rng.IntN(2) == 0 {
				got = AppendRecordBody(got, int32(i), ts, key, value, headers, body)
				continue
			}
			got, summed, crc = AppendRecordSummed(got, summed, crc, int32(i), ts, key, value, headers, body)
			if value != nil {
				tail := len(appendRecordHeaders(nil, headers))
				if summed != len(got)-tail {
					t.Fatalf("round %d record %d: summed to %d, want the value's end %d", round, i, summed, len(got)-tail)
				}
			}
			if want := crc32.Checksum(got[:summed], castagnoli); crc != want {
				t.Fatalf("round %d record %d: sum %#x over %d bytes, want %#x", round, i, crc, summed, want)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: AppendRecordSummed wrote other bytes than AppendRecord", round)
		}
	}
}
