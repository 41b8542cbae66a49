package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
)

// RecordBatchHeaderSize is the size of the fixed header of a RecordBatch v2 (magic 2). The
// records region, compressed or not, starts at this offset.
const RecordBatchHeaderSize = 61

// Bits of the RecordBatch attributes field.
const (
	// CodecMask selects the compression codec (one of the Codec constants) from the attributes.
	CodecMask int16 = 0x07
	// AttrTimestampType is set when the record timestamps are LogAppendTime (written by the
	// broker); producers leave it clear (CreateTime).
	AttrTimestampType int16 = 0x08
	// AttrTransactional marks a batch written inside a transaction.
	AttrTransactional int16 = 0x10
	// AttrControl marks a batch of transaction markers. Producers must not set it: brokers
	// answer INVALID_RECORD.
	AttrControl int16 = 0x20
	// AttrDeleteHorizon says baseTimestamp holds the delete horizon of a compacted batch
	// (KIP-534); only brokers set it.
	AttrDeleteHorizon int16 = 0x40
)

// Compression codec ids, as stored in the low three bits of the batch attributes.
const (
	CodecNone   int8 = 0
	CodecGzip   int8 = 1
	CodecSnappy int8 = 2
	CodecLZ4    int8 = 3
	CodecZstd   int8 = 4
)

// Byte offsets of the RecordBatch v2 header fields.
const (
	offBaseOffset      = 0
	offBatchLength     = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21 // the CRC covers this byte to the end of the batch
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offNumRecords      = 57

	// batchLengthStart is where the bytes counted by batchLength begin: everything after
	// baseOffset and batchLength themselves.
	batchLengthStart = 12

	// minRecordSize is the smallest encoded record: one byte each for the length,
	// attributes, timestampDelta, offsetDelta, key length, value length and header count.
	minRecordSize = 7
	// minHeaderSize is the smallest encoded record header: empty key, null value.
	minHeaderSize = 2
)

// castagnoli is the CRC-32C table for hash/crc32, which crc32cUpdate falls back to (and
// which uses the CPU's CRC instructions where they exist). It is never written after
// initialisation.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptBatch is wrapped by every error about a malformed record batch: bad length,
// magic, CRC, codec, record count or record encoding. Errors caused by missing bytes wrap
// [ErrTruncated] as well.
var ErrCorruptBatch = errors.New("wire: corrupt record batch")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorruptBatch}, args...)...)
}

// BatchHeader holds the fixed fields of a RecordBatch v2 (magic 2), in wire order.
type BatchHeader struct {
	// BaseOffset is the offset of the first record; producers send 0.
	BaseOffset int64
	// BatchLength is the number of bytes after this field to the end of the batch.
	BatchLength int32
	// PartitionLeaderEpoch is set by the broker; producers send -1.
	PartitionLeaderEpoch int32
	// Magic is the record format version, always 2 here.
	Magic int8
	// CRC is the CRC-32C of the batch from Attributes to its last byte.
	CRC uint32
	// Attributes holds the codec and the Attr bits.
	Attributes int16
	// LastOffsetDelta is the offset delta of the last record: NumRecords-1.
	LastOffsetDelta int32
	// BaseTimestamp is the timestamp (ms) every record's TimestampDelta is relative to,
	// normally that of the first record.
	BaseTimestamp int64
	// MaxTimestamp is the largest record timestamp (ms) in the batch.
	MaxTimestamp int64
	// ProducerID is the idempotent producer id, or -1.
	ProducerID int64
	// ProducerEpoch is the idempotent producer epoch, or -1.
	ProducerEpoch int16
	// BaseSequence is the sequence number of the first record, or -1.
	BaseSequence int32
	// NumRecords is the number of records, also when they are compressed.
	NumRecords int32
}

// Codec returns the compression codec id stored in the attributes.
func (h *BatchHeader) Codec() int8 { return int8(h.Attributes & CodecMask) }

