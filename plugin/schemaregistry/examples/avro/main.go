// Avro is the classic tutorial's producer with Avro values through a schema registry:
// connect with a client id, send ten random numbers to topic "sample" as Avro records
// {index, number}, their schema registered under subject "sample-value", and print where
// each landed.
//
//	go run ./examples/avro          # embedded 3-broker cluster and an in-process fake registry
//	go run ./examples/avro -bootstrap-server localhost:9092 -registry http://localhost:8081
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
	"syscall"
	"time"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/plugin/schemaregistry"
	"github.com/gregor-kafka/producer/plugin/schemaregistry/srtest"
)

// Reading is the value sent, encoded as Avro in readingSchema.
type Reading struct {
	Index  int `avro:"index"`
	Number int `avro:"number"`
}

const readingSchema = `{
  "type": "record",
  "name": "Reading",
  "namespace": "gregor.tutorial",
  "fields": [
    {"name": "index", "type": "int"},
    {"name": "number", "type": "int"}
  ]
}`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runMain parses the flags, starts what was not named (a kafkatest cluster, a fake
// registry), and runs the example. It returns the exit code: 0, 1 when the run failed, 2
// for bad flags.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("avro", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bootstrap := fs.String("bootstrap-server", "", "Kafka bootstrap servers, host:port[,host:port...]; empty starts an embedded in-memory cluster")
	registry := fs.String("registry", "", "schema registry URLs, comma-separated; empty starts an in-process fake registry")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "avro: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *bootstrap == "" {
		c, err := kafkatest.NewCluster(kafkatest.NumBrokers(3))
		if err != nil {
			fmt.Fprintf(stderr, "avro: starting the embedded cluster: %v\n", err)
			return 1
		}
		defer c.Close()
		*bootstrap = strings.Join(c.Addrs(), ",")
		fmt.Fprintf(stderr, "avro: no -bootstrap-server given: running against an embedded in-memory cluster at %s\n", *bootstrap)
	}
	if *registry == "" {
		srv := srtest.NewServer()
		defer srv.Close()
		*registry = srv.URL()
		fmt.Fprintf(stderr, "avro: no -registry given: running against an in-process fake registry at %s\n", *registry)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := run(ctx, *bootstrap, *registry, stdout); err != nil {
		fmt.Fprintf(stderr, "avro: %v\n", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, bootstrap, registry string, out io.Writer) error {
	cfg, err := producer.ConfigFromProperties(map[string]string{
		"bootstrap.servers": bootstrap,
		"client.id":         "tutorial-avro",
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

	// schema.registry.url; add Username/Password or BearerToken for a secured registry.
	client, err := schemaregistry.NewClient(schemaregistry.Config{URLs: strings.Split(registry, ",")})
	if err != nil {
		return err
	}
	values, err := schemaregistry.NewAvroSerializer[Reading](client, readingSchema)
	if err != nil {
		return err
	}
	// Register (or find) the schema before sending, so that a registry problem shows now.
	id, err := values.SchemaID(ctx, "sample", Reading{})
	if err != nil {
		return err
	}
	readings := producer.NewTyped(p, producer.BytesSerializer(), values)

	numbers := make([]int, 10)
	for i := range numbers {
		numbers[i] = rand.IntN(1000)
	}
	fmt.Fprintf(out, "sending %d random numbers to topic sample as Avro through %d brokers\n",
		len(numbers), len(strings.Split(bootstrap, ",")))
	fmt.Fprintf(out, "schema id %d (subject sample-value)\n", id)

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
