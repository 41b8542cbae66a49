package otel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/internal/testutil"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// traceparent parses a W3C traceparent header value: version 00, trace id, span id, flags.
func traceparent(t *testing.T, v string) (trace.TraceID, trace.SpanID) {
	t.Helper()
	parts := strings.Split(v, "-")
	if len(parts) != 4 || parts[0] != "00" || len(parts[1]) != 32 || len(parts[2]) != 16 || parts[3] != "01" {
		t.Fatalf("traceparent %q is not a sampled W3C trace context", v)
	}
	tid, err1 := trace.TraceIDFromHex(parts[1])
	sid, err2 := trace.SpanIDFromHex(parts[2])
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("traceparent %q: %v", v, err)
	}
	return tid, sid
}

// TestSpansFollowTheRecords sends records with Send and SendAsync under a parent span and
// checks, from the records the cluster stored, that each carries the traceparent of its own
// span, and that the span says where the record was written.
func TestSpansFollowTheRecords(t *testing.T) {
	testutil.CheckNoLeaks(t) // the goroutines ending the spans of Send included
	c := newCluster(t, kafkatest.SeedTopic("orders", 3))
	ctx := ctxTimeout(t, 30*time.Second)
	tp, spans := newTracing(t)
	tp2 := Wrap(newProducer(t, producer.Config{BootstrapServers: c.Addrs()}), TraceOptions{
		TracerProvider: tp, Propagator: propagation.TraceContext{}, RecordKeys: true,
	})
	ctx, parent := tp.Tracer("test").Start(ctx, "handler")

	const n = 20
	// The callers' headers: one to keep, one stale traceparent to replace.
	headers := []producer.Header{{Key: "app", Value: []byte("billing")}, {Key: "traceparent", Value: []byte("stale")}}
	original := slices.Clone(headers)
	var mu sync.Mutex
	mds := map[string]producer.RecordMetadata{} // by value
	var futures []*producer.Future
	for i := range n {
		value := fmt.Sprintf("order %d", i)
		rec := producer.Record{Topic: "orders", Key: []byte(fmt.Sprint("customer-", i%4)), Value: []byte(value), Headers: headers}
		if i%2 == 0 {
			futures = append(futures, tp2.Send(ctx, rec))
			continue
		}
		err := tp2.SendAsync(ctx, rec, func(md producer.RecordMetadata, err error) {
			if err != nil {
				t.Errorf("%s: %v", value, err)
			}
			mu.Lock()
			mds[value] = md
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tp2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, f := range futures {
		md, err := f.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mds[fmt.Sprintf("order %d", 2*i)] = md
	}
	parent.End()
	if !slices.EqualFunc(headers, original, func(a, b producer.Header) bool { return a.Key == b.Key && bytes.Equal(a.Value, b.Value) }) {
		t.Errorf("the caller's headers changed: %q", headers)
	}
	waitFor(t, ctx, "every span to end", func() bool { return len(spans.Ended()) == n+1 })

	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		if s.Name() != "handler" {
			byID[s.SpanContext().SpanID()] = s
		}
	}
	seen := 0
	for part := range int32(3) {
		for _, r := range c.Records("orders", part) {
			seen++
			var tps []string
			app := ""
			for _, h := range r.Headers {
				switch h.Key {
				case "traceparent":
					tps = append(tps, string(h.Value))
				case "app":
					app = string(h.Value)
				}
			}
			if len(tps) != 1 || app != "billing" || len(r.Headers) != 2 {
				t.Fatalf("%s: headers %+v, want app and one traceparent", r.Value, r.Headers)
			}
			tid, sid := traceparent(t, tps[0])
			s, ok := byID[sid]
			if !ok {
				t.Fatalf("%s: traceparent %s names no span of the producer", r.Value, tps[0])
			}
			delete(byID, sid) // one span per record
			if tid != parent.SpanContext().TraceID() || s.Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("%s: span is not a child of the handler's", r.Value)
			}
			md := mds[string(r.Value)]
			if md.Partition != r.Partition || md.Offset != r.Offset {
				t.Errorf("%s: the producer reported %d/%d, the cluster stored it at %d/%d", r.Value, md.Partition, md.Offset, r.Partition, r.Offset)
			}
			a := attrs(s.Attributes())
			want := map[string]string{
				"messaging.system":                   "kafka",
				"messaging.operation.name":           "send",
				"messaging.operation.type":           "send",
				"messaging.destination.name":         "orders",
				"messaging.destination.partition.id": strconv.Itoa(int(r.Partition)),
				"messaging.kafka.offset":             strconv.FormatInt(r.Offset, 10),
				"messaging.message.body.size":        strconv.Itoa(len(r.Value)),
				"messaging.kafka.message.key":        string(r.Key),
			}
			for k, v := range want {
				if a[k] != v {
					t.Errorf("%s: span attribute %s = %q, want %q", r.Value, k, a[k], v)
				}
			}
			if s.Name() != "send orders" || s.SpanKind() != trace.SpanKindProducer || s.Status().Code != codes.Unset {
				t.Errorf("%s: span %q kind %v status %v", r.Value, s.Name(), s.SpanKind(), s.Status())
			}
			if _, ok := a["error.type"]; ok || len(s.Events()) != 0 {
				t.Errorf("%s: a successful span has an error: %v", r.Value, a)
			}
		}
	}
	if seen != n || len(byID) != 0 {
		t.Errorf("the cluster stored %d records; %d spans have no record", seen, len(byID))
	}
}

// TestFailedSpans checks the spans of records that failed at the broker and of records
// refused before being buffered.
func TestFailedSpans(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("denied", 1))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "denied", Partition: kafkatest.AnyPartition,
		ErrorCode: wire.ErrTopicAuthorizationFailed.Code, Times: -1})
	ctx := ctxTimeout(t, 30*time.Second)
	tp, spans := newTracing(t)
	p := Wrap(newProducer(t, producer.Config{BootstrapServers: c.Addrs(), MaxRequestSize: 1 << 10}),
		TraceOptions{TracerProvider: tp, Propagator: propagation.TraceContext{}})

	check := func(s sdktrace.ReadOnlySpan, errType string, partition bool) {
		t.Helper()
		a := attrs(s.Attributes())
		if s.Status().Code != codes.Error || s.Status().Description == "" || a["error.type"] != errType {
			t.Errorf("span %q: status %v, error.type %q; want an error %s", s.Name(), s.Status(), a["error.type"], errType)
		}
		if _, ok := a["messaging.kafka.offset"]; ok {
			t.Errorf("span %q: a failed record has an offset", s.Name())
		}
		if _, ok := a["messaging.destination.partition.id"]; ok != partition {
			t.Errorf("span %q: partition %q, want one: %v", s.Name(), a["messaging.destination.partition.id"], partition)
		}
		if len(s.Events()) != 1 || s.Events()[0].Name != "exception" {
			t.Errorf("span %q: events %v, want the exception", s.Name(), s.Events())
		}
	}

	// Refused by the broker: the span ends with the Future, and before the callback.
	if err := p.Send(ctx, producer.Record{Topic: "denied", Value: []byte("no")}).Wait(ctx); !errors.Is(err, wire.ErrTopicAuthorizationFailed) {
		t.Fatalf("Send: %v", err)
	}
	waitFor(t, ctx, "the Send span to end", func() bool { return len(spans.Ended()) == 1 })
	check(spans.Ended()[0], "TOPIC_AUTHORIZATION_FAILED", true)
	done := make(chan int)
	err := p.SendAsync(ctx, producer.Record{Topic: "denied", Value: []byte("no")}, func(_ producer.RecordMetadata, err error) {
		done <- len(spans.Ended())
	})
	if err != nil {
		t.Fatal(err)
	}
	if ended := <-done; ended != 2 {
		t.Fatalf("%d spans ended when the callback ran, want 2", ended)
	}
	check(spans.Ended()[1], "TOPIC_AUTHORIZATION_FAILED", true)

	// Refused before being buffered: the span has ended when Send and SendAsync return.
	if err := p.Send(ctx, producer.Record{Topic: "", Value: []byte("no topic")}).Wait(ctx); !errors.Is(err, producer.ErrInvalidRecord) {
		t.Fatalf("Send without a topic: %v", err)
	}
	if len(spans.Ended()) != 3 {
		t.Fatalf("%d spans ended, want 3", len(spans.Ended()))
	}
	check(spans.Ended()[2], "invalid_record", false)
	calls := 0
	err = p.SendAsync(ctx, producer.Record{Topic: "denied", Value: make([]byte, 2<<10)}, func(_ producer.RecordMetadata, err error) { calls++ })
	if !errors.Is(err, producer.ErrRecordTooLarge) || calls != 1 {
		t.Fatalf("SendAsync too large: %v, %d callbacks", err, calls)
	}
	if len(spans.Ended()) != 4 {
		t.Fatalf("%d spans ended, want 4", len(spans.Ended()))
	}
	check(spans.Ended()[3], "record_too_large", false)
	if a := attrs(spans.Ended()[3].Attributes()); a["messaging.message.body.size"] != "2048" {
		t.Errorf("body size %q", a["messaging.message.body.size"])
	}
}

