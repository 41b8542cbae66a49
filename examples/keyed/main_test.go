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
	for _, partitions := range []int32{1, 3, 7} {
		t.Run(fmt.Sprint(partitions), func(t *testing.T) {
			c, err := kafkatest.NewCluster(kafkatest.SeedTopic(topic, partitions))
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
			// The expected lines, from the Java client's formula and the send order.
			var want strings.Builder
			for _, u := range users {
				part := producer.KeyPartition([]byte(u), int(partitions))
				var offs []int64
				for event := range 3 {
					// Records before this one in its partition: earlier events of every user
					// of the partition, and this event of the users before u.
					var n int64
					for e := range event + 1 {
						for _, v := range users {
							if e == event && v == u {
								break
							}
							if producer.KeyPartition([]byte(v), int(partitions)) == part {
								n++
							}
						}
					}
					offs = append(offs, n)
				}
				fmt.Fprintf(&want, "key %-5s -> partition %d, offsets %v\n", u, part, offs)
			}
			want.WriteString("each key's records went to one partition, in the order sent\n")
			if out.String() != want.String() {
				t.Errorf("output:\n%s\nwant\n%s", out.String(), want.String())
			}
		})
	}
}

// TestStart runs the program's own start against the embedded cluster it starts.
func TestStart(t *testing.T) {
	if err := start(""); err != nil {
		t.Fatal(err)
	}
}
