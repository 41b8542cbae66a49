package producer

// Tests of delivery guarantees at the edges (issue 16): each pins down one defect that the
// batch lifecycle and transaction state machine once let through.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/internal/testutil"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// An acknowledged batch keeps its outcome when an earlier batch of its partition expires:
// only the earlier one times out, and nothing is counted twice.
func TestExpiryKeepsAcknowledgedBatch(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("exp", 1))
	var batches atomic.Int64
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Linger: -1, BatchSize: 1, RequestTimeout: 300 * time.Millisecond,
		DeliveryTimeout: 700 * time.Millisecond, RetryBackoff: 5 * time.Second, RetryBackoffMax: 5 * time.Second,
		Hooks: batchCounter{&batches}})
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.Send(ctx, Record{Topic: "exp", Value: []byte("warm-up")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// A is written but its answer says REQUEST_TIMED_OUT (after a delay, so B, a batch of its
	// own, is sent on the same connection meanwhile): A backs off for 5 s, past
	// delivery.timeout.ms; B is acked. Both pass the timeout in the same expiry sweep.
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "exp", Partition: 0,
		ErrorCode: wire.ErrRequestTimedOut.Code, AppendAnyway: true, Delay: 100 * time.Millisecond, Times: 1})
	a := p.Send(ctx, Record{Topic: "exp", Value: []byte("A")})
	b := p.Send(ctx, Record{Topic: "exp", Value: []byte("B")})
	if err := a.Wait(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("A: %v, want a delivery timeout", err)
	}
	md, err := b.Get(ctx)
	if err != nil {
		t.Fatalf("B was acknowledged, yet completed with %v", err)
	}
	recs := c.Records("exp", 0)
	if md.Offset < 0 || int(md.Offset) >= len(recs) || string(recs[md.Offset].Value) != "B" {
		t.Fatalf("B reported at offset %d; log %d records", md.Offset, len(recs))
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	if s.RecordsSent != 2 || s.RecordsFailed != 1 || batches.Load() != 3 {
		t.Fatalf("stats sent %d failed %d, OnBatchDone %d times; want 2, 1, 3", s.RecordsSent, s.RecordsFailed, batches.Load())
	}
}

type batchCounter struct{ n *atomic.Int64 }

func (batchCounter) OnBrokerConnect(int32, string, time.Duration, error) {}
func (batchCounter) OnBrokerDisconnect(int32, string, error)             {}
func (batchCounter) OnProduceRequest(int32, int, time.Duration, error)   {}
func (h batchCounter) OnBatchDone(string, int32, int, int, error)        { h.n.Add(1) }
func (batchCounter) OnRecordDone(RecordMetadata, error)                  {}

// txnSetup returns a cluster with topic "t" (partitions n), and an initialized
// transactional producer on it.
func txnSetup(t *testing.T, v2 bool, n int32, cfg Config, opts ...kafkatest.Option) (*kafkatest.Cluster, *Producer, context.Context) {
	t.Helper()
	c := newCluster(t, append([]kafkatest.Option{kafkatest.SeedTopic("t", n), kafkatest.TransactionsV2(v2)}, opts...)...)
	cfg.BootstrapServers = c.Addrs()
	if cfg.TransactionalID == "" {
		cfg.TransactionalID = "edge"
	}
	p := newProducer(t, cfg)
	ctx := ctxTimeout(t, 30*time.Second)
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	return c, p, ctx
}

// A transactional record that expires makes the transaction abortable: commit fails. With
// transactions V1 the record expires unsent, waiting for AddPartitionsToTxn (refused with
// CONCURRENT_TRANSACTIONS until the fault is removed); with V2, its leader is down.
func TestTxnExpiryFailsCommit(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			c, p, ctx := txnSetup(t, v2, 1, Config{RequestTimeout: 300 * time.Millisecond, DeliveryTimeout: time.Second,
				RetryBackoff: 20 * time.Millisecond, RetryBackoffMax: 50 * time.Millisecond})
			leader := c.Leader("t", 0)
			if leader == c.TransactionCoordinator("edge") {
				to := (leader + 1) % 3
				if err := c.MoveLeader("t", 0, to); err != nil {
					t.Fatal(err)
				}
				leader = to
			}
			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			var h *kafkatest.FaultHandle
			if v2 {
				if err := c.StopBroker(leader); err != nil {
					t.Fatal(err)
				}
			} else {
				h = c.InjectFault(kafkatest.Fault{Key: wire.KeyAddPartitionsToTxn, Broker: kafkatest.AnyBroker,
					ErrorCode: wire.ErrConcurrentTransactions.Code, Times: -1})
			}
			err := p.Send(ctx, Record{Topic: "t", Value: []byte("lost")}).Wait(ctx)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("send: %v, want a delivery timeout", err)
			}
			if err := p.CommitTransaction(ctx); err == nil {
				t.Fatal("a transaction whose record expired committed")
			}
			if v2 {
				if err := c.StartBroker(leader); err != nil {
					t.Fatal(err)
				}
			} else {
				h.Remove()
			}
			if err := p.AbortTransaction(ctx); err != nil {
				t.Fatal(err)
			}
			runTxn(t, ctx, p, c, "after")
		})
	}
}

