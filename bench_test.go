package producer

import (
	"context"
	"testing"

	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/kafkatest"
)

// BenchmarkSendAsync measures fire-and-forget sends of 100-byte records against the
// in-memory cluster (which decodes and stores every batch, so it costs CPU too): ns and
// allocations per record, flushing at the end. The parallel case sends from 8 goroutines per
// CPU (b.RunParallel) into the one producer.
func BenchmarkSendAsync(b *testing.B) {
	for _, bc := range []struct {
		name     string
		codec    compress.Codec
		acks     Acks
		idem     Switch
		parallel bool
	}{
		{"none/acks1", compress.None, AcksLeader, Disabled, false},
		{"none/acks1/parallel", compress.None, AcksLeader, Disabled, true},
		{"none/idempotent", compress.None, AcksAll, Enabled, false},
		{"lz4/acks1", compress.LZ4, AcksLeader, Disabled, false},
		{"zstd/acks1", compress.Zstd, AcksLeader, Disabled, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := kafkatest.NewCluster(kafkatest.SeedTopic("bench", 6))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			p, err := New(Config{BootstrapServers: c.Addrs(), Compression: bc.codec, Acks: bc.acks, Idempotence: bc.idem, BatchSize: 1 << 20})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			value := make([]byte, 100)
			rec := Record{Topic: "bench", Value: value}
			// Warm up: metadata, connections, pools.
			for i := 0; i < 10000; i++ {
				if err := p.SendAsync(ctx, rec, nil); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			b.ResetTimer()
			if bc.parallel {
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := p.SendAsync(ctx, rec, nil); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for i := 0; i < b.N; i++ {
					if err := p.SendAsync(ctx, rec, nil); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := p.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := p.Close(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
