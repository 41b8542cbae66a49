package prometheus

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/compress"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCountsEqualWhatHappened sends records one at a time, so that each request carries one
// batch of one record, through scripted faults, and checks every counter against what the
// cluster saw and what the faults did.
func TestCountsEqualWhatHappened(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("orders", 2), kafkatest.SeedTopic("denied", 1))
	ctx := ctxTimeout(t, 30*time.Second)
	// Two retriable refusals of orders/0, one dropped connection under orders/1, and a topic
	// that refuses everything for good.
	notLeader := c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "orders", Partition: 0,
		ErrorCode: wire.ErrNotLeaderOrFollower.Code, Times: 2})
	dropped := c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "orders", Partition: 1,
		DropConnection: true, Times: 1})
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "denied", Partition: kafkatest.AnyPartition,
		ErrorCode: wire.ErrTopicAuthorizationFailed.Code, Times: -1})

	m, reg := newMetrics(t, Options{})
	p := newProducer(t, producer.Config{BootstrapServers: c.Addrs(), Hooks: m, RetryBackoff: time.Millisecond})
	m.Attach(p)

	const sent, failed, valueLen = 20, 4, 10
	value := []byte(strings.Repeat("v", valueLen))
	for i := range sent {
		rec := producer.Record{Topic: "orders", Partition: producer.ToPartition(int32(i % 2)), Value: value}
		if err := p.Send(ctx, rec).Wait(ctx); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	for i := range failed {
		rec := producer.Record{Topic: "denied", Partition: producer.ToPartition(0), Value: value}
		if err := p.Send(ctx, rec).Wait(ctx); !errors.Is(err, wire.ErrTopicAuthorizationFailed) {
			t.Fatalf("denied record %d: %v, want TOPIC_AUTHORIZATION_FAILED", i, err)
		}
	}
	if notLeader.Hits() != 2 || dropped.Hits() != 1 {
		t.Fatalf("faults hit %d and %d times, want 2 and 1", notLeader.Hits(), dropped.Hits())
	}
	retried := notLeader.Hits() + dropped.Hits() // each hit request carried one record

	// Every Produce request the cluster read, and which broker read it.
	leader := map[string]string{}
	for _, tp := range []struct {
		topic string
		part  int32
	}{{"orders", 0}, {"orders", 1}, {"denied", 0}} {
		leader[fmt.Sprint(tp.topic, tp.part)] = strconv.Itoa(int(c.Leader(tp.topic, tp.part)))
	}
	wantRequests := map[string]int{}
	wantRequests[leader["orders0"]] += sent/2 + notLeader.Hits()
	wantRequests[leader["orders1"]] += sent/2 + dropped.Hits()
	wantRequests[leader["denied0"]] += failed
	if n := c.RequestCount(wire.KeyProduce); n != sent+failed+retried {
		t.Fatalf("the cluster read %d Produce requests, want %d", n, sent+failed+retried)
	}

	batch := oneRecordBatchSize(valueLen)
	err := testutil.GatherAndCompare(reg, strings.NewReader(fmt.Sprintf(`
# HELP gregor_producer_records_sent_total Records acknowledged by the brokers (with acks=0: written).
# TYPE gregor_producer_records_sent_total counter
gregor_producer_records_sent_total %d
# HELP gregor_producer_records_failed_total Records completed with an error.
# TYPE gregor_producer_records_failed_total counter
gregor_producer_records_failed_total %d
# HELP gregor_producer_records_retried_total Records of batches sent again after a retriable error; a record retried twice counts twice.
# TYPE gregor_producer_records_retried_total counter
gregor_producer_records_retried_total %d
# HELP gregor_producer_batches_sent_total Record batches acknowledged.
# TYPE gregor_producer_batches_sent_total counter
gregor_producer_batches_sent_total %d
# HELP gregor_producer_sent_bytes_total Bytes of the acknowledged record batches as written, after compression.
# TYPE gregor_producer_sent_bytes_total counter
gregor_producer_sent_bytes_total %d
# HELP gregor_producer_sent_uncompressed_bytes_total Bytes of the acknowledged record batches before compression.
# TYPE gregor_producer_sent_uncompressed_bytes_total counter
gregor_producer_sent_uncompressed_bytes_total %d
# HELP gregor_producer_compression_ratio Compressed over uncompressed bytes of the acknowledged batches; 1 without compression.
# TYPE gregor_producer_compression_ratio gauge
gregor_producer_compression_ratio 1
# HELP gregor_producer_buffer_used_bytes Bytes of buffer.memory held by records not yet completed.
# TYPE gregor_producer_buffer_used_bytes gauge
gregor_producer_buffer_used_bytes 0
# HELP gregor_producer_requests_total Produce requests written.
# TYPE gregor_producer_requests_total counter
gregor_producer_requests_total %d
# HELP gregor_producer_requests_in_flight Produce requests written and awaiting their answer.
# TYPE gregor_producer_requests_in_flight gauge
gregor_producer_requests_in_flight 0
`, sent, failed, retried, sent, sent*batch, sent*batch, sent+failed+retried)),
		"gregor_producer_records_sent_total", "gregor_producer_records_failed_total", "gregor_producer_records_retried_total",
		"gregor_producer_batches_sent_total", "gregor_producer_sent_bytes_total", "gregor_producer_sent_uncompressed_bytes_total",
		"gregor_producer_compression_ratio", "gregor_producer_buffer_used_bytes",
		"gregor_producer_requests_total", "gregor_producer_requests_in_flight")
	if err != nil {
		t.Error(err)
	}

	got := gather(t, reg)
	for broker, n := range wantRequests {
		l := fmt.Sprintf(`{broker=%q}`, broker)
		if v := got["gregor_producer_request_duration_seconds_count"+l]; v != float64(n) {
			t.Errorf("broker %s: %v requests in the latency histogram, the broker read %d", broker, v, n)
		}
		if v := got["gregor_producer_request_duration_seconds_sum"+l]; v <= 0 {
			t.Errorf("broker %s: latency sum %v", broker, v)
		}
	}
	if v := sumOf(got, "gregor_producer_request_duration_seconds_count"); v != float64(sent+failed+retried) {
		t.Errorf("%v requests in the latency histograms, want %d", v, sent+failed+retried)
	}
	// Every request carried one batch of the same size, the dropped one and the retries too.
	if v := sumOf(got, "gregor_producer_request_batch_bytes_total"); v != float64((sent+failed+retried)*batch) {
		t.Errorf("request batch bytes %v, want %d", v, (sent+failed+retried)*batch)
	}
	droppedBroker := fmt.Sprintf(`{broker=%q}`, leader["orders1"])
	want := map[string]float64{
		"gregor_producer_request_errors_total" + droppedBroker: 1,
		"gregor_producer_disconnects_total" + droppedBroker:    1,
		"gregor_producer_connection_errors_total":              1,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	if v := sumOf(got, "gregor_producer_request_errors_total"); v != 1 {
		t.Errorf("%v request errors in all, want 1", v)
	}
	// One connection to each leader, and one more to replace the dropped one.
	for broker := range wantRequests {
		l := fmt.Sprintf(`{broker=%q}`, broker)
		want := 1.0
		if l == droppedBroker {
			want = 2
		}
		if v := got["gregor_producer_connects_total"+l]; v != want {
			t.Errorf("broker %s: %v connects, want %v", broker, v, want)
		}
	}
	if v := sumOf(got, "gregor_producer_connect_errors_total"); v != 0 {
		t.Errorf("%v failed dials", v)
	}
	// Metadata: every request the cluster answered was applied, once the last one landed.
	waitFor(t, ctx, "metadata refreshes to match the cluster's Metadata requests", func() bool {
		return gather(t, reg)["gregor_producer_metadata_refreshes_total"] == float64(c.RequestCount(wire.KeyMetadata))
	})
	if n := c.RequestCount(wire.KeyMetadata); n < 2 {
		t.Errorf("%d Metadata requests: NOT_LEADER_OR_FOLLOWER did not refresh", n)
	}
}

// TestInFlightAndBuffer reads the gauges while a request is held back by the broker.
func TestInFlightAndBuffer(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("slow", 1))
	ctx := ctxTimeout(t, 30*time.Second)
	m, reg := newMetrics(t, Options{})
	p := newProducer(t, producer.Config{BootstrapServers: c.Addrs(), Hooks: m})
	m.Attach(p)
	if err := p.Send(ctx, producer.Record{Topic: "slow", Value: []byte("warm-up")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	held := c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Partition: kafkatest.AnyPartition,
		Delay: time.Second, Times: 1})
	f := p.Send(ctx, producer.Record{Topic: "slow", Value: []byte("held back")})
	waitFor(t, ctx, "the broker to hold the request", func() bool { return held.Hits() == 1 })
	got := gather(t, reg)
	if got["gregor_producer_requests_in_flight"] != 1 {
		t.Errorf("requests in flight %v, want 1", got["gregor_producer_requests_in_flight"])
	}
	if got["gregor_producer_buffer_used_bytes"] <= 0 {
		t.Errorf("buffer used %v while a record waits for its answer", got["gregor_producer_buffer_used_bytes"])
	}
	if err := f.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// The batch's buffer goes back to buffer.memory after its records' outcomes are
	// delivered (as in the Java client, which deallocates after the callbacks): the gauges
	// fall back to 0 soon after Wait returns, not necessarily before.
	waitFor(t, ctx, "the gauges to fall back to 0 after the answer", func() bool {
		got := gather(t, reg)
		return got["gregor_producer_requests_in_flight"] == 0 && got["gregor_producer_buffer_used_bytes"] == 0
	})
}

