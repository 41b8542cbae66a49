package producer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// The tests of this file check what the doc comments promise a newcomer.

// TestFlushNilDespiteFailures: Flush returns nil when records failed; the failures are in
// the callbacks and in Stats.
func TestFlushNilDespiteFailures(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("denied", 1))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "denied", Partition: kafkatest.AnyPartition,
		ErrorCode: wire.ErrTopicAuthorizationFailed.Code, Times: -1})
	p := newProducer(t, Config{BootstrapServers: c.Addrs()})
	ctx := ctxTimeout(t, 20*time.Second)
	before := p.Stats().RecordsFailed
	if err := p.SendAsync(ctx, Record{Topic: "denied", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if failed := p.Stats().RecordsFailed - before; failed != 1 {
		t.Errorf("Stats().RecordsFailed grew by %d, want 1", failed)
	}
}

// TestFutureGetCtxLeavesRecordInFlight: a Get whose ctx ends returns ctx's error; the
// record is delivered all the same, and a later Get says so.
func TestFutureGetCtxLeavesRecordInFlight(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("slow", 1))
	fault := c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "slow", Partition: kafkatest.AnyPartition,
		Delay: 300 * time.Millisecond})
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: NoLinger})
	ctx := ctxTimeout(t, 20*time.Second)
	f := p.Send(ctx, Record{Topic: "slow", Value: []byte("v")})
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.Get(gone); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with an ended ctx: %v", err)
	}
	md, err := f.Get(ctx)
	if err != nil || md.Offset != 0 {
		t.Fatalf("later Get: %+v %v", md, err)
	}
	if fault.Hits() != 1 || len(c.Records("slow", 0)) != 1 {
		t.Errorf("fault hits %d, records %d", fault.Hits(), len(c.Records("slow", 0)))
	}
}

// TestSendAsyncBlocksUpToMaxBlock: without metadata, SendAsync waits max.block.ms and fails
// with ErrTimeout; NoBlock fails at once.
func TestSendAsyncBlocksUpToMaxBlock(t *testing.T) {
	c := newCluster(t, kafkatest.AutoCreateTopics(false))
	for _, maxBlock := range []time.Duration{200 * time.Millisecond, NoBlock} {
		p := newProducer(t, Config{BootstrapServers: c.Addrs(), MaxBlock: maxBlock})
		ctx := ctxTimeout(t, 20*time.Second)
		start := time.Now()
		err := p.SendAsync(ctx, Record{Topic: "missing", Value: []byte("v")}, nil)
		if !errors.Is(err, ErrTimeout) {
			t.Errorf("max.block %v: %v", maxBlock, err)
		}
		if waited := time.Since(start); maxBlock > 0 && waited < maxBlock {
			t.Errorf("max.block %v: returned after %v", maxBlock, waited)
		}
	}
}
