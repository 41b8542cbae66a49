package otel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregor-kafka/producer"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/messagingconv"
)

// DurationBuckets are the histogram bucket bounds, in seconds, of
// gregor.producer.request.duration: those the semantic conventions recommend for
// messaging.client.operation.duration.
var DurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// MetricOptions configures [NewMetrics]. The zero value uses the global meter provider.
type MetricOptions struct {
	// MeterProvider creates the meter; nil means otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// PerTopic adds messaging.destination.name to messaging.client.sent.messages. Off by
	// default: every topic the producer writes to becomes a series.
	PerTopic bool
	// Attributes are added to every measurement, e.g. semconv.MessagingClientID("orders")
	// to tell producers apart.
	Attributes []attribute.KeyValue
}

// StatsSource is what [Metrics.Attach] reads at each collection: a *producer.Producer, or
// anything that embeds one, such as [Producer].
type StatsSource interface {
	Stats() producer.Stats
}

// Metrics records a producer's metrics through the OpenTelemetry metric API. It
// implements [producer.Hooks]; its methods are safe for concurrent use.
//
// From the hooks, as they happen:
//   - messaging.client.sent.messages {message}: records completed, with error.type when
//     they failed (and messaging.destination.name with [MetricOptions.PerTopic]);
//   - gregor.producer.request.duration (s): Produce request latency, by gregor.broker.id,
//     with error.type when the request got no answer;
//   - gregor.producer.broker.connects {connection}: dials, with error.type when they
//     failed, and gregor.producer.broker.disconnects {connection}: connections that died,
//     by gregor.broker.id.
//
// From [producer.Stats], at each collection once attached: gregor.producer.records.retried,
// gregor.producer.batches.sent, gregor.producer.sent.bytes and
// gregor.producer.sent.uncompressed_bytes (after and before compression),
// gregor.producer.compression.ratio, gregor.producer.buffer.usage (bytes of
// buffer.memory), gregor.producer.requests, gregor.producer.active_requests,
// gregor.producer.metadata.refreshes and gregor.producer.connection.errors.
type Metrics struct {
	src      atomic.Pointer[source]
	perTopic bool
	base     []attribute.KeyValue
	baseSet  attribute.Set
	reg      metric.Registration

	sent        messagingconv.ClientSentMessages
	duration    metric.Float64Histogram
	connects    metric.Int64Counter
	disconnects metric.Int64Counter
	brokers     sync.Map // int32 -> attribute.Set: base + broker id

	retried, batches, sentBytes, uncompressed metric.Int64ObservableCounter
	requests, refreshes, connErrors           metric.Int64ObservableCounter
	ratio                                     metric.Float64ObservableGauge
	bufferUsage, activeRequests               metric.Int64ObservableUpDownCounter
}

type source struct{ StatsSource }

// brokerIDKey is the attribute naming a broker by node id; the semantic conventions have
// none.
const brokerIDKey = attribute.Key("gregor.broker.id")

// NewMetrics creates the instruments, or returns the meter's error.
func NewMetrics(opts MetricOptions) (*Metrics, error) {
	mp := opts.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
	m := &Metrics{
		perTopic: opts.PerTopic,
		base:     opts.Attributes,
		baseSet:  attribute.NewSet(opts.Attributes...),
	}
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	m.sent, err = messagingconv.NewClientSentMessages(meter)
	check(err)
	m.duration, err = meter.Float64Histogram("gregor.producer.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from writing a Produce request to its answer or failure (acks=0 requests have no answer)."),
		metric.WithExplicitBucketBoundaries(DurationBuckets...))
	check(err)
	m.connects, err = meter.Int64Counter("gregor.producer.broker.connects", metric.WithUnit("{connection}"),
		metric.WithDescription("Dials to brokers, failed ones with error.type."))
	check(err)
	m.disconnects, err = meter.Int64Counter("gregor.producer.broker.disconnects", metric.WithUnit("{connection}"),
		metric.WithDescription("Broker connections that died."))
	check(err)

	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		check(err)
		return c
	}
	upDown := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		c, err := meter.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		check(err)
		return c
	}
	m.retried = counter("gregor.producer.records.retried", "{record}",
		"Records of batches sent again after a retriable error; a record retried twice counts twice.")
	m.batches = counter("gregor.producer.batches.sent", "{batch}", "Record batches acknowledged.")
	m.sentBytes = counter("gregor.producer.sent.bytes", "By",
		"Bytes of the acknowledged record batches as written, after compression.")
	m.uncompressed = counter("gregor.producer.sent.uncompressed_bytes", "By",
		"Bytes of the acknowledged record batches before compression.")
	m.requests = counter("gregor.producer.requests", "{request}", "Produce requests written.")
	m.refreshes = counter("gregor.producer.metadata.refreshes", "{refresh}", "Metadata answers applied.")
	m.connErrors = counter("gregor.producer.connection.errors", "{error}",
		"Failed dials to brokers and broker connections that died.")
	m.bufferUsage = upDown("gregor.producer.buffer.usage", "By", "Bytes of buffer.memory held by records not yet completed.")
	m.activeRequests = upDown("gregor.producer.active_requests", "{request}", "Produce requests written and awaiting their answer.")
	m.ratio, err = meter.Float64ObservableGauge("gregor.producer.compression.ratio", metric.WithUnit("1"),
		metric.WithDescription("Compressed over uncompressed bytes of the acknowledged batches; 1 without compression."))
	check(err)
	if len(errs) > 0 {
		return nil, fmt.Errorf("gregor otel: %w", errors.Join(errs...))
	}
	m.reg, err = meter.RegisterCallback(m.observe, m.retried, m.batches, m.sentBytes, m.uncompressed,
		m.requests, m.refreshes, m.connErrors, m.bufferUsage, m.activeRequests, m.ratio)
	if err != nil {
		return nil, fmt.Errorf("gregor otel: %w", err)
	}
	return m, nil
}

