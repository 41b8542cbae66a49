// Custompartitioner plugs a partitioner of its own into the producer: orders from VIP
// customers go to partition 0, which a dedicated consumer can serve first; the others are
// spread over the remaining partitions by key, murmur2 as the Java client does.
//
//	go run ./examples/custompartitioner [-bootstrap-server host:port,...]
package main

import (
	"bytes"
	"context"
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
		fmt.Fprintln(os.Stderr, "custompartitioner:", err)
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
		fmt.Fprintln(os.Stderr, "custompartitioner: no -bootstrap-server given: using an embedded in-memory cluster at", bootstrap)
	}
	return run(ctx, bootstrap, os.Stdout)
}

const topic = "orders"

// vipFirst is the partitioner. It is called for every record that does not name its
// partition, from every sending goroutine at once, so it keeps no state. The producer
// refuses a result outside [0, numPartitions).
func vipFirst(rec *producer.Record, numPartitions int) int32 {
	if numPartitions == 1 || bytes.HasPrefix(rec.Key, []byte("vip-")) {
		return 0
	}
	return 1 + producer.KeyPartition(rec.Key, numPartitions-1)
}

func run(ctx context.Context, bootstrap string, out io.Writer) error {
	p, err := producer.New(producer.Config{
		BootstrapServers: strings.Split(bootstrap, ","),
		ClientID:         "custompartitioner",
		Partitioner:      producer.PartitionerFunc(vipFirst),
		// producer.RoundRobinPartitioner() is the other ready-made choice: every
		// partition in turn, keys ignored.
	})
	if err != nil {
		return err
	}
	defer p.Close(ctx)

	customers := []string{"vip-ada", "grace", "vip-linus", "ken", "barbara", "dennis"}
	for _, c := range customers {
		rec := producer.Record{Topic: topic, Key: []byte(c), Value: []byte("order from " + c)}
		md, err := p.Send(ctx, rec).Get(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-9s -> partition %d\n", c, md.Partition)
	}
	// A record that names its partition bypasses the partitioner.
	md, err := p.Send(ctx, producer.Record{Topic: topic, Partition: producer.ToPartition(0), Value: []byte("audit")}).Get(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "audit record with an explicit partition -> partition %d\n", md.Partition)
	return p.Close(ctx)
}
