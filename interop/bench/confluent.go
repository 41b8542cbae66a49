//go:build cgo

package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// confluent adapts confluent-kafka-go, librdkafka through cgo. Delivery reports come on the
// producer's Events channel (throughput runs) or on a channel of the call (latency runs).
type confluent struct {
	p     *kafka.Producer
	topic string
	dr    chan kafka.Event // latency runs: the delivery report of the one record in flight
	wg    sync.WaitGroup
}

func newConfluent(o Options) (Client, error) {
	s := o.Scenario
	acks := "1"
	if s.Acks == "all" {
		acks = "all"
	}
	cm := &kafka.ConfigMap{
		"bootstrap.servers":                     strings.Join(o.Brokers, ","),
		"client.id":                             "bench-confluent",
		"acks":                                  acks,
		"enable.idempotence":                    s.Idempotent,
		"linger.ms":                             strconv.FormatFloat(float64(s.Linger)/float64(time.Millisecond), 'f', -1, 64),
		"batch.size":                            s.BatchBytes,
		"message.max.bytes":                     s.BatchBytes + 64<<10, // max.request.size, with room for a whole batch
		"compression.type":                      s.Codec,
		"max.in.flight.requests.per.connection": s.MaxInFlight,
		// buffer.memory: librdkafka bounds its queue by bytes and by messages; the
		// message bound (default 100,000) is lifted so that bytes decide, as in Java.
		"queue.buffering.max.kbytes":   s.BufferBytes >> 10,
		"queue.buffering.max.messages": 2147483647,
		// Java's murmur2 for keys (librdkafka's default is CRC32); null keys random.
		"partitioner": "murmur2_random",
		// Go's net package disables Nagle; librdkafka does not unless told.
		"socket.nagle.disable": true,
		// Delivery reports carry no copy of the key and value back into Go.
		"go.delivery.report.fields": "none",
	}
	p, err := kafka.NewProducer(cm)
	if err != nil {
		return nil, fmt.Errorf("confluent: %w", err)
	}
	c := &confluent{p: p, topic: s.Topic, dr: make(chan kafka.Event, 1)}
	counters := o.Counters
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for e := range p.Events() {
			switch ev := e.(type) {
			case *kafka.Message:
				if err := ev.TopicPartition.Error; err != nil {
					counters.Fail(1, err)
				} else {
					counters.Ack(1)
				}
			case kafka.Error:
				if ev.IsFatal() {
					counters.Fail(0, ev)
				}
			}
		}
	}()
	return c, nil
}

func (c *confluent) message(key, value []byte) *kafka.Message {
	return &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &c.topic, Partition: kafka.PartitionAny},
		Key:            key,
		Value:          value,
	}
}

func (c *confluent) Send(ctx context.Context, key, value []byte) error {
	m := c.message(key, value)
	for {
		err := c.p.Produce(m, nil)
		var kerr kafka.Error
		if err == nil || !errors.As(err, &kerr) || kerr.Code() != kafka.ErrQueueFull {
			return err
		}
		// The queue is full (queue.buffering.max.kbytes): wait for deliveries, as a
		// blocking Java send would.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Microsecond):
		}
	}
}

func (c *confluent) Flush(ctx context.Context) error {
	for c.p.Flush(100) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (c *confluent) SendSync(ctx context.Context, key, value []byte) error {
	if err := c.p.Produce(c.message(key, value), c.dr); err != nil {
		return err
	}
	select {
	case e := <-c.dr:
		if m, ok := e.(*kafka.Message); ok {
			return m.TopicPartition.Error
		}
		return fmt.Errorf("confluent: unexpected delivery event %v", e)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *confluent) Close(context.Context) error {
	c.p.Close()
	c.wg.Wait()
	return nil
}