// runTxn runs one transaction of three records to "t" and checks they commit.
func runTxn(t *testing.T, ctx context.Context, p *Producer, c *kafkatest.Cluster, tag string) {
	t.Helper()
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	var futs []*Future
	for i := range 3 {
		futs = append(futs, p.Send(ctx, Record{Topic: "t", Key: []byte{byte(i)}, Value: []byte(fmt.Sprintf("%s-%d", tag, i))}))
	}
	if err := p.CommitTransaction(ctx); err != nil {
		t.Fatalf("%s: commit: %v", tag, err)
	}
	for i, f := range futs {
		if err := f.Wait(ctx); err != nil {
			t.Fatalf("%s: record %d: %v", tag, i, err)
		}
	}
	n := 0
	for _, v := range committedValues(c, "t") {
		if len(v) > len(tag) && v[:len(tag)+1] == tag+"-" {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%s: %d of 3 records committed", tag, n)
	}
}

// OUT_OF_ORDER_SEQUENCE_NUMBER on a transactional producer fails the record at once and
// makes the transaction abortable; the abort bumps the epoch and the next transaction works.
func TestTxnSequenceErrorAbortsAndBumps(t *testing.T) {
	for _, code := range []int16{wire.ErrOutOfOrderSequenceNumber.Code, wire.ErrUnknownProducerID.Code} {
		t.Run(wire.ErrorForCode(code).Error(), func(t *testing.T) {
			c, p, ctx := txnSetup(t, false, 2, Config{})
			runTxn(t, ctx, p, c, "first")
			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "t", Partition: kafkatest.AnyPartition,
				ErrorCode: code, Times: 1})
			inits := c.RequestCount(wire.KeyInitProducerID)
			err := p.Send(ctx, Record{Topic: "t", Value: []byte("gap")}).Wait(ctx)
			var ke *KafkaError
			if !errors.As(err, &ke) || ke.Code != code {
				t.Fatalf("send: %v, want code %d", err, code)
			}
			if err := p.CommitTransaction(ctx); !errors.Is(err, ErrTransactionState) {
				t.Fatalf("commit after a sequence error: %v", err)
			}
			if err := p.AbortTransaction(ctx); err != nil {
				t.Fatal(err)
			}
			if c.RequestCount(wire.KeyInitProducerID) != inits+1 {
				t.Fatal("the abort did not bump the epoch with InitProducerId")
			}
			runTxn(t, ctx, p, c, "second")
		})
	}
}

// An abort leaves numbered batches to be sent: no sequence gap for the next transaction.
func TestTxnAbortSendsNumberedBatches(t *testing.T) {
	c, p, ctx := txnSetup(t, false, 1, Config{RetryBackoff: 300 * time.Millisecond, RetryBackoffMax: 300 * time.Millisecond})
	runTxn(t, ctx, p, c, "first")
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	h := c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "t", Partition: 0,
		ErrorCode: wire.ErrNotEnoughReplicas.Code, Times: 1})
	f := p.Send(ctx, Record{Topic: "t", Value: []byte("numbered")})
	waitFor(t, ctx, "the first attempt", func() bool { return h.Hits() == 1 })
	if err := p.AbortTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Wait(ctx); err != nil {
		t.Logf("the aborted record: %v", err) // sent or not, it is aborted
	}
	runTxn(t, ctx, p, c, "second")
}

// A Send that waits for metadata while the transaction commits does not slip in after it:
// it fails with ErrTransactionState, and nothing is written outside a transaction.
func TestTxnSendRacingCommit(t *testing.T) {
	c, p, ctx := txnSetup(t, false, 1, Config{}, kafkatest.AutoCreateTopics(false))
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	metas := c.RequestCount(wire.KeyMetadata)
	late := make(chan error, 1)
	go func() { late <- p.Send(ctx, Record{Topic: "later", Value: []byte("v")}).Wait(ctx) }()
	waitFor(t, ctx, "the send to wait for metadata", func() bool { return c.RequestCount(wire.KeyMetadata) > metas })
	if err := p.CommitTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTopic("later", 1); err != nil {
		t.Fatal(err)
	}
	if err := <-late; !errors.Is(err, ErrTransactionState) {
		t.Fatalf("a send admitted before the commit, appended after it: %v", err)
	}
	if recs := c.Records("later", 0); len(recs) != 0 {
		t.Fatalf("%d records written outside a transaction", len(recs))
	}
}

// The calls that wait only for brokers work from a callback: PartitionsFor,
// SendOffsetsToTransaction (its offsets commit with the transaction), and BeginTransaction
// and InitTransactions, which refuse in this state as they would anywhere.
func TestBrokerCallsFromCallback(t *testing.T) {
	c, p, ctx := txnSetup(t, false, 2, Config{})
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	offsets := map[string]map[int32]Offset{"in": {0: {Offset: 5}}}
	res := make(chan []error, 1)
	var parts []PartitionInfo
	if err := p.SendAsync(ctx, Record{Topic: "t", Value: []byte("v")}, func(RecordMetadata, error) {
		var err error
		parts, err = p.PartitionsFor(ctx, "t")
		res <- []error{err, p.SendOffsetsToTransaction(ctx, offsets, ConsumerGroupMetadata{GroupID: "g"}), p.BeginTransaction(), p.InitTransactions(ctx)}
	}); err != nil {
		t.Fatal(err)
	}
	var errs []error
	select {
	case errs = <-res:
	case <-ctx.Done():
		t.Fatal("the callback's calls never returned")
	}
	if errs[0] != nil || len(parts) != 2 {
		t.Fatalf("PartitionsFor from a callback: %v, %v", parts, errs[0])
	}
	if errs[1] != nil {
		t.Fatalf("SendOffsetsToTransaction from a callback: %v", errs[1])
	}
	if !errors.Is(errs[2], ErrTransactionState) || !errors.Is(errs[3], ErrTransactionState) {
		t.Fatalf("BeginTransaction and InitTransactions in a transaction, from a callback: %v, %v", errs[2], errs[3])
	}
	if err := p.CommitTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.CommittedOffsets("g")["in"][0].Offset; got != 5 {
		t.Fatalf("committed offset %d, want 5", got)
	}
}

