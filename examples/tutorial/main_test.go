package main

import (
	"context"
	"encoding/json"
	"regexp"
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
	recs, err := c.WaitForRecords(ctx, "sample", 10)
	if err != nil || len(recs) != 10 {
		t.Fatalf("%d records in sample (%v), want 10", len(recs), err)
	}
	seen := map[int]int{} // index -> number
	for _, r := range recs {
		var v Reading
		if err := json.Unmarshal(r.Value, &v); err != nil || r.Key != nil {
			t.Fatalf("record %+v: want a null key and a JSON value (%v)", r, err)
		}
		if v.Number < 0 || v.Number >= 1000 {
			t.Errorf("number %d out of range", v.Number)
		}
		seen[v.Index] = v.Number
	}
	if len(seen) != 10 {
		t.Errorf("indexes sent: %v", seen)
	}
	if recs[0].ProducerID < 0 {
		t.Error("the producer was not idempotent (the default with acks=all)")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 12 || lines[0] != "sending 10 random numbers to topic sample through 3 brokers" || lines[11] != "done: 10 records in topic sample" {
		t.Fatalf("output:\n%s", out.String())
	}
	re := regexp.MustCompile(`^number (\d) = +(\d+): partition [0-2], offset \d+$`)
	for _, l := range lines[1:11] {
		if !re.MatchString(l) {
			t.Errorf("line %q does not match %s", l, re)
		}
	}
}
