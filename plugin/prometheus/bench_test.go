package prometheus

import (
	"context"
	"testing"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
)

// BenchmarkSendAsync measures fire-and-forget sends of 100-byte records to the in-memory
// cluster, without hooks and with the metrics' hooks, to show what the hooks cost.
func BenchmarkSendAsync(b *testing.B) {
	for _, bc := range []struct {
		name    string
		metrics bool
		opts    Options
	}{
		{"no-hooks", false, Options{}},
		{"metrics", true, Options{}},
		{"metrics-per-topic", true, Options{PerTopic: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := kafkatest.NewCluster(kafkatest.SeedTopic("bench", 6))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			cfg := producer.Config{BootstrapServers: c.Addrs(), Acks: producer.AcksLeader, Idempotence: producer.Disabled, BatchSize: 1 << 20}
			if bc.metrics {
				m, err := New(bc.opts)
				if err != nil {
					b.Fatal(err)
				}
				cfg.Hooks = m
			}
			p, err := producer.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close(context.Background())
			ctx := context.Background()
			rec := producer.Record{Topic: "bench", Value: make([]byte, 100)}
			for range 10000 { // warm up: metadata, connections, pools
				if err := p.SendAsync(ctx, rec, nil); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(rec.Value)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := p.SendAsync(ctx, rec, nil); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