// Flush from a callback fails with ErrInCallback; Close from a callback returns without
// waiting for itself, and the records still pending fail with ErrClosed.
func TestFlushAndCloseFromCallback(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("cb", 1))
	p, err := New(Config{BootstrapServers: c.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 20*time.Second)
	flushErr := make(chan error, 1)
	if err := p.SendAsync(ctx, Record{Topic: "cb", Value: []byte("1")}, func(_ RecordMetadata, err error) {
		flushErr <- p.Flush(context.Background())
	}); err != nil {
		t.Fatal(err)
	}
	if err := <-flushErr; !errors.Is(err, ErrInCallback) {
		t.Fatalf("Flush from a callback: %v", err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Close from a callback, with records still pending behind it.
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "cb", Partition: 0,
		Delay: 200 * time.Millisecond, Times: -1})
	closed := make(chan error, 1)
	var mu sync.Mutex
	var outcomes []error
	if err := p.SendAsync(ctx, Record{Topic: "cb", Value: []byte("2")}, func(_ RecordMetadata, err error) {
		closed <- p.Close(context.Background())
	}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		_ = p.SendAsync(ctx, Record{Topic: "cb", Value: []byte("later")}, func(_ RecordMetadata, err error) {
			mu.Lock()
			outcomes = append(outcomes, err)
			mu.Unlock()
		})
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close from a callback: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Close from a callback did not return")
	}
	if err := p.Close(ctx); err != nil { // waits for the callbacks to finish
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(outcomes) != 10 {
		t.Fatalf("%d of 10 pending records got an outcome", len(outcomes))
	}
}

// Hooks run with no lock of ours held: OnBatchDone may send to the same partition.
type sendingHooks struct {
	NoHooks
	p    atomic.Pointer[Producer]
	sent atomic.Int64
}

func (h *sendingHooks) OnBatchDone(topic string, _ int32, _ int, _ int, err error) {
	if p := h.p.Load(); p != nil && topic == "hook" && h.sent.Add(1) <= 3 {
		_ = p.SendAsync(context.Background(), Record{Topic: "hook", Value: []byte("from a hook")}, nil)
		_ = p.Stats()
	}
}

func TestHooksMayCallTheProducer(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("hook", 1))
	h := &sendingHooks{}
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Hooks: h})
	h.p.Store(p)
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.Send(ctx, Record{Topic: "hook", Value: []byte("first")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitForRecords(ctx, "hook", 4); err != nil {
		t.Fatalf("records sent from OnBatchDone: %v", err)
	}
}

// The fail-everything path (a fatal InitProducerId error) tells Stats and OnBatchDone too.
type failHooks struct {
	NoHooks
	batchRecords, records atomic.Int64
}

func (h *failHooks) OnBatchDone(_ string, _ int32, n int, _ int, err error) {
	if err != nil {
		h.batchRecords.Add(int64(n))
	}
}
func (h *failHooks) OnRecordDone(_ RecordMetadata, err error) {
	if err != nil {
		h.records.Add(1)
	}
}

func TestFatalErrorObservedEverywhere(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("fatal", 2))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyInitProducerID, Broker: kafkatest.AnyBroker, ErrorCode: wire.ErrClusterAuthorizationFailed.Code, Times: -1})
	h := &failHooks{}
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Hooks: h})
	ctx := ctxTimeout(t, 20*time.Second)
	const n = 20
	var futs []*Future
	for i := range n {
		futs = append(futs, p.Send(ctx, Record{Topic: "fatal", Key: []byte{byte(i)}, Value: []byte("v")}))
	}
	for _, f := range futs {
		if err := f.Wait(ctx); !errors.Is(err, wire.ErrClusterAuthorizationFailed) {
			t.Fatalf("record: %v", err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.RecordsFailed != n || h.batchRecords.Load() != n || h.records.Load() != n {
		t.Fatalf("Stats.RecordsFailed %d, OnBatchDone records %d, OnRecordDone %d; want %d each",
			s.RecordsFailed, h.batchRecords.Load(), h.records.Load(), n)
	}
}

// Batches for a leader that cannot be reached wait for it (up to delivery.timeout.ms)
// instead of spending their retries on dials.
func TestUnreachableLeaderSpendsNoRetries(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("down", 1))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), Retries: 2, RetryBackoff: 10 * time.Millisecond,
		RetryBackoffMax: 20 * time.Millisecond, RequestTimeout: 5 * time.Second, DeliveryTimeout: 30 * time.Second})
	ctx := ctxTimeout(t, 30*time.Second)
	if err := p.Send(ctx, Record{Topic: "down", Value: []byte("warm-up")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	leader := c.Leader("down", 0)
	if err := c.StopBroker(leader); err != nil {
		t.Fatal(err)
	}
	f := p.Send(ctx, Record{Topic: "down", Value: []byte("waits")})
	// Many failed dials later (10-20 ms apart), the record still waits.
	waitFor(t, ctx, "failed dials", func() bool {
		select {
		case <-f.Done():
			return true
		default:
			return p.Stats().ConnectionErrors >= 10
		}
	})
	select {
	case <-f.Done():
		_, err := f.Get(ctx)
		t.Fatalf("the record failed while its leader was unreachable: %v", err)
	default:
	}
	if err := c.StartBroker(leader); err != nil {
		t.Fatal(err)
	}
	if err := f.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if r := p.Stats().RecordsRetried; r != 0 {
		t.Fatalf("%d records counted as retried; nothing was sent", r)
	}
}

// Close(ctx) ends a dial in progress: a broker that accepts and never answers does not hold
// it for request.timeout.ms.
func TestCloseInterruptsDial(t *testing.T) {
	testutil.CheckNoLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	p, err := New(Config{BootstrapServers: []string{ln.Addr().String()}, RequestTimeout: time.Minute, DeliveryTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 30*time.Second)
	sendDone := make(chan error, 1)
	go func() { sendDone <- p.Send(ctx, Record{Topic: "t", Value: []byte("v")}).Wait(ctx) }()
	closeCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	returned := make(chan error, 1)
	go func() { returned <- p.Close(closeCtx) }()
	select {
	case <-returned:
	case <-time.After(15 * time.Second): // request.timeout.ms is a minute
		t.Fatal("Close waited for a dial that never ends")
	}
	if err := <-sendDone; !errors.Is(err, ErrClosed) {
		t.Fatalf("the waiting send: %v", err)
	}
}

// batch.size bounds the whole batch, header included: with a broker whose limit
// (message.max.bytes) equals batch.size, full batches are never too large. (With
// batch.size=1048576, a common setting, that is what keeps them within Kafka's default
// 1048588.)
func TestBatchSizeIncludesHeader(t *testing.T) {
	const batchSize = 16384
	c := newCluster(t, kafkatest.SeedTopic("big", 1), kafkatest.MaxMessageBytes(batchSize))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), BatchSize: batchSize, Linger: time.Second})
	ctx := ctxTimeout(t, 60*time.Second)
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	for size := 40; size < 60; size++ { // record sizes that end full batches at every offset
		for range 1000 {
			err := p.SendAsync(ctx, Record{Topic: "big", Value: make([]byte, size)}, func(_ RecordMetadata, err error) {
				if err != nil && failed.Add(1) == 1 {
					firstErr.Store(&err)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d records failed, the first with %v", n, *firstErr.Load())
	}
	if s := p.Stats(); s.AvgBatchBytes < batchSize/2 { // most batches are full
		t.Fatalf("batches of %.0f bytes on average: not full", s.AvgBatchBytes)
	}
}

// Coordinator requests are sent again after a dropped connection.
func TestTxnCoordinatorDropsRetried(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			c, p, ctx := txnSetup(t, v2, 2, Config{RetryBackoff: 5 * time.Millisecond, RetryBackoffMax: 20 * time.Millisecond})
			coord := c.TransactionCoordinator("edge")
			for _, key := range []int16{wire.KeyAddPartitionsToTxn, wire.KeyEndTxn, wire.KeyFindCoordinator} {
				c.InjectFault(kafkatest.Fault{Key: key, Broker: coord, DropConnection: true, Times: 2})
			}
			runTxn(t, ctx, p, c, "dropped")
			runTxn(t, ctx, p, c, "next")
		})
	}
}

