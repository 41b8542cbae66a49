package producer

import (
	"context"
	"errors"
	"fmt"
	"github.com/gregor-kafka/producer/internal/testutil"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

func committedValues(c *kafkatest.Cluster, topic string) []string {
	var out []string
	for pa := int32(0); pa < int32(c.Partitions(topic)); pa++ {
		for _, r := range c.CommittedRecords(topic, pa) {
			out = append(out, string(r.Value))
		}
	}
	return out
}

func TestTransactionsCommitAndAbort(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			testutil.CheckNoLeaks(t)
			c := newCluster(t, kafkatest.SeedTopic("tx", 4), kafkatest.TransactionsV2(v2))
			p := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "tx-1"})
			ctx := ctxTimeout(t, 30*time.Second)
			if err := p.InitTransactions(ctx); err != nil {
				t.Fatal(err)
			}
			want := 0
			for round := 0; round < 4; round++ {
				if err := p.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				commit := round%2 == 0
				for i := 0; i < 100; i++ {
					v := fmt.Sprintf("%v-%d-%d", commit, round, i)
					if err := p.SendAsync(ctx, Record{Topic: "tx", Key: []byte{byte(i)}, Value: []byte(v)}, nil); err != nil {
						t.Fatal(err)
					}
				}
				var err error
				if round == 1 { // these reach the log before the abort; round 3's may not
					if err := p.Flush(ctx); err != nil {
						t.Fatal(err)
					}
				}
				if commit {
					want += 100
					err = p.CommitTransaction(ctx)
				} else {
					err = p.AbortTransaction(ctx)
				}
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			got := committedValues(c, "tx")
			if len(got) != want {
				t.Fatalf("%d committed records, want %d", len(got), want)
			}
			for _, v := range got {
				if !strings.HasPrefix(v, "true-") {
					t.Fatalf("aborted record %q is visible to read_committed", v)
				}
			}
			aborted := 0
			for pa := int32(0); pa < 4; pa++ {
				for _, r := range c.Records("tx", pa) {
					if r.Aborted {
						aborted++
					}
					if !r.Transactional {
						t.Fatalf("record %q not transactional", r.Value)
					}
				}
			}
			if aborted < 100 || aborted > 200 {
				t.Fatalf("%d aborted records in the log, want 100 to 200", aborted)
			}
			adds := c.RequestCount(wire.KeyAddPartitionsToTxn)
			if v2 != (adds == 0) {
				t.Fatalf("transactions V2 %v but %d AddPartitionsToTxn requests", v2, adds)
			}
			if err := p.Close(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTransactionUnkeyedSendsFromManyGoroutines: goroutines sending unkeyed records at once
// into a transaction spill from a locked sticky partition only to partitions already in it
// (lockSticky); every record of a committed transaction is committed, none of an aborted
// one, and no send of a committed transaction fails, as a record written to a partition
// outside the transaction would. While the test holds the sticky partition's lock, sends
// go on in the other partitions of the transaction.
func TestTransactionUnkeyedSendsFromManyGoroutines(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			c := newCluster(t, kafkatest.SeedTopic("txg", 6), kafkatest.TransactionsV2(v2))
			p := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "txg", BatchSize: 2048})
			ctx := ctxTimeout(t, 30*time.Second)
			if err := p.InitTransactions(ctx); err != nil {
				t.Fatal(err)
			}
			const goroutines, each = 8, 300
			var failed, appended atomic.Int64
			want := 0
			for round := range 4 {
				if err := p.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				commit := round%2 == 0
				var held *partition
				if round == 0 {
					// Some partitions join, then the sticky one is held locked while the
					// goroutines send: they must spill to the others in the transaction.
					for i := range 300 {
						if err := p.SendAsync(ctx, Record{Topic: "txg", Value: []byte(fmt.Sprintf("true-0-x-%d", i))}, nil); err != nil {
							t.Fatal(err)
						}
					}
					want += 300
					if err := p.Flush(ctx); err != nil { // added to the transaction, in V1 too
						t.Fatal(err)
					}
					ts, parts := p.knownParts("txg", 0)
					idx, _ := ts.sticky.Load().partition(len(parts))
					held = parts[idx]
					others := 0
					for _, pa := range parts {
						if pa != held && pa.txnAdded.Load() {
							others++
						}
					}
					if others == 0 {
						t.Fatal("300 records all went to one partition: nothing to spill to")
					}
					held.mu.Lock()
				}
				var wg sync.WaitGroup
				for g := range goroutines {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range each {
							v := fmt.Sprintf("%v-%d-%d-%d", commit, round, g, i)
							if err := p.SendAsync(ctx, Record{Topic: "txg", Value: []byte(v)}, func(_ RecordMetadata, err error) {
								if err != nil && commit { // an abort fails the records not written
									failed.Add(1)
								}
							}); err != nil {
								failed.Add(1)
							}
							appended.Add(1)
						}
					}()
				}
				if held != nil {
					// A send that finds every partition of the transaction locked waits for
					// its sticky one, as it would outside a transaction; but the first ones
					// spill, so some sends are done while the sticky partition is held.
					for deadline := time.Now().Add(10 * time.Second); appended.Load() < goroutines; time.Sleep(time.Millisecond) {
						if time.Now().After(deadline) {
							t.Errorf("%d sends done with the sticky partition locked: they did not spill", appended.Load())
							break
						}
					}
					held.mu.Unlock()
				}
				wg.Wait()
				var err error
				if commit {
					want += goroutines * each
					err = p.CommitTransaction(ctx)
				} else {
					err = p.AbortTransaction(ctx)
				}
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if n := failed.Load(); n != 0 {
				t.Fatalf("%d sends of committed transactions failed", n)
			}
			got := committedValues(c, "txg")
			if len(got) != want {
				t.Fatalf("%d committed records, want %d", len(got), want)
			}
			for _, v := range got {
				if !strings.HasPrefix(v, "true-") {
					t.Fatalf("aborted record %q is visible to read_committed", v)
				}
			}
		})
	}
}