// RecordHeader is one record header. The key is never null; a nil Value is null.
type RecordHeader struct {
	Key   string
	Value []byte
}

// Record is one decoded record. A nil Key or Value is null. Key, Value and header values
// alias the decoded input; header keys are copies.
type Record struct {
	// Attributes is unused by Kafka and always 0 when written here.
	Attributes int8
	// TimestampDelta is the record timestamp minus the batch BaseTimestamp, in ms.
	TimestampDelta int64
	// OffsetDelta is the record's position in its batch.
	OffsetDelta int32
	Key         []byte
	Value       []byte
	Headers     []RecordHeader
}

// recordBodySize returns the size of a record after its length prefix.
func recordBodySize(offsetDelta int32, timestampDelta int64, key, value []byte, headers []RecordHeader) int {
	n := 1 + varlongSize(timestampDelta) + varlongSize(int64(offsetDelta))
	n += varintBytesSize(lenOrNull(key)) + varintBytesSize(lenOrNull(value))
	n += varlongSize(int64(len(headers)))
	for i := range headers {
		n += varintBytesSize(len(headers[i].Key)) + varintBytesSize(lenOrNull(headers[i].Value))
	}
	return n
}

func lenOrNull(b []byte) int {
	if b == nil {
		return -1
	}
	return len(b)
}

// RecordSize returns the exact number of bytes [AppendRecord] appends for the same
// arguments, so a producer can check batch.size and max.request.size before encoding.
func RecordSize(offsetDelta int32, timestampDelta int64, key, value []byte, headers []RecordHeader) int {
	body := recordBodySize(offsetDelta, timestampDelta, key, value, headers)
	return varlongSize(int64(body)) + body
}

// RecordBodySize returns the size of a record's body (all but its length prefix) with both
// deltas zero, for [AppendRecordBody]; [RecordSizeOfBody] of it is RecordSize(0, 0, ...).
func RecordBodySize(key, value []byte, headers []RecordHeader) int {
	return recordBodySize(0, 0, key, value, headers)
}

// RecordSizeOfBody returns the size of a record whose body is body bytes.
func RecordSizeOfBody(body int) int { return varlongSize(int64(body)) + body }

// AppendRecord appends one record in the RecordBatch v2 format, its varint length prefix
// included, to dst. A nil key or value (or header value) is written as null, an empty
// non-nil one as empty. It allocates only to grow dst.
func AppendRecord(dst []byte, offsetDelta int32, timestampDelta int64, key, value []byte, headers []RecordHeader) []byte {
	return AppendRecordBody(dst, offsetDelta, timestampDelta, key, value, headers, RecordBodySize(key, value, headers))
}

// AppendRecordBody is [AppendRecord] for a caller that has the record's [RecordBodySize]
// already: zeroBody, which it does not compute again.
func AppendRecordBody(dst []byte, offsetDelta int32, timestampDelta int64, key, value []byte, headers []RecordHeader, zeroBody int) []byte {
	dst = appendRecordHead(dst, offsetDelta, timestampDelta, key, zeroBody)
	dst = AppendVarintBytes(dst, value)
	return appendRecordHeaders(dst, headers)
}

// AppendRecordSummed is [AppendRecordBody] for a batch whose records are summed as they are
// appended, for [FinishBatchCRC]: crc is the CRC-32C of the records up to dst[:summed]. It
// sums what is pending up to the value's length, then copies the value and sums it in one
// pass over it (crc32cCopy), so that a large value is read once. It returns dst and the
// new summed and crc, which cover the record up to the end of its value; its headers are
// left to the next sum.
func AppendRecordSummed(dst []byte, summed int, crc uint32, offsetDelta int32, timestampDelta int64, key, value []byte, headers []RecordHeader, zeroBody int) ([]byte, int, uint32) {
	dst = appendRecordHead(dst, offsetDelta, timestampDelta, key, zeroBody)
	if value == nil {
		dst = AppendVarintBytes(dst, nil)
	} else {
		dst = binary.AppendVarint(dst, int64(len(value)))
		crc = crc32cUpdate(crc, dst[summed:])
		n := len(dst)
		dst = slices.Grow(dst, len(value))[:n+len(value)]
		crc = crc32cCopy(crc, dst[n:], value)
		summed = len(dst)
	}
	return appendRecordHeaders(dst, headers), summed, crc
}

