// Package prometheus exports a gregor producer's statistics and events as Prometheus
// metrics, with github.com/prometheus/client_golang.
//
// A [Metrics] is both a [prometheus.Collector] and a [producer.Hooks]. Set it as
// [producer.Config.Hooks] for the per-broker request latencies, errors and connection
// events, [Metrics.Attach] the producer for the counters of [producer.Producer.Stats], which
// are read at each scrape, and register it:
//
//	m, err := gprom.New(gprom.Options{})
//	cfg.Hooks = m
//	p, err := producer.New(cfg)
//	m.Attach(p)
//	prometheus.MustRegister(m)
//
// Metric names start with gregor_producer_ (see [Options.Namespace]). Labels are bounded:
// broker (the node id) on the request and connection metrics, and topic only on the
// gregor_producer_topic_* metrics, which exist only with [Options.PerTopic]. To tell several
// producers of one process apart, give each its own [Options.ConstLabels].
//
// The package name is that of client_golang's; import it under another name, such as gprom.
package prometheus

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultLatencyBuckets are the upper bounds, in seconds, of the request latency histogram's
// buckets when [Options.LatencyBuckets] is empty: from 1 ms to 30 s (Produce requests wait
// for the brokers' replication with acks=all, up to request.timeout.ms).
var DefaultLatencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Options configures [New]. The zero value is a good start.
type Options struct {
	// Namespace is the first part of every metric name; default "gregor". The second part
	// is always "producer".
	Namespace string
	// ConstLabels are added to every metric, e.g. {"client_id": "orders"} to tell producers
	// apart. They may not be named broker or topic.
	ConstLabels prometheus.Labels
	// PerTopic adds metrics labelled by topic: gregor_producer_topic_records_sent_total,
	// gregor_producer_topic_records_failed_total and gregor_producer_topic_sent_bytes_total.
	// Off by default: every topic the producer writes to becomes a series of each.
	PerTopic bool
	// LatencyBuckets are the upper bounds, in seconds and increasing, of
	// gregor_producer_request_duration_seconds; default [DefaultLatencyBuckets].
	LatencyBuckets []float64
}

// StatsSource is what [Metrics.Attach] reads at each scrape: a *producer.Producer, or
// anything that embeds one.
type StatsSource interface {
	Stats() producer.Stats
}

// Metrics collects the metrics of one producer. It implements [prometheus.Collector] and
// [producer.Hooks]; its methods are safe for concurrent use.
type Metrics struct {
	src atomic.Pointer[source]

	stats []statMetric

	requestDuration *prometheus.HistogramVec
	requestErrors   *prometheus.CounterVec
	requestBytes    *prometheus.CounterVec
	connects        *prometheus.CounterVec
	connectErrors   *prometheus.CounterVec
	disconnects     *prometheus.CounterVec
	brokers         sync.Map // int32 -> *brokerMetrics

	// Nil without Options.PerTopic.
	topicSent, topicFailed, topicBytes *prometheus.CounterVec
}

type source struct{ StatsSource }

// statMetric is one metric read from producer.Stats at each scrape.
type statMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*producer.Stats) float64
}

// brokerMetrics are the children of the request metrics for one broker, looked up once.
type brokerMetrics struct {
	duration      prometheus.Observer
	errors, bytes prometheus.Counter
}

