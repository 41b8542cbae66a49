package bench

import (
	"context"
	"fmt"

	producer "github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/compress"
)

// gregor adapts our producer. Send uses SendAsync with one callback shared by every record,
// so tracking outcomes costs no allocation per record.
type gregor struct {
	p     *producer.Producer
	topic string
	cb    producer.Callback
}

// gregorFF is gregor in fire-and-forget mode: SendAsync with a nil callback, the mode the
// issue's allocation target is about.
type gregorFF struct{ gregor }

// Unobserved marks gregorFF as fire-and-forget.
func (*gregorFF) Unobserved() {}

func gregorConfig(o Options) (producer.Config, error) {
	s := o.Scenario
	codec, err := compress.ParseCodec(s.Codec)
	if err != nil {
		return producer.Config{}, err
	}
	cfg := producer.Config{
		BootstrapServers: o.Brokers,
		ClientID:         "bench-gregor",
		Acks:             producer.Acks(s.Acks), // "1" or "all", as the property
		Linger:           s.Linger,
		BatchSize:        s.BatchBytes,
		MaxInFlight:      s.MaxInFlight,
		BufferMemory:     int64(s.BufferBytes),
		Compression:      codec,
		Idempotence:      producer.Disabled,
	}
	if s.Linger == 0 {
		cfg.Linger = producer.NoLinger // linger.ms=0; the zero value would mean the default
	}
	if s.Idempotent {
		cfg.Idempotence = producer.Enabled
	}
	return cfg, nil
}

func newGregorClient(o Options) (gregor, error) {
	cfg, err := gregorConfig(o)
	if err != nil {
		return gregor{}, err
	}
	p, err := producer.New(cfg)
	if err != nil {
		return gregor{}, err
	}
	c := o.Counters
	return gregor{p: p, topic: o.Scenario.Topic, cb: func(_ producer.RecordMetadata, err error) {
		if err != nil {
			c.Fail(1, err)
			return
		}
		c.Ack(1)
	}}, nil
}

func newGregor(o Options) (Client, error) {
	g, err := newGregorClient(o)
	if err != nil {
		return nil, err
	}
	return &g, nil
}

func newGregorFireAndForget(o Options) (Client, error) {
	g, err := newGregorClient(o)
	if err != nil {
		return nil, err
	}
	g.cb = nil
	return &gregorFF{g}, nil
}

func (g *gregor) Send(ctx context.Context, key, value []byte) error {
	err := g.p.SendAsync(ctx, producer.Record{Topic: g.topic, Key: key, Value: value}, g.cb)
	if err != nil && g.cb != nil {
		// SendAsync already called the callback with err, which counted it.
		return nil
	}
	return err
}

func (g *gregor) Flush(ctx context.Context) error { return g.p.Flush(ctx) }

func (g *gregor) SendSync(ctx context.Context, key, value []byte) error {
	_, err := g.p.Send(ctx, producer.Record{Topic: g.topic, Key: key, Value: value}).Get(ctx)
	if err != nil {
		return fmt.Errorf("gregor: %w", err)
	}
	return nil
}

func (g *gregor) Close(ctx context.Context) error { return g.p.Close(ctx) }
