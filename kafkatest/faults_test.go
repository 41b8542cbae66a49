package kafkatest

import (
	"testing"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

func TestFaultProduceErrorCode(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 2))
	tc := dial(t, c.Addrs()[0])
	h := c.InjectFault(Fault{Key: wire.KeyProduce, Broker: AnyBroker, Topic: "t", Partition: 1, ErrorCode: wire.ErrNotEnoughReplicas.Code, Times: 2})
	both := func() (int16, int16) {
		t.Helper()
		req := produceReq(-1, "t", 0, makeBatch(t, plainSpec(), values(1)...))
		req.Topics[0].Partitions = append(req.Topics[0].Partitions, wire.ProducePartition{Index: 1, Records: makeBatch(t, plainSpec(), values(1)...)})
		var resp wire.ProduceResponse
		tc.roundTrip(9, req, &resp)
		return resp.Topics[0].Partitions[0].ErrorCode, resp.Topics[0].Partitions[1].ErrorCode
	}
	for i := range 3 {
		p0, p1 := both()
		want := wire.ErrNotEnoughReplicas.Code
		if i == 2 {
			want = 0
		}
		if p0 != 0 || p1 != want {
			t.Fatalf("request %d: codes %d, %d; want 0, %d", i, p0, p1, want)
		}
	}
	if h.Hits() != 2 {
		t.Fatalf("%d hits, want 2", h.Hits())
	}
	if f := h.Fault(); f.Key != wire.KeyProduce || f.Partition != 1 || f.ErrorCode != wire.ErrNotEnoughReplicas.Code || f.Times != 2 {
		t.Fatalf("Fault() = %+v", f)
	}
	if n0, n1 := len(c.Records("t", 0)), len(c.Records("t", 1)); n0 != 3 || n1 != 1 {
		t.Fatalf("stored %d and %d records, want 3 and 1: a faulted batch was written", n0, n1)
	}
}

func TestFaultAppendAnyway(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 1))
	tc := dialLeader(t, c, "t", 0)
	pid, epoch := tc.initProducerID()
	c.InjectFault(Fault{Key: wire.KeyProduce, Broker: AnyBroker, Partition: AnyPartition, ErrorCode: wire.ErrRequestTimedOut.Code, AppendAnyway: true})
	batch := makeBatch(t, idemSpec(pid, epoch, 0), values(2)...)
	if got := tc.produce(9, "t", 0, batch); got.ErrorCode != wire.ErrRequestTimedOut.Code {
		t.Fatalf("first try: %+v", got)
	}
	if n := len(c.Records("t", 0)); n != 2 {
		t.Fatalf("%d records stored, want 2", n)
	}
	// The retry is recognised as a duplicate.
	if got := tc.produce(9, "t", 0, batch); got.ErrorCode != 0 || got.BaseOffset != 0 {
		t.Fatalf("retry: %+v", got)
	}
	if n := len(c.Records("t", 0)); n != 2 {
		t.Fatalf("%d records stored after the retry, want 2", n)
	}
}

func TestFaultSparesDuplicates(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 1))
	tc := dialLeader(t, c, "t", 0)
	pid, epoch := tc.initProducerID()
	first := makeBatch(t, idemSpec(pid, epoch, 0), values(2)...)
	if got := tc.produce(9, "t", 0, first); got.ErrorCode != 0 {
		t.Fatal(got)
	}
	h := c.InjectFault(Fault{Key: wire.KeyProduce, Broker: AnyBroker, Partition: AnyPartition, ErrorCode: wire.ErrUnknownProducerID.Code,
		Times: 1, SparesDuplicates: true})
	// A retry of the stored batch is passed over: answered as the duplicate it is.
	if got := tc.produce(9, "t", 0, first); got.ErrorCode != 0 || got.BaseOffset != 0 || h.Hits() != 0 {
		t.Fatalf("retry of a stored batch: %+v, %d hits", got, h.Hits())
	}
	// A batch without a producer id is never a duplicate: it meets the error.
	if got := tc.produce(9, "t", 0, makeBatch(t, plainSpec(), values(1)...)); got.ErrorCode != wire.ErrUnknownProducerID.Code || h.Hits() != 1 {
		t.Fatalf("plain batch: %+v, %d hits", got, h.Hits())
	}
	// A new batch meets the error, and nothing is written.
	c.InjectFault(Fault{Key: wire.KeyProduce, Broker: AnyBroker, Partition: AnyPartition, ErrorCode: wire.ErrOutOfOrderSequenceNumber.Code,
		Times: 1, SparesDuplicates: true})
	if got := tc.produce(9, "t", 0, makeBatch(t, idemSpec(pid, epoch, 2), values(1)...)); got.ErrorCode != wire.ErrOutOfOrderSequenceNumber.Code {
		t.Fatalf("new batch: %+v", got)
	}
	if n := len(c.Records("t", 0)); n != 2 {
		t.Fatalf("%d records stored, want 2", n)
	}
}

