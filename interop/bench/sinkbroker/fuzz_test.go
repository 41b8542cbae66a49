package sinkbroker

import (
	"encoding/binary"
	"testing"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/wire"
)

// seedFrames returns one valid request frame (without its size prefix) per API the sink
// answers, at a few versions.
func seedFrames(t testing.TB) [][]byte {
	name := "seed"
	rec := wire.AppendRecord(nil, 0, 0, []byte("k"), []byte("v"), nil)
	batch := append(make([]byte, wire.RecordBatchHeaderSize), rec...)
	wire.FinishBatch(batch, &wire.BatchHeader{NumRecords: 1, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1})
	comp, err := compress.NewCompressor(compress.Snappy, 0)
	if err != nil {
		t.Fatal(err)
	}
	zbatch, err := comp.AppendCompress(make([]byte, wire.RecordBatchHeaderSize), rec)
	if err != nil {
		t.Fatal(err)
	}
	wire.FinishBatch(zbatch, &wire.BatchHeader{Attributes: int16(compress.Snappy), NumRecords: 1, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1})
	produce := &wire.ProduceRequest{Acks: 1, Topics: []wire.ProduceTopic{{Name: name, Partitions: []wire.ProducePartition{{Index: 1, Records: batch}, {Index: 2, Records: zbatch}}}}}
	reqs := []struct {
		req wire.Request
		v   int16
	}{
		{&wire.ApiVersionsRequest{}, 0},
		{&wire.ApiVersionsRequest{ClientSoftwareName: "a", ClientSoftwareVersion: "1"}, 4},
		{&wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{{Name: &name}}}, 1},
		{&wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{{Name: &name}}}, 12},
		{&wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{{TopicID: wire.UUID{9}}}}, 13},
		{&wire.InitProducerIDRequest{ProducerID: -1, ProducerEpoch: -1}, 4},
		{&wire.FindCoordinatorRequest{CoordinatorKey: "g"}, 2},
		{&wire.FindCoordinatorRequest{CoordinatorKeys: []string{"g"}}, 5},
		{produce, 3},
		{produce, 9},
		{&wire.ProduceRequest{Acks: 1, Topics: []wire.ProduceTopic{{TopicID: wire.UUID{1}, Partitions: []wire.ProducePartition{{Index: 0, Records: batch}}}}}, 13},
	}
	var out [][]byte
	for i, r := range reqs {
		f := wire.AppendRequest(nil, wire.RequestHeader{APIVersion: r.v, CorrelationID: int32(i)}, r.req)
		out = append(out, f[4:])
	}
	return out
}

// FuzzHandle feeds one request frame to a connection of a verifying sink: it must never
// panic, and whatever it answers must be well-framed answers carrying the request's
// correlation id.
func FuzzHandle(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		// A fresh cluster each time, so that topics created by earlier inputs do not
		// slow the later ones down.
		c := newCluster(Config{Partitions: 3, Verify: true})
		c.brokers = []*broker{{id: 0, host: "127.0.0.1", port: 9092}, {id: 1, host: "127.0.0.1", port: 9093}}
		cn := &conn{c: c, b: c.brokers[0]}
		_ = cn.handle(frame)
		out := cn.out
		for len(out) > 0 {
			if len(out) < 8 {
				t.Fatalf("answer of %d bytes", len(out))
			}
			n := int(binary.BigEndian.Uint32(out))
			if n < 4 || 4+n > len(out) {
				t.Fatalf("answer frame of %d bytes in %d", n, len(out))
			}
			if corr := binary.BigEndian.Uint32(out[4:]); len(frame) < 8 || corr != binary.BigEndian.Uint32(frame[4:]) {
				t.Fatalf("answer with correlation id %d", corr)
			}
			out = out[4+n:]
		}
	})
}
