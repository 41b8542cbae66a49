package kafkatest

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"slices"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/wire"
)

// produceTo sends one batch at version, addressing the topic by id from v13.
func (tc *testClient) produceTo(c *Cluster, version int16, acks int16, topic string, partition int32, batch []byte) wire.ProducePartitionResponse {
	tc.t.Helper()
	req := produceReq(acks, topic, partition, batch)
	if version >= 13 {
		req.Topics[0].Name = ""
		if t := c.topicByName(topic); t != nil {
			req.Topics[0].TopicID = t.id
		}
	}
	var resp wire.ProduceResponse
	tc.roundTrip(version, req, &resp)
	return resp.Topics[0].Partitions[0]
}

func TestProduceEveryVersion(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 2))
	tc := dialLeader(t, c, "t", 1)
	var want []Record
	next := int64(0)
	for v := int16(3); v <= 13; v++ {
		for _, codec := range []int8{wire.CodecNone, wire.CodecGzip, wire.CodecSnappy, wire.CodecLZ4, wire.CodecZstd} {
			if codec == wire.CodecZstd && v < 7 {
				continue
			}
			s := plainSpec()
			s.codec = codec
			s.baseTimestamp += int64(v)
			recs := []rec{
				{key: []byte("k"), value: []byte{byte(v), byte(codec)}, headers: []wire.RecordHeader{{Key: "h", Value: []byte("hv")}, {Key: "null"}}},
				{value: []byte{}, ts: s.baseTimestamp + 5},
				{key: []byte{}},
			}
			got := tc.produceTo(c, v, -1, "t", 1, makeBatch(t, s, recs...))
			if got.ErrorCode != 0 || got.BaseOffset != next {
				t.Fatalf("v%d codec %d: %+v, want offset %d", v, codec, got, next)
			}
			if got.LogAppendTimeMs != -1 || (v >= 5 && got.LogStartOffset != 0) {
				t.Fatalf("v%d: log append time %d, log start %d", v, got.LogAppendTimeMs, got.LogStartOffset)
			}
			for i, r := range recs {
				ts := r.ts
				if ts == 0 {
					ts = s.baseTimestamp
				}
				var hs []Header
				for _, h := range r.headers {
					hs = append(hs, Header{Key: h.Key, Value: h.Value})
				}
				want = append(want, Record{
					Topic: "t", Partition: 1, Offset: next + int64(i), Key: r.key, Value: r.value, Headers: hs,
					Timestamp: time.UnixMilli(ts), ProducerID: -1, ProducerEpoch: -1, Sequence: -1,
					Committed: true, Codec: codec,
				})
			}
			next += int64(len(recs))
		}
	}
	got := c.Records("t", 1)
	if len(got) != len(want) {
		t.Fatalf("%d records stored, want %d", len(got), len(want))
	}
	for i := range want {
		if !recordsEqual(got[i], want[i]) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if len(c.Records("t", 0)) != 0 {
		t.Fatal("records in the wrong partition")
	}
	// Records are copies.
	got[0].Value[0] = 0xee
	if c.Records("t", 1)[0].Value[0] == 0xee {
		t.Fatal("Records shares memory with the log")
	}
}

// recordsEqual compares two records, telling null from empty.
func recordsEqual(a, b Record) bool {
	nullEq := func(x, y []byte) bool { return (x == nil) == (y == nil) && bytes.Equal(x, y) }
	if !nullEq(a.Key, b.Key) || !nullEq(a.Value, b.Value) || len(a.Headers) != len(b.Headers) {
		return false
	}
	for i := range a.Headers {
		if a.Headers[i].Key != b.Headers[i].Key || !nullEq(a.Headers[i].Value, b.Headers[i].Value) {
			return false
		}
	}
	a.Key, a.Value, a.Headers, b.Key, b.Value, b.Headers = nil, nil, nil, nil, nil, nil
	return a.Timestamp.Equal(b.Timestamp) && a.Topic == b.Topic && a.Partition == b.Partition &&
		a.Offset == b.Offset && a.ProducerID == b.ProducerID && a.ProducerEpoch == b.ProducerEpoch &&
		a.Sequence == b.Sequence && a.Transactional == b.Transactional && a.Committed == b.Committed && a.Codec == b.Codec
}