// TestPerTopic checks the topic-labelled metrics against the records of each topic, with
// compression on.
func TestPerTopic(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("a", 2), kafkatest.SeedTopic("b", 1), kafkatest.SeedTopic("denied", 1))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "denied", Partition: kafkatest.AnyPartition,
		ErrorCode: wire.ErrTopicAuthorizationFailed.Code, Times: -1})
	ctx := ctxTimeout(t, 30*time.Second)
	m, reg := newMetrics(t, Options{PerTopic: true, ConstLabels: prometheus.Labels{"client_id": "per-topic"}})
	p := newProducer(t, producer.Config{BootstrapServers: c.Addrs(), Hooks: m, Compression: compress.Gzip})
	m.Attach(p)
	value := []byte(strings.Repeat("a compressible value ", 20))
	counts := map[string]int{"a": 300, "b": 120, "denied": 7}
	for topic, n := range counts {
		for range n {
			if err := p.SendAsync(ctx, producer.Record{Topic: topic, Value: value}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := gather(t, reg)
	for topic, n := range counts {
		l := fmt.Sprintf(`{client_id="per-topic",topic=%q}`, topic)
		wantSent, wantFailed := float64(n), 0.0
		if topic == "denied" {
			wantSent, wantFailed = 0, float64(n)
		}
		if stored := len(c.Records(topic, 0)) + len(c.Records(topic, 1)); topic != "denied" && stored != n {
			t.Fatalf("topic %s: the cluster stored %d records, want %d", topic, stored, n)
		}
		if got["gregor_producer_topic_records_sent_total"+l] != wantSent || got["gregor_producer_topic_records_failed_total"+l] != wantFailed {
			t.Errorf("topic %s: %v sent, %v failed; want %v, %v", topic,
				got["gregor_producer_topic_records_sent_total"+l], got["gregor_producer_topic_records_failed_total"+l], wantSent, wantFailed)
		}
	}
	// The per-topic bytes add up to the producer's total, and gzip shrank them.
	sentBytes := got[`gregor_producer_sent_bytes_total{client_id="per-topic"}`]
	if v := sumOf(got, "gregor_producer_topic_sent_bytes_total"); v != sentBytes || v == 0 {
		t.Errorf("per-topic bytes add up to %v, total %v", v, sentBytes)
	}
	uncompressed := got[`gregor_producer_sent_uncompressed_bytes_total{client_id="per-topic"}`]
	ratio := got[`gregor_producer_compression_ratio{client_id="per-topic"}`]
	if ratio != sentBytes/uncompressed || ratio >= 0.5 {
		t.Errorf("compression ratio %v; %v bytes sent of %v uncompressed", ratio, sentBytes, uncompressed)
	}
	if v := got[`gregor_producer_records_sent_total{client_id="per-topic"}`]; v != float64(counts["a"]+counts["b"]) {
		t.Errorf("records sent %v", v)
	}
}

// TestNoTopicLabelsByDefault checks that no metric has a topic label unless asked.
func TestNoTopicLabelsByDefault(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("quiet", 1))
	ctx := ctxTimeout(t, 30*time.Second)
	m, reg := newMetrics(t, Options{})
	p := newProducer(t, producer.Config{BootstrapServers: c.Addrs(), Hooks: m})
	m.Attach(p)
	if err := p.Send(ctx, producer.Record{Topic: "quiet", Value: []byte("x")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for k := range gather(t, reg) {
		if strings.Contains(k, "topic") {
			t.Errorf("metric %s without PerTopic", k)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "gregor_producer_records_sent_total"); err != nil || n != 1 {
		t.Errorf("records_sent_total: %d series, %v", n, err)
	}
}

// TestLint runs promlint, Prometheus' own checker of names, units and help, over every
// metric the package makes.
func TestLint(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("lint", 1))
	ctx := ctxTimeout(t, 30*time.Second)
	m, reg := newMetrics(t, Options{PerTopic: true})
	p := newProducer(t, producer.Config{BootstrapServers: c.Addrs(), Hooks: m})
	m.Attach(p)
	if err := p.Send(ctx, producer.Record{Topic: "lint", Value: []byte("x")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// Make a series of every vector appear.
	m.OnBrokerConnect(99, "nowhere:9092", 0, errors.New("refused"))
	m.OnBrokerDisconnect(99, "nowhere:9092", errors.New("reset"))
	m.OnBatchDone("lint", 0, 1, 10, errors.New("failed"))
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	names := map[string]bool{}
	for k := range gather(t, reg) {
		names[strings.TrimSuffix(strings.TrimSuffix(k[:strings.IndexAny(k+"{", "{")], "_count"), "_sum")] = true
	}
	if len(names) != len(m.stats)+9 {
		t.Errorf("%d metrics collected, want %d: %v", len(names), len(m.stats)+9, names)
	}
}

func TestUnattached(t *testing.T) {
	m, reg := newMetrics(t, Options{Namespace: "svc"})
	m.OnProduceRequest(1, 100, 3*time.Millisecond, nil)
	got := gather(t, reg)
	if len(got) != 4 || got[`svc_producer_request_duration_seconds_count{broker="1"}`] != 1 ||
		got[`svc_producer_request_batch_bytes_total{broker="1"}`] != 100 {
		t.Errorf("unattached metrics: %v", got)
	}
	m.Attach(nil) // detaching is allowed too
	if n := testutil.CollectAndCount(m, "svc_producer_records_sent_total"); n != 0 {
		t.Errorf("records_sent_total collected without a producer")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"decreasing buckets", Options{LatencyBuckets: []float64{1, 0.5}}, "LatencyBuckets"},
		{"label clash", Options{ConstLabels: prometheus.Labels{"broker": "x"}}, "broker"},
		{"bad namespace", Options{Namespace: "my-service"}, "my-service"},
		{"bad label", Options{ConstLabels: prometheus.Labels{"client.id": "x"}}, "client.id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New(%+v) = %v, %v; want an error naming %q", tc.opts, m, err, tc.want)
			}
		})
	}
}

// recordingHooks counts each event it receives.
type recordingHooks struct {
	mu     sync.Mutex
	events map[string]int
}

func (h *recordingHooks) add(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.events == nil {
		h.events = map[string]int{}
	}
	h.events[name]++
}
func (h *recordingHooks) OnBrokerConnect(int32, string, time.Duration, error) { h.add("connect") }
func (h *recordingHooks) OnBrokerDisconnect(int32, string, error)             { h.add("disconnect") }
func (h *recordingHooks) OnProduceRequest(int32, int, time.Duration, error)   { h.add("request") }
func (h *recordingHooks) OnBatchDone(string, int32, int, int, error)          { h.add("batch") }
func (h *recordingHooks) OnRecordDone(producer.RecordMetadata, error)         { h.add("record") }

func TestJoinHooks(t *testing.T) {
	if producer.JoinHooks() != nil || producer.JoinHooks(nil, nil) != nil {
		t.Error("JoinHooks of nothing is not nil")
	}
	one := &recordingHooks{}
	if producer.JoinHooks(nil, one) != producer.Hooks(one) {
		t.Error("JoinHooks of one hook does not return it")
	}
	// Both members of a join see every event of a real producer.
	c := newCluster(t, kafkatest.SeedTopic("joined", 1))
	ctx := ctxTimeout(t, 30*time.Second)
	m, reg := newMetrics(t, Options{})
	two := &recordingHooks{}
	p := newProducer(t, producer.Config{BootstrapServers: c.Addrs(), Hooks: producer.JoinHooks(m, nil, one, two)})
	const n = 5
	for range n {
		if err := p.Send(ctx, producer.Record{Topic: "joined", Value: []byte("x")}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	requests := c.RequestCount(wire.KeyProduce)
	connects := c.RequestCount(wire.KeyApiVersions) // one per connection: metadata and produce
	for i, h := range []*recordingHooks{one, two} {
		h.mu.Lock()
		if h.events["record"] != n || h.events["request"] != requests || h.events["connect"] != connects || h.events["batch"] != n {
			t.Errorf("hooks %d saw %v; want %d records and batches, %d requests, %d connects", i, h.events, n, requests, connects)
		}
		h.mu.Unlock()
	}
	if v := sumOf(gather(t, reg), "gregor_producer_request_duration_seconds_count"); v != float64(requests) {
		t.Errorf("the metrics saw %v requests, want %d", v, requests)
	}
	// Events outside a producer reach each member, in order.
	j := producer.JoinHooks(one, two)
	j.OnBrokerDisconnect(1, "x:1", nil)
	for i, h := range []*recordingHooks{one, two} {
		h.mu.Lock()
		if h.events["disconnect"] != 1 {
			t.Errorf("hooks %d saw %d disconnects", i, h.events["disconnect"])
		}
		h.mu.Unlock()
	}
}
