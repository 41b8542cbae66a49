package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
)

func TestRun(t *testing.T) {
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic(topic, 3))
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
	// Keyed records: each key's partition is fixed, so the output is too.
	syncPart := producer.KeyPartition([]byte("sync"), 3)
	syncOffset := 0
	if producer.KeyPartition([]byte("ff"), 3) == syncPart {
		syncOffset = 3
	}
	asyncOffset := 0
	for _, k := range []string{"ff", "ff", "ff", "sync"} {
		if producer.KeyPartition([]byte(k), 3) == producer.KeyPartition([]byte("async"), 3) {
			asyncOffset++
		}
	}
	want := "fire-and-forget: 3 records flushed, 0 failed (Stats().RecordsFailed)\n" +
		fmt.Sprintf("sync: written to sendmodes partition %d at offset %d\n", syncPart, syncOffset) +
		fmt.Sprintf("async: 3 callbacks, offsets in send order: [%d %d %d]\n", asyncOffset, asyncOffset+1, asyncOffset+2)
	if out.String() != want {
		t.Errorf("output:\n%s\nwant\n%s", out.String(), want)
	}
	var values []string
	for p := range int32(3) {
		for _, r := range c.Records(topic, p) {
			values = append(values, string(r.Value))
		}
	}
	if len(values) != 7 {
		t.Errorf("stored %q, want 7 records", values)
	}
}

// TestStart runs the program's own start against the embedded cluster it starts.
func TestStart(t *testing.T) {
	if err := start(""); err != nil {
		t.Fatal(err)
	}
}