// TestCommitOutcomeUnknownWhenFencedAfterLostAnswer: the commit's EndTxn takes effect but
// its connection drops before the answer; before the retry, a second producer with the same
// transactional.id initializes and fences this one. The retry's PRODUCER_FENCED cannot say
// whether the commit happened (here it did), so CommitTransaction reports the outcome
// unknown rather than a failure.
func TestCommitOutcomeUnknownWhenFencedAfterLostAnswer(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			c := newCluster(t, kafkatest.SeedTopic("unk", 1), kafkatest.TransactionsV2(v2))
			p := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "unk", RetryBackoff: 500 * time.Millisecond, RetryBackoffMax: time.Second})
			ctx := ctxTimeout(t, 20*time.Second)
			if err := p.InitTransactions(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := p.Send(ctx, Record{Topic: "unk", Value: []byte("v")}).Wait(ctx); err != nil {
				t.Fatal(err)
			}
			c.InjectFault(kafkatest.Fault{Key: wire.KeyEndTxn, Broker: kafkatest.AnyBroker, DropConnection: true, Times: 1})
			done := make(chan error, 1)
			go func() { done <- p.CommitTransaction(ctx) }()
			for c.RequestCount(wire.KeyEndTxn) < 1 {
				time.Sleep(time.Millisecond)
			}
			zombie := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "unk"})
			if err := zombie.InitTransactions(ctx); err != nil {
				t.Fatal(err)
			}
			err := <-done
			if !errors.Is(err, ErrTransactionOutcomeUnknown) || !errors.Is(err, wire.ErrProducerFenced) {
				t.Fatalf("CommitTransaction: %v, want ErrTransactionOutcomeUnknown wrapping PRODUCER_FENCED", err)
			}
			if got := committedValues(c, "unk"); len(got) != 1 {
				t.Fatalf("%d records committed, want the one of the commit that happened", len(got))
			}
		})
	}
}

