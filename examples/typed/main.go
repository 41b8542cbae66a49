// Typed sends Go values instead of bytes: NewTyped pairs a producer with a key and a value
// serializer, as the Java client's key.serializer and value.serializer, so call sites pass
// their own types. Here keys are strings, values JSON, and a serializer of our own checks
// values before they go out.
//
//	go run ./examples/typed [-bootstrap-server host:port,...]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
)

func main() {
	bootstrap := flag.String("bootstrap-server", "", "Kafka brokers, host:port[,host:port...]; empty starts an embedded in-memory cluster")
	flag.Parse()
	if err := start(*bootstrap); err != nil {
		fmt.Fprintln(os.Stderr, "typed:", err)
		os.Exit(1)
	}
}

// start runs the example against the brokers at bootstrap, or, when it is empty, against
// an in-memory cluster of three brokers on loopback (package kafkatest), whose records
// vanish on exit. Ctrl-C cancels the run.
func start(bootstrap string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if bootstrap == "" {
		c, err := kafkatest.NewCluster(kafkatest.NumBrokers(3))
		if err != nil {
			return err
		}
		defer c.Close()
		bootstrap = strings.Join(c.Addrs(), ",")
		fmt.Fprintln(os.Stderr, "typed: no -bootstrap-server given: using an embedded in-memory cluster at", bootstrap)
	}
	return run(ctx, bootstrap, os.Stdout)
}

const topic = "orders"

// Order is the value type.
type Order struct {
	ID    string `json:"id"`
	Items int    `json:"items"`
	Cents int64  `json:"cents"`
}

// errEmptyOrder is what the checking serializer refuses.
var errEmptyOrder = errors.New("an order needs at least one item")

// checkedJSON is a Serializer of our own: JSON, but orders without items are refused
// before anything is sent.
func checkedJSON() producer.Serializer[Order] {
	return producer.SerializerFunc[Order](func(_ string, o Order) ([]byte, error) {
		if o.Items <= 0 {
			return nil, errEmptyOrder
		}
		return json.Marshal(o)
	})
}

func run(ctx context.Context, bootstrap string, out io.Writer) error {
	p, err := producer.New(producer.Config{BootstrapServers: strings.Split(bootstrap, ","), ClientID: "typed"})
	if err != nil {
		return err
	}
	defer p.Close(ctx)

	// Keys: the customer, as a string. Values: orders, as JSON.
	orders := producer.NewTyped(p, producer.StringSerializer(), producer.JSONSerializer[Order]())
	md, err := orders.Send(ctx, topic, "customer-7", Order{ID: "o-1", Items: 2, Cents: 1999}).Get(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "order o-1 for customer-7: partition %d, offset %d\n", md.Partition, md.Offset)

	// Options set the rest of the record: a null key (StringSerializer would send "" as an
	// empty key, which puts every such record on one partition), a partition, a timestamp,
	// headers.
	md, err = orders.Send(ctx, topic, "", Order{ID: "o-2", Items: 1, Cents: 500},
		producer.NullKey(), producer.WithPartition(2),
		producer.WithHeaders(producer.Header{Key: "source", Value: []byte("web")})).Get(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "order o-2 without a key, with a header: partition %d, offset %d\n", md.Partition, md.Offset)

	// Other ready-made serializers: Int32Serializer, Int64Serializer (big-endian, as
	// Kafka's IntegerSerializer and LongSerializer) and BytesSerializer.
	counts := producer.NewTyped(p, producer.Int64Serializer(), producer.StringSerializer())
	if err := counts.Send(ctx, "order-counts", 7, "customer-7 has 1 order").Wait(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "count for key 7 (8 bytes, big-endian) sent to order-counts")

	// A serializer error fails the send; nothing is enqueued. The error says whether the
	// key or the value failed, and wraps the serializer's error.
	checked := producer.NewTyped(p, producer.StringSerializer(), checkedJSON())
	err = checked.Send(ctx, topic, "customer-8", Order{ID: "o-3"}).Wait(ctx)
	if !errors.Is(err, errEmptyOrder) {
		return fmt.Errorf("an empty order was not refused: %v", err)
	}
	fmt.Fprintf(out, "empty order refused: %v\n", err)
	return p.Close(ctx)
}
