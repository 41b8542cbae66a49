package producer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/internal/testutil"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// A leader move answered with a KIP-951 hint (Produce v10+ NOT_LEADER_OR_FOLLOWER naming the
// new leader and its endpoint) is followed at once: the retry goes to the new leader without
// a Metadata request and without the retry backoff. Without the hint the retry would wait
// for a refresh, spaced by the 10 s backoff, past the test's 5 s.
func TestLeaderHintMovesPartition(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("hint", 1))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: NoLinger,
		RetryBackoff: 10 * time.Second, RetryBackoffMax: 10 * time.Second})
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.Send(ctx, Record{Topic: "hint", Value: []byte("before")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	from := c.Leader("hint", 0)
	to := (from + 1) % 3 // a broker the producer has no connection to yet
	onNew := c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: to, Partition: kafkatest.AnyPartition, Times: -1})
	metadataBefore := c.RequestCount(wire.KeyMetadata)
	if err := c.MoveLeader("hint", 0, to); err != nil {
		t.Fatal(err)
	}
	sendCtx := ctxTimeout(t, 5*time.Second)
	md, err := p.Send(sendCtx, Record{Topic: "hint", Value: []byte("after")}).Get(sendCtx)
	if err != nil {
		t.Fatalf("send after the move: %v", err)
	}
	if md.Offset != 1 {
		t.Fatalf("offset %d, want 1", md.Offset)
	}
	if got := c.RequestCount(wire.KeyMetadata); got != metadataBefore {
		t.Fatalf("%d Metadata requests after the move, want none", got-metadataBefore)
	}
	if onNew.Hits() == 0 {
		t.Fatalf("broker %d, the new leader, got no Produce request", to)
	}
	if recs := c.Records("hint", 0); len(recs) != 2 || string(recs[1].Value) != "after" {
		t.Fatalf("stored %d records, want before and after", len(recs))
	}
	if got := p.Stats().RecordsRetried; got != 1 {
		t.Fatalf("RecordsRetried %d, want 1 (the refused attempt)", got)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// PartitionsFor waits for a topic's metadata and reports every partition with its leader;
// NoBlock sends work once it returned; a topic the cluster refuses is an error.
func TestPartitionsFor(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("pf", 4))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), MaxBlock: NoBlock})
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.Send(ctx, Record{Topic: "pf", Value: []byte("x")}).Wait(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("NoBlock send before metadata: %v, want ErrTimeout", err)
	}
	parts, err := p.PartitionsFor(ctx, "pf")
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 4 {
		t.Fatalf("%d partitions, want 4", len(parts))
	}
	for i, pi := range parts {
		if pi.Topic != "pf" || pi.Partition != int32(i) || pi.Leader != c.Leader("pf", int32(i)) {
			t.Fatalf("partition %d: %+v, cluster leader %d", i, pi, c.Leader("pf", int32(i)))
		}
	}
	if err := p.Send(ctx, Record{Topic: "pf", Value: []byte("x")}).Wait(ctx); err != nil {
		t.Fatalf("NoBlock send after PartitionsFor: %v", err)
	}

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	c.InjectFault(kafkatest.Fault{Key: wire.KeyMetadata, Broker: kafkatest.AnyBroker, Topic: "refused", ErrorCode: wire.ErrTopicAuthorizationFailed.Code, Times: -1})
	if _, err := p.PartitionsFor(short, "refused"); !errors.Is(err, wire.ErrTopicAuthorizationFailed) {
		t.Fatalf("refused topic: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	if _, err := p.PartitionsFor(ctx, ""); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("empty topic: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PartitionsFor(ctx, "pf"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}