// appendRecordHead appends a record up to its key, included.
func appendRecordHead(dst []byte, offsetDelta int32, timestampDelta int64, key []byte, zeroBody int) []byte {
	// The zero deltas took a byte each.
	body := zeroBody - 2 + varlongSize(timestampDelta) + varlongSize(int64(offsetDelta))
	dst = binary.AppendVarint(dst, int64(body))
	dst = append(dst, 0) // record attributes: unused
	dst = binary.AppendVarint(dst, timestampDelta)
	dst = binary.AppendVarint(dst, int64(offsetDelta))
	return AppendVarintBytes(dst, key)
}

// appendRecordHeaders appends the end of a record: its header count and headers.
func appendRecordHeaders(dst []byte, headers []RecordHeader) []byte {
	dst = binary.AppendVarint(dst, int64(len(headers)))
	for i := range headers {
		dst = AppendVarintString(dst, headers[i].Key)
		dst = AppendVarintBytes(dst, headers[i].Value)
	}
	return dst
}

// FinishBatch seals a batch built in place: batch holds RecordBatchHeaderSize reserved bytes
// followed by the records region (compressed or not). FinishBatch sets h.Magic to 2 and
// h.BatchLength from len(batch), writes every field of h into batch[:RecordBatchHeaderSize],
// then computes the CRC-32C over batch[21:] (attributes to the end), stores it in the batch
// and in h.CRC. The CRC is computed last, so nothing of the header is written twice.
//
// It panics if batch is shorter than the header, as slicing it would.
func FinishBatch(batch []byte, h *BatchHeader) {
	finishBatch(batch, h, false, 0)
}

// FinishBatchCRC is [FinishBatch] for a batch whose records' CRC-32C the caller summed as
// it appended them: recordsCRC is [UpdateRecordsCRC] over batch[RecordBatchHeaderSize:].
// The records are not read again.
func FinishBatchCRC(batch []byte, h *BatchHeader, recordsCRC uint32) {
	finishBatch(batch, h, true, recordsCRC)
}

func finishBatch(batch []byte, h *BatchHeader, summed bool, recordsCRC uint32) {
	if len(batch) < RecordBatchHeaderSize {
		panic(fmt.Sprintf("wire: FinishBatch on %d bytes, shorter than the %d-byte batch header", len(batch), RecordBatchHeaderSize))
	}
	h.Magic = 2
	h.BatchLength = int32(len(batch) - batchLengthStart)
	be := binary.BigEndian
	be.PutUint64(batch[offBaseOffset:], uint64(h.BaseOffset))
	be.PutUint32(batch[offBatchLength:], uint32(h.BatchLength))
	be.PutUint32(batch[offLeaderEpoch:], uint32(h.PartitionLeaderEpoch))
	batch[offMagic] = byte(h.Magic)
	be.PutUint16(batch[offAttributes:], uint16(h.Attributes))
	be.PutUint32(batch[offLastOffsetDelta:], uint32(h.LastOffsetDelta))
	be.PutUint64(batch[offBaseTimestamp:], uint64(h.BaseTimestamp))
	be.PutUint64(batch[offMaxTimestamp:], uint64(h.MaxTimestamp))
	be.PutUint64(batch[offProducerID:], uint64(h.ProducerID))
	be.PutUint16(batch[offProducerEpoch:], uint16(h.ProducerEpoch))
	be.PutUint32(batch[offBaseSequence:], uint32(h.BaseSequence))
	be.PutUint32(batch[offNumRecords:], uint32(h.NumRecords))
	if summed {
		header := crc32cUpdate(0, batch[offAttributes:RecordBatchHeaderSize])
		h.CRC = crc32cCombine(header, recordsCRC, len(batch)-RecordBatchHeaderSize)
	} else {
		h.CRC = crc32cUpdate(0, batch[offAttributes:])
	}
	be.PutUint32(batch[offCRC:], h.CRC)
}