// TestSpanAttributesOptions checks tombstones, explicit partitions, extra attributes, keys
// left out by default, and fire-and-forget sends.
func TestSpanAttributesOptions(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("compacted", 2))
	ctx := ctxTimeout(t, 30*time.Second)
	tp, spans := newTracing(t)
	p := Wrap(newProducer(t, producer.Config{BootstrapServers: c.Addrs()}), TraceOptions{
		TracerProvider: tp, Propagator: propagation.TraceContext{}, Attributes: []attribute.KeyValue{attribute.String("service.tier", "gold")},
	})
	rec := producer.Record{Topic: "compacted", Partition: producer.ToPartition(1), Key: []byte("user-1")}
	if err := p.SendAsync(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the span to end", func() bool { return len(spans.Ended()) == 1 })
	s := spans.Ended()[0]
	a := attrs(s.Attributes())
	if a["messaging.kafka.message.tombstone"] != "true" || a["messaging.message.body.size"] != "0" ||
		a["messaging.destination.partition.id"] != "1" || a["service.tier"] != "gold" || a["messaging.kafka.offset"] != "0" {
		t.Errorf("attributes %v", a)
	}
	if _, ok := a["messaging.kafka.message.key"]; ok {
		t.Error("the key is recorded without RecordKeys")
	}
	// The partition attribute appears once, though both the start and the end set it.
	n := 0
	for _, kv := range s.Attributes() {
		if kv.Key == "messaging.destination.partition.id" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d partition attributes", n)
	}
	stored := c.Records("compacted", 1)
	if len(stored) != 1 || stored[0].Value != nil || len(stored[0].Headers) != 1 || stored[0].Headers[0].Key != "traceparent" {
		t.Fatalf("stored %+v", stored)
	}
	if _, sid := traceparent(t, string(stored[0].Headers[0].Value)); sid != s.SpanContext().SpanID() {
		t.Errorf("the stored traceparent names span %v, not %v", sid, s.SpanContext().SpanID())
	}
}