// A commit whose answer was lost is learned by resending EndTxn: it is reported as the
// success it was, and the producer goes on.
func TestTxnCommitAnswerLost(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		for _, mode := range []string{"dropped", "swallowed"} {
			t.Run(fmt.Sprintf("v2=%v/%s", v2, mode), func(t *testing.T) {
				c, p, ctx := txnSetup(t, v2, 2, Config{RequestTimeout: 500 * time.Millisecond, DeliveryTimeout: 2 * time.Second,
					RetryBackoff: 5 * time.Millisecond, RetryBackoffMax: 20 * time.Millisecond})
				c.InjectFault(kafkatest.Fault{Key: wire.KeyEndTxn, Broker: kafkatest.AnyBroker, AppendAnyway: true,
					DropConnection: mode == "dropped", Swallow: mode == "swallowed", Times: 1})
				runTxn(t, ctx, p, c, "lost-answer")
				runTxn(t, ctx, p, c, "next")
			})
		}
	}
}

// CommitTransaction and AbortTransaction called while another goroutine's commit is under
// way wait for its outcome instead of ending the transaction a second time: one EndTxn, and
// the next transaction, begun as soon as one of the calls returned, is not disturbed by the
// other. A waiter whose ctx ends returns ErrTimeout, and the commit goes on.
func TestConcurrentEndsWaitForTheFirst(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			c, p, ctx := txnSetup(t, v2, 1, Config{})
			send := func(v string) {
				t.Helper()
				if err := p.Send(ctx, Record{Topic: "t", Value: []byte(v)}).Wait(ctx); err != nil {
					t.Fatal(err)
				}
			}
			// commitHeld begins a transaction with one record and commits it from another
			// goroutine, its EndTxn answered 300 ms late; it returns once EndTxn was sent.
			commitHeld := func(v string) <-chan error {
				t.Helper()
				if err := p.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				send(v)
				c.InjectFault(kafkatest.Fault{Key: wire.KeyEndTxn, Broker: kafkatest.AnyBroker, Delay: 300 * time.Millisecond})
				ends := c.RequestCount(wire.KeyEndTxn)
				first := make(chan error, 1)
				go func() { first <- p.CommitTransaction(ctx) }()
				waitFor(t, ctx, "the first commit's EndTxn", func() bool { return c.RequestCount(wire.KeyEndTxn) > ends })
				return first
			}
			ends := c.RequestCount(wire.KeyEndTxn)

			first := commitHeld("1")
			if err := p.CommitTransaction(ctx); err != nil {
				t.Fatalf("second commit: %v", err)
			}
			if err := p.BeginTransaction(); err != nil { // before the first call may have returned
				t.Fatal(err)
			}
			send("2")
			if err := <-first; err != nil {
				t.Fatalf("first commit: %v", err)
			}
			if err := p.CommitTransaction(ctx); err != nil {
				t.Fatalf("the next transaction's commit: %v", err)
			}

			first = commitHeld("3")
			if err := p.AbortTransaction(ctx); !errors.Is(err, ErrTransactionCommitted) {
				t.Fatalf("abort during the commit: %v, want ErrTransactionCommitted", err)
			}
			if err := <-first; err != nil {
				t.Fatalf("commit during the abort: %v", err)
			}

			first = commitHeld("4")
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			if err := p.CommitTransaction(short); !errors.Is(err, ErrTimeout) {
				t.Fatalf("commit waiting past its ctx: %v, want ErrTimeout", err)
			}
			if err := <-first; err != nil {
				t.Fatalf("commit: %v", err)
			}

			if n := c.RequestCount(wire.KeyEndTxn) - ends; n != 4 {
				t.Fatalf("%d EndTxn requests for 4 transactions", n)
			}
			var got []string
			for _, r := range c.CommittedRecords("t", 0) {
				got = append(got, string(r.Value))
			}
			if want := []string{"1", "2", "3", "4"}; !slices.Equal(got, want) {
				t.Fatalf("committed %q, want %q", got, want)
			}
		})
	}
}