// ParseBatchHeader validates and decodes the header of the first record batch in b. It
// checks that batchLength covers at least the header and fits in b, that magic is 2, the
// CRC-32C, that the codec is one Kafka knows (0-4), and that NumRecords is not negative and
// matches LastOffsetDelta (NumRecords-1), as brokers check produced batches. It returns the
// header, the records region (still compressed if the codec says so; its capacity ends with
// the batch) and the bytes after this batch. Both slices alias b.
//
// A batch cut short wraps [ErrTruncated]; every error wraps [ErrCorruptBatch]. On error the
// header is the zero value.
func ParseBatchHeader(b []byte) (h BatchHeader, records []byte, rest []byte, err error) {
	if len(b) < batchLengthStart {
		return BatchHeader{}, nil, nil, fmt.Errorf("%w: %d bytes, no room for a batch length: %w", ErrCorruptBatch, len(b), ErrTruncated)
	}
	be := binary.BigEndian
	h.BaseOffset = int64(be.Uint64(b[offBaseOffset:]))
	h.BatchLength = int32(be.Uint32(b[offBatchLength:]))
	if h.BatchLength < RecordBatchHeaderSize-batchLengthStart {
		return BatchHeader{}, nil, nil, corruptf("batch length %d shorter than the batch header", h.BatchLength)
	}
	end := batchLengthStart + int(h.BatchLength)
	if end > len(b) {
		return BatchHeader{}, nil, nil, fmt.Errorf("%w: batch of %d bytes, only %d present: %w", ErrCorruptBatch, end, len(b), ErrTruncated)
	}
	h.PartitionLeaderEpoch = int32(be.Uint32(b[offLeaderEpoch:]))
	h.Magic = int8(b[offMagic])
	if h.Magic != 2 {
		return BatchHeader{}, nil, nil, corruptf("magic %d, only 2 is supported", h.Magic)
	}
	h.CRC = be.Uint32(b[offCRC:])
	if got := crc32cUpdate(0, b[offAttributes:end]); got != h.CRC {
		return BatchHeader{}, nil, nil, corruptf("CRC-32C is %#08x, header says %#08x", got, h.CRC)
	}
	h.Attributes = int16(be.Uint16(b[offAttributes:]))
	h.LastOffsetDelta = int32(be.Uint32(b[offLastOffsetDelta:]))
	h.BaseTimestamp = int64(be.Uint64(b[offBaseTimestamp:]))
	h.MaxTimestamp = int64(be.Uint64(b[offMaxTimestamp:]))
	h.ProducerID = int64(be.Uint64(b[offProducerID:]))
	h.ProducerEpoch = int16(be.Uint16(b[offProducerEpoch:]))
	h.BaseSequence = int32(be.Uint32(b[offBaseSequence:]))
	h.NumRecords = int32(be.Uint32(b[offNumRecords:]))
	if err := checkCounts(&h); err != nil {
		return BatchHeader{}, nil, nil, err
	}
	if c := h.Codec(); c > CodecZstd {
		return BatchHeader{}, nil, nil, corruptf("unknown compression codec %d", c)
	}
	return h, b[RecordBatchHeaderSize:end:end], b[end:], nil
}

// checkCounts checks the record count fields of h against each other.
func checkCounts(h *BatchHeader) error {
	if h.NumRecords < 0 {
		return corruptf("negative record count %d", h.NumRecords)
	}
	if h.LastOffsetDelta != h.NumRecords-1 {
		return corruptf("lastOffsetDelta %d with %d records", h.LastOffsetDelta, h.NumRecords)
	}
	return nil
}

