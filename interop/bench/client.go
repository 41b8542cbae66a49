package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// Client is one Kafka producer client under test. A client is made for one scenario: for a
// throughput scenario the harness calls Send for every record and then Flush; for a latency
// scenario only SendSync. Outcomes of Send go to the [Counters] of its [Options].
type Client interface {
	// Send hands one record to the client as fast as the client accepts it, without waiting
	// for its acknowledgement. An error means the record was not accepted (and was not
	// counted in the Counters).
	Send(ctx context.Context, key, value []byte) error
	// Flush asks the client to send what it buffers now and returns once it has (clients
	// without such a call return at once); the harness then waits on the Counters.
	Flush(ctx context.Context) error
	// SendSync sends one record and waits for its acknowledgement.
	SendSync(ctx context.Context, key, value []byte) error
	// Close releases the client.
	Close(ctx context.Context) error
}

// BulkClient is a client that sends a whole throughput run in one call instead of
// record by record: the raw baseline.
type BulkClient interface {
	Client
	// SendAll sends at least n records of payloads p (a client may have encoded them
	// beforehand) and returns how many it sent; their outcomes go to the Counters.
	SendAll(ctx context.Context, n int, p *Payloads) (int, error)
}

// Unobserved is implemented by clients whose Send does not report outcomes
// (fire-and-forget): the harness then takes a successful Flush as the acknowledgement of
// everything sent, and the runner checks the count against the sink's.
type Unobserved interface {
	Unobserved()
}

// Options is what a [Factory] needs to make a client.
type Options struct {
	// Brokers are the bootstrap addresses.
	Brokers []string
	// Scenario is the run's scenario, with defaults applied.
	Scenario Scenario
	// Counters receives the outcome of every record given to Send.
	Counters *Counters
}

// Factory makes a client.
type Factory func(Options) (Client, error)

// ErrUnavailable is wrapped by the error of a factory whose client is not in this build
// (confluent-kafka-go without cgo).
var ErrUnavailable = errors.New("client not available in this build")

// Factories returns the client factories by name.
func Factories() map[string]Factory {
	return map[string]Factory{
		"gregor":    newGregor,
		"gregor-ff": newGregorFireAndForget,
		"franz":     newFranz,
		"sarama":    newSarama,
		"kafkago":   newKafkaGo,
		"confluent": newConfluent,
		"raw":       newRaw,
	}
}

// ClientNames returns the names of every client, in the order of the table: the raw
// baseline, franz-go (the reference of the ratios), gregor, then the others.
func ClientNames() []string {
	order := []string{"raw", "franz", "gregor", "gregor-ff", "sarama", "kafkago", "confluent"}
	f := Factories()
	for name := range f {
		if !slices.Contains(order, name) {
			order = append(order, name)
		}
	}
	return order
}

// Lookup returns the factory of the client called name.
func Lookup(name string) (Factory, error) {
	f, ok := Factories()[name]
	if !ok {
		return nil, fmt.Errorf("bench: unknown client %q (have %v)", name, ClientNames())
	}
	return f, nil
}

// Counters counts acknowledged and failed records. Clients call Ack and Fail from any
// goroutine; the harness waits for a total with Wait.
type Counters struct {
	acked, failed atomic.Int64
	target        atomic.Int64 // the total Wait waits for

	mu       sync.Mutex
	firstErr error
	reached  chan struct{} // closed when acked+failed reaches target
}

// NewCounters returns zeroed counters.
func NewCounters() *Counters {
	c := &Counters{reached: make(chan struct{})}
	c.target.Store(math.MaxInt64)
	return c
}

// Ack counts n acknowledged records.
func (c *Counters) Ack(n int64) {
	c.acked.Add(n)
	c.check()
}

// Fail counts n failed records; the first error is kept.
func (c *Counters) Fail(n int64, err error) {
	c.mu.Lock()
	if c.firstErr == nil {
		c.firstErr = err
	}
	c.mu.Unlock()
	c.failed.Add(n)
	c.check()
}

func (c *Counters) check() {
	if c.acked.Load()+c.failed.Load() < c.target.Load() {
		return
	}
	c.mu.Lock()
	if c.reached != nil {
		close(c.reached)
		c.reached = nil
	}
	c.mu.Unlock()
}

// Acked returns the number of acknowledged records.
func (c *Counters) Acked() int64 { return c.acked.Load() }

// Failed returns the number of failed records.
func (c *Counters) Failed() int64 { return c.failed.Load() }

// FirstErr returns the first error given to Fail.
func (c *Counters) FirstErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firstErr
}

// Wait waits until acked+failed reaches total or ctx ends. Each total is waited for by at
// most one caller at a time, in increasing order.
func (c *Counters) Wait(ctx context.Context, total int64) error {
	c.mu.Lock()
	if c.reached == nil {
		c.reached = make(chan struct{})
	}
	ch := c.reached
	c.mu.Unlock()
	c.target.Store(total)
	c.check()
	select {
	case <-ch:
		c.target.Store(math.MaxInt64)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for acknowledgements: %d of %d records (%d acked, %d failed): %w",
			c.acked.Load()+c.failed.Load(), total, c.acked.Load(), c.failed.Load(), ctx.Err())
	}
}