// reseal recomputes the CRC of a batch after a test changed it.
func reseal(b []byte) []byte {
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func TestProduceValidation(t *testing.T) {
	const maxMsg = 4096
	c := newTestCluster(t, SeedTopic("t", 1), MaxMessageBytes(maxMsg))
	tc := dialLeader(t, c, "t", 0)
	good := func() []byte { return makeBatch(t, plainSpec(), values(3)...) }
	gz := func() []byte {
		s := plainSpec()
		s.codec = wire.CodecGzip
		return makeBatch(t, s, values(3)...)
	}
	setU16 := func(b []byte, off int, v uint16) []byte { binary.BigEndian.PutUint16(b[off:], v); return b }
	setU32 := func(b []byte, off int, v uint32) []byte { binary.BigEndian.PutUint32(b[off:], v); return b }
	setU64 := func(b []byte, off int, v uint64) []byte { binary.BigEndian.PutUint64(b[off:], v); return b }
	big := make([]rec, 1)
	big[0].value = make([]byte, maxMsg)
	future := plainSpec()
	future.baseTimestamp = time.Now().Add(2 * time.Hour).UnixMilli()

	for _, tt := range []struct {
		name    string
		version int16
		batch   []byte
		code    int16
	}{
		{"null records", 9, nil, wire.ErrInvalidRecord.Code},
		{"empty records", 9, []byte{}, wire.ErrInvalidRecord.Code},
		{"shorter than a batch length", 9, good()[:11], wire.ErrInvalidRecord.Code},
		{"length below the header", 9, setU32(good(), 8, 48), wire.ErrCorruptMessage.Code},
		{"magic 3", 9, reseal(func() []byte { b := good(); b[16] = 3; return b }()), wire.ErrCorruptMessage.Code},
		{"magic -1", 9, func() []byte { b := good(); b[16] = 0xff; return b }(), wire.ErrCorruptMessage.Code},
		{"magic 1", 9, func() []byte { b := good(); b[16] = 1; return b }(), wire.ErrInvalidRecord.Code},
		{"cut short", 9, good()[:70], wire.ErrInvalidRecord.Code},
		{"trailing bytes", 9, append(good(), 0, 0, 0), wire.ErrInvalidRecord.Code},
		{"two batches", 9, append(good(), good()...), wire.ErrInvalidRecord.Code},
		{"zstd below v7", 6, func() []byte { s := plainSpec(); s.codec = wire.CodecZstd; return makeBatch(t, s, values(2)...) }(), wire.ErrUnsupportedCompressionType.Code},
		{"base offset", 9, setU64(good(), 0, 5), wire.ErrInvalidRecord.Code},
		{"too large", 9, makeBatch(t, plainSpec(), big...), wire.ErrMessageTooLarge.Code},
		{"bad crc", 9, func() []byte { b := good(); b[len(b)-1] ^= 1; return b }(), wire.ErrCorruptMessage.Code},
		{"crc of attributes", 9, setU16(good(), 21, 0x01), wire.ErrCorruptMessage.Code},
		{"unknown codec 6", 9, reseal(setU16(good(), 21, 6)), wire.ErrCorruptMessage.Code},
		{"lastOffsetDelta", 9, reseal(setU32(good(), 23, 5)), wire.ErrInvalidRecord.Code},
		{"negative count", 9, reseal(setU32(setU32(good(), 57, 0xffffffff), 23, 0xfffffffe)), wire.ErrInvalidRecord.Code},
		{"zero records", 9, reseal(setU32(setU32(good(), 57, 0), 23, 0xffffffff)), wire.ErrInvalidRecord.Code},
		{"count above records", 9, reseal(setU32(setU32(good(), 57, 4), 23, 3)), wire.ErrInvalidRecord.Code},
		{"count below records", 9, reseal(setU32(setU32(good(), 57, 2), 23, 1)), wire.ErrInvalidRecord.Code},
		{"control batch", 9, reseal(setU16(good(), 21, uint16(wire.AttrControl))), wire.ErrInvalidRecord.Code},
		{"log append time", 9, reseal(setU16(good(), 21, uint16(wire.AttrTimestampType))), wire.ErrInvalidTimestamp.Code},
		{"producer id without sequence", 9, reseal(setU64(good(), 43, 7)), wire.ErrInvalidRecord.Code},
		{"corrupt gzip", 9, reseal(func() []byte { b := gz(); b[len(b)-10] ^= 0xff; return b }()), wire.ErrCorruptMessage.Code},
		{"gzip of garbage records", 9, func() []byte {
			// A valid gzip stream of bytes that are not records.
			b := gz()
			b = append(b[:61:61], gzipOf(t, bytes.Repeat([]byte{0xff}, 40))...)
			binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
			return reseal(b)
		}(), wire.ErrInvalidRecord.Code},
		{"bad record length", 9, reseal(func() []byte { b := good(); b[61] = 0x7f; return b }()), wire.ErrInvalidRecord.Code},
		{"offset delta", 9, reseal(func() []byte { b := good(); b[61+3] = 4; return b }()), wire.ErrInvalidRecord.Code},
		{"future timestamp", 9, makeBatch(t, future, values(2)...), wire.ErrInvalidTimestamp.Code},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(c.Records("t", 0))
			got := tc.produce(tt.version, "t", 0, tt.batch)
			if got.ErrorCode != tt.code {
				msg := ""
				if got.ErrorMessage != nil {
					msg = *got.ErrorMessage
				}
				t.Fatalf("error %d (%s), want %d", got.ErrorCode, msg, tt.code)
			}
			if got.BaseOffset != -1 || got.LogStartOffset != -1 {
				t.Fatalf("error answer has offsets %d, %d", got.BaseOffset, got.LogStartOffset)
			}
			if tt.version >= 8 && got.ErrorMessage == nil {
				t.Fatal("no error message")
			}
			if len(c.Records("t", 0)) != before {
				t.Fatal("a refused batch was stored")
			}
		})
	}
	// The future timestamp names its records (v8+).
	got := tc.produce(8, "t", 0, makeBatch(t, future, values(2)...))
	if len(got.RecordErrors) != 2 || got.RecordErrors[1].BatchIndex != 1 {
		t.Fatalf("record errors %+v", got.RecordErrors)
	}
	// A good batch still goes through.
	if got := tc.produce(9, "t", 0, good()); got.ErrorCode != 0 || got.BaseOffset != 0 {
		t.Fatalf("good batch: %+v", got)
	}
}

