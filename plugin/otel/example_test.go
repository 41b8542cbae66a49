package otel_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
	gotel "github.com/gregor-kafka/producer/plugin/otel"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Wrap traces every record: a producer span per record, ended with its outcome, whose
// context travels in the record's traceparent header. A service would give Wrap its
// configured tracer provider (or set the global one) instead of this in-memory exporter.
func ExampleWrap() {
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic("orders", 1))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer tp.Shutdown(ctx)

	p, err := producer.New(producer.Config{BootstrapServers: c.Addrs()})
	if err != nil {
		log.Fatal(err)
	}
	traced := gotel.Wrap(p, gotel.TraceOptions{TracerProvider: tp, Propagator: propagation.TraceContext{}})
	defer traced.Close(ctx)

	done := make(chan struct{})
	rec := producer.Record{Topic: "orders", Value: []byte("order 1")}
	err = traced.SendAsync(ctx, rec, func(md producer.RecordMetadata, err error) {
		defer close(done)
		if err != nil {
			log.Print(err)
		}
	})
	if err != nil {
		log.Fatal(err)
	}
	<-done // the span has ended before the callback runs

	span := exporter.GetSpans()[0]
	fmt.Println(span.Name, span.SpanKind)
	for _, kv := range span.Attributes {
		fmt.Printf("  %s=%s\n", kv.Key, kv.Value.String())
	}
	stored := c.Records("orders", 0)[0]
	// traceparent: version-traceid-spanid-flags
	fmt.Println(stored.Headers[0].Key, "names the span:",
		string(stored.Headers[0].Value) == fmt.Sprintf("00-%s-%s-01", span.SpanContext.TraceID(), span.SpanContext.SpanID()))
	// Output:
	// send orders producer
	//   messaging.system=kafka
	//   messaging.operation.name=send
	//   messaging.operation.type=send
	//   messaging.destination.name=orders
	//   messaging.message.body.size=7
	//   messaging.destination.partition.id=0
	//   messaging.kafka.offset=0
	// traceparent names the span: true
}

// NewMetrics records the producer's metrics through the OpenTelemetry metric API. A service
// would give it its configured meter provider (or set the global one) instead of this
// manual reader.
func ExampleNewMetrics() {
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic("orders", 1))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)

	m, err := gotel.NewMetrics(gotel.MetricOptions{MeterProvider: mp, PerTopic: true})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	p, err := producer.New(producer.Config{BootstrapServers: c.Addrs(), Hooks: m})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)
	m.Attach(p)

	for i := range 3 {
		if err := p.Send(ctx, producer.Record{Topic: "orders", Value: fmt.Appendf(nil, "order %d", i)}).Wait(ctx); err != nil {
			log.Fatal(err)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			switch md.Name {
			case "messaging.client.sent.messages", "gregor.producer.batches.sent":
				for _, dp := range md.Data.(metricdata.Sum[int64]).DataPoints {
					if topic, ok := dp.Attributes.Value("messaging.destination.name"); ok {
						fmt.Println(md.Name, dp.Value, "topic", topic.String())
					} else {
						fmt.Println(md.Name, dp.Value)
					}
				}
			}
		}
	}
	// Unordered output:
	// messaging.client.sent.messages 3 topic orders
	// gregor.producer.batches.sent 3
}
