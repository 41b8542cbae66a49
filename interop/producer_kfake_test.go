package interop

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	producer "github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/compress"
)

// consumeAll reads n records of topic from the cluster with franz-go's consumer; extra
// options add, for example, SASL or TLS.
func consumeAll(t *testing.T, addrs []string, topic string, n int, extra ...kgo.Opt) []*kgo.Record {
	t.Helper()
	opts := append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, extra...)
	cl, err := kgo.NewClient(opts...)
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

func TestProducerToKfakeSmoke(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(6, "smoke-none", "smoke-gzip", "smoke-snappy", "smoke-lz4", "smoke-zstd"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, codec := range []compress.Codec{compress.None, compress.Gzip, compress.Snappy, compress.LZ4, compress.Zstd} {
		t.Run(codec.String(), func(t *testing.T) {
			topic := "smoke-" + codec.String()
			p, err := producer.New(producer.Config{BootstrapServers: c.ListenAddrs(), Compression: codec})
			if err != nil {
				t.Fatal(err)
			}
			const n = 2000
			var acked atomic.Int64
			ctx := context.Background()
			for i := 0; i < n; i++ {
				rec := producer.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i%50)), Value: []byte(fmt.Sprintf("%s-v%d", codec, i))}
				if err := p.SendAsync(ctx, rec, func(md producer.RecordMetadata, err error) {
					if err != nil {
						t.Errorf("record failed: %v", err)
						return
					}
					acked.Add(1)
				}); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if acked.Load() != n {
				t.Fatalf("acked %d of %d", acked.Load(), n)
			}
			if err := p.Close(ctx); err != nil {
				t.Fatal(err)
			}
			recs := consumeAll(t, c.ListenAddrs(), topic, n)
			found := 0
			for _, r := range recs {
				if bytes.HasPrefix(r.Value, []byte(codec.String()+"-")) {
					found++
					want := producer.KeyPartition(r.Key, 6)
					if r.Partition != want {
						t.Errorf("key %s in partition %d, want %d", r.Key, r.Partition, want)
					}
				}
			}
			if found != n {
				t.Errorf("found %d of %d records", found, n)
			}
		})
	}
}
