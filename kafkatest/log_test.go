package kafkatest

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/gregor-kafka/producer/internal/testutil"
	"github.com/gregor-kafka/producer/wire"
)

// TestLogRefusedBatch checks that every refused batch is logged with its topic, partition,
// error and reason, and that accepted ones are not.
func TestLogRefusedBatch(t *testing.T) {
	var buf testutil.SyncBuffer
	c := newTestCluster(t, NumBrokers(1), SeedTopic("t", 1), Logger(slog.New(slog.NewTextHandler(&buf, nil))))
	tc := dial(t, c.Addrs()[0])
	if r := tc.produce(9, "t", 0, makeBatch(t, plainSpec(), values(1)...)); r.ErrorCode != 0 {
		t.Fatalf("produce: %d", r.ErrorCode)
	}
	if strings.Contains(buf.String(), "refused") {
		t.Fatalf("an accepted batch was logged:\n%s", buf.String())
	}
	bad := makeBatch(t, plainSpec(), values(1)...)
	bad[len(bad)-1] ^= 0xff // the CRC no longer matches
	if r := tc.produce(9, "t", 0, bad); r.ErrorCode != wire.ErrCorruptMessage.Code {
		t.Fatalf("corrupt batch: error %d", r.ErrorCode)
	}
	if r := tc.produce(9, "t", 5, makeBatch(t, plainSpec(), values(1)...)); r.ErrorCode != wire.ErrUnknownTopicOrPartition.Code {
		t.Fatalf("unknown partition: error %d", r.ErrorCode)
	}
	logged := buf.String()
	for _, want := range []string{
		`msg="kafkatest: batch refused" broker=0`,
		`topic=t partition=0 error="CORRUPT_MESSAGE (2)" reason="batch is corrupt: `,
		`topic=t partition=5 error="UNKNOWN_TOPIC_OR_PARTITION (3)" reason="topic t has no partition 5"`,
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %q:\n%s", want, logged)
		}
	}
	if n := c.RecordsWritten("t"); n != 1 {
		t.Errorf("RecordsWritten %d, want 1", n)
	}
	if _, err := c.WaitForRecords(context.Background(), "t", 1); err != nil {
		t.Fatal(err)
	}
}