func gzipOf(t *testing.T, b []byte) []byte {
	t.Helper()
	cmp, err := compress.NewCompressor(compress.Gzip, compress.DefaultLevel(compress.Gzip))
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmp.AppendCompress(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestProducePartitionsJudgedApart(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("a", 3), SeedTopic("b", 1))
	tc := dial(t, c.Addrs()[0])
	bad := makeBatch(t, plainSpec(), values(1)...)
	bad[len(bad)-1] ^= 1
	req := &wire.ProduceRequest{Acks: 1, TimeoutMs: 1000, Topics: []wire.ProduceTopic{
		{Name: "a", Partitions: []wire.ProducePartition{
			{Index: 0, Records: makeBatch(t, plainSpec(), values(2)...)},
			{Index: 1, Records: bad},
			{Index: 2, Records: makeBatch(t, plainSpec(), values(1)...)},
			{Index: 3, Records: makeBatch(t, plainSpec(), values(1)...)},
		}},
		{Name: "missing", Partitions: []wire.ProducePartition{{Index: 0, Records: makeBatch(t, plainSpec(), values(1)...)}}},
		{Name: "b", Partitions: []wire.ProducePartition{{Index: 0, Records: makeBatch(t, plainSpec(), values(4)...)}}},
	}}
	var resp wire.ProduceResponse
	tc.roundTrip(7, req, &resp)
	codes := func(tr wire.ProduceTopicResponse) (out []int16) {
		for _, p := range tr.Partitions {
			out = append(out, p.ErrorCode)
		}
		return out
	}
	if len(resp.Topics) != 3 || resp.Topics[0].Name != "a" || resp.Topics[1].Name != "missing" || resp.Topics[2].Name != "b" {
		t.Fatalf("topics %+v", resp.Topics)
	}
	if got := codes(resp.Topics[0]); !slices.Equal(got, []int16{0, 2, 0, 3}) {
		t.Fatalf("topic a codes %v", got)
	}
	if got := codes(resp.Topics[1]); !slices.Equal(got, []int16{3}) {
		t.Fatalf("missing topic codes %v", got)
	}
	if got := codes(resp.Topics[2]); !slices.Equal(got, []int16{0}) {
		t.Fatalf("topic b codes %v", got)
	}
	if len(c.Records("a", 0)) != 2 || len(c.Records("a", 1)) != 0 || len(c.Records("a", 2)) != 1 || len(c.Records("b", 0)) != 4 {
		t.Fatal("wrong records stored")
	}
	if c.Partitions("missing") != 0 {
		t.Fatal("Produce created a topic")
	}
}

func TestProduceTopicIDs(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 1))
	tc := dial(t, c.Addrs()[0])
	if got := tc.produceTo(c, 13, 1, "t", 0, makeBatch(t, plainSpec(), values(1)...)); got.ErrorCode != 0 {
		t.Fatalf("by id: %+v", got)
	}
	req := produceReq(1, "", 0, makeBatch(t, plainSpec(), values(1)...))
	req.Topics[0].TopicID = wire.UUID{9}
	var resp wire.ProduceResponse
	tc.roundTrip(13, req, &resp)
	if resp.Topics[0].TopicID != (wire.UUID{9}) || resp.Topics[0].Partitions[0].ErrorCode != wire.ErrUnknownTopicID.Code {
		t.Fatalf("unknown id: %+v", resp.Topics[0])
	}
}

