package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// kafkaGo adapts segmentio/kafka-go's Writer: asynchronous with a Completion callback for
// throughput runs, synchronous with batches of one record for latency runs.
type kafkaGo struct {
	w *kafka.Writer
}

func newKafkaGo(o Options) (Client, error) {
	s := o.Scenario
	w := &kafka.Writer{
		Addr:  kafka.TCP(o.Brokers...),
		Topic: s.Topic,
		// Java-compatible murmur2 for keys; round-robin for null keys (kafka-go has no
		// sticky partitioner).
		Balancer:   &kafka.Murmur2Balancer{},
		BatchBytes: int64(s.BatchBytes),
		// batch.size is in bytes; kafka-go also bounds a batch by a message count (default
		// 100), for which it allocates up front: make it just large enough for BatchBytes.
		BatchSize:              s.BatchBytes/(s.ValueSize+s.KeySize) + 1,
		BatchTimeout:           max(s.Linger, time.Microsecond),
		RequiredAcks:           kafka.RequireOne,
		AllowAutoTopicCreation: true,
	}
	if s.Acks == "all" {
		w.RequiredAcks = kafka.RequireAll
	}
	switch s.Codec {
	case "none":
	case "gzip":
		w.Compression = kafka.Gzip
	case "snappy":
		w.Compression = kafka.Snappy
	case "lz4":
		w.Compression = kafka.Lz4
	case "zstd":
		w.Compression = kafka.Zstd
	default:
		return nil, fmt.Errorf("kafka-go: codec %q", s.Codec)
	}
	if s.Latency {
		w.BatchSize = 1 // each synchronous write is sent at once
	} else {
		c := o.Counters
		w.Async = true
		w.Completion = func(msgs []kafka.Message, err error) {
			if err != nil {
				c.Fail(int64(len(msgs)), err)
				return
			}
			c.Ack(int64(len(msgs)))
		}
	}
	return &kafkaGo{w: w}, nil
}

func (k *kafkaGo) Send(ctx context.Context, key, value []byte) error {
	return k.w.WriteMessages(ctx, kafka.Message{Key: key, Value: value})
}

// Flush returns at once: kafka-go has no flush call; BatchTimeout sends the rest.
func (k *kafkaGo) Flush(context.Context) error { return nil }

func (k *kafkaGo) SendSync(ctx context.Context, key, value []byte) error {
	return k.w.WriteMessages(ctx, kafka.Message{Key: key, Value: value})
}

func (k *kafkaGo) Close(context.Context) error { return k.w.Close() }
