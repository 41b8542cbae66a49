package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
)

func TestRun(t *testing.T) {
	c, err := kafkatest.NewCluster(kafkatest.NumBrokers(3))
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
	recs, err := c.WaitForRecords(ctx, "sample", 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d records in sample (%v), want 1", len(recs), err)
	}
	r := recs[0]
	var numbers []int
	if err := json.Unmarshal(r.Value, &numbers); err != nil || r.Key != nil || len(numbers) != 10 {
		t.Fatalf("record %+v: want a null key and a JSON list of 10 numbers (%v)", r, err)
	}
	for _, n := range numbers {
		if n < 0 || n >= 1000 {
			t.Errorf("number %d out of range", n)
		}
	}
	if r.ProducerID < 0 {
		t.Error("the producer was not idempotent (the default)")
	}
	want := fmt.Sprintf("sending %v to topic sample through 3 brokers\nsent: topic sample, partition %d, offset 0\n", numbers, r.Partition)
	if out.String() != want {
		t.Errorf("output:\n%s\nwant\n%s", out.String(), want)
	}
}

// TestStart runs the program's own start against the embedded cluster it starts.
func TestStart(t *testing.T) {
	if err := start(""); err != nil {
		t.Fatal(err)
	}
}