func TestProduceInvalidAcks(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 2))
	tc := dial(t, c.Addrs()[0])
	req := produceReq(2, "t", 0, makeBatch(t, plainSpec(), values(1)...))
	req.Topics[0].Partitions = append(req.Topics[0].Partitions, wire.ProducePartition{Index: 1, Records: makeBatch(t, plainSpec(), values(1)...)})
	var resp wire.ProduceResponse
	tc.roundTrip(9, req, &resp)
	for _, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != wire.ErrInvalidRequiredAcks.Code {
			t.Fatalf("partition %d: error %d", p.Index, p.ErrorCode)
		}
	}
	if len(c.Records("t", 0))+len(c.Records("t", 1)) != 0 {
		t.Fatal("stored with bad acks")
	}
}

func TestProduceAcksZero(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 1))
	tc := dial(t, c.Addrs()[0])
	// A good batch: no answer, but stored; the next answer is for the next request.
	tc.send(9, produceReq(0, "t", 0, makeBatch(t, plainSpec(), values(2)...)))
	tc.expectSilence(50 * time.Millisecond)
	corr := tc.send(9, &wire.MetadataRequest{})
	var md wire.MetadataResponse
	tc.recv(corr, 9, &md)
	if len(c.Records("t", 0)) != 2 {
		t.Fatal("acks=0 batch not stored")
	}
	// A bad one: the connection closes, as Kafka does.
	bad := makeBatch(t, plainSpec(), values(1)...)
	bad[len(bad)-1] ^= 1
	tc.send(9, produceReq(0, "t", 0, bad))
	tc.expectClosed()
	// Unknown topics are errors too.
	tc2 := dial(t, c.Addrs()[0])
	tc2.send(3, produceReq(0, "nope", 0, makeBatch(t, plainSpec(), values(1)...)))
	tc2.expectClosed()
}

func TestWaitForRecords(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 3))
	done := make(chan []Record)
	go func() {
		recs, err := c.WaitForRecords(context.Background(), "t", 5)
		if err != nil {
			t.Error(err)
		}
		done <- recs
	}()
	for p := int32(0); p < 3; p++ {
		tc := dialLeader(t, c, "t", p)
		if got := tc.produce(9, "t", p, makeBatch(t, plainSpec(), values(2)...)); got.ErrorCode != 0 {
			t.Fatal(got)
		}
	}
	select {
	case recs := <-done:
		if len(recs) != 6 {
			t.Fatalf("%d records", len(recs))
		}
		for i, r := range recs {
			if r.Partition != int32(i/2) || r.Offset != int64(i%2) {
				t.Fatalf("record %d is %s/%d@%d", i, r.Topic, r.Partition, r.Offset)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitForRecords did not return")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	recs, err := c.WaitForRecords(ctx, "t", 7)
	if err != context.DeadlineExceeded || len(recs) != 6 {
		t.Fatalf("got %d records, %v", len(recs), err)
	}
	if recs, err := c.WaitForRecords(ctx, "never", 1); err == nil || recs != nil {
		t.Fatal("waited for a missing topic without error")
	}
}