// CommitTransaction, like the Java client's, is bounded by max.block.ms even when its ctx has
// no deadline: with the coordinator never answering EndTxn it returns ErrTimeout, and once
// the coordinator answers again, the commit resumed by a second call succeeds.
func TestCommitBoundedByMaxBlock(t *testing.T) {
	c, p, ctx := txnSetup(t, false, 1, Config{MaxBlock: 300 * time.Millisecond, RequestTimeout: 200 * time.Millisecond,
		RetryBackoff: 10 * time.Millisecond, RetryBackoffMax: 50 * time.Millisecond})
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, Record{Topic: "t", Value: []byte("v")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	h := c.InjectFault(kafkatest.Fault{Key: wire.KeyEndTxn, Broker: kafkatest.AnyBroker, Swallow: true, Times: -1})
	done := make(chan error, 1)
	go func() { done <- p.CommitTransaction(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("commit: %v, want ErrTimeout", err)
		}
	case <-ctx.Done():
		t.Fatal("CommitTransaction with a ctx without deadline never returned")
	}
	h.Remove()
	if err := p.CommitTransaction(context.Background()); err != nil {
		t.Fatalf("resumed commit: %v", err)
	}
	if n := len(c.CommittedRecords("t", 0)); n != 1 {
		t.Fatalf("%d records committed, want 1", n)
	}
}

// Close waits for a commit under way, as the Java client's close waits for its transactional
// requests: the commit succeeds. A commit begun after Close fails with ErrClosed at once.
func TestCloseWaitsForCommit(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			c, p, ctx := txnSetup(t, v2, 1, Config{})
			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			f := p.Send(ctx, Record{Topic: "t", Value: []byte("1")})
			c.InjectFault(kafkatest.Fault{Key: wire.KeyEndTxn, Broker: kafkatest.AnyBroker, Delay: 300 * time.Millisecond})
			ends := c.RequestCount(wire.KeyEndTxn)
			committed := make(chan error, 1)
			go func() { committed <- p.CommitTransaction(ctx) }()
			waitFor(t, ctx, "the commit's EndTxn", func() bool { return c.RequestCount(wire.KeyEndTxn) > ends })
			if err := p.Close(ctx); err != nil {
				t.Fatalf("close: %v", err)
			}
			p.txn.mu.Lock()
			ending := p.txn.ending
			p.txn.mu.Unlock()
			if ending != nil {
				t.Fatal("Close returned before the commit under way had its outcome")
			}
			if err := <-committed; err != nil {
				t.Fatalf("commit: %v", err)
			}
			if err := f.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(c.CommittedRecords("t", 0)); n != 1 {
				t.Fatalf("%d records committed, want 1", n)
			}
			if err := p.AbortTransaction(ctx); !errors.Is(err, ErrClosed) {
				t.Fatalf("abort after Close: %v, want ErrClosed", err)
			}
		})
	}
}

// A Close whose ctx ends first does not leave a commit under way retrying until the
// commit's own ctx ends: it fails at once with ErrClosed, and, as its EndTxn was written and
// never answered, with ErrTransactionOutcomeUnknown.
func TestCloseInterruptsCommit(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			c, p, ctx := txnSetup(t, v2, 1, Config{})
			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := p.Send(ctx, Record{Topic: "t", Value: []byte("1")}).Wait(ctx); err != nil {
				t.Fatal(err)
			}
			c.InjectFault(kafkatest.Fault{Key: wire.KeyEndTxn, Broker: kafkatest.AnyBroker, Swallow: true, Times: -1})
			ends := c.RequestCount(wire.KeyEndTxn)
			long, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			committed := make(chan error, 1)
			go func() { committed <- p.CommitTransaction(long) }()
			waitFor(t, ctx, "the commit's EndTxn", func() bool { return c.RequestCount(wire.KeyEndTxn) > ends })
			short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancelShort()
			if err := p.Close(short); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("close: %v, want its ctx's deadline", err)
			}
			select {
			case err := <-committed:
				if !errors.Is(err, ErrClosed) || !errors.Is(err, ErrTransactionOutcomeUnknown) {
					t.Fatalf("commit: %v, want ErrClosed and ErrTransactionOutcomeUnknown", err)
				}
			case <-ctx.Done():
				t.Fatal("the commit goes on after Close")
			}
		})
	}
}

// A commit interrupted by its ctx before the outcome is known is resumed by calling
// CommitTransaction again; abort is refused meanwhile.
func TestTxnCommitResumes(t *testing.T) {
	c, p, ctx := txnSetup(t, false, 1, Config{RequestTimeout: 3 * time.Second, DeliveryTimeout: 6 * time.Second,
		RetryBackoff: 5 * time.Millisecond, RetryBackoffMax: 20 * time.Millisecond})
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, Record{Topic: "t", Value: []byte("r-0")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	c.InjectFault(kafkatest.Fault{Key: wire.KeyEndTxn, Broker: kafkatest.AnyBroker, AppendAnyway: true, Swallow: true, Times: 1})
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := p.CommitTransaction(short); !errors.Is(err, ErrTimeout) {
		t.Fatalf("interrupted commit: %v", err)
	}
	if err := p.CommitTransaction(ctx); err != nil {
		t.Fatalf("resumed commit: %v", err)
	}
	if got := committedValues(c, "t"); len(got) != 1 {
		t.Fatalf("committed %v", got)
	}
	runTxn(t, ctx, p, c, "next")

	// An abort after an interrupted commit learns the commit's outcome and reports it: the
	// transaction was committed, which the abort does not undo; the producer goes on.
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, Record{Topic: "t", Value: []byte("r-1")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	c.InjectFault(kafkatest.Fault{Key: wire.KeyEndTxn, Broker: kafkatest.AnyBroker, AppendAnyway: true, Swallow: true, Times: 1})
	short2, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if err := p.CommitTransaction(short2); !errors.Is(err, ErrTimeout) {
		t.Fatalf("interrupted commit: %v", err)
	}
	err := p.AbortTransaction(ctx)
	if !errors.Is(err, ErrTransactionCommitted) {
		t.Fatalf("abort after an interrupted commit: %v", err)
	}
	n := 0
	for _, v := range committedValues(c, "t") {
		if v == "r-1" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the interrupted commit's record committed %d times", n)
	}
	runTxn(t, ctx, p, c, "after-abort")

	// A commit interrupted before EndTxn (its records not all sent) committed nothing: an
	// abort after it aborts.
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	h := c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Delay: time.Second, Times: 1})
	f := p.Send(ctx, Record{Topic: "t", Value: []byte("r-2")})
	short3, cancel3 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel3()
	if err := p.CommitTransaction(short3); !errors.Is(err, ErrTimeout) {
		t.Fatalf("commit interrupted in its flush: %v", err)
	}
	if err := p.AbortTransaction(ctx); err != nil {
		t.Fatalf("abort after a commit interrupted before EndTxn: %v", err)
	}
	_ = f.Wait(ctx)
	h.Remove()
	for _, v := range committedValues(c, "t") {
		if v == "r-2" {
			t.Fatal("a commit interrupted before EndTxn, then aborted, committed its record")
		}
	}
	runTxn(t, ctx, p, c, "after-interrupted-flush")
}

