package kafkatest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/wire"
)

// batchError is why a partition's batch was refused: the error code for its answer, the
// ErrorMessage (Produce v8+), for record-level problems the RecordErrors, and for
// NOT_LEADER_OR_FOLLOWER the current leader (Produce v10+).
type batchError struct {
	code         int16
	msg          string
	recordErrors []wire.ProduceRecordError
	leader       *wire.LeaderIDAndEpoch
}

func batchErrorf(code int16, format string, args ...any) *batchError {
	return &batchError{code: code, msg: fmt.Sprintf(format, args...)}
}

// Byte offsets and sizes in a RecordBatch v2 that the checks below read before the batch is
// known to be whole (see wire's record_batch.go for the layout).
const (
	batchLogOverhead  = 12 // baseOffset and batchLength
	batchMagicOffset  = 16
	batchAttrOffset   = 21
	batchMinLength    = wire.RecordBatchHeaderSize - batchLogOverhead
	maxTimestampAhead = time.Hour
	// decompressFactor bounds a compressed batch's records, once decompressed, to this many
	// times MaxMessageBytes: bomb-safe, yet far above what real producers compress.
	decompressFactor = 64
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkRequestBatch makes the checks Kafka makes while reading a Produce request, before
// it looks at leadership (ProduceRequest.validateRecords and the batch iterator): at v3+ the
// records hold exactly one whole magic-2 batch (INVALID_RECORD otherwise), with a sane length
// and magic byte (CORRUPT_MESSAGE), and zstd needs v7 (UNSUPPORTED_COMPRESSION_TYPE).
//
// Kafka silently drops trailing bytes too short to be a second batch; kafkatest refuses
// them (INVALID_RECORD), since no correct producer sends them.
func checkRequestBatch(raw []byte, version int16) *batchError {
	if len(raw) < batchLogOverhead {
		return batchErrorf(wire.ErrInvalidRecord.Code, "Produce v%d needs exactly one record batch per partition, got %d bytes", version, len(raw))
	}
	length := int32(binary.BigEndian.Uint32(raw[8:]))
	if length < batchMinLength {
		return batchErrorf(wire.ErrCorruptMessage.Code, "batch length %d is less than the minimum batch overhead", length)
	}
	if len(raw) > batchMagicOffset {
		if m := int8(raw[batchMagicOffset]); m < 0 || m > 2 {
			return batchErrorf(wire.ErrCorruptMessage.Code, "invalid magic %d", m)
		}
	}
	end := batchLogOverhead + int(length)
	if end > len(raw) {
		return batchErrorf(wire.ErrInvalidRecord.Code, "batch of %d bytes cut short at %d bytes", end, len(raw))
	}
	if m := raw[batchMagicOffset]; m != 2 {
		return batchErrorf(wire.ErrInvalidRecord.Code, "Produce v%d allows only magic 2 batches, got magic %d", version, m)
	}
	if end != len(raw) {
		return batchErrorf(wire.ErrInvalidRecord.Code, "Produce v%d allows exactly one record batch per partition, got %d bytes after it", version, len(raw)-end)
	}
	codec := int8(binary.BigEndian.Uint16(raw[batchAttrOffset:]) & uint16(wire.CodecMask))
	if codec == wire.CodecZstd && version < 7 {
		return batchErrorf(wire.ErrUnsupportedCompressionType.Code, "zstd needs Produce v7 or later, got v%d", version)
	}
	return nil
}

// validBatch is a batch that passed validation: its header and its records region,
// uncompressed. owned says whether records was allocated for it (decompressed) or aliases
// the request, to be copied before it is kept.
type validBatch struct {
	hdr     wire.BatchHeader
	records []byte
	owned   bool
}

// validateBatch makes the checks Kafka makes when appending a client's batch (UnifiedLog's
// analyzeAndValidateRecords, then LogValidator), in Kafka's order, on a batch that passed
// checkRequestBatch: base offset 0 (INVALID_RECORD), size at most MaxMessageBytes
// (MESSAGE_TOO_LARGE), CRC-32C and codec (CORRUPT_MESSAGE), record count and
// lastOffsetDelta, no control bit, a sequence for an idempotent producer (INVALID_RECORD),
// then it decompresses and parses every record (INVALID_RECORD, or CORRUPT_MESSAGE when the
// compressed data is bad) and checks CreateTime timestamps are at most an hour ahead
// (INVALID_TIMESTAMP, Kafka 4's message.timestamp.after.max.ms).
//
// kafkatest is stricter than Kafka in two ways: record offset deltas must count from 0
// (Kafka rewrites wrong ones) and a producer may not set the LogAppendTime bit.
func (c *Cluster) validateBatch(raw []byte, scratch *[]wire.Record, now time.Time) (validBatch, *batchError) {
	if base := int64(binary.BigEndian.Uint64(raw)); base != 0 {
		return validBatch{}, batchErrorf(wire.ErrInvalidRecord.Code, "batch base offset must be 0, is %d", base)
	}
	if len(raw) > c.cfg.maxMessageBytes {
		return validBatch{}, batchErrorf(wire.ErrMessageTooLarge.Code, "batch of %d bytes exceeds the maximum of %d (message.max.bytes)", len(raw), c.cfg.maxMessageBytes)
	}
	h, region, _, err := wire.ParseBatchHeader(raw)
	if err != nil {
		// checkRequestBatch vouched for length and magic: this is the CRC, the record
		// count or the codec, checked in Kafka's order.
		stored := binary.BigEndian.Uint32(raw[17:])
		if crc32.Checksum(raw[batchAttrOffset:], castagnoli) != stored {
			return validBatch{}, batchErrorf(wire.ErrCorruptMessage.Code, "batch is corrupt: %v", err)
		}
		codec := binary.BigEndian.Uint16(raw[batchAttrOffset:]) & uint16(wire.CodecMask)
		if codec > uint16(wire.CodecZstd) {
			return validBatch{}, batchErrorf(wire.ErrCorruptMessage.Code, "unknown compression codec %d", codec)
		}
		return validBatch{}, batchErrorf(wire.ErrInvalidRecord.Code, "batch is invalid: %v", err)
	}
	if h.NumRecords <= 0 {
		return validBatch{}, batchErrorf(wire.ErrInvalidRecord.Code, "batch must hold at least one record, holds %d", h.NumRecords)
	}
	if h.Attributes&wire.AttrControl != 0 {
		return validBatch{}, batchErrorf(wire.ErrInvalidRecord.Code, "clients may not write control batches")
	}
	if h.ProducerID >= 0 && h.BaseSequence < 0 {
		return validBatch{}, batchErrorf(wire.ErrInvalidRecord.Code, "batch of producer %d has invalid sequence %d", h.ProducerID, h.BaseSequence)
	}
	if h.Attributes&wire.AttrTimestampType != 0 {
		return validBatch{}, batchErrorf(wire.ErrInvalidTimestamp.Code, "producers may not set the LogAppendTime timestamp type")
	}
	vb := validBatch{hdr: h, records: region}
	if codec := h.Codec(); codec != wire.CodecNone {
		limit := c.cfg.maxMessageBytes
		if limit > math.MaxInt/decompressFactor {
			limit = math.MaxInt
		} else {
			limit *= decompressFactor
		}
		out, err := compress.Decompress(compress.Codec(codec), nil, region, limit)
		switch {
		case errors.Is(err, compress.ErrTooLarge):
			return validBatch{}, batchErrorf(wire.ErrMessageTooLarge.Code, "%s records decompress to more than %d bytes", compress.Codec(codec), limit)
		case err != nil:
			return validBatch{}, batchErrorf(wire.ErrCorruptMessage.Code, "%s records do not decompress: %v", compress.Codec(codec), err)
		}
		vb.records, vb.owned = out, true
	}
	recs, err := wire.DecodeRecords((*scratch)[:0], &h, vb.records)
	if err != nil {
		return validBatch{}, batchErrorf(wire.ErrInvalidRecord.Code, "records are invalid: %v", err)
	}
	*scratch = recs
	limit := now.Add(maxTimestampAhead).UnixMilli()
	var recErrs []wire.ProduceRecordError
	for i := range recs {
		ts := h.BaseTimestamp + recs[i].TimestampDelta
		if ts != -1 && ts > limit {
			m := fmt.Sprintf("timestamp %d of record %d is more than %v ahead of the broker's clock", ts, i, maxTimestampAhead)
			recErrs = append(recErrs, wire.ProduceRecordError{BatchIndex: int32(i), BatchIndexErrorMessage: &m})
		}
	}
	if recErrs != nil {
		return validBatch{}, &batchError{code: wire.ErrInvalidTimestamp.Code, msg: "One or more records have been rejected due to invalid timestamp", recordErrors: recErrs}
	}
	return vb, nil
}
