// Package otel connects a gregor producer to OpenTelemetry (go.opentelemetry.io/otel):
// tracing through a wrapper of the producer, and metrics through the OTel metric API as an
// alternative to Prometheus.
//
// Tracing: [Wrap] returns a [Producer] whose Send and SendAsync start a producer span per
// record following the OpenTelemetry semantic conventions for messaging (named
// "send <topic>", with messaging.system=kafka, the destination, the partition and offset
// the record got, its body size and its error), inject the span context into the record's
// headers with the configured propagator (the W3C traceparent with
// propagation.TraceContext), and end the span when the record's outcome is known.
//
// Metrics: a [Metrics] is a [producer.Hooks]: set it as [producer.Config.Hooks] for
// messaging.client.sent.messages, the per-broker request latencies and the connection
// events, and [Metrics.Attach] the producer for the counters of [producer.Producer.Stats],
// read at each collection.
//
// The package name is that of go.opentelemetry.io/otel; import it under another name, such
// as gotel.
package otel

import (
	"context"
	"errors"

	"github.com/gregor-kafka/producer"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// ScopeName is the instrumentation scope of the tracer and meter this package uses.
const ScopeName = "github.com/gregor-kafka/producer/plugin/otel"

// errorType returns the error.type attribute for err: the name of a broker's error code
// (such as NOT_LEADER_OR_FOLLOWER), a short name for the producer's own errors, or _OTHER.
// Every value comes from a small fixed set, as the semantic conventions ask.
func errorType(err error) attribute.KeyValue {
	// The producer's conditions first: a delivery timeout wraps the last broker error.
	for _, e := range []struct {
		err  error
		name string
	}{
		{producer.ErrTimeout, "timeout"},
		{producer.ErrClosed, "closed"},
		{producer.ErrRecordTooLarge, "record_too_large"},
		{producer.ErrBufferFull, "buffer_full"},
		{producer.ErrInvalidRecord, "invalid_record"},
		{producer.ErrTransactionState, "transaction_state"},
		{producer.ErrAuthentication, "authentication"},
		{context.Canceled, "canceled"},
		{context.DeadlineExceeded, "deadline_exceeded"},
	} {
		if errors.Is(err, e.err) {
			return semconv.ErrorTypeKey.String(e.name)
		}
	}
	var kerr *producer.KafkaError
	if errors.As(err, &kerr) {
		return semconv.ErrorTypeKey.String(kerr.Name)
	}
	return semconv.ErrorTypeOther
}