// CONCURRENT_TRANSACTIONS from AddPartitionsToTxn (the previous transaction's markers are
// being written) is retried after 20 ms, not retry.backoff.ms, as in the Java client.
func TestConcurrentTransactionsBackoff(t *testing.T) {
	c := newCluster(t)
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "b", RetryBackoff: time.Second, RetryBackoffMax: time.Second})
	if d := p.txn.retryBackoff(fmt.Errorf("x: %w", wire.ErrConcurrentTransactions), 1); d > addPartitionsBackoff {
		t.Fatalf("CONCURRENT_TRANSACTIONS backoff %v", d)
	}
	if d := p.txn.retryBackoff(wire.ErrCoordinatorLoadInProgress, 1); d < 500*time.Millisecond {
		t.Fatalf("other retriable errors back off retry.backoff.ms, got %v", d)
	}
}

// Transactions back to back while the coordinator writes each one's markers after answering
// its EndTxn, as Kafka's does (kafkatest.MarkerDelay): the next transaction's
// AddPartitionsToTxn (V1) meets CONCURRENT_TRANSACTIONS and is retried, its first Produce
// (V2) waits at the broker; every transaction ends as asked and no record fails.
func TestTransactionsDuringMarkerWrites(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			c, p, ctx := txnSetup(t, v2, 3, Config{Linger: NoLinger}, kafkatest.MarkerDelay(20*time.Millisecond))
			committed := 0
			for i := range 12 {
				if err := p.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				var fs []*Future
				for k := range 3 {
					fs = append(fs, p.Send(ctx, Record{Topic: "t", Partition: ToPartition(int32(k)), Value: []byte(strconv.Itoa(i))}))
				}
				for _, f := range fs {
					if err := f.Wait(ctx); err != nil {
						t.Fatalf("transaction %d: %v", i, err)
					}
				}
				end, commit := p.CommitTransaction, i%3 != 2
				if !commit {
					end = p.AbortTransaction
				}
				if err := end(ctx); err != nil {
					t.Fatalf("transaction %d (commit %v): %v", i, commit, err)
				}
				if commit {
					committed += 3
				}
			}
			c.WriteMarkers()
			n := 0
			for k := range int32(3) {
				n += len(c.CommittedRecords("t", k))
			}
			if n != committed {
				t.Fatalf("%d records committed, want %d", n, committed)
			}
			if s := p.Stats(); s.RecordsFailed != 0 {
				t.Fatalf("%d records failed", s.RecordsFailed)
			}
		})
	}
}

