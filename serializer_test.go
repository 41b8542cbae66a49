package producer

import (
	"errors"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
)

// TestTypedRecordOptions: the typed front sends null keys, chosen partitions, timestamps
// and headers.
func TestTypedRecordOptions(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("typed", 4))
	p := newProducer(t, Config{BootstrapServers: c.Addrs()})
	ctx := ctxTimeout(t, 20*time.Second)
	refuse := SerializerFunc[string](func(string, string) ([]byte, error) { return nil, errors.New("key serializer called") })
	typed := NewTyped(p, refuse, StringSerializer())

	ts := time.UnixMilli(1_700_000_000_123)
	md, err := typed.Send(ctx, "typed", "ignored", "v1", NullKey(), WithPartition(3), WithTimestamp(ts),
		WithHeaders(Header{Key: "a", Value: []byte("1")}), WithHeaders(Header{Key: "b"})).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if md.Partition != 3 || !md.Timestamp.Equal(ts) {
		t.Errorf("metadata %+v", md)
	}
	recs := c.Records("typed", 3)
	if len(recs) != 1 {
		t.Fatalf("%d records in partition 3", len(recs))
	}
	r := recs[0]
	if r.Key != nil || string(r.Value) != "v1" || !r.Timestamp.Equal(ts) || len(r.Headers) != 2 ||
		r.Headers[0].Key != "a" || string(r.Headers[0].Value) != "1" || r.Headers[1].Key != "b" || r.Headers[1].Value != nil {
		t.Errorf("record %+v", r)
	}

	// Without NullKey the key serializer runs, and its error fails the send.
	if err := typed.Send(ctx, "typed", "k", "v").Wait(ctx); err == nil || err.Error() != `producer: serializing key for topic "typed": key serializer called` {
		t.Errorf("key serializer error: %v", err)
	}
	var cbErr error
	if err := typed.SendAsync(ctx, "typed", "k", "v", func(_ RecordMetadata, err error) { cbErr = err }); err == nil || err != cbErr {
		t.Errorf("SendAsync: %v, callback %v", err, cbErr)
	}
}

// TestNullableSerializer: a nil pointer is null, a pointer to "" an empty key.
func TestNullableSerializer(t *testing.T) {
	s := Nullable(StringSerializer())
	if b, err := s.Serialize("t", nil); b != nil || err != nil {
		t.Errorf("nil: %q %v", b, err)
	}
	empty := ""
	if b, err := s.Serialize("t", &empty); b == nil || len(b) != 0 || err != nil {
		t.Errorf(`&"": %q (nil: %v) %v`, b, b == nil, err)
	}
	k := "user-1"
	if b, err := s.Serialize("t", &k); string(b) != k || err != nil {
		t.Errorf("&%q: %q %v", k, b, err)
	}
}
