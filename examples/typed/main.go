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
	"fmt"
	"io"
	"strings"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/examples/internal/exampleutil"
)

func main() { exampleutil.Main("typed", run) }

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
	err = checked.Send(ctx, topic, "customer-8", Order{ID: "o-2"}).Wait(ctx)
	if !errors.Is(err, errEmptyOrder) {
		return fmt.Errorf("an empty order was not refused: %v", err)
	}
	fmt.Fprintf(out, "empty order refused: %v\n", err)
	return p.Close(ctx)
}