// BenchmarkTransaction measures transactions of 50 records when every AddPartitionsToTxn
// first meets CONCURRENT_TRANSACTIONS, as after each EndTxn on a real broker.
func BenchmarkTransaction(b *testing.B) {
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic("t", 1), kafkatest.TransactionsV2(false))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	p, err := New(Config{BootstrapServers: c.Addrs(), TransactionalID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	ctx := context.Background()
	if err := p.InitTransactions(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		c.InjectFault(kafkatest.Fault{Key: wire.KeyAddPartitionsToTxn, Broker: kafkatest.AnyBroker, ErrorCode: wire.ErrConcurrentTransactions.Code, Times: 1})
		if err := p.BeginTransaction(); err != nil {
			b.Fatal(err)
		}
		for range 50 {
			if err := p.SendAsync(ctx, Record{Topic: "t", Value: []byte("v")}, nil); err != nil {
				b.Fatal(err)
			}
		}
		if err := p.CommitTransaction(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txn/s")
}

// A topic deleted and created again with fewer partitions is known by its new partition
// count (the topic id changed): keyed records hash over the new count and succeed.
func TestTopicRecreatedWithFewerPartitions(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("re", 6))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), MetadataMaxAge: 100 * time.Millisecond})
	ctx := ctxTimeout(t, 20*time.Second)
	for i := range 12 {
		if err := p.Send(ctx, Record{Topic: "re", Key: []byte{byte(i)}, Value: []byte("old")}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.DeleteTopic("re"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTopic("re", 2); err != nil {
		t.Fatal(err)
	}
	// Once the producer has seen the new topic, every keyed record goes to partition
	// murmur2(key) % 2 and succeeds.
	waitFor(t, ctx, "the new partition count", func() bool {
		_, parts, err := p.topicParts(ctx, "re", 0, time.Now().Add(time.Second))
		return err == nil && len(parts) == 2
	})
	for i := range 12 {
		key := []byte{byte(i)}
		md, err := p.Send(ctx, Record{Topic: "re", Key: key, Value: []byte("new")}).Get(ctx)
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		if md.Partition != KeyPartition(key, 2) {
			t.Fatalf("key %d in partition %d, want %d of 2", i, md.Partition, KeyPartition(key, 2))
		}
	}
}

// A topic deleted and created again under its name (a new topic id) has no producer state
// in its new partitions, until a transaction marker gives it one: then its broker, as
// Kafka's, takes only sequence 0 from the producer (a marker-only state has no last
// sequence). The partition's sequences start again at 0, and the next records succeed.
// Numbered on (sequence 3), the transaction after the marker would fail with
// OUT_OF_ORDER_SEQUENCE_NUMBER. The marker: with transactions V1 the partition joins the
// aborted transaction by AddPartitionsToTxn, while its record lingers and the abort fails it
// unnumbered. Idempotent and transactions V2 producers, whose new partitions get no
// marker-only state here, must go on as well.
func TestRecreatedTopicRestartsSequences(t *testing.T) {
	for _, mode := range []string{"txn-v1", "txn-v2", "idempotent"} {
		t.Run(mode, func(t *testing.T) {
			c := newCluster(t, kafkatest.SeedTopic("re", 1), kafkatest.TransactionsV2(mode == "txn-v2"))
			// Records linger until a commit or Flush sends them.
			cfg := Config{BootstrapServers: c.Addrs(), MetadataMaxAge: 50 * time.Millisecond, Linger: time.Minute}
			transactional := mode != "idempotent"
			if transactional {
				cfg.TransactionalID = "re"
			}
			p := newProducer(t, cfg)
			ctx := ctxTimeout(t, 20*time.Second)
			if transactional {
				if err := p.InitTransactions(ctx); err != nil {
					t.Fatal(err)
				}
			}
			send := func(v string) *Future {
				return p.Send(ctx, Record{Topic: "re", Partition: ToPartition(0), Value: []byte(v)})
			}
			// txn sends the values in a transaction and commits it (or flushes them).
			txn := func(values ...string) {
				t.Helper()
				if transactional {
					if err := p.BeginTransaction(); err != nil {
						t.Fatal(err)
					}
				}
				var fs []*Future
				for _, v := range values {
					fs = append(fs, send(v))
				}
				end := p.Flush
				if transactional {
					end = p.CommitTransaction
				}
				if err := end(ctx); err != nil {
					t.Fatalf("sending %q: %v", values, err)
				}
				for _, f := range fs {
					if err := f.Wait(ctx); err != nil {
						t.Fatalf("sending %q: %v", values, err)
					}
				}
			}
			txn("old", "old", "old")
			ts := recreateTopic(t, ctx, c, p, "re")
			failed := int64(0)
			if mode == "txn-v1" {
				if err := p.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				f := send("aborted")
				pa := (*ts.parts.Load())[0]
				waitFor(t, ctx, "AddPartitionsToTxn", pa.txnAdded.Load)
				if err := p.AbortTransaction(ctx); err != nil {
					t.Fatal(err)
				}
				if err := f.Wait(ctx); !errors.Is(err, ErrTransactionState) {
					t.Fatalf("the lingering record of the aborted transaction: %v", err)
				}
				failed = 1
			}
			txn("new")
			if recs := c.CommittedRecords("re", 0); len(recs) != 1 || string(recs[0].Value) != "new" {
				t.Fatalf("the new topic holds %d records, want the new one", len(recs))
			}
			if n := p.Stats().RecordsFailed; n != failed {
				t.Fatalf("%d records failed, want %d", n, failed)
			}
		})
	}
}

// A broker that has not learned of a recreation yet describes the deleted topic, with its
// old id: the producer ignores that answer and asks again, rather than taking it, and the
// next answer with the new id, for two more recreations. Taken, the flips back and forth
// would restart the idle partition's sequences while the new topic's log holds them at 1:
// the next transaction would fail with OUT_OF_ORDER_SEQUENCE_NUMBER.
func TestStaleTopicIDIgnored(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("re", 1), kafkatest.TransactionsV2(false))
	pn := startProxies(t, c)
	p := newProducer(t, Config{BootstrapServers: pn.addrs(), TransactionalID: "stale", MetadataMaxAge: 20 * time.Millisecond,
		Linger: NoLinger, RetryBackoff: 5 * time.Millisecond, RetryBackoffMax: 20 * time.Millisecond})
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	commit := func(v string) {
		t.Helper()
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := p.Send(ctx, Record{Topic: "re", Partition: ToPartition(0), Value: []byte(v)}).Wait(ctx); err != nil {
			t.Fatalf("send %s: %v", v, err)
		}
		if err := p.CommitTransaction(ctx); err != nil {
			t.Fatalf("commit %s: %v", v, err)
		}
	}
	commit("old")
	oldID, _ := c.TopicID("re")
	ts := recreateTopic(t, ctx, c, p, "re")
	newID, _ := c.TopicID("re")
	commit("first") // sequence 0 of the new topic

	stale := func(h wire.RequestHeader, a []byte) ([]byte, bool) {
		corr, body, err := wire.ParseResponseHeader(a[4:], h.APIKey, h.APIVersion)
		var m wire.MetadataResponse
		if err != nil || m.Decode(body, h.APIVersion) != nil {
			return a, false
		}
		for i := range m.Topics {
			if m.Topics[i].TopicID == newID {
				m.Topics[i].TopicID = oldID
			}
		}
		return wire.AppendResponse(nil, corr, h.APIVersion, &m), false
	}
	for _, px := range pn.proxies {
		px.setHook(onKey(wire.KeyMetadata, 1, stale))
	}
	before := c.RequestCount(wire.KeyMetadata)
	waitFor(t, ctx, "5 stale Metadata answers", func() bool { return c.RequestCount(wire.KeyMetadata) >= before+5 })
	for _, px := range pn.proxies {
		px.setHook(nil)
	}
	if got := *ts.id.Load(); got != newID {
		t.Fatalf("topic id %v after stale answers, want the new one %v", got, newID)
	}
	before = c.RequestCount(wire.KeyMetadata)
	waitFor(t, ctx, "3 more Metadata answers", func() bool { return c.RequestCount(wire.KeyMetadata) >= before+3 })
	commit("second") // sequence 1
	if recs := c.CommittedRecords("re", 0); len(recs) != 2 {
		t.Fatalf("the new topic holds %d committed records, want 2", len(recs))
	}
}

// A record for a partition the cluster just added waits for the metadata that lists it
// (a refresh is asked for at once), rather than failing.
func TestSendToAddedPartition(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("grow", 2))
	p := newProducer(t, Config{BootstrapServers: c.Addrs()}) // metadata.max.age.ms: 5 minutes
	ctx := ctxTimeout(t, 20*time.Second)
	if err := p.Send(ctx, Record{Topic: "grow", Value: []byte("v")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.CreatePartitions("grow", 4); err != nil {
		t.Fatal(err)
	}
	md, err := p.Send(ctx, Record{Topic: "grow", Partition: ToPartition(3), Value: []byte("new partition")}).Get(ctx)
	if err != nil || md.Partition != 3 {
		t.Fatalf("send to the added partition: %+v %v", md, err)
	}
}

// A transactional send that fails before its record is enqueued (too large, here) makes the
// transaction abortable, as in the Java client: the record is missing from it.
func TestTxnSendFailureBeforeEnqueueAborts(t *testing.T) {
	c, p, ctx := txnSetup(t, false, 1, Config{MaxRequestSize: 1000})
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, Record{Topic: "t", Value: []byte("ok")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, Record{Topic: "t", Value: make([]byte, 2000)}).Wait(ctx); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("oversized record: %v", err)
	}
	if err := p.CommitTransaction(ctx); err == nil {
		t.Fatal("a transaction missing a record committed")
	}
	if err := p.AbortTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	runTxn(t, ctx, p, c, "after")
}

// Adaptive partitioning (KIP-794): with one leader slowed down, unkeyed records shift to the
// partitions whose leaders drain; uniform sticky partitioning spreads them evenly.
func TestAdaptivePartitioningAvoidsSlowLeader(t *testing.T) {
	share := func(adaptive Switch) float64 {
		c := newCluster(t, kafkatest.SeedTopic("ad", 3))
		slow := c.Leader("ad", 0)
		for i := int32(1); i < 3; i++ {
			if c.Leader("ad", i) == slow {
				if err := c.MoveLeader("ad", i, (slow+1)%3); err != nil {
					t.Fatal(err)
				}
			}
		}
		p := newProducer(t, Config{BootstrapServers: c.Addrs(), BatchSize: 1024, PartitionerAdaptive: adaptive})
		ctx := ctxTimeout(t, 60*time.Second)
		if _, err := p.PartitionsFor(ctx, "ad"); err != nil {
			t.Fatal(err)
		}
		c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: slow, Topic: "ad", Partition: kafkatest.AnyPartition,
			Delay: 20 * time.Millisecond, Times: -1})
		const n = 3000
		for i := range n {
			if err := p.SendAsync(ctx, Record{Topic: "ad", Value: make([]byte, 100)}, nil); err != nil {
				t.Fatal(err)
			}
			if i%100 == 99 {
				time.Sleep(time.Millisecond) // a steady stream, not one burst
			}
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		return float64(len(c.Records("ad", 0))) / n
	}
	uniform, adaptive := share(Disabled), share(Default)
	t.Logf("share of the slow leader's partition: uniform %.3f, adaptive %.3f", uniform, adaptive)
	if adaptive > uniform/2 {
		t.Fatalf("adaptive partitioning gave the slow partition %.3f of the records, uniform %.3f", adaptive, uniform)
	}
}

