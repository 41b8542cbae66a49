// Sendmodes shows the three ways to send a record: fire-and-forget, synchronous and
// asynchronous, and what each tells you.
//
//	go run ./examples/sendmodes [-bootstrap-server host:port,...]
package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/examples/internal/exampleutil"
)

func main() { exampleutil.Main("sendmodes", run) }

const topic = "sendmodes"

func run(ctx context.Context, bootstrap string, out io.Writer) error {
	p, err := producer.New(producer.Config{BootstrapServers: strings.Split(bootstrap, ","), ClientID: "sendmodes"})
	if err != nil {
		return err
	}
	defer p.Close(ctx)

	// 1. Fire-and-forget: SendAsync with a nil callback. The fastest mode and the only one
	// that costs no allocation per record; an error is only returned if the record could
	// not even be buffered. Delivery failures go unseen.
	for i := range 3 {
		rec := producer.Record{Topic: topic, Key: []byte("ff"), Value: fmt.Appendf(nil, "fire-and-forget %d", i)}
		if err := p.SendAsync(ctx, rec, nil); err != nil {
			return err
		}
	}
	// Flush sends everything buffered and waits for it.
	if err := p.Flush(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "fire-and-forget: 3 records handed over and flushed; their outcome is not reported")

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
