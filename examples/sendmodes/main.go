// Sendmodes shows the three ways to send a record: fire-and-forget, synchronous and
// asynchronous, and what each tells you.
//
//	go run ./examples/sendmodes [-bootstrap-server host:port,...]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/kafkatest"
)

func main() {
	bootstrap := flag.String("bootstrap-server", "", "Kafka brokers, host:port[,host:port...]; empty starts an embedded in-memory cluster")
	flag.Parse()
	if err := start(*bootstrap); err != nil {
		fmt.Fprintln(os.Stderr, "sendmodes:", err)
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
		fmt.Fprintln(os.Stderr, "sendmodes: no -bootstrap-server given: using an embedded in-memory cluster at", bootstrap)
	}
	return run(ctx, bootstrap, os.Stdout)
}

const topic = "sendmodes"

func run(ctx context.Context, bootstrap string, out io.Writer) error {
	p, err := producer.New(producer.Config{BootstrapServers: strings.Split(bootstrap, ","), ClientID: "sendmodes"})
	if err != nil {
		return err
	}
	defer p.Close(ctx)

	// 1. Fire-and-forget: SendAsync with a nil callback. The fastest mode and the only one
	// that costs no allocation per record; an error is only returned if the record could
	// not even be buffered. Delivery failures are only counted, in Stats.
	failedBefore := p.Stats().RecordsFailed
	for i := range 3 {
		rec := producer.Record{Topic: topic, Key: []byte("ff"), Value: fmt.Appendf(nil, "fire-and-forget %d", i)}
		if err := p.SendAsync(ctx, rec, nil); err != nil {
			return err
		}
	}
	// Flush sends everything buffered and waits for it. It returns nil even when records
	// failed: Stats counts them.
	if err := p.Flush(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "fire-and-forget: 3 records flushed, %d failed (Stats().RecordsFailed)\n", p.Stats().RecordsFailed-failedBefore)

	// 2. Synchronous: Send returns a Future; Get waits for the broker's answer. Simple,
	// and one round trip per record: slow when used in a loop.
	md, err := p.Send(ctx, producer.Record{Topic: topic, Key: []byte("sync"), Value: []byte("synchronous")}).Get(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "sync: written to %s partition %d at offset %d\n", md.Topic, md.Partition, md.Offset)

	// 3. Asynchronous: SendAsync with a callback, called once per record with its
	// metadata or error. Callbacks of one partition run in send order, on a producer
	// goroutine: keep them short.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var offsets []int64
	for i := range 3 {
		wg.Add(1)
		rec := producer.Record{Topic: topic, Key: []byte("async"), Value: fmt.Appendf(nil, "asynchronous %d", i)}
		err := p.SendAsync(ctx, rec, func(md producer.RecordMetadata, err error) {
			defer wg.Done()
			if err != nil {
				fmt.Fprintf(out, "async: record %d failed: %v\n", i, err)
				return
			}
			mu.Lock()
			offsets = append(offsets, md.Offset)
			mu.Unlock()
		})
		if err != nil {
			return err // the callback has been called with err already
		}
	}
	wg.Wait()
	fmt.Fprintf(out, "async: 3 callbacks, offsets in send order: %v\n", offsets)
	return p.Close(ctx)
}
