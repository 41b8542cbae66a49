// Tutorial is the classic first producer: connect to a three-broker cluster with a client
// id, serialize values as JSON, send a list of ten random numbers to topic "sample", and
// print where each landed.
//
//	go run ./examples/tutorial                                  # embedded 3-broker cluster
//	go run ./examples/tutorial -bootstrap-server localhost:9092,localhost:9093,localhost:9094
package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/examples/internal/exampleutil"
)

func main() { exampleutil.Main("tutorial", run) }

// Reading is the value sent: encoded as JSON, {"index":0,"number":42}.
type Reading struct {
	Index  int `json:"index"`
	Number int `json:"number"`
}

func run(ctx context.Context, bootstrap string, out io.Writer) error {
	// The same property names as the Java client and kafka-python.
	cfg, err := producer.ConfigFromProperties(map[string]string{
		"bootstrap.servers": bootstrap, // e.g. "broker1:9092,broker2:9092,broker3:9092"
		"client.id":         "tutorial",
		"acks":              "all",
	})
	if err != nil {
		return err
	}
	p, err := producer.New(cfg)
	if err != nil {
		return err
	}
	defer p.Close(ctx)

	// value_serializer=json: keys are raw bytes (here null), values JSON.
	readings := producer.NewTyped(p, producer.BytesSerializer(), producer.JSONSerializer[Reading]())

	numbers := make([]int, 10)
	for i := range numbers {
		numbers[i] = rand.IntN(1000)
	}
	fmt.Fprintf(out, "sending %d random numbers to topic sample through %d brokers\n",
		len(numbers), len(strings.Split(bootstrap, ",")))

	// Send them all, then wait for each: the sends are batched together.
	futures := make([]*producer.Future, len(numbers))
	for i, n := range numbers {
		futures[i] = readings.Send(ctx, "sample", nil, Reading{Index: i, Number: n})
	}
	for i, f := range futures {
		md, err := f.Get(ctx)
		if err != nil {
			return fmt.Errorf("number %d: %w", i, err)
		}
		fmt.Fprintf(out, "number %d = %3d: partition %d, offset %d\n", i, numbers[i], md.Partition, md.Offset)
	}
	if err := p.Close(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "done: 10 records in topic sample")
	return nil
}