func TestFaultSwallow(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 1))
	tc := dial(t, c.Addrs()[0])
	h := c.InjectFault(Fault{Key: wire.KeyProduce, Broker: 0, Partition: AnyPartition, Swallow: true})
	tc.send(9, produceReq(1, "t", 0, makeBatch(t, plainSpec(), values(1)...)))
	tc.expectSilence(100 * time.Millisecond)
	if len(c.Records("t", 0)) != 0 || h.Hits() != 1 {
		t.Fatal("a swallowed batch was written")
	}
	// With AppendAnyway the batch is written, still unanswered; the connection lives on.
	c.InjectFault(Fault{Key: wire.KeyProduce, Broker: AnyBroker, Partition: AnyPartition, Swallow: true, AppendAnyway: true})
	tc.send(9, produceReq(1, "t", 0, makeBatch(t, plainSpec(), values(1)...)))
	tc.expectSilence(100 * time.Millisecond)
	if len(c.Records("t", 0)) != 1 {
		t.Fatal("AppendAnyway batch not written")
	}
	if got := tc.produce(9, "t", 0, makeBatch(t, plainSpec(), values(1)...)); got.ErrorCode != 0 || got.BaseOffset != 1 {
		t.Fatalf("after swallowing: %+v", got)
	}
}

func TestFaultDelayKeepsOrder(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1))
	tc := dial(t, c.Addrs()[0])
	const delay = 150 * time.Millisecond
	c.InjectFault(Fault{Key: wire.KeyMetadata, Broker: AnyBroker, Delay: delay})
	start := time.Now()
	first := tc.send(9, &wire.MetadataRequest{})
	second := tc.send(3, &wire.ApiVersionsRequest{})
	var md wire.MetadataResponse
	tc.recv(first, 9, &md)
	if d := time.Since(start); d < delay {
		t.Fatalf("answer after %v, want at least %v", d, delay)
	}
	var av wire.ApiVersionsResponse
	tc.recv(second, 3, &av)
	// The fault fired once; the next Metadata is prompt.
	start = time.Now()
	tc.metadata(9)
	if d := time.Since(start); d >= delay {
		t.Fatalf("second Metadata took %v", d)
	}
}

func TestFaultDropConnection(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 1))
	c.InjectFault(Fault{Key: wire.KeyProduce, Broker: AnyBroker, Partition: AnyPartition, DropConnection: true})
	tc := dial(t, c.Addrs()[0])
	tc.send(9, produceReq(1, "t", 0, makeBatch(t, plainSpec(), values(1)...)))
	tc.expectClosed()
	if len(c.Records("t", 0)) != 0 {
		t.Fatal("dropped batch written")
	}
	c.InjectFault(Fault{Key: wire.KeyProduce, Broker: AnyBroker, Partition: AnyPartition, DropConnection: true, AppendAnyway: true})
	tc = dial(t, c.Addrs()[0])
	tc.send(9, produceReq(1, "t", 0, makeBatch(t, plainSpec(), values(1)...)))
	tc.expectClosed()
	if len(c.Records("t", 0)) != 1 {
		t.Fatal("AppendAnyway batch not written before the drop")
	}
	// Other APIs too.
	c.InjectFault(Fault{Key: wire.KeyApiVersions, Broker: AnyBroker, DropConnection: true})
	tc = dial(t, c.Addrs()[0])
	tc.send(0, &wire.ApiVersionsRequest{})
	tc.expectClosed()
}

func TestFaultFilters(t *testing.T) {
	c := newTestCluster(t, SeedTopic("a", 3), SeedTopic("b", 3))
	h := c.InjectFault(Fault{Key: wire.KeyProduce, Broker: 1, Topic: "a", Partition: AnyPartition, ErrorCode: wire.ErrKafkaStorageError.Code, Times: -1})
	for _, topic := range []string{"a", "b"} {
		for p := int32(0); p < 3; p++ {
			got := dialLeader(t, c, topic, p).produce(9, topic, p, makeBatch(t, plainSpec(), values(1)...))
			want := int16(0)
			if topic == "a" && c.Leader(topic, p) == 1 {
				want = wire.ErrKafkaStorageError.Code
			}
			if got.ErrorCode != want {
				t.Fatalf("%s/%d on broker %d: error %d, want %d", topic, p, c.Leader(topic, p), got.ErrorCode, want)
			}
		}
	}
	if h.Hits() != 1 {
		t.Fatalf("%d hits", h.Hits())
	}
	h.Remove()
	h.Remove()
	p := int32(0)
	for c.Leader("a", p) != 1 {
		p++
	}
	if got := dialLeader(t, c, "a", p).produce(9, "a", p, makeBatch(t, plainSpec(), values(1)...)); got.ErrorCode != 0 {
		t.Fatalf("after Remove: %+v", got)
	}
	if h.Hits() != 1 {
		t.Fatal("removed fault counted a hit")
	}
}

