// Tutorial is the classic first producer: connect to a three-broker cluster with a client
// id, serialize values as JSON, send a list of ten random numbers to topic "sample" as one
// record, and print where it landed.
//
//	go run ./examples/tutorial                                  # embedded 3-broker cluster
//	go run ./examples/tutorial -bootstrap-server localhost:9092,localhost:9093,localhost:9094
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
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
		fmt.Fprintln(os.Stderr, "tutorial:", err)
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
		fmt.Fprintln(os.Stderr, "tutorial: no -bootstrap-server given: using an embedded in-memory cluster at", bootstrap)
	}
	return run(ctx, bootstrap, os.Stdout)
}

func run(ctx context.Context, bootstrap string, out io.Writer) error {
	// The same property names as the Java client and kafka-python (bootstrap_servers,
	// client_id).
	cfg, err := producer.ConfigFromProperties(map[string]string{
		"bootstrap.servers": bootstrap, // e.g. "broker1:9092,broker2:9092,broker3:9092"
		"client.id":         "sample-producer",
	})
	if err != nil {
		return err
	}
	p, err := producer.New(cfg)
	if err != nil {
		return err
	}
	defer p.Close(ctx)

	// value_serializer=json.dumps: values are encoded as JSON; keys are bytes, here none.
	lists := producer.NewTyped(p, producer.BytesSerializer(), producer.JSONSerializer[[]int]())

	numbers := make([]int, 10)
	for i := range numbers {
		numbers[i] = rand.IntN(1000)
	}
	fmt.Fprintf(out, "sending %v to topic sample through %d brokers\n", numbers, len(strings.Split(bootstrap, ",")))

	// One record: the list, as JSON. Get waits for the brokers' acknowledgement.
	md, err := lists.Send(ctx, "sample", nil, numbers).Get(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "sent: topic %s, partition %d, offset %d\n", md.Topic, md.Partition, md.Offset)
	return p.Close(ctx)
}
