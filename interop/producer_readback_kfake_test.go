package interop

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	producer "github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/compress"
)

// TestReadBack100kKfake produces 100,000 records of every shape — keyed and unkeyed, empty
// and null keys and values, values up to 5.5 KiB, headers with null values and repeated keys, explicit and
// default timestamps — spread over every codec, to a 3-broker kfake cluster, and reads all
// of them back with franz-go's consumer: every field byte for byte, each partition in send
// order, each keyed record in the partition the Java client would choose.
func TestReadBack100kKfake(t *testing.T) {
	const perCodec, partitions = 20000, 6
	codecs := []compress.Codec{compress.None, compress.Gzip, compress.Snappy, compress.LZ4, compress.Zstd}
	topics := make([]string, len(codecs))
	for i, c := range codecs {
		topics[i] = "readback-" + c.String()
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := time.UnixMilli(1_700_000_000_000)

	for ci, codec := range codecs {
		topic := topics[ci]
		p, err := producer.New(producer.Config{BootstrapServers: c.ListenAddrs(), Compression: codec, BatchSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		sent := make([]producer.Record, perCodec)
		for i := range sent {
			n := i % 300
			if i%11 == 6 {
				n = 500 + i%5000 // values summed as they are copied in (from 512 bytes, uncompressed)
			}
			r := producer.Record{Topic: topic, Value: []byte(fmt.Sprintf("v%d-%s", i, bytes.Repeat([]byte{byte('a' + i%26)}, n)))}
			switch i % 7 {
			case 0:
				r.Key = []byte("key-" + strconv.Itoa(i%97))
			case 1:
				r.Key = []byte{} // empty, not null
			case 2:
				r.Value = nil
				r.Key = []byte("tomb-" + strconv.Itoa(i%13))
			case 3:
				r.Value = []byte{}
			case 4:
				r.Headers = []producer.Header{{Key: "h", Value: []byte("1")}, {Key: "h", Value: nil}, {Key: "", Value: []byte{}}}
			case 5:
				r.Timestamp = base.Add(time.Duration(i) * time.Millisecond)
			}
			r.Headers = append(r.Headers, producer.Header{Key: "seq", Value: []byte(strconv.Itoa(i))})
			sent[i] = r
			if err := p.SendAsync(ctx, r, func(_ producer.RecordMetadata, err error) {
				if err != nil {
					t.Errorf("%s record %d: %v", codec, i, err)
				}
			}); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}

		got := consumeAll(t, c.ListenAddrs(), topic, perCodec)
		if len(got) != perCodec {
			t.Fatalf("%s: read %d records, want %d", codec, len(got), perCodec)
		}
		last := map[int32]int{}
		seen := make([]bool, perCodec)
		for _, r := range got {
			h := r.Headers[len(r.Headers)-1]
			i, err := strconv.Atoi(string(h.Value))
			if h.Key != "seq" || err != nil || i < 0 || i >= perCodec || seen[i] {
				t.Fatalf("%s: bad or repeated seq header %q=%q", codec, h.Key, h.Value)
			}
			seen[i] = true
			if prev, ok := last[r.Partition]; ok && i <= prev {
				t.Fatalf("%s partition %d: record %d after %d", codec, r.Partition, i, prev)
			}
			last[r.Partition] = i
			w := sent[i]
			if !bytes.Equal(r.Key, w.Key) || (r.Key == nil) != (w.Key == nil) {
				t.Fatalf("%s record %d: key %q (nil %v), want %q (nil %v)", codec, i, r.Key, r.Key == nil, w.Key, w.Key == nil)
			}
			if !bytes.Equal(r.Value, w.Value) || (r.Value == nil) != (w.Value == nil) {
				t.Fatalf("%s record %d: value differs (nil %v, want nil %v)", codec, i, r.Value == nil, w.Value == nil)
			}
			if len(r.Headers) != len(w.Headers) {
				t.Fatalf("%s record %d: %d headers, want %d", codec, i, len(r.Headers), len(w.Headers))
			}
			for j, hh := range r.Headers {
				wh := w.Headers[j]
				if hh.Key != wh.Key || !bytes.Equal(hh.Value, wh.Value) || (hh.Value == nil) != (wh.Value == nil) {
					t.Fatalf("%s record %d header %d: %q=%q, want %q=%q", codec, i, j, hh.Key, hh.Value, wh.Key, wh.Value)
				}
			}
			if !w.Timestamp.IsZero() && !r.Timestamp.Equal(w.Timestamp) {
				t.Fatalf("%s record %d: timestamp %v, want %v", codec, i, r.Timestamp, w.Timestamp)
			}
			if len(w.Key) > 0 && r.Partition != producer.KeyPartition(w.Key, partitions) {
				t.Fatalf("%s record %d: key %q in partition %d, Java's choice is %d", codec, i, w.Key, r.Partition, producer.KeyPartition(w.Key, partitions))
			}
		}
	}
}
