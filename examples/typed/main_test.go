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
	o2Offset := 0
	if part == 2 {
		o2Offset = 1
	}
	want := fmt.Sprintf("order o-1 for customer-7: partition %d, offset 0\n", part) +
		fmt.Sprintf("order o-2 without a key, with a header: partition 2, offset %d\n", o2Offset) +
		"count for key 7 (8 bytes, big-endian) sent to order-counts\n" +
		`empty order refused: producer: serializing value for topic "orders": an order needs at least one item` + "\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant\n%s", out.String(), want)
	}
	recs := c.Records(topic, part)
	if len(recs) == 0 || string(recs[0].Key) != "customer-7" || string(recs[0].Value) != `{"id":"o-1","items":2,"cents":1999}` {
		t.Errorf("orders: %+v", recs)
	}
	recs = c.Records(topic, 2)
	if len(recs) == 0 {
		t.Fatal("partition 2 holds no order")
	}
	o2 := recs[len(recs)-1]
	if o2.Key != nil || string(o2.Value) != `{"id":"o-2","items":1,"cents":500}` || len(o2.Headers) != 1 || o2.Headers[0].Key != "source" || string(o2.Headers[0].Value) != "web" {
		t.Errorf("order o-2: %+v", o2)
	}
	counts := c.Records("order-counts", 0)
	if len(counts) != 1 || len(counts[0].Key) != 8 || binary.BigEndian.Uint64(counts[0].Key) != 7 {
		t.Errorf("order-counts: %+v", counts)
	}
	total := 0
	for p := range int32(3) {
		total += len(c.Records(topic, p))
	}
	if total != 2 {
		t.Errorf("%d orders stored, want 2; the empty one must not be", total)
	}
}

// TestStart runs the program's own start against the embedded cluster it starts.
func TestStart(t *testing.T) {
	if err := start(""); err != nil {
		t.Fatal(err)
	}
}
