package otel

import (
	"context"
	"strconv"
	"unicode/utf8"

	"github.com/gregor-kafka/producer"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TraceOptions configures [Wrap]. The zero value uses the global tracer provider and
// propagator, as OpenTelemetry instrumentations do.
type TraceOptions struct {
	// TracerProvider creates the tracer; nil means otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Propagator writes the span context into the record headers; nil means
	// otel.GetTextMapPropagator(), which propagates nothing until the program sets one (for
	// the W3C traceparent: otel.SetTextMapPropagator(propagation.TraceContext{})).
	Propagator propagation.TextMapPropagator
	// RecordKeys adds messaging.kafka.message.key to the spans of records whose key is
	// valid UTF-8. Off by default: keys may identify people.
	RecordKeys bool
	// Attributes are added to every span, e.g. semconv.MessagingClientID("orders") or
	// semconv.ServerAddress of the bootstrap server.
	Attributes []attribute.KeyValue
}

// Producer is a [producer.Producer] whose Send and SendAsync trace each record. The other
// methods (Flush, Close, Stats, transactions) are the embedded producer's. Records sent
// through the embedded producer directly, or through a producer.Typed made from it, are not
// traced: build them with Typed.Record and send them here.
type Producer struct {
	*producer.Producer
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	keys       bool
	attrs      []attribute.KeyValue
}

// Wrap returns p with tracing. Several wrappers of one producer may coexist.
func Wrap(p *producer.Producer, opts TraceOptions) *Producer {
	tp := opts.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	prop := opts.Propagator
	if prop == nil {
		prop = otel.GetTextMapPropagator()
	}
	return &Producer{
		Producer:   p,
		tracer:     tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		propagator: prop,
		keys:       opts.RecordKeys,
		attrs:      opts.Attributes,
	}
}

// Send is [producer.Producer.Send] with a span: the span starts now, as a child of the span
// in ctx, its context goes into a copy of rec's headers, and it ends once the Future's
// outcome is known. Until then a goroutine waits for the outcome; [Producer.SendAsync]
// needs none.
func (p *Producer) Send(ctx context.Context, rec producer.Record) *producer.Future {
	ctx, span := p.start(ctx, &rec)
	f := p.Producer.Send(ctx, rec)
	select {
	case <-f.Done():
		md, err := f.Get(context.Background())
		end(span, md, err)
	default:
		go func() {
			<-f.Done()
			md, err := f.Get(context.Background())
			end(span, md, err)
		}()
	}
	return f
}

// SendAsync is [producer.Producer.SendAsync] with a span: the span starts now, as a child of
// the span in ctx, its context goes into a copy of rec's headers, and it ends with the
// record's outcome, just before cb (if not nil) runs.
func (p *Producer) SendAsync(ctx context.Context, rec producer.Record, cb producer.Callback) error {
	ctx, span := p.start(ctx, &rec)
	return p.Producer.SendAsync(ctx, rec, func(md producer.RecordMetadata, err error) {
		end(span, md, err)
		if cb != nil {
			cb(md, err)
		}
	})
}

// start starts the span of rec and injects its context into a copy of rec.Headers.
func (p *Producer) start(ctx context.Context, rec *producer.Record) (context.Context, trace.Span) {
	attrs := make([]attribute.KeyValue, 0, 8+len(p.attrs))
	attrs = append(attrs,
		semconv.MessagingSystemKafka,
		semconv.MessagingOperationName("send"),
		semconv.MessagingOperationTypeSend,
		semconv.MessagingDestinationName(rec.Topic),
		semconv.MessagingMessageBodySize(len(rec.Value)),
	)
	if rec.Value == nil {
		attrs = append(attrs, semconv.MessagingKafkaMessageTombstone(true))
	}
	if part, ok := rec.Partition.Get(); ok {
		attrs = append(attrs, semconv.MessagingDestinationPartitionID(strconv.Itoa(int(part))))
	}
	if p.keys && rec.Key != nil && utf8.Valid(rec.Key) {
		attrs = append(attrs, semconv.MessagingKafkaMessageKey(string(rec.Key)))
	}
	attrs = append(attrs, p.attrs...)
	ctx, span := p.tracer.Start(ctx, "send "+rec.Topic,
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	// The caller keeps its slice: the propagator writes into a copy.
	c := HeaderCarrier{Headers: make([]producer.Header, len(rec.Headers), len(rec.Headers)+2)}
	copy(c.Headers, rec.Headers)
	p.propagator.Inject(ctx, &c)
	rec.Headers = c.Headers
	return ctx, span
}

// end records the outcome of a record on its span and ends it.
func end(span trace.Span, md producer.RecordMetadata, err error) {
	if md.Partition >= 0 {
		span.SetAttributes(semconv.MessagingDestinationPartitionID(strconv.Itoa(int(md.Partition))))
	}
	if err != nil {
		span.SetAttributes(errorType(err))
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	} else if md.Offset >= 0 {
		span.SetAttributes(semconv.MessagingKafkaOffset(int(md.Offset)))
	}
	span.End()
}