// Attach makes the metrics read src's [producer.Stats] at each collection; until then only
// the measurements of the hooks are recorded. Attaching another source replaces the first;
// nil detaches.
func (m *Metrics) Attach(src StatsSource) {
	if src == nil {
		m.src.Store(nil)
		return
	}
	m.src.Store(&source{src})
}

// Close unregisters the collection of [producer.Stats] from the meter. The hooks keep
// recording.
func (m *Metrics) Close() error {
	return m.reg.Unregister()
}

// observe reports one snapshot of the attached producer's Stats.
func (m *Metrics) observe(_ context.Context, o metric.Observer) error {
	src := m.src.Load()
	if src == nil {
		return nil
	}
	s := src.Stats()
	attrs := metric.WithAttributeSet(m.baseSet)
	o.ObserveInt64(m.retried, s.RecordsRetried, attrs)
	o.ObserveInt64(m.batches, s.BatchesSent, attrs)
	o.ObserveInt64(m.sentBytes, s.BatchBytes, attrs)
	o.ObserveInt64(m.uncompressed, s.UncompressedBytes, attrs)
	o.ObserveInt64(m.requests, s.Requests, attrs)
	o.ObserveInt64(m.refreshes, s.MetadataRefreshes, attrs)
	o.ObserveInt64(m.connErrors, s.ConnectionErrors, attrs)
	o.ObserveInt64(m.bufferUsage, s.BufferedBytes, attrs)
	o.ObserveInt64(m.activeRequests, s.InFlightRequests, attrs)
	o.ObserveFloat64(m.ratio, s.CompressionRatio, attrs)
	return nil
}

// brokerAttrs returns the attributes of measurements about broker node, plus extra.
func (m *Metrics) brokerAttrs(node int32, extra ...attribute.KeyValue) attribute.Set {
	if len(extra) == 0 {
		if s, ok := m.brokers.Load(node); ok {
			return s.(attribute.Set)
		}
	}
	kvs := append(append(append(make([]attribute.KeyValue, 0, len(m.base)+1+len(extra)), m.base...),
		brokerIDKey.Int(int(node))), extra...)
	s := attribute.NewSet(kvs...)
	if len(extra) == 0 {
		m.brokers.Store(node, s)
	}
	return s
}

// OnBrokerConnect implements [producer.Hooks]: it counts the dial.
func (m *Metrics) OnBrokerConnect(node int32, _ string, _ time.Duration, err error) {
	attrs := m.brokerAttrs(node)
	if err != nil {
		attrs = m.brokerAttrs(node, errorType(err))
	}
	m.connects.Add(context.Background(), 1, metric.WithAttributeSet(attrs))
}

// OnBrokerDisconnect implements [producer.Hooks]: it counts the dead connection.
func (m *Metrics) OnBrokerDisconnect(node int32, _ string, _ error) {
	m.disconnects.Add(context.Background(), 1, metric.WithAttributeSet(m.brokerAttrs(node)))
}

// OnProduceRequest implements [producer.Hooks]: it records the request's latency.
func (m *Metrics) OnProduceRequest(node int32, _ int, latency time.Duration, err error) {
	attrs := m.brokerAttrs(node)
	if err != nil {
		attrs = m.brokerAttrs(node, errorType(err))
	}
	m.duration.Record(context.Background(), latency.Seconds(), metric.WithAttributeSet(attrs))
}

// OnBatchDone implements [producer.Hooks]: it counts the batch's records in
// messaging.client.sent.messages.
func (m *Metrics) OnBatchDone(topic string, _ int32, records int, _ int, err error) {
	attrs := make([]attribute.KeyValue, 0, len(m.base)+2)
	attrs = append(attrs, m.base...)
	if m.perTopic {
		attrs = append(attrs, semconv.MessagingDestinationName(topic))
	}
	if err != nil {
		attrs = append(attrs, errorType(err))
	}
	m.sent.Add(context.Background(), int64(records), "send", messagingconv.SystemKafka, attrs...)
}

// OnRecordDone implements [producer.Hooks]; records are counted per batch, so it does
// nothing.
func (m *Metrics) OnRecordDone(producer.RecordMetadata, error) {}

var _ producer.Hooks = (*Metrics)(nil)
