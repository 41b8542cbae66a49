package bench

import (
	"context"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
)

// saramaClient adapts IBM/sarama: its AsyncProducer for throughput runs (outcomes read from
// the Successes and Errors channels), its SyncProducer for latency runs.
type saramaClient struct {
	topic string
	async sarama.AsyncProducer
	sync  sarama.SyncProducer
	wg    sync.WaitGroup
}

func newSarama(o Options) (Client, error) {
	s := o.Scenario
	cfg := sarama.NewConfig()
	cfg.ClientID = "bench-sarama"
	cfg.Producer.RequiredAcks = sarama.WaitForLocal
	if s.Acks == "all" {
		cfg.Producer.RequiredAcks = sarama.WaitForAll
	}
	if err := cfg.Producer.Compression.UnmarshalText([]byte(s.Codec)); err != nil {
		return nil, err
	}
	// batch.size and linger.ms: sarama flushes a broker's buffer when it holds Flush.Bytes
	// or when Flush.Frequency has passed. With neither set it sends at once (linger.ms=0).
	if s.Linger > 0 {
		cfg.Producer.Flush.Bytes = s.BatchBytes
		cfg.Producer.Flush.Frequency = s.Linger
	}
	cfg.Producer.MaxMessageBytes = s.BatchBytes
	cfg.Net.MaxOpenRequests = s.MaxInFlight
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	if s.Idempotent {
		cfg.Producer.Idempotent = true
		cfg.Net.MaxOpenRequests = 1 // sarama refuses more with idempotence
	}
	c := &saramaClient{topic: s.Topic}
	if s.Latency {
		p, err := sarama.NewSyncProducer(o.Brokers, cfg)
		if err != nil {
			return nil, err
		}
		c.sync = p
		return c, nil
	}
	p, err := sarama.NewAsyncProducer(o.Brokers, cfg)
	if err != nil {
		return nil, err
	}
	c.async = p
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		for range p.Successes() {
			o.Counters.Ack(1)
		}
	}()
	go func() {
		defer c.wg.Done()
		for e := range p.Errors() {
			o.Counters.Fail(1, e.Err)
		}
	}()
	return c, nil
}

func (c *saramaClient) message(key, value []byte) *sarama.ProducerMessage {
	m := &sarama.ProducerMessage{Topic: c.topic, Value: sarama.ByteEncoder(value)}
	if key != nil {
		m.Key = sarama.ByteEncoder(key)
	}
	return m
}

func (c *saramaClient) Send(ctx context.Context, key, value []byte) error {
	select {
	case c.async.Input() <- c.message(key, value):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush returns at once: sarama has no flush call; Flush.Frequency sends the rest.
func (c *saramaClient) Flush(context.Context) error { return nil }

func (c *saramaClient) SendSync(_ context.Context, key, value []byte) error {
	_, _, err := c.sync.SendMessage(c.message(key, value))
	return err
}

func (c *saramaClient) Close(ctx context.Context) error {
	if c.sync != nil {
		return c.sync.Close()
	}
	// AsyncClose returns at once; the producer closes its channels once every buffered
	// message is done, which may never happen if the broker stopped answering.
	c.async.AsyncClose()
	done := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sarama: close: %w", ctx.Err())
	}
}
