package interop

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// TestKafkatestWithKgo has franz-go's producer write to a kafkatest cluster with every codec,
// with and without idempotence, and checks that every record it reports written is stored
// byte for byte at the offset it was told (key, value, headers, timestamp), in produce order
// per partition, with nothing extra, at the newest versions (Produce v13, topics by id) and
// at Kafka 2.8's (Produce v9, by name). It proves the in-memory brokers speak Kafka as a real
// client expects: ApiVersions negotiation, Metadata with topic ids, Produce up to v13,
// InitProducerId and the batch format of each codec.
func TestKafkatestWithKgo(t *testing.T) {
	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
		id    int8
	}{
		{"none", kgo.NoCompression(), wire.CodecNone},
		{"gzip", kgo.GzipCompression(), wire.CodecGzip},
		{"snappy", kgo.SnappyCompression(), wire.CodecSnappy},
		{"lz4", kgo.Lz4Compression(), wire.CodecLZ4},
		{"zstd", kgo.ZstdCompression(), wire.CodecZstd},
	}
	// Kafka 2.8 caps the client at Produce v9 and Metadata v11: topics by name, flexible.
	releases := []struct {
		name string
		max  *kversion.Versions
	}{{"latest", nil}, {"2.8", kversion.V2_8_0()}}
	for _, rel := range releases {
		for _, cc := range codecs {
			for _, idempotent := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/idempotent=%v", rel.name, cc.name, idempotent), func(t *testing.T) {
					c, err := kafkatest.NewCluster()
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					opts := []kgo.Opt{
						kgo.SeedBrokers(c.Addrs()...),
						kgo.ProducerBatchCompression(cc.codec),
						kgo.ProducerLinger(5 * time.Millisecond),
						kgo.AllowAutoTopicCreation(),
					}
					if !idempotent {
						opts = append(opts, kgo.DisableIdempotentWrite(), kgo.RequiredAcks(kgo.LeaderAck()))
					}
					if rel.max != nil {
						opts = append(opts, kgo.MaxVersions(rel.max))
					}
					cl, err := kgo.NewClient(opts...)
					if err != nil {
						t.Fatal(err)
					}
					defer cl.Close()

					const topic = "interop"
					base := time.UnixMilli(1_700_000_000_000)
					var sent []*kgo.Record
					for i := range 300 {
						r := &kgo.Record{
							Topic:     topic,
							Key:       []byte(fmt.Sprintf("key-%d", i%17)),
							Value:     bytes.Repeat([]byte{byte(i)}, i%50),
							Timestamp: base.Add(time.Duration(i) * time.Millisecond),
						}
						switch i % 4 {
						case 0:
							r.Key = nil
						case 1:
							r.Headers = []kgo.RecordHeader{{Key: "h1", Value: []byte("one")}, {Key: "h2", Value: nil}}
						case 2:
							r.Value = nil
						}
						sent = append(sent, r)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					// Produce in a few slices so that there are several batches per partition.
					for i := 0; i < len(sent); i += 50 {
						if err := cl.ProduceSync(ctx, sent[i:i+50]...).FirstErr(); err != nil {
							t.Fatal(err)
						}
					}

					stored := 0
					for p := range int32(c.Partitions(topic)) {
						stored += len(c.Records(topic, p))
					}
					if stored != len(sent) {
						t.Fatalf("%d records stored, %d produced", stored, len(sent))
					}
					last := map[int32]int64{}
					for i, r := range sent {
						recs := c.Records(topic, r.Partition)
						if r.Offset < 0 || r.Offset >= int64(len(recs)) {
							t.Fatalf("record %d: offset %d of %d", i, r.Offset, len(recs))
						}
						if prev, ok := last[r.Partition]; ok && r.Offset <= prev {
							t.Fatalf("record %d: offset %d after %d in partition %d", i, r.Offset, prev, r.Partition)
						}
						last[r.Partition] = r.Offset
						checkStored(t, i, r, recs[r.Offset], cc.id, idempotent)
					}
				})
			}
		}
	}
}

// TestKafkatestKgoRetryDedup makes the first Produce of franz-go's idempotent producer time
// out after its batch was written; the producer's retry must be deduplicated.
func TestKafkatestKgoRetryDedup(t *testing.T) {
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic("dedup", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := c.InjectFault(kafkatest.Fault{
		Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Partition: kafkatest.AnyPartition,
		ErrorCode: wire.ErrRequestTimedOut.Code, AppendAnyway: true,
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.RetryBackoffFn(func(int) time.Duration { return time.Millisecond }))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs := []*kgo.Record{{Topic: "dedup", Value: []byte("a")}, {Topic: "dedup", Value: []byte("b")}}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if h.Hits() != 1 {
		t.Fatalf("fault hit %d times", h.Hits())
	}
	stored := c.Records("dedup", 0)
	if len(stored) != 2 || recs[0].Offset != 0 || recs[1].Offset != 1 {
		t.Fatalf("%d records stored; offsets %d, %d", len(stored), recs[0].Offset, recs[1].Offset)
	}
	if c.RequestCount(wire.KeyProduce) < 2 {
		t.Fatal("the producer did not retry")
	}
}

func checkStored(t *testing.T, i int, sent *kgo.Record, got kafkatest.Record, codec int8, idempotent bool) {
	t.Helper()
	sameBytes := func(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }
	if !sameBytes(sent.Key, got.Key) || !sameBytes(sent.Value, got.Value) {
		t.Fatalf("record %d: stored key %q value %q, sent %q %q", i, got.Key, got.Value, sent.Key, sent.Value)
	}
	if !got.Timestamp.Equal(sent.Timestamp) {
		t.Fatalf("record %d: stored timestamp %v, sent %v", i, got.Timestamp, sent.Timestamp)
	}
	if len(got.Headers) != len(sent.Headers) {
		t.Fatalf("record %d: %d headers stored, %d sent", i, len(got.Headers), len(sent.Headers))
	}
	for j, h := range sent.Headers {
		if got.Headers[j].Key != h.Key || !sameBytes(got.Headers[j].Value, h.Value) {
			t.Fatalf("record %d header %d: stored %+v, sent %+v", i, j, got.Headers[j], h)
		}
	}
	// franz-go sends a batch uncompressed when compressing would not make it smaller.
	if got.Codec != codec && got.Codec != 0 {
		t.Fatalf("record %d: stored with codec %d, want %d (or none)", i, got.Codec, codec)
	}
	if idempotent != (got.ProducerID >= 0) || (idempotent && got.Sequence < 0) {
		t.Fatalf("record %d: producer id %d sequence %d, idempotent %v", i, got.ProducerID, got.Sequence, idempotent)
	}
	if got.Transactional || !got.Committed {
		t.Fatalf("record %d: transactional %v committed %v", i, got.Transactional, got.Committed)
	}
}