func TestHeaderCarrier(t *testing.T) {
	shared := []byte("keep")
	c := HeaderCarrier{Headers: []producer.Header{
		{Key: "a", Value: shared}, {Key: "x", Value: []byte("1")}, {Key: "b"}, {Key: "x", Value: []byte("2")}, {Key: "x", Value: []byte("3")},
	}}
	if c.Get("x") != "1" || c.Get("b") != "" || c.Get("missing") != "" {
		t.Errorf("Get: %q %q %q", c.Get("x"), c.Get("b"), c.Get("missing"))
	}
	if k := c.Keys(); !slices.Equal(k, []string{"a", "x", "b"}) {
		t.Errorf("Keys: %q", k)
	}
	c.Set("x", "new")
	c.Set("c", "appended")
	c.Set("a", "replaced")
	want := []producer.Header{{Key: "a", Value: []byte("replaced")}, {Key: "x", Value: []byte("new")}, {Key: "b"}, {Key: "c", Value: []byte("appended")}}
	if !slices.EqualFunc(c.Headers, want, func(a, b producer.Header) bool { return a.Key == b.Key && bytes.Equal(a.Value, b.Value) }) {
		t.Errorf("after Set: %q", c.Headers)
	}
	if string(shared) != "keep" {
		t.Errorf("Set wrote into a header's value: %q", shared)
	}
	// A propagator round trip through the headers.
	tp, _ := newTracing(t)
	ctx, span := tp.Tracer("test").Start(t.Context(), "x")
	defer span.End()
	var out HeaderCarrier
	propagation.TraceContext{}.Inject(ctx, &out)
	got := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(t.Context(), &out))
	if got.SpanID() != span.SpanContext().SpanID() || got.TraceID() != span.SpanContext().TraceID() {
		t.Errorf("extracted %v, injected %v", got, span.SpanContext())
	}
}

func TestErrorType(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&producer.PartitionError{Topic: "t", Err: wire.ErrNotLeaderOrFollower}, "NOT_LEADER_OR_FOLLOWER"},
		{&producer.PartitionError{Topic: "t", Err: fmt.Errorf("%w: delivery.timeout.ms passed; last error: %w", producer.ErrTimeout, wire.ErrRequestTimedOut)}, "timeout"},
		{fmt.Errorf("x: %w", producer.ErrClosed), "closed"},
		{producer.ErrBufferFull, "buffer_full"},
		{context.Canceled, "canceled"},
		{errors.New("something else"), "_OTHER"},
	} {
		if got := errorType(tc.err).Value.AsString(); got != tc.want {
			t.Errorf("errorType(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
