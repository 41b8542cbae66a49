package otel

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
	"go.opentelemetry.io/otel/attribute"
)

// TestMetricsEqualWhatHappened sends records one at a time, so that each request carries one
// batch of one record, through scripted faults, and checks the measurements against what the
// cluster saw and what the faults did.
func TestMetricsEqualWhatHappened(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("orders", 2), kafkatest.SeedTopic("denied", 1))
	ctx := ctxTimeout(t, 30*time.Second)
	notLeader := c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "orders", Partition: 0,
		ErrorCode: wire.ErrNotLeaderOrFollower.Code, Times: 2})
	dropped := c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "orders", Partition: 1,
		DropConnection: true, Times: 1})
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "denied", Partition: kafkatest.AnyPartition,
		ErrorCode: wire.ErrTopicAuthorizationFailed.Code, Times: -1})

	mp, reader := newMeter(t)
	m, err := NewMetrics(MetricOptions{MeterProvider: mp, Attributes: []attribute.KeyValue{attribute.String("messaging.client.id", "billing")}})
	if err != nil {
		t.Fatal(err)
	}
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
	retried := notLeader.Hits() + dropped.Hits()
	requests := sent + failed + retried
	if n := c.RequestCount(wire.KeyProduce); n != requests {
		t.Fatalf("the cluster read %d Produce requests, want %d", n, requests)
	}
	leader := func(topic string, part int32) string { return strconv.Itoa(int(c.Leader(topic, part))) }
	wantRequests := map[string]int{}
	wantRequests[leader("orders", 0)] += sent/2 + notLeader.Hits()
	wantRequests[leader("orders", 1)] += sent/2 + dropped.Hits()
	wantRequests[leader("denied", 0)] += failed
	droppedBroker := leader("orders", 1)

	got := collect(t, reader)
	// Every point carries the configured attributes.
	for name, ps := range got {
		for _, pt := range ps {
			if pt.attrs["messaging.client.id"] != "billing" {
				t.Errorf("%s: a point without the configured attributes: %v", name, pt.attrs)
			}
		}
	}
	batch := 61 + 7 + valueLen // RecordBatch v2 header, one record with a null key and no headers
	for _, tc := range []struct {
		name string
		want float64
		with []string
	}{
		{"messaging.client.sent.messages", sent, []string{"messaging.system=kafka", "messaging.operation.name=send", "error.type="}},
		{"messaging.client.sent.messages", failed, []string{"error.type=TOPIC_AUTHORIZATION_FAILED"}},
		{"messaging.client.sent.messages", sent + failed, nil},
		{"gregor.producer.records.retried", float64(retried), nil},
		{"gregor.producer.batches.sent", sent, nil},
		{"gregor.producer.sent.bytes", float64(sent * batch), nil},
		{"gregor.producer.sent.uncompressed_bytes", float64(sent * batch), nil},
		{"gregor.producer.compression.ratio", 1, nil},
		{"gregor.producer.buffer.usage", 0, nil},
		{"gregor.producer.requests", float64(requests), nil},
		{"gregor.producer.active_requests", 0, nil},
		{"gregor.producer.connection.errors", 1, nil},
		{"gregor.producer.request.duration", float64(requests), nil},
		{"gregor.producer.request.duration", 1, []string{"gregor.broker.id=" + droppedBroker, "error.type=_OTHER"}},
		{"gregor.producer.broker.disconnects", 1, []string{"gregor.broker.id=" + droppedBroker}},
		{"gregor.producer.broker.connects", 0, []string{"error.type=_OTHER"}},
	} {
		if len(got[tc.name]) == 0 {
			t.Errorf("%s: not collected", tc.name)
			continue
		}
		if v := total(got[tc.name], tc.with...); v != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.with, v, tc.want)
		}
	}
	for broker, n := range wantRequests {
		if v := total(got["gregor.producer.request.duration"], "gregor.broker.id="+broker); v != float64(n) {
			t.Errorf("broker %s: %v requests recorded, the broker read %d", broker, v, n)
		}
		wantConnects := 1.0
		if broker == droppedBroker {
			wantConnects = 2
		}
		if v := total(got["gregor.producer.broker.connects"], "gregor.broker.id="+broker, "error.type="); v != wantConnects {
			t.Errorf("broker %s: %v connects, want %v", broker, v, wantConnects)
		}
	}
	for _, pt := range got["gregor.producer.request.duration"] {
		if pt.sum <= 0 {
			t.Errorf("request duration sum %v at %v", pt.sum, pt.attrs)
		}
	}
	for _, pt := range got["messaging.client.sent.messages"] {
		if _, ok := pt.attrs["messaging.destination.name"]; ok {
			t.Errorf("a topic attribute without PerTopic: %v", pt.attrs)
		}
	}
	waitFor(t, ctx, "metadata refreshes to match the cluster's Metadata requests", func() bool {
		return total(collect(t, reader)["gregor.producer.metadata.refreshes"]) == float64(c.RequestCount(wire.KeyMetadata))
	})
}