func TestFaultFirstInjectedWins(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 1))
	tc := dial(t, c.Addrs()[0])
	first := c.InjectFault(Fault{Key: wire.KeyProduce, Broker: AnyBroker, Partition: AnyPartition, ErrorCode: wire.ErrNotEnoughReplicas.Code})
	second := c.InjectFault(Fault{Key: wire.KeyProduce, Broker: AnyBroker, Partition: 0, ErrorCode: wire.ErrLeaderNotAvailable.Code})
	codes := []int16{wire.ErrNotEnoughReplicas.Code, wire.ErrLeaderNotAvailable.Code, 0}
	for i, want := range codes {
		if got := tc.produce(9, "t", 0, makeBatch(t, plainSpec(), values(1)...)); got.ErrorCode != want {
			t.Fatalf("request %d: error %d, want %d", i, got.ErrorCode, want)
		}
	}
	if first.Hits() != 1 || second.Hits() != 1 {
		t.Fatalf("hits %d, %d", first.Hits(), second.Hits())
	}
}

func TestFaultAcksZeroClosesOnError(t *testing.T) {
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 1))
	c.InjectFault(Fault{Key: wire.KeyProduce, Broker: AnyBroker, Partition: AnyPartition, ErrorCode: wire.ErrNotEnoughReplicas.Code})
	tc := dial(t, c.Addrs()[0])
	tc.send(9, produceReq(0, "t", 0, makeBatch(t, plainSpec(), values(1)...)))
	tc.expectClosed()
}

func TestFaultOtherAPIs(t *testing.T) {
	c := newTestCluster(t, SeedTopic("a", 1), SeedTopic("b", 1))
	tc := dial(t, c.Addrs()[0])

	c.InjectFault(Fault{Key: wire.KeyMetadata, Broker: AnyBroker, Topic: "b", ErrorCode: wire.ErrLeaderNotAvailable.Code})
	md := tc.metadata(12, "a", "b")
	if md.Topics[0].ErrorCode != 0 || len(md.Topics[0].Partitions) != 1 || md.Topics[1].ErrorCode != wire.ErrLeaderNotAvailable.Code || len(md.Topics[1].Partitions) != 0 {
		t.Fatalf("metadata %+v", md.Topics)
	}
	c.InjectFault(Fault{Key: wire.KeyMetadata, Broker: 0, ErrorCode: wire.ErrUnknownTopicOrPartition.Code})
	if md := dial(t, c.Addrs()[1]).metadata(12, "a"); md.Topics[0].ErrorCode != 0 {
		t.Fatal("fault for broker 0 hit broker 1")
	}
	if md := tc.metadata(12, "a"); md.Topics[0].ErrorCode != wire.ErrUnknownTopicOrPartition.Code {
		t.Fatalf("metadata error %d", md.Topics[0].ErrorCode)
	}

	c.InjectFault(Fault{Key: wire.KeyInitProducerID, Broker: AnyBroker, ErrorCode: wire.ErrCoordinatorLoadInProgress.Code})
	var ip wire.InitProducerIDResponse
	tc.roundTrip(4, &wire.InitProducerIDRequest{ProducerID: -1, ProducerEpoch: -1}, &ip)
	if ip.ErrorCode != wire.ErrCoordinatorLoadInProgress.Code || ip.ProducerID != -1 {
		t.Fatalf("InitProducerId %+v", ip)
	}

	c.InjectFault(Fault{Key: wire.KeyApiVersions, Broker: AnyBroker, ErrorCode: wire.ErrUnknownServerError.Code})
	var av wire.ApiVersionsResponse
	tc.roundTrip(3, &wire.ApiVersionsRequest{ClientSoftwareName: "a", ClientSoftwareVersion: "1"}, &av)
	if av.ErrorCode != wire.ErrUnknownServerError.Code || len(av.APIKeys) != 0 {
		t.Fatalf("ApiVersions %+v", av)
	}
}
