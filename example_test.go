package producer_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"sync"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
)

// startCluster starts the in-memory cluster the examples send to; a program would use its
// real brokers' addresses instead of c.Addrs().
func startCluster(topic string, partitions int32) *kafkatest.Cluster {
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic(topic, partitions))
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// Send returns a Future; Get waits for the broker's answer: where the record was written,
// or why it was not.
func ExampleProducer_Send() {
	c := startCluster("events", 3)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p, err := producer.New(producer.Config{BootstrapServers: c.Addrs()})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)

	rec := producer.Record{Topic: "events", Key: []byte("user-42"), Value: []byte("signed up")}
	md, err := p.Send(ctx, rec).Get(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s partition %d offset %d\n", md.Topic, md.Partition, md.Offset)
	// Output:
	// events partition 1 offset 0
}

// SendAsync calls the callback with each record's outcome. Callbacks of one partition run
// in the order the records were sent; Flush waits for everything sent before it.
func ExampleProducer_SendAsync() {
	c := startCluster("clicks", 3)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p, err := producer.New(producer.Config{BootstrapServers: c.Addrs()})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)

	var mu sync.Mutex
	var lines []string
	for i := range 3 {
		rec := producer.Record{Topic: "clicks", Key: []byte("page-1"), Value: fmt.Appendf(nil, "click %d", i)}
		err := p.SendAsync(ctx, rec, func(md producer.RecordMetadata, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				lines = append(lines, fmt.Sprintf("click %d failed: %v", i, err))
				return
			}
			lines = append(lines, fmt.Sprintf("click %d: partition %d offset %d", i, md.Partition, md.Offset))
		})
		if err != nil {
			log.Fatal(err) // the record was not even buffered; the callback saw err too
		}
	}
	if err := p.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	mu.Lock()
	fmt.Println(strings.Join(lines, "\n"))
	mu.Unlock()
	// Output:
	// click 0: partition 0 offset 0
	// click 1: partition 0 offset 1
	// click 2: partition 0 offset 2
}

// NewTyped sends Go values through serializers, as the Java client's key.serializer and
// value.serializer: here string keys and JSON values.
func ExampleNewTyped() {
	c := startCluster("orders", 1)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p, err := producer.New(producer.Config{BootstrapServers: c.Addrs()})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)

	type Order struct {
		ID    string `json:"id"`
		Cents int64  `json:"cents"`
	}
	orders := producer.NewTyped(p, producer.StringSerializer(), producer.JSONSerializer[Order]())
	if err := orders.Send(ctx, "orders", "customer-7", Order{ID: "o-1", Cents: 1999}).Wait(ctx); err != nil {
		log.Fatal(err)
	}

	stored := c.Records("orders", 0)[0]
	fmt.Printf("key %s value %s\n", stored.Key, stored.Value)
	// Output:
	// key customer-7 value {"id":"o-1","cents":1999}
}

// RecordOptions set what a typed send does not take as an argument: here a null key (so
// the partitioner spreads the records), a partition, a timestamp and headers.
func ExampleRecordOption() {
	c := startCluster("audit", 3)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p, err := producer.New(producer.Config{BootstrapServers: c.Addrs()})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)

	events := producer.NewTyped(p, producer.StringSerializer(), producer.StringSerializer())
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	md, err := events.Send(ctx, "audit", "", "logged in",
		producer.NullKey(),
		producer.WithPartition(2),
		producer.WithTimestamp(at),
		producer.WithHeaders(producer.Header{Key: "source", Value: []byte("web")}),
	).Get(ctx)
	if err != nil {
		log.Fatal(err)
	}
	stored := c.Records("audit", 2)[0]
	fmt.Printf("partition %d, key nil: %v, timestamp %s, header %s=%s\n",
		md.Partition, stored.Key == nil, stored.Timestamp.UTC().Format(time.RFC3339), stored.Headers[0].Key, stored.Headers[0].Value)
	// Output:
	// partition 2, key nil: true, timestamp 2026-01-02T03:04:05Z, header source=web
}

// ConfigFromProperties takes the Java client's property names, so an existing producer
// configuration can be used as it is. A misspelt property is an error, not ignored.
func ExampleConfigFromProperties() {
	c := startCluster("logs", 1)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cfg, err := producer.ConfigFromProperties(map[string]string{
		"bootstrap.servers": strings.Join(c.Addrs(), ","),
		"acks":              "all",
		"linger.ms":         "10",
		"compression.type":  "zstd",
		"client.id":         "log-shipper",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("acks=%v linger=%v compression=%v client.id=%s\n", cfg.Acks, cfg.Linger, cfg.Compression, cfg.ClientID)

	p, err := producer.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)
	md, err := p.Send(ctx, producer.Record{Topic: "logs", Value: []byte("started")}).Get(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sent to %s/%d@%d, stored with codec %d\n", md.Topic, md.Partition, md.Offset, c.Records("logs", 0)[0].Codec)

	_, err = producer.ConfigFromProperties(map[string]string{"lingr.ms": "10"})
	fmt.Println(err)
	// Output:
	// acks=all linger=10ms compression=zstd client.id=log-shipper
	// sent to logs/0@0, stored with codec 4
	// producer: unknown property "lingr.ms": did you mean "linger.ms"?
}

// KeyPartition tells in advance where the default partitioner puts a key: murmur2, as the
// Java client, so producers in any language agree.
func ExampleKeyPartition() {
	c := startCluster("users", 6)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p, err := producer.New(producer.Config{BootstrapServers: c.Addrs()})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)

	for _, key := range []string{"alice", "bob", "carol"} {
		predicted := producer.KeyPartition([]byte(key), 6)
		md, err := p.Send(ctx, producer.Record{Topic: "users", Key: []byte(key), Value: []byte("hi")}).Get(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: predicted %d, written to %d\n", key, predicted, md.Partition)
	}
	// Output:
	// alice: predicted 3, written to 3
	// bob: predicted 0, written to 0
	// carol: predicted 2, written to 2
}

// PartitionsFor waits for a topic's metadata and lists its partitions and their leaders: a
// service can warm up with it, then send with NoBlock, which never waits for metadata.
func ExampleProducer_PartitionsFor() {
	c := startCluster("orders", 3)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p, err := producer.New(producer.Config{BootstrapServers: c.Addrs(), MaxBlock: producer.NoBlock})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(ctx)

	// With NoBlock a send fails at once while the topic's metadata is unknown; PartitionsFor
	// waits for it (bounded by ctx here, since max.block.ms is 0).
	parts, err := p.PartitionsFor(ctx, "orders")
	if err != nil {
		log.Fatal(err)
	}
	for _, pi := range parts {
		fmt.Printf("%s-%d led by broker %d\n", pi.Topic, pi.Partition, pi.Leader)
	}
	if err := p.Send(ctx, producer.Record{Topic: "orders", Value: []byte("first")}).Wait(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent without waiting for metadata")
	// Output:
	// orders-0 led by broker 0
	// orders-1 led by broker 1
	// orders-2 led by broker 2
	// sent without waiting for metadata
}
