package interop

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	producer "github.com/gregor-kafka/producer"
)

// TestKeyPartitionMatchesFranzGo compares our key partitioning with franz-go's
// Kafka-compatible one (murmur2, as the Java client) for 1 to 64 partitions.
func TestKeyPartitionMatchesFranzGo(t *testing.T) {
	theirs := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	for n := 1; n <= 64; n++ {
		for i := 0; i < 500; i++ {
			key := []byte(fmt.Sprintf("key-%d-%x", i, i*7919))
			if i%50 == 0 {
				key = key[:i%7] // short keys, the empty one included
			}
			want := int32(theirs.Partition(&kgo.Record{Key: key}, n))
			if got := producer.KeyPartition(key, n); got != want {
				t.Fatalf("key %q among %d partitions: ours %d, franz-go %d", key, n, got, want)
			}
		}
	}
}
