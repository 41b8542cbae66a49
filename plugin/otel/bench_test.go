package otel

import (
	"context"
	"testing"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
)

// BenchmarkSendAsync measures sends of 100-byte records to the in-memory cluster: plain,
// traced with a no-op tracer, traced with the SDK (every span sampled, exported to memory),
// traced through Send and its goroutine, and with the metrics' hooks.
func BenchmarkSendAsync(b *testing.B) {
	type sender func(ctx context.Context, rec producer.Record) error
	for _, bc := range []struct {
		name  string
		setup func(b *testing.B, cfg *producer.Config) func(*producer.Producer) sender
	}{
		{"plain", func(*testing.B, *producer.Config) func(*producer.Producer) sender {
			return func(p *producer.Producer) sender {
				return func(ctx context.Context, rec producer.Record) error { return p.SendAsync(ctx, rec, nil) }
			}
		}},
		{"traced-noop", func(*testing.B, *producer.Config) func(*producer.Producer) sender {
			return func(p *producer.Producer) sender {
				w := Wrap(p, TraceOptions{TracerProvider: noop.NewTracerProvider(), Propagator: propagation.TraceContext{}})
				return func(ctx context.Context, rec producer.Record) error { return w.SendAsync(ctx, rec, nil) }
			}
		}},
		{"traced-sdk", func(b *testing.B, _ *producer.Config) func(*producer.Producer) sender {
			return func(p *producer.Producer) sender {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
				b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
				w := Wrap(p, TraceOptions{TracerProvider: tp, Propagator: propagation.TraceContext{}})
				return func(ctx context.Context, rec producer.Record) error { return w.SendAsync(ctx, rec, nil) }
			}
		}},
		{"traced-sdk-send", func(b *testing.B, _ *producer.Config) func(*producer.Producer) sender {
			return func(p *producer.Producer) sender {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
				b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
				w := Wrap(p, TraceOptions{TracerProvider: tp, Propagator: propagation.TraceContext{}})
				return func(ctx context.Context, rec producer.Record) error { w.Send(ctx, rec); return nil }
			}
		}},
		{"metrics", func(b *testing.B, cfg *producer.Config) func(*producer.Producer) sender {
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
			m, err := NewMetrics(MetricOptions{MeterProvider: mp})
			if err != nil {
				b.Fatal(err)
			}
			cfg.Hooks = m
			return func(p *producer.Producer) sender {
				return func(ctx context.Context, rec producer.Record) error { return p.SendAsync(ctx, rec, nil) }
			}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := kafkatest.NewCluster(kafkatest.SeedTopic("bench", 6))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			cfg := producer.Config{BootstrapServers: c.Addrs(), Acks: producer.AcksLeader, Idempotence: producer.Disabled, BatchSize: 1 << 20}
			wrap := bc.setup(b, &cfg)
			p, err := producer.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close(context.Background())
			send := wrap(p)
			ctx := context.Background()
			rec := producer.Record{Topic: "bench", Value: make([]byte, 100)}
			for range 10000 { // warm up: metadata, connections, pools
				if err := send(ctx, rec); err != nil {
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
				if err := send(ctx, rec); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
