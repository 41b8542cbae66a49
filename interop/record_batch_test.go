package interop

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"reflect"
	"testing"

	"github.com/gregor-kafka/producer/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// batchCases are record sets encoded by both gregor's wire package and franz-go's kmsg.
var batchCases = map[string][]wire.Record{
	"one": {{Key: []byte("k"), Value: []byte("v")}},
	"nulls and empties": {
		{},
		{OffsetDelta: 1, Key: []byte{}, Value: []byte{}},
		{OffsetDelta: 2, TimestampDelta: -7, Value: []byte("x")},
	},
	"headers": {{
		Key: []byte("key"), Value: bytes.Repeat([]byte("v"), 300), TimestampDelta: 1 << 40,
		Headers: []wire.RecordHeader{{Key: "a"}, {Key: "a", Value: []byte{}}, {Key: "", Value: []byte("z")}},
	}},
}

// kmsgBatch encodes recs with kmsg, setting the record lengths and the CRC-32C the way the
// spec says (CRC from attributes, offset 21, to the end).
func kmsgBatch(h wire.BatchHeader, recs []wire.Record) []byte {
	var region []byte
	for _, r := range recs {
		kr := kmsg.Record{
			Attributes: r.Attributes, TimestampDelta64: r.TimestampDelta, OffsetDelta: r.OffsetDelta,
			Key: r.Key, Value: r.Value,
		}
		for _, hd := range r.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: hd.Key, Value: hd.Value})
		}
		withZeroLen := kr.AppendTo(nil)
		kr.Length = int32(len(withZeroLen) - 1) // a zero length takes one byte
		region = kr.AppendTo(region)
	}
	kb := kmsg.RecordBatch{
		FirstOffset: h.BaseOffset, PartitionLeaderEpoch: h.PartitionLeaderEpoch, Magic: 2,
		Attributes: h.Attributes, LastOffsetDelta: int32(len(recs) - 1),
		FirstTimestamp: h.BaseTimestamp, MaxTimestamp: h.MaxTimestamp,
		ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch, FirstSequence: h.BaseSequence,
		NumRecords: int32(len(recs)), Records: region,
	}
	kb.Length = int32(wire.RecordBatchHeaderSize - 12 + len(region))
	b := kb.AppendTo(nil)
	kb.CRC = int32(crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return kb.AppendTo(b[:0])
}

func wireBatch(h wire.BatchHeader, recs []wire.Record) []byte {
	b := make([]byte, wire.RecordBatchHeaderSize)
	for _, r := range recs {
		b = wire.AppendRecord(b, r.OffsetDelta, r.TimestampDelta, r.Key, r.Value, r.Headers)
	}
	h.NumRecords = int32(len(recs))
	h.LastOffsetDelta = h.NumRecords - 1
	wire.FinishBatch(b, &h)
	return b
}

func TestRecordBatchMatchesKmsg(t *testing.T) {
	h := wire.BatchHeader{
		PartitionLeaderEpoch: -1, Attributes: wire.AttrTransactional,
		BaseTimestamp: 1700000000000, MaxTimestamp: 1700000000123,
		ProducerID: 77, ProducerEpoch: 2, BaseSequence: 1000,
	}
	for name, recs := range batchCases {
		ours, theirs := wireBatch(h, recs), kmsgBatch(h, recs)
		if !bytes.Equal(ours, theirs) {
			t.Errorf("%s: wire\n%x\nkmsg\n%x", name, ours, theirs)
			continue
		}
		// kmsg reads our bytes back to the same fields.
		var kb kmsg.RecordBatch
		if err := kb.ReadFrom(ours); err != nil {
			t.Fatalf("%s: kmsg.RecordBatch.ReadFrom: %v", name, err)
		}
		if kb.NumRecords != int32(len(recs)) || kb.ProducerID != 77 || uint32(kb.CRC) != binary.BigEndian.Uint32(ours[17:]) {
			t.Errorf("%s: kmsg read %+v", name, kb)
		}
		// And gregor decodes kmsg's bytes to the records it was given.
		_, got, _, err := wire.DecodeBatch(theirs, nil)
		if err != nil || !reflect.DeepEqual(got, recs) {
			t.Errorf("%s: decoded %+v, %v", name, got, err)
		}
	}
}
