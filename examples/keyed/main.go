// Keyed sends records with keys and shows where they land: every record of a key goes to
// the same partition, murmur2(key) modulo the partition count as the Java client does, so
// a key's records stay in order and Java, Python and Go producers agree on the partition.
//
//	go run ./examples/keyed [-bootstrap-server host:port,...]
package main

import (
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
		fmt.Fprintln(os.Stderr, "keyed:", err)
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
		fmt.Fprintln(os.Stderr, "keyed: no -bootstrap-server given: using an embedded in-memory cluster at", bootstrap)
	}
	return run(ctx, bootstrap, os.Stdout)
}

const topic = "keyed"

var users = []string{"alice", "bob", "carol", "dave", "erin"}

func run(ctx context.Context, bootstrap string, out io.Writer) error {
	p, err := producer.New(producer.Config{BootstrapServers: strings.Split(bootstrap, ","), ClientID: "keyed"})
	if err != nil {
		return err
	}
	defer p.Close(ctx)

	// Three events per user, interleaved.
	type sent struct {
		user   string
		future *producer.Future
	}
	var all []sent
	for event := range 3 {
		for _, u := range users {
			rec := producer.Record{Topic: topic, Key: []byte(u), Value: fmt.Appendf(nil, "%s event %d", u, event)}
			all = append(all, sent{u, p.Send(ctx, rec)})
		}
	}

	partition := map[string]int32{}
	offsets := map[string][]int64{}
	for _, s := range all {
		md, err := s.future.Get(ctx)
		if err != nil {
			return err
		}
		if prev, ok := partition[s.user]; ok && prev != md.Partition {
			return fmt.Errorf("key %s went to partitions %d and %d", s.user, prev, md.Partition)
		}
		partition[s.user] = md.Partition
		offsets[s.user] = append(offsets[s.user], md.Offset)
	}
	for _, u := range users {
		fmt.Fprintf(out, "key %-5s -> partition %d, offsets %v\n", u, partition[u], offsets[u])
	}
	fmt.Fprintln(out, "each key's records went to one partition, in the order sent")
	return p.Close(ctx)
}
