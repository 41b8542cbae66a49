package interop

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/wire"
)

// TestCompressedBatchesReadByFranzGo builds a record batch with every codec the way the
// producer does (wire.AppendRecord, compress.Compressor, wire.FinishBatch) and has franz-go
// parse it: kmsg reads the header, the CRC-32C is checked over bytes 21 to the end with the
// standard library, franz-go's decompressor inflates the records, and kmsg parses each one.
func TestCompressedBatchesReadByFranzGo(t *testing.T) {
	dec := kgo.DefaultDecompressor()
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for _, codec := range []compress.Codec{compress.None, compress.Gzip, compress.Snappy, compress.LZ4, compress.Zstd} {
		t.Run(codec.String(), func(t *testing.T) {
			// Enough records to span several snappy (32 KiB) and lz4 (64 KiB) blocks.
			var region []byte
			const n = 3000
			for i := 0; i < n; i++ {
				var key []byte
				if i%3 != 0 {
					key = []byte(fmt.Sprintf("key-%d", i))
				}
				region = wire.AppendRecord(region, int32(i), int64(i), key, bytes.Repeat([]byte{byte(i)}, 50+i%40),
					[]wire.RecordHeader{{Key: "h", Value: []byte(fmt.Sprint(i))}})
			}
			batch := make([]byte, wire.RecordBatchHeaderSize)
			if codec == compress.None {
				batch = append(batch, region...)
			} else {
				comp, err := compress.NewCompressor(codec, compress.DefaultLevel(codec))
				if err != nil {
					t.Fatal(err)
				}
				if batch, err = comp.AppendCompress(batch, region); err != nil {
					t.Fatal(err)
				}
			}
			wire.FinishBatch(batch, &wire.BatchHeader{PartitionLeaderEpoch: -1, Attributes: int16(codec), LastOffsetDelta: n - 1,
				BaseTimestamp: 1_700_000_000_000, MaxTimestamp: 1_700_000_000_000 + n - 1, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, NumRecords: n})

			var kb kmsg.RecordBatch
			if err := kb.ReadFrom(batch); err != nil {
				t.Fatalf("kmsg cannot read the batch: %v", err)
			}
			if got := crc32.Checksum(batch[21:], castagnoli); uint32(kb.CRC) != got {
				t.Fatalf("CRC %08x, computed %08x", uint32(kb.CRC), got)
			}
			if kb.NumRecords != n || kb.LastOffsetDelta != n-1 || kb.Attributes&7 != int16(codec) {
				t.Fatalf("header: %d records, last delta %d, attributes %x", kb.NumRecords, kb.LastOffsetDelta, kb.Attributes)
			}
			raw := kb.Records
			if codec != compress.None {
				var err error
				if raw, err = dec.Decompress(kb.Records, kgo.CompressionCodecType(codec)); err != nil {
					t.Fatalf("franz-go cannot decompress: %v", err)
				}
			}
			if !bytes.Equal(raw, region) {
				t.Fatal("decompressed records differ from what was compressed")
			}
			for i := 0; i < n; i++ {
				length, used := binary.Varint(raw)
				var r kmsg.Record
				if err := r.ReadFrom(raw[:used+int(length)]); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				if r.OffsetDelta != int32(i) || len(r.Value) != 50+i%40 || len(r.Headers) != 1 || string(r.Headers[0].Value) != fmt.Sprint(i) {
					t.Fatalf("record %d parsed as %+v", i, r)
				}
				raw = raw[used+int(length):]
			}
			if len(raw) != 0 {
				t.Fatalf("%d bytes after the last record", len(raw))
			}
		})
	}
}