// TestMetricsPerTopicAndClose counts per topic with compression on, then unregisters the
// Stats collection.
func TestMetricsPerTopicAndClose(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("a", 2), kafkatest.SeedTopic("b", 1))
	ctx := ctxTimeout(t, 30*time.Second)
	mp, reader := newMeter(t)
	m, err := NewMetrics(MetricOptions{MeterProvider: mp, PerTopic: true})
	if err != nil {
		t.Fatal(err)
	}
	p := newProducer(t, producer.Config{BootstrapServers: c.Addrs(), Hooks: m, Compression: compress.Zstd})
	m.Attach(p)
	counts := map[string]int{"a": 250, "b": 90}
	var wg sync.WaitGroup
	for topic, n := range counts {
		wg.Go(func() {
			for i := range n {
				rec := producer.Record{Topic: topic, Value: fmt.Appendf(nil, "a compressible value, a compressible value %d", i)}
				if err := p.SendAsync(ctx, rec, nil); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := collect(t, reader)
	for topic, n := range counts {
		if v := total(got["messaging.client.sent.messages"], "messaging.destination.name="+topic); v != float64(n) {
			t.Errorf("topic %s: %v messages, want %d", topic, v, n)
		}
		if stored := len(c.Records(topic, 0)) + len(c.Records(topic, 1)); stored != n {
			t.Errorf("topic %s: the cluster stored %d", topic, stored)
		}
	}
	ratio := total(got["gregor.producer.compression.ratio"])
	sentBytes, raw := total(got["gregor.producer.sent.bytes"]), total(got["gregor.producer.sent.uncompressed_bytes"])
	if ratio != sentBytes/raw || ratio >= 0.5 {
		t.Errorf("compression ratio %v; %v bytes sent of %v", ratio, sentBytes, raw)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	got = collect(t, reader)
	if _, ok := got["gregor.producer.batches.sent"]; ok {
		t.Error("Stats still collected after Close")
	}
	if len(got["messaging.client.sent.messages"]) == 0 {
		t.Error("the hooks' measurements are gone after Close")
	}
}

// TestMetricsUnattached checks that the hooks record before a producer is attached, and that
// Stats are then left out.
func TestMetricsUnattached(t *testing.T) {
	mp, reader := newMeter(t)
	m, err := NewMetrics(MetricOptions{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	m.OnProduceRequest(3, 100, 20*time.Millisecond, nil)
	m.OnProduceRequest(3, 100, 40*time.Millisecond, errors.New("connection reset"))
	m.OnBrokerConnect(3, "x:9092", time.Millisecond, nil)
	got := collect(t, reader)
	if len(got) != 2 || total(got["gregor.producer.request.duration"], "gregor.broker.id=3") != 2 ||
		total(got["gregor.producer.request.duration"], "error.type=_OTHER") != 1 || total(got["gregor.producer.broker.connects"]) != 1 {
		t.Errorf("unattached: %v", got)
	}
	var sum float64
	for _, pt := range got["gregor.producer.request.duration"] {
		sum += pt.sum
	}
	if sum < 0.0599 || sum > 0.0601 {
		t.Errorf("durations sum to %v s, want 0.06", sum)
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
	if producer.JoinHooks() != nil || producer.JoinHooks(nil) != nil {
		t.Error("JoinHooks of nothing is not nil")
	}
	one := &recordingHooks{}
	if producer.JoinHooks(one, nil) != producer.Hooks(one) {
		t.Error("JoinHooks of one hook does not return it")
	}
	c := newCluster(t, kafkatest.SeedTopic("joined", 1))
	ctx := ctxTimeout(t, 30*time.Second)
	mp, reader := newMeter(t)
	m, err := NewMetrics(MetricOptions{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	two := &recordingHooks{}
	p := newProducer(t, producer.Config{BootstrapServers: c.Addrs(), Hooks: producer.JoinHooks(one, m, two)})
	const n = 4
	for range n {
		if err := p.Send(ctx, producer.Record{Topic: "joined", Value: []byte("x")}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	requests := c.RequestCount(wire.KeyProduce)
	connects := c.RequestCount(wire.KeyApiVersions) // one per connection: metadata and produce
	for i, h := range []*recordingHooks{one, two} {
		h.mu.Lock()
		if h.events["record"] != n || h.events["batch"] != n || h.events["request"] != requests || h.events["connect"] != connects {
			t.Errorf("hooks %d saw %v", i, h.events)
		}
		h.mu.Unlock()
	}
	got := collect(t, reader)
	if total(got["messaging.client.sent.messages"]) != n || total(got["gregor.producer.request.duration"]) != float64(requests) {
		t.Errorf("the metrics saw %v", got)
	}
	producer.JoinHooks(one, two).OnBrokerDisconnect(1, "x:1", nil)
	for i, h := range []*recordingHooks{one, two} {
		h.mu.Lock()
		if h.events["disconnect"] != 1 {
			t.Errorf("hooks %d saw %d disconnects", i, h.events["disconnect"])
		}
		h.mu.Unlock()
	}
}