func TestTransactionStateMachine(t *testing.T) {
	c := newCluster(t)
	ctx := ctxTimeout(t, 20*time.Second)
	plain := newProducer(t, Config{BootstrapServers: c.Addrs()})
	for name, err := range map[string]error{
		"init":   plain.InitTransactions(ctx),
		"begin":  plain.BeginTransaction(),
		"commit": plain.CommitTransaction(ctx),
		"abort":  plain.AbortTransaction(ctx),
	} {
		if !errors.Is(err, ErrTransactionState) {
			t.Errorf("%s on a non-transactional producer: %v", name, err)
		}
	}
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "sm"})
	steps := []struct {
		name string
		do   func() error
		ok   bool
	}{
		{"send before init", func() error { return p.Send(ctx, Record{Topic: "t", Value: []byte("v")}).Wait(ctx) }, false},
		{"begin before init", p.BeginTransaction, false},
		{"init", func() error { return p.InitTransactions(ctx) }, true},
		{"init twice", func() error { return p.InitTransactions(ctx) }, false},
		{"commit without begin", func() error { return p.CommitTransaction(ctx) }, false},
		{"send outside a transaction", func() error { return p.Send(ctx, Record{Topic: "t", Value: []byte("v")}).Wait(ctx) }, false},
		{"begin", p.BeginTransaction, true},
		{"begin twice", p.BeginTransaction, false},
		{"send", func() error { return p.Send(ctx, Record{Topic: "t", Value: []byte("v")}).Wait(ctx) }, true},
		{"commit", func() error { return p.CommitTransaction(ctx) }, true},
		{"abort without begin", func() error { return p.AbortTransaction(ctx) }, false},
		{"empty transaction", func() error {
			if err := p.BeginTransaction(); err != nil {
				return err
			}
			return p.CommitTransaction(ctx)
		}, true},
	}
	for _, s := range steps {
		err := s.do()
		if s.ok && err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !s.ok && !errors.Is(err, ErrTransactionState) {
			t.Fatalf("%s: got %v, want ErrTransactionState", s.name, err)
		}
	}
}

func TestTransactionFencing(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("fence", 2))
	ctx := ctxTimeout(t, 20*time.Second)
	old := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "same"})
	if err := old.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	if err := old.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := old.Send(ctx, Record{Topic: "fence", Value: []byte("old")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	young := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "same"})
	if err := young.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	err := old.CommitTransaction(ctx)
	if !errors.Is(err, wire.ErrProducerFenced) && !errors.Is(err, wire.ErrInvalidProducerEpoch) {
		t.Fatalf("fenced commit: %v", err)
	}
	if err := old.BeginTransaction(); !errors.Is(err, ErrTransactionState) {
		t.Fatalf("begin after being fenced: %v", err)
	}
	if err := young.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := young.Send(ctx, Record{Topic: "fence", Value: []byte("young")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := young.CommitTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	if got := committedValues(c, "fence"); len(got) != 1 || got[0] != "young" {
		t.Fatalf("committed %v", got)
	}
}

func TestTransactionCoordinatorErrorsRetried(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("retry-tx", 2), kafkatest.TransactionsV2(false))
	ctx := ctxTimeout(t, 20*time.Second)
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "r", RetryBackoff: time.Millisecond, RetryBackoffMax: 10 * time.Millisecond})
	coord := c.TransactionCoordinator("r")
	for _, f := range []kafkatest.Fault{
		{Key: wire.KeyFindCoordinator, ErrorCode: wire.ErrCoordinatorNotAvailable.Code},
		{Key: wire.KeyInitProducerID, ErrorCode: wire.ErrCoordinatorLoadInProgress.Code},
		{Key: wire.KeyAddPartitionsToTxn, ErrorCode: wire.ErrConcurrentTransactions.Code},
		{Key: wire.KeyEndTxn, ErrorCode: wire.ErrNotCoordinator.Code},
		{Key: wire.KeyEndTxn, ErrorCode: wire.ErrConcurrentTransactions.Code},
	} {
		f.Broker, f.Partition, f.Times = kafkatest.AnyBroker, kafkatest.AnyPartition, 2
		if f.Key != wire.KeyFindCoordinator {
			f.Broker = coord
		}
		c.InjectFault(f)
	}
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := p.SendAsync(ctx, Record{Topic: "retry-tx", Key: []byte{byte(i)}, Value: []byte("v")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.CommitTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	if got := committedValues(c, "retry-tx"); len(got) != 10 {
		t.Fatalf("%d committed records", len(got))
	}
}

func TestTransactionAbortableAfterFailedSend(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("ok", 1), kafkatest.SeedTopic("bad", 1))
	c.InjectFault(kafkatest.Fault{Key: wire.KeyProduce, Broker: kafkatest.AnyBroker, Topic: "bad", Partition: kafkatest.AnyPartition,
		ErrorCode: wire.ErrTopicAuthorizationFailed.Code, Times: 1})
	ctx := ctxTimeout(t, 20*time.Second)
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "abortable"})
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	good := p.Send(ctx, Record{Topic: "ok", Value: []byte("kept?")})
	if err := p.Send(ctx, Record{Topic: "bad", Value: []byte("x")}).Wait(ctx); !errors.Is(err, wire.ErrTopicAuthorizationFailed) {
		t.Fatalf("bad topic: %v", err)
	}
	_ = good.Wait(ctx)
	if err := p.CommitTransaction(ctx); err == nil {
		t.Fatal("a transaction with a failed send committed")
	}
	if err := p.Send(ctx, Record{Topic: "ok", Value: []byte("late")}).Wait(ctx); !errors.Is(err, ErrTransactionState) {
		t.Fatalf("send in an abortable transaction: %v", err)
	}
	if err := p.AbortTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	if got := committedValues(c, "ok"); len(got) != 0 {
		t.Fatalf("committed %v after the abort", got)
	}
	// The producer goes on with a new transaction.
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, Record{Topic: "ok", Value: []byte("next")}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.CommitTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	if got := committedValues(c, "ok"); len(got) != 1 || got[0] != "next" {
		t.Fatalf("committed %v", got)
	}
}