// DecodeRecords parses exactly h.NumRecords records from records, an uncompressed records
// region, and appends them to dst. It checks that h.LastOffsetDelta is h.NumRecords-1, that
// each record's offsetDelta is its index, that every length is -1 (null, where allowed) or
// fits, that each record exactly fills its declared length and that no bytes are left over.
// The count is bounded by the bytes present before anything is allocated. On error it returns
// dst unchanged and an error wrapping [ErrCorruptBatch].
func DecodeRecords(dst []Record, h *BatchHeader, records []byte) ([]Record, error) {
	if err := checkCounts(h); err != nil {
		return dst, err
	}
	n := int(h.NumRecords)
	if n > len(records)/minRecordSize {
		return dst, corruptf("%d records cannot fit in %d bytes", n, len(records))
	}
	out := slices.Grow(dst, n)
	r := Reader{b: records}
	for i := range n {
		size := r.Varint()
		if r.err == nil && size < 0 {
			r.Failf("negative length %d", size)
		}
		body := r.Raw(int(size))
		if r.err != nil {
			return dst, fmt.Errorf("%w: record %d: %w", ErrCorruptBatch, i, r.err)
		}
		rec, err := decodeRecord(body)
		if err != nil {
			return dst, fmt.Errorf("%w: record %d: %w", ErrCorruptBatch, i, err)
		}
		if rec.OffsetDelta != int32(i) {
			return dst, corruptf("record %d has offsetDelta %d", i, rec.OffsetDelta)
		}
		out = append(out, rec)
	}
	if r.Remaining() != 0 {
		return dst, corruptf("%d bytes after the last of %d records", r.Remaining(), n)
	}
	return out, nil
}

// decodeRecord decodes one record body (after its length prefix), which it must fill exactly.
func decodeRecord(body []byte) (Record, error) {
	r := Reader{b: body}
	var rec Record
	rec.Attributes = r.Int8()
	rec.TimestampDelta = r.Varlong()
	rec.OffsetDelta = r.Varint()
	rec.Key = r.VarintBytes()
	rec.Value = r.VarintBytes()
	nh := r.Varint()
	switch {
	case r.err != nil:
	case nh < 0:
		r.Failf("negative header count %d", nh)
	case int(nh) > r.Remaining()/minHeaderSize:
		r.Failf("%d headers cannot fit in %d bytes", nh, r.Remaining())
	case nh > 0:
		rec.Headers = make([]RecordHeader, nh)
		for j := range rec.Headers {
			k := r.VarintBytes()
			if k == nil && r.err == nil {
				r.Failf("header %d has a null key", j)
			}
			v := r.VarintBytes()
			if r.err != nil {
				break
			}
			rec.Headers[j] = RecordHeader{Key: string(k), Value: v}
		}
	}
	if err := r.Complete(); err != nil {
		return Record{}, err
	}
	return rec, nil
}

// DecodeBatch decodes the first record batch in b: [ParseBatchHeader], then, for a compressed
// batch, decompress(codec, region), then [DecodeRecords]. decompress may be nil when no
// compressed batch is expected; it must bound the size of what it produces, since the
// compressed region is hostile too. Records alias b or decompress's output.
//
// rest is the bytes after the batch; it is returned whenever the header was valid, even if
// the records were not, so a caller can skip to the next batch. Every error wraps
// [ErrCorruptBatch], except the one for a compressed batch with a nil decompress.
func DecodeBatch(b []byte, decompress func(codec int8, src []byte) ([]byte, error)) (BatchHeader, []Record, []byte, error) {
	h, records, rest, err := ParseBatchHeader(b)
	if err != nil {
		return h, nil, nil, err
	}
	if c := h.Codec(); c != CodecNone {
		if decompress == nil {
			return h, nil, rest, fmt.Errorf("wire: batch compressed with codec %d and no decompressor given", c)
		}
		records, err = decompress(c, records)
		if err != nil {
			return h, nil, rest, fmt.Errorf("%w: decompressing codec %d: %w", ErrCorruptBatch, c, err)
		}
	}
	recs, err := DecodeRecords(nil, &h, records)
	return h, recs, rest, err
}