// A coordinator request waits for no broker longer than its caller's ctx: not for a dial
// to a coordinator that accepts and never answers (bounded by the connection setup timeout,
// 20 s here), nor for another request holding the coordinator connection meanwhile. Before,
// the dials ran under the producer's own ctx and the wait for the other request had no ctx.
func TestCoordinatorCallsEndWithCtx(t *testing.T) {
	const stall = 20 * time.Second // connection setup and request timeouts
	setup := func(t *testing.T) (*kafkatest.Cluster, *Producer, context.Context) {
		c, p, ctx := txnSetup(t, false, 2, Config{SetupTimeout: stall, SetupTimeoutMax: stall, RequestTimeout: stall})
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := p.Send(ctx, Record{Topic: "t", Partition: ToPartition(0), Value: []byte("v")}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
		// The coordinator moves to a broker whose connections hang before ApiVersions is answered.
		to := (c.TransactionCoordinator("edge") + 1) % 3
		c.InjectFault(kafkatest.Fault{Key: wire.KeyApiVersions, Broker: to, Swallow: true, Times: -1})
		if err := c.MoveTransactionCoordinator("edge", to); err != nil {
			t.Fatal(err)
		}
		return c, p, ctx
	}
	// returnsSoon fails unless call returns, with an error wrapping want, long before the
	// stall ends.
	returnsSoon := func(t *testing.T, what string, want error, call func() error) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- call() }()
		select {
		case err := <-done:
			if !errors.Is(err, want) {
				t.Fatalf("%s: %v, want %v", what, err, want)
			}
		case <-time.After(stall / 2):
			t.Fatalf("%s waited for the coordinator's stalled connection", what)
		}
	}

	t.Run("dial", func(t *testing.T) {
		_, p, ctx := setup(t)
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		returnsSoon(t, "CommitTransaction", ErrTimeout, func() error { return p.CommitTransaction(short) })
	})
	t.Run("another request", func(t *testing.T) {
		c, p, ctx := setup(t)
		// A record to a partition not in the transaction yet: AddPartitionsToTxn looks for the
		// coordinator, and hangs in the dial.
		dials := c.RequestCount(wire.KeyFindCoordinator)
		if err := p.SendAsync(ctx, Record{Topic: "t", Partition: ToPartition(1), Value: []byte("w")}, nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "the FindCoordinator of AddPartitionsToTxn", func() bool { return c.RequestCount(wire.KeyFindCoordinator) > dials })
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		offsets := map[string]map[int32]Offset{"in": {0: {Offset: 1}}}
		returnsSoon(t, "SendOffsetsToTransaction", context.DeadlineExceeded, func() error {
			return p.SendOffsetsToTransaction(short, offsets, ConsumerGroupMetadata{GroupID: "g"})
		})
	})
}

// recreateTopic deletes topic and creates it again with one partition, and waits for p's
// metadata to show the new topic id.
func recreateTopic(t *testing.T, ctx context.Context, c *kafkatest.Cluster, p *Producer, topic string) *topicState {
	t.Helper()
	if err := c.DeleteTopic(topic); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTopic(topic, 1); err != nil {
		t.Fatal(err)
	}
	newID, _ := c.TopicID(topic)
	v, _ := p.topics.Load(topic)
	ts := v.(*topicState)
	waitFor(t, ctx, "the producer to see the new topic", func() bool { return *ts.id.Load() == newID })
	return ts
}
