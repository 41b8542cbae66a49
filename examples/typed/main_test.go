package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
)

func TestRun(t *testing.T) {
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic(topic, 3), kafkatest.SeedTopic("order-counts", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var out strings.Builder
	if err := run(ctx, strings.Join(c.Addrs(), ","), &out); err != nil {
		t.Fatal(err)
	}
	part := producer.KeyPartition([]byte("customer-7"), 3)
	want := fmt.Sprintf("order o-1 for customer-7: partition %d, offset 0\n", part) +
		"count for key 7 (8 bytes, big-endian) sent to order-counts\n" +
		`empty order refused: producer: serializing value for topic "orders": an order needs at least one item` + "\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant\n%s", out.String(), want)
	}
	recs := c.Records(topic, part)
	if len(recs) != 1 || string(recs[0].Key) != "customer-7" || string(recs[0].Value) != `{"id":"o-1","items":2,"cents":1999}` {
		t.Errorf("orders: %+v", recs)
	}
	counts := c.Records("order-counts", 0)
	if len(counts) != 1 || len(counts[0].Key) != 8 || binary.BigEndian.Uint64(counts[0].Key) != 7 {
		t.Errorf("order-counts: %+v", counts)
	}
	total := 0
	for p := range int32(3) {
		total += len(c.Records(topic, p))
	}
	if total != 1 {
		t.Errorf("%d orders stored; the empty one must not be", total)
	}
}
