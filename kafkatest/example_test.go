package kafkatest_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// A service test: start a cluster, let the code under test produce to it, then check what
// it wrote. Here the "service" is a bare Produce request built with package wire; a real
// test hands c.Addrs() to its Kafka client as bootstrap servers.
func Example() {
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic("orders", 1))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	leader := c.Addrs()[c.Leader("orders", 0)]
	if err := placeOrder(leader, "order-1", `{"qty":2}`); err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	recs, err := c.WaitForRecords(ctx, "orders", 1)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Printf("%s/%d@%d %s=%s %s=%s\n", r.Topic, r.Partition, r.Offset, r.Key, r.Value, r.Headers[0].Key, r.Headers[0].Value)
	}
	// Output:
	// orders/0@0 order-1={"qty":2} source=example
}

// placeOrder is the code under test: it produces one record to partition 0 of "orders".
func placeOrder(addr, key, value string) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()

	headers := []wire.RecordHeader{{Key: "source", Value: []byte("example")}}
	batch := make([]byte, wire.RecordBatchHeaderSize)
	batch = wire.AppendRecord(batch, 0, 0, []byte(key), []byte(value), headers)
	now := time.Now().UnixMilli()
	wire.FinishBatch(batch, &wire.BatchHeader{
		PartitionLeaderEpoch: -1, BaseTimestamp: now, MaxTimestamp: now,
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, NumRecords: 1,
	})
	req := &wire.ProduceRequest{Acks: -1, TimeoutMs: 5000, Topics: []wire.ProduceTopic{{
		Name: "orders", Partitions: []wire.ProducePartition{{Index: 0, Records: batch}},
	}}}
	const version = 9
	if _, err := nc.Write(wire.AppendRequest(nil, wire.RequestHeader{APIVersion: version, CorrelationID: 1}, req)); err != nil {
		return err
	}
	frame, err := wire.ReadFrame(nc, nil, 1<<20)
	if err != nil {
		return err
	}
	_, body, err := wire.ParseResponseHeader(frame, wire.KeyProduce, version)
	if err != nil {
		return err
	}
	var resp wire.ProduceResponse
	if err := resp.Decode(body, version); err != nil {
		return err
	}
	return wire.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
}