// New returns the metrics described by opts, or an error naming what is wrong with them.
func New(opts Options) (*Metrics, error) {
	ns := opts.Namespace
	if ns == "" {
		ns = "gregor"
	}
	const sub = "producer"
	buckets := opts.LatencyBuckets
	if len(buckets) == 0 {
		buckets = DefaultLatencyBuckets
	}
	if !validName(ns) {
		return nil, fmt.Errorf("gregor prometheus: Namespace %q is not a name Prometheus' classic scheme accepts ([a-zA-Z_][a-zA-Z0-9_]*)", ns)
	}
	for name := range opts.ConstLabels {
		if !validName(name) || strings.HasPrefix(name, "__") {
			return nil, fmt.Errorf("gregor prometheus: ConstLabels name %q is not a label name Prometheus' classic scheme accepts", name)
		}
	}
	for i, b := range buckets {
		if math.IsNaN(b) || i > 0 && b <= buckets[i-1] {
			return nil, fmt.Errorf("gregor prometheus: LatencyBuckets must increase, got %v", buckets)
		}
	}
	m := &Metrics{}
	stat := func(name, help string, kind prometheus.ValueType, value func(*producer.Stats) float64) {
		desc := prometheus.NewDesc(prometheus.BuildFQName(ns, sub, name), help, nil, opts.ConstLabels)
		m.stats = append(m.stats, statMetric{desc, kind, value})
	}
	counter := func(name, help string, value func(*producer.Stats) int64) {
		stat(name, help, prometheus.CounterValue, func(s *producer.Stats) float64 { return float64(value(s)) })
	}
	counter("records_sent_total", "Records acknowledged by the brokers (with acks=0: written).",
		func(s *producer.Stats) int64 { return s.RecordsSent })
	counter("records_failed_total", "Records completed with an error.",
		func(s *producer.Stats) int64 { return s.RecordsFailed })
	counter("records_retried_total", "Records of batches sent again after a retriable error; a record retried twice counts twice.",
		func(s *producer.Stats) int64 { return s.RecordsRetried })
	counter("batches_sent_total", "Record batches acknowledged.",
		func(s *producer.Stats) int64 { return s.BatchesSent })
	counter("sent_bytes_total", "Bytes of the acknowledged record batches as written, after compression.",
		func(s *producer.Stats) int64 { return s.BatchBytes })
	counter("sent_uncompressed_bytes_total", "Bytes of the acknowledged record batches before compression.",
		func(s *producer.Stats) int64 { return s.UncompressedBytes })
	stat("compression_ratio", "Compressed over uncompressed bytes of the acknowledged batches; 1 without compression.",
		prometheus.GaugeValue, func(s *producer.Stats) float64 { return s.CompressionRatio })
	stat("buffer_used_bytes", "Bytes of buffer.memory held by records not yet completed.",
		prometheus.GaugeValue, func(s *producer.Stats) float64 { return float64(s.BufferedBytes) })
	counter("requests_total", "Produce requests written.",
		func(s *producer.Stats) int64 { return s.Requests })
	stat("requests_in_flight", "Produce requests written and awaiting their answer.",
		prometheus.GaugeValue, func(s *producer.Stats) float64 { return float64(s.InFlightRequests) })
	counter("metadata_refreshes_total", "Metadata answers applied.",
		func(s *producer.Stats) int64 { return s.MetadataRefreshes })
	counter("connection_errors_total", "Failed dials to brokers and broker connections that died.",
		func(s *producer.Stats) int64 { return s.ConnectionErrors })

	vecOpts := func(name, help string) prometheus.CounterOpts {
		return prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help, ConstLabels: opts.ConstLabels}
	}
	broker := []string{"broker"}
	m.requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Subsystem: sub, Name: "request_duration_seconds", ConstLabels: opts.ConstLabels,
		Help:    "Time from writing a Produce request to its answer or failure, by broker node id (acks=0 requests have no answer).",
		Buckets: buckets,
	}, broker)
	m.requestErrors = prometheus.NewCounterVec(vecOpts("request_errors_total",
		"Produce requests that got no answer (connection lost, request.timeout.ms), by broker node id."), broker)
	m.requestBytes = prometheus.NewCounterVec(vecOpts("request_batch_bytes_total",
		"Bytes of record batches in Produce requests answered or failed, retries included, by broker node id."), broker)
	m.connects = prometheus.NewCounterVec(vecOpts("connects_total",
		"Successful dials to a broker, by node id."), broker)
	m.connectErrors = prometheus.NewCounterVec(vecOpts("connect_errors_total",
		"Failed dials to a broker, by node id."), broker)
	m.disconnects = prometheus.NewCounterVec(vecOpts("disconnects_total",
		"Broker connections that died, by node id."), broker)
	if opts.PerTopic {
		topic := []string{"topic"}
		m.topicSent = prometheus.NewCounterVec(vecOpts("topic_records_sent_total",
			"Records acknowledged, by topic."), topic)
		m.topicFailed = prometheus.NewCounterVec(vecOpts("topic_records_failed_total",
			"Records completed with an error, by topic."), topic)
		m.topicBytes = prometheus.NewCounterVec(vecOpts("topic_sent_bytes_total",
			"Bytes of the acknowledged record batches as written, after compression, by topic."), topic)
	}
	// A registry checks names, labels and help strings; let it find mistakes now.
	if err := prometheus.NewPedanticRegistry().Register(m); err != nil {
		return nil, fmt.Errorf("gregor prometheus: %w", err)
	}
	return m, nil
}

