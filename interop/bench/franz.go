package bench

import (
	"context"
	"math"

	"github.com/twmb/franz-go/pkg/kgo"
)

// franz adapts franz-go's kgo client. Send uses Produce with one promise shared by every
// record; each record is a new *kgo.Record, as kgo's API requires.
type franz struct {
	cl      *kgo.Client
	promise func(*kgo.Record, error)
}

func franzCodec(name string) kgo.CompressionCodec {
	switch name {
	case "gzip":
		return kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

func newFranz(o Options) (Client, error) {
	s := o.Scenario
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID("bench-franz"),
		kgo.DefaultProduceTopic(s.Topic),
		kgo.ProducerLinger(s.Linger),
		kgo.ProducerBatchMaxBytes(int32(s.BatchBytes)),
		kgo.ProducerBatchCompression(franzCodec(s.Codec)),
		// buffer.memory: bound by bytes, as Java and gregor do, not by kgo's default
		// 50,000 records.
		kgo.MaxBufferedBytes(s.BufferBytes),
		kgo.MaxBufferedRecords(math.MaxInt32),
		// Java's KIP-794 partitioner (and gregor's) switches sticky partitions after
		// batch.size bytes; kgo's default switches after 64 KiB.
		kgo.RecordPartitioner(kgo.UniformBytesPartitioner(s.BatchBytes, true, true, nil)),
	}
	if s.Idempotent {
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	} else {
		acks := kgo.LeaderAck()
		if s.Acks == "all" {
			acks = kgo.AllISRAcks()
		}
		opts = append(opts, kgo.RequiredAcks(acks), kgo.DisableIdempotentWrite(),
			kgo.MaxProduceRequestsInflightPerBroker(s.MaxInFlight))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	c := o.Counters
	return &franz{cl: cl, promise: func(_ *kgo.Record, err error) {
		if err != nil {
			c.Fail(1, err)
			return
		}
		c.Ack(1)
	}}, nil
}

func (f *franz) Send(ctx context.Context, key, value []byte) error {
	f.cl.Produce(ctx, &kgo.Record{Key: key, Value: value}, f.promise)
	return nil
}

func (f *franz) Flush(ctx context.Context) error { return f.cl.Flush(ctx) }

func (f *franz) SendSync(ctx context.Context, key, value []byte) error {
	return f.cl.ProduceSync(ctx, &kgo.Record{Key: key, Value: value}).FirstErr()
}

func (f *franz) Close(context.Context) error {
	f.cl.Close()
	return nil
}
