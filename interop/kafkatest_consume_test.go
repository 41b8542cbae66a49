package interop

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"

	producer "github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/kafkatest"
)

// sentRecord is a record gregor's producer wrote, with where the broker said it went.
type sentRecord struct {
	rec producer.Record
	md  producer.RecordMetadata
}

// produceWithGregor writes n records to topic with gregor's producer, keyed, with headers and
// timestamps (some keys and values null), and returns them with their metadata in send order.
func produceWithGregor(t *testing.T, addrs []string, topic string, n int, codec compress.Codec) []sentRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := producer.New(producer.Config{BootstrapServers: addrs, Compression: codec})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	base := time.UnixMilli(1_700_000_000_000)
	out := make([]sentRecord, n)
	var mu sync.Mutex
	var failed error
	for i := range out {
		r := producer.Record{
			Topic:     topic,
			Key:       fmt.Appendf(nil, "key-%d", i%13),
			Value:     bytes.Repeat([]byte{'a' + byte(i%26)}, 1+i%40),
			Timestamp: base.Add(time.Duration(i) * time.Millisecond),
		}
		switch i % 5 {
		case 0:
			r.Key = nil
		case 1:
			r.Headers = []producer.Header{{Key: "h", Value: []byte("v")}, {Key: "nil"}}
		case 2:
			r.Value = nil
		}
		out[i].rec = r
		if err := p.SendAsync(ctx, r, func(md producer.RecordMetadata, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && failed == nil {
				failed = err
			}
			out[i].md = md
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if failed != nil {
		t.Fatalf("a record failed: %v", failed)
	}
	return out
}

// consumePartitions reads n records of topic's partitions 0..parts-1 from the start with
// franz-go's consumer assigning the partitions itself (no group), as it would from Kafka.
func consumePartitions(t *testing.T, addrs []string, topic string, parts int32, n int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	assign := map[string]map[int32]kgo.Offset{topic: {}}
	for p := range parts {
		assign[topic][p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.ConsumePartitions(assign)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), n, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

// checkReadBack checks that got holds exactly the records of sent, each where the producer
// was told it went, byte for byte.
func checkReadBack(t *testing.T, sent []sentRecord, got []*kgo.Record) {
	t.Helper()
	if len(got) != len(sent) {
		t.Fatalf("read %d records, wrote %d", len(got), len(sent))
	}
	type at struct {
		p   int32
		off int64
	}
	byPos := make(map[at]*kgo.Record, len(got))
	for _, r := range got {
		byPos[at{r.Partition, r.Offset}] = r
	}
	for i, s := range sent {
		r := byPos[at{s.md.Partition, s.md.Offset}]
		if r == nil {
			t.Fatalf("record %d (partition %d offset %d) not read back", i, s.md.Partition, s.md.Offset)
		}
		if !bytes.Equal(r.Key, s.rec.Key) || (r.Key == nil) != (s.rec.Key == nil) ||
			!bytes.Equal(r.Value, s.rec.Value) || (r.Value == nil) != (s.rec.Value == nil) ||
			!r.Timestamp.Equal(s.rec.Timestamp) || len(r.Headers) != len(s.rec.Headers) {
			t.Fatalf("record %d read back as key %q value %q ts %v headers %v; wrote %+v", i, r.Key, r.Value, r.Timestamp, r.Headers, s.rec)
		}
		for j, h := range s.rec.Headers {
			if r.Headers[j].Key != h.Key || !bytes.Equal(r.Headers[j].Value, h.Value) || (r.Headers[j].Value == nil) != (h.Value == nil) {
				t.Fatalf("record %d header %d read back as %+v, wrote %+v", i, j, r.Headers[j], h)
			}
		}
	}
}

// TestKafkatestConsumeKgo has gregor's producer write to kafkatest with every codec and
// franz-go's consumer read the records back, assigning partitions itself, at the newest
// versions (Fetch v18, topics by id), at Kafka 2.8's (Fetch v12, flexible, by name) and at
// Kafka 2.3's (Fetch v11, ListOffsets v5, not flexible).
func TestKafkatestConsumeKgo(t *testing.T) {
	releases := []struct {
		name string
		max  *kversion.Versions
	}{{"latest", nil}, {"2.8", kversion.V2_8_0()}, {"2.3", kversion.V2_3_0()}}
	codecs := []compress.Codec{compress.None, compress.Gzip, compress.Snappy, compress.LZ4, compress.Zstd}
	c, err := kafkatest.NewCluster(kafkatest.DefaultPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, codec := range codecs {
		topic := "consume-" + codec.String()
		sent := produceWithGregor(t, c.Addrs(), topic, 500, codec)
		for _, rel := range releases {
			t.Run(codec.String()+"/"+rel.name, func(t *testing.T) {
				var opts []kgo.Opt
				if rel.max != nil {
					opts = append(opts, kgo.MaxVersions(rel.max))
				}
				checkReadBack(t, sent, consumePartitions(t, c.Addrs(), topic, 3, len(sent), opts...))
			})
		}
	}
}

// TestKafkatestConsumeKgoTail has the consumer wait at the end of the log (Fetch MinBytes and
// MaxWaitMs) while records keep coming, and read them all.
func TestKafkatestConsumeKgoTail(t *testing.T) {
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic("tail", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"tail": {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []string
	for round := range 5 {
		sent := produceWithGregor(t, c.Addrs(), "tail", 10, compress.None)
		for len(got) < 10*(round+1) {
			fs := cl.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				t.Fatalf("round %d: read %d records: %v", round, len(got), err)
			}
			fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch: %v", err) })
			fs.EachRecord(func(r *kgo.Record) { got = append(got, fmt.Sprintf("%d:%s", r.Offset, r.Value)) })
		}
		for i, s := range sent {
			if want := fmt.Sprintf("%d:%s", s.md.Offset, s.rec.Value); got[10*round+i] != want {
				t.Fatalf("round %d record %d: got %s, want %s", round, i, got[10*round+i], want)
			}
		}
	}
}

// TestKafkatestConsumeKgoReadCommitted has gregor's transactional producer commit and abort
// transactions on kafkatest; franz-go's read_committed consumer must read exactly the
// committed records, in order, while a read_uncommitted one reads them all; and a consumer
// must not hang on a partition whose transaction is still open.
func TestKafkatestConsumeKgoReadCommitted(t *testing.T) {
	const topic = "txn"
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic(topic, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := producer.New(producer.Config{BootstrapServers: c.Addrs(), TransactionalID: "kgo-reader"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	var committed []string
	total := 0
	for round := range 4 {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		commit := round%2 == 0
		for i := range 50 {
			v := fmt.Sprintf("r%d-%d", round, i)
			if err := p.SendAsync(ctx, producer.Record{Topic: topic, Partition: producer.ToPartition(int32(i % 2)), Value: []byte(v)}, nil); err != nil {
				t.Fatal(err)
			}
			if commit {
				committed = append(committed, v)
			}
		}
		total += 50
		// Written before the transaction ends, so that aborted records are in the log too.
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = p.CommitTransaction(ctx)
		} else {
			err = p.AbortTransaction(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// A transaction left open: its records must not show, and must not stall the others.
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := p.SendAsync(ctx, producer.Record{Topic: topic, Partition: producer.ToPartition(int32(i % 2)), Value: []byte("open")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	values := func(recs []*kgo.Record) []string {
		var out []string
		for _, r := range recs {
			out = append(out, string(r.Value))
		}
		return out
	}
	got := values(consumePartitions(t, c.Addrs(), topic, 2, len(committed), kgo.FetchIsolationLevel(kgo.ReadCommitted())))
	slices.Sort(got)
	want := slices.Clone(committed)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("read_committed read %d records, want the %d committed:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	stored := len(c.Records(topic, 0)) + len(c.Records(topic, 1))
	if stored != total+10 {
		t.Fatalf("%d records stored, want %d", stored, total+10)
	}
	if n := len(consumePartitions(t, c.Addrs(), topic, 2, stored)); n != stored {
		t.Fatalf("read_uncommitted read %d, want %d", n, stored)
	}
	if err := p.CommitTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	if got := consumePartitions(t, c.Addrs(), topic, 2, len(committed)+10, kgo.FetchIsolationLevel(kgo.ReadCommitted())); len(got) != len(committed)+10 {
		t.Fatalf("after the last commit read %d, want %d", len(got), len(committed)+10)
	}
}

// TestKafkatestConsumeKgoRetention checks that a consumer starting at the beginning of a
// partition whose oldest records retention dropped starts at the log start offset.
func TestKafkatestConsumeKgoRetention(t *testing.T) {
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic("kept", 1), kafkatest.RetainRecords(100))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 10 {
		produceWithGregor(t, c.Addrs(), "kept", 40, compress.None)
	}
	kept := c.Records("kept", 0)
	if len(kept) == 0 || len(kept) > 140 || kept[len(kept)-1].Offset != 399 {
		t.Fatalf("kept %d records", len(kept))
	}
	got := consumePartitions(t, c.Addrs(), "kept", 1, len(kept))
	if got[0].Offset != kept[0].Offset || got[len(got)-1].Offset != 399 {
		t.Fatalf("consumed offsets %d..%d, kept %d..399", got[0].Offset, got[len(got)-1].Offset, kept[0].Offset)
	}
}