// validName reports whether s is a metric name part or label name under Prometheus'
// classic, pre-UTF-8 scheme, which every scraper and query accepts unquoted.
func validName(s string) bool {
	for i, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return s != ""
}

// Attach makes the metrics read src's [producer.Stats] at each scrape; until then only the
// metrics fed by the hooks are collected. Attaching another source replaces the first.
func (m *Metrics) Attach(src StatsSource) {
	if src == nil {
		m.src.Store(nil)
		return
	}
	m.src.Store(&source{src})
}

func (m *Metrics) vecs() []prometheus.Collector {
	cs := []prometheus.Collector{m.requestDuration, m.requestErrors, m.requestBytes, m.connects, m.connectErrors, m.disconnects}
	if m.topicSent != nil {
		cs = append(cs, m.topicSent, m.topicFailed, m.topicBytes)
	}
	return cs
}

// Describe implements [prometheus.Collector].
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range m.stats {
		ch <- s.desc
	}
	for _, c := range m.vecs() {
		c.Describe(ch)
	}
}

// Collect implements [prometheus.Collector]: it reads the attached producer's Stats once.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	if src := m.src.Load(); src != nil {
		s := src.Stats()
		for _, sm := range m.stats {
			ch <- prometheus.MustNewConstMetric(sm.desc, sm.kind, sm.value(&s))
		}
	}
	for _, c := range m.vecs() {
		c.Collect(ch)
	}
}

func (m *Metrics) broker(node int32) *brokerMetrics {
	if b, ok := m.brokers.Load(node); ok {
		return b.(*brokerMetrics)
	}
	id := strconv.Itoa(int(node))
	b, _ := m.brokers.LoadOrStore(node, &brokerMetrics{
		duration: m.requestDuration.WithLabelValues(id),
		errors:   m.requestErrors.WithLabelValues(id),
		bytes:    m.requestBytes.WithLabelValues(id),
	})
	return b.(*brokerMetrics)
}

// OnBrokerConnect implements [producer.Hooks]: it counts the dial.
func (m *Metrics) OnBrokerConnect(node int32, _ string, _ time.Duration, err error) {
	id := strconv.Itoa(int(node))
	if err != nil {
		m.connectErrors.WithLabelValues(id).Inc()
		return
	}
	m.connects.WithLabelValues(id).Inc()
}

// OnBrokerDisconnect implements [producer.Hooks]: it counts the dead connection.
func (m *Metrics) OnBrokerDisconnect(node int32, _ string, _ error) {
	m.disconnects.WithLabelValues(strconv.Itoa(int(node))).Inc()
}

// OnProduceRequest implements [producer.Hooks]: it observes the request's latency and
// counts its bytes and its error.
func (m *Metrics) OnProduceRequest(node int32, bytes int, latency time.Duration, err error) {
	b := m.broker(node)
	b.duration.Observe(latency.Seconds())
	b.bytes.Add(float64(bytes))
	if err != nil {
		b.errors.Inc()
	}
}

// OnBatchDone implements [producer.Hooks]: with [Options.PerTopic] it counts the batch's
// records and bytes under its topic.
func (m *Metrics) OnBatchDone(topic string, _ int32, records int, bytes int, err error) {
	if m.topicSent == nil {
		return
	}
	if err != nil {
		m.topicFailed.WithLabelValues(topic).Add(float64(records))
		return
	}
	m.topicSent.WithLabelValues(topic).Add(float64(records))
	m.topicBytes.WithLabelValues(topic).Add(float64(bytes))
}

// OnRecordDone implements [producer.Hooks]; records are counted per batch, so it does
// nothing.
func (m *Metrics) OnRecordDone(producer.RecordMetadata, error) {}

var _ producer.Hooks = (*Metrics)(nil)