// InitTransactions called from several goroutines at once sends one InitProducerId: the
// others wait for it and return its outcome, as the Java client hands a repeated call the
// pending result. Two InitProducerId requests would each bump the epoch, and a producer that
// kept the older answer would be fenced at its first send. A caller whose ctx ends while it
// waits gets ErrTimeout; when the call under way gives up with its ctx, a waiter goes on.
func TestConcurrentInitTransactions(t *testing.T) {
	t.Run("one request", func(t *testing.T) {
		c := newCluster(t, kafkatest.SeedTopic("t", 1))
		p := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "init"})
		ctx := ctxTimeout(t, 30*time.Second)
		c.InjectFault(kafkatest.Fault{Key: wire.KeyInitProducerID, Broker: kafkatest.AnyBroker, Delay: 200 * time.Millisecond})
		errs := make(chan error, 3)
		for range 3 {
			go func() { errs <- p.InitTransactions(ctx) }()
		}
		waitFor(t, ctx, "the InitProducerId", func() bool { return c.RequestCount(wire.KeyInitProducerID) > 0 })
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		if err := p.InitTransactions(short); !errors.Is(err, ErrTimeout) {
			t.Fatalf("a waiter whose ctx ended: %v, want ErrTimeout", err)
		}
		cancel()
		for range 3 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if n := c.RequestCount(wire.KeyInitProducerID); n != 1 {
			t.Fatalf("%d InitProducerId requests, want 1", n)
		}
		if err := p.InitTransactions(ctx); !errors.Is(err, ErrTransactionState) {
			t.Fatalf("InitTransactions once initialized: %v", err)
		}
		runTxn(t, ctx, p, c, "after")
	})
	t.Run("takes over", func(t *testing.T) {
		c := newCluster(t, kafkatest.SeedTopic("t", 1))
		p := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "init"})
		ctx := ctxTimeout(t, 30*time.Second)
		c.InjectFault(kafkatest.Fault{Key: wire.KeyInitProducerID, Broker: kafkatest.AnyBroker, Swallow: true, Times: 1})
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		first := make(chan error, 1)
		go func() { first <- p.InitTransactions(short) }()
		waitFor(t, ctx, "the first InitProducerId", func() bool { return c.RequestCount(wire.KeyInitProducerID) > 0 })
		if err := p.InitTransactions(ctx); err != nil {
			t.Fatalf("the waiter: %v", err)
		}
		if err := <-first; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the first call: %v, want its deadline", err)
		}
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
	})
}
