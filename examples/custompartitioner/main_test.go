package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
)

func TestRun(t *testing.T) {
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic(topic, 4))
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
	// VIPs and the audit record in partition 0, nobody else.
	var zero []string
	for _, r := range c.Records(topic, 0) {
		zero = append(zero, string(r.Value))
	}
	if got := strings.Join(zero, ","); got != "order from vip-ada,order from vip-linus,audit" {
		t.Errorf("partition 0 holds %q", got)
	}
	for p := int32(1); p < 4; p++ {
		for _, r := range c.Records(topic, p) {
			if want := 1 + producer.KeyPartition(r.Key, 3); want != p {
				t.Errorf("%s in partition %d, want %d", r.Key, p, want)
			}
		}
	}
	if !strings.Contains(out.String(), "vip-ada   -> partition 0\n") || !strings.HasSuffix(out.String(), "audit record with an explicit partition -> partition 0\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestVIPFirst(t *testing.T) {
	for _, tc := range []struct {
		key  string
		n    int
		want int32
	}{
		{"vip-x", 5, 0},
		{"anyone", 1, 0},
		{"vip-x", 1, 0},
		{"anyone", 5, 1 + producer.KeyPartition([]byte("anyone"), 4)},
		{"", 2, 1}, // an empty key has one partition to go to
	} {
		if got := vipFirst(&producer.Record{Key: []byte(tc.key)}, tc.n); got != tc.want {
			t.Errorf("vipFirst(%q, %d) = %d, want %d", tc.key, tc.n, got, tc.want)
		}
	}
	// Never outside the partitions, whatever the key.
	for i := range 1000 {
		key := []byte(strings.Repeat("k", i%50) + string(rune(i)))
		for n := 1; n <= 7; n++ {
			if got := vipFirst(&producer.Record{Key: key}, n); got < 0 || int(got) >= n {
				t.Fatalf("vipFirst(%q, %d) = %d", key, n, got)
			}
		}
	}
}

// TestStart runs the program's own start against the embedded cluster it starts.
func TestStart(t *testing.T) {
	if err := start(""); err != nil {
		t.Fatal(err)
	}
}
