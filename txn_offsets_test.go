package producer

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/internal/conn"
	"github.com/gregor-kafka/producer/internal/testutil"
	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// roundOffsets returns the offsets of consumed topic "in" that round n of a test commits, and
// the committed offsets kafkatest must show for them.
func roundOffsets(n int64) (map[string]map[int32]Offset, map[string]map[int32]kafkatest.CommittedOffset) {
	epoch := int32(3)
	offsets := map[string]map[int32]Offset{"in": {
		0: {Offset: 10 * n, LeaderEpoch: &epoch, Metadata: fmt.Sprintf("round %d", n)},
		2: {Offset: 10*n + 1},
	}}
	want := map[string]map[int32]kafkatest.CommittedOffset{"in": {
		0: {Offset: 10 * n, LeaderEpoch: 3, Metadata: fmt.Sprintf("round %d", n)},
		2: {Offset: 10*n + 1, LeaderEpoch: -1},
	}}
	return offsets, want
}

func checkCommitted(t *testing.T, c *kafkatest.Cluster, group string, want map[string]map[int32]kafkatest.CommittedOffset, what string) {
	t.Helper()
	if want == nil {
		want = map[string]map[int32]kafkatest.CommittedOffset{}
	}
	if got := c.CommittedOffsets(group); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: committed offsets %v, want %v", what, got, want)
	}
}

func txnProducer(t *testing.T, c *kafkatest.Cluster, id string) (*Producer, context.Context) {
	t.Helper()
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: id, RetryBackoff: time.Millisecond, RetryBackoffMax: 10 * time.Millisecond})
	ctx := ctxTimeout(t, 30*time.Second)
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	return p, ctx
}

// Consume-transform-produce rounds back to back while the coordinator writes each round's
// markers after answering its EndTxn (kafkatest.MarkerDelay): the next round's
// AddOffsetsToTxn (V1) or TxnOffsetCommit (V2) meets CONCURRENT_TRANSACTIONS and is retried;
// every round commits, and the group ends with the last round's offsets.
func TestSendOffsetsDuringMarkerWrites(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			c := newCluster(t, kafkatest.SeedTopic("out", 2), kafkatest.TransactionsV2(v2), kafkatest.MarkerDelay(20*time.Millisecond))
			p, ctx := txnProducer(t, c, "ctp")
			group := ConsumerGroupMetadata{GroupID: "readers"}
			var want map[string]map[int32]kafkatest.CommittedOffset
			for round := int64(1); round <= 5; round++ {
				if err := p.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				if err := p.SendAsync(ctx, Record{Topic: "out", Value: fmt.Appendf(nil, "r%d", round)}, nil); err != nil {
					t.Fatal(err)
				}
				var offsets map[string]map[int32]Offset
				offsets, want = roundOffsets(round)
				if err := p.SendOffsetsToTransaction(ctx, offsets, group); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if err := p.CommitTransaction(ctx); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			c.WriteMarkers()
			checkCommitted(t, c, "readers", want, "after the last round")
			if got := committedValues(c, "out"); len(got) != 5 {
				t.Fatalf("committed records %q, want one per round", got)
			}
		})
	}
}

// TestSendOffsetsToTransaction runs consume-transform-produce rounds with transactions V1
// (AddOffsetsToTxn, then TxnOffsetCommit v4) and V2 (TxnOffsetCommit v5 alone): the offsets
// of committed rounds become the group's, those of aborted rounds never do, and a
// transaction with offsets and no records commits too.
func TestSendOffsetsToTransaction(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			testutil.CheckNoLeaks(t)
			c := newCluster(t, kafkatest.SeedTopic("out", 2), kafkatest.TransactionsV2(v2))
			p, ctx := txnProducer(t, c, "ctp")
			group := ConsumerGroupMetadata{GroupID: "readers"}
			var committed map[string]map[int32]kafkatest.CommittedOffset
			for round := int64(1); round <= 4; round++ {
				if err := p.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				if round != 3 { // round 3 commits offsets alone
					if err := p.SendAsync(ctx, Record{Topic: "out", Value: fmt.Appendf(nil, "r%d", round)}, nil); err != nil {
						t.Fatal(err)
					}
				}
				offsets, want := roundOffsets(round)
				if err := p.SendOffsetsToTransaction(ctx, offsets, group); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				checkCommitted(t, c, "readers", committed, fmt.Sprintf("round %d before its end", round))
				if round == 2 {
					if err := p.AbortTransaction(ctx); err != nil {
						t.Fatal(err)
					}
				} else {
					if err := p.CommitTransaction(ctx); err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
					committed = want
				}
				checkCommitted(t, c, "readers", committed, fmt.Sprintf("round %d", round))
			}
			if got := committedValues(c, "out"); len(got) != 2 {
				t.Fatalf("committed records %q, want those of rounds 1 and 4", got)
			}
			wantAdds := 4
			if v2 {
				wantAdds = 0
			}
			if n := c.RequestCount(wire.KeyAddOffsetsToTxn); n != wantAdds {
				t.Fatalf("%d AddOffsetsToTxn requests, want %d", n, wantAdds)
			}
			if n := c.RequestCount(wire.KeyTxnOffsetCommit); n != 4 {
				t.Fatalf("%d TxnOffsetCommit requests, want 4", n)
			}
		})
	}
}

func TestSendOffsetsStateErrors(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("out", 1))
	ctx := ctxTimeout(t, 30*time.Second)
	offsets, want := roundOffsets(1)
	group := ConsumerGroupMetadata{GroupID: "g"}

	plain := newProducer(t, Config{BootstrapServers: c.Addrs()})
	if err := plain.SendOffsetsToTransaction(ctx, offsets, group); !errors.Is(err, ErrTransactionState) {
		t.Fatalf("non-transactional producer: %v", err)
	}
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "states"})
	if err := p.SendOffsetsToTransaction(ctx, offsets, group); !errors.Is(err, ErrTransactionState) {
		t.Fatalf("before InitTransactions: %v", err)
	}
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.SendOffsetsToTransaction(ctx, offsets, group); !errors.Is(err, ErrTransactionState) {
		t.Fatalf("before BeginTransaction: %v", err)
	}
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	// Bad arguments: an error, nothing sent, the transaction unharmed.
	neg := map[string]map[int32]Offset{"in": {0: {Offset: -1}}}
	for name, call := range map[string]func() error{
		"empty group":     func() error { return p.SendOffsetsToTransaction(ctx, offsets, ConsumerGroupMetadata{}) },
		"negative offset": func() error { return p.SendOffsetsToTransaction(ctx, neg, group) },
		"empty topic": func() error {
			return p.SendOffsetsToTransaction(ctx, map[string]map[int32]Offset{"": {0: {}}}, group)
		},
	} {
		if err := call(); err == nil || errors.Is(err, ErrTransactionState) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := p.SendOffsetsToTransaction(ctx, nil, group); err != nil {
		t.Fatalf("no offsets: %v", err)
	}
	if n := c.RequestCount(wire.KeyTxnOffsetCommit) + c.RequestCount(wire.KeyAddOffsetsToTxn); n != 0 {
		t.Fatalf("%d requests sent for bad or no offsets", n)
	}
	if err := p.SendOffsetsToTransaction(ctx, offsets, group); err != nil {
		t.Fatal(err)
	}
	if err := p.CommitTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	checkCommitted(t, c, "g", want, "committed")
	if err := p.SendOffsetsToTransaction(ctx, offsets, group); !errors.Is(err, ErrTransactionState) {
		t.Fatalf("after CommitTransaction: %v", err)
	}
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.SendOffsetsToTransaction(ctx, offsets, group); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestSendOffsetsRetries checks that retriable coordinator errors and dropped connections
// are retried, and that NOT_COORDINATOR finds the coordinators again, through to a commit.
func TestSendOffsetsRetries(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			testutil.CheckNoLeaks(t)
			c := newCluster(t, kafkatest.SeedTopic("out", 1), kafkatest.TransactionsV2(v2))
			p, ctx := txnProducer(t, c, "retry")
			group := ConsumerGroupMetadata{GroupID: "g"}
			var faults []*kafkatest.FaultHandle
			inject := func(f kafkatest.Fault) {
				f.Broker = kafkatest.AnyBroker
				faults = append(faults, c.InjectFault(f))
			}
			if !v2 {
				inject(kafkatest.Fault{Key: wire.KeyAddOffsetsToTxn, ErrorCode: wire.ErrNotCoordinator.Code})
				inject(kafkatest.Fault{Key: wire.KeyAddOffsetsToTxn, ErrorCode: wire.ErrConcurrentTransactions.Code})
				inject(kafkatest.Fault{Key: wire.KeyAddOffsetsToTxn, DropConnection: true})
			}
			inject(kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, ErrorCode: wire.ErrNotCoordinator.Code})
			inject(kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, ErrorCode: wire.ErrCoordinatorLoadInProgress.Code})
			inject(kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, DropConnection: true})
			inject(kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, ErrorCode: wire.ErrRequestTimedOut.Code, AppendAnyway: true})
			inject(kafkatest.Fault{Key: wire.KeyFindCoordinator, ErrorCode: wire.ErrCoordinatorNotAvailable.Code})

			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			findsBefore := c.RequestCount(wire.KeyFindCoordinator)
			offsets, want := roundOffsets(1)
			if err := p.SendOffsetsToTransaction(ctx, offsets, group); err != nil {
				t.Fatal(err)
			}
			for i, h := range faults {
				if h.Hits() != 1 {
					t.Errorf("fault %d hit %d times", i, h.Hits())
				}
			}
			// FindCoordinator for the group: the first (COORDINATOR_NOT_AVAILABLE), its retry,
			// and after NOT_COORDINATOR, the dropped connection and REQUEST_TIMED_OUT.
			if n := c.RequestCount(wire.KeyFindCoordinator) - findsBefore; n < 5 {
				t.Errorf("%d FindCoordinator requests, want at least 5", n)
			}
			if err := p.CommitTransaction(ctx); err != nil {
				t.Fatal(err)
			}
			checkCommitted(t, c, "g", want, "committed")

			// The group coordinator moves between transactions: the producer's connection to
			// the old one answers NOT_COORDINATOR, and it finds the new one.
			old := c.GroupCoordinator("g")
			if err := c.MoveGroupCoordinator("g", (old+1)%3); err != nil {
				t.Fatal(err)
			}
			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			offsets, want = roundOffsets(2)
			if err := p.SendOffsetsToTransaction(ctx, offsets, group); err != nil {
				t.Fatal(err)
			}
			if err := p.CommitTransaction(ctx); err != nil {
				t.Fatal(err)
			}
			checkCommitted(t, c, "g", want, "committed after the move")
		})
	}
}

// TestSendOffsetsErrors checks what a failed SendOffsetsToTransaction leaves: an abortable
// transaction for errors of the group's metadata or authorization, a fatal state when the
// producer is fenced; and that the next transaction works after the abort.
func TestSendOffsetsErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault kafkatest.Fault
		want  error
		fatal bool
	}{
		{"illegal generation", kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, ErrorCode: wire.ErrIllegalGeneration.Code}, wire.ErrIllegalGeneration, false},
		{"fenced instance", kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, ErrorCode: wire.ErrFencedInstanceID.Code}, wire.ErrFencedInstanceID, false},
		{"group authorization", kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, ErrorCode: wire.ErrGroupAuthorizationFailed.Code}, wire.ErrGroupAuthorizationFailed, false},
		{"group authorization on add", kafkatest.Fault{Key: wire.KeyAddOffsetsToTxn, ErrorCode: wire.ErrGroupAuthorizationFailed.Code}, wire.ErrGroupAuthorizationFailed, false},
		{"old epoch", kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, ErrorCode: wire.ErrInvalidProducerEpoch.Code}, wire.ErrProducerFenced, true},
		{"fenced on add", kafkatest.Fault{Key: wire.KeyAddOffsetsToTxn, ErrorCode: wire.ErrProducerFenced.Code}, wire.ErrProducerFenced, true},
		{"transactional id authorization", kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, ErrorCode: wire.ErrTransactionalIDAuthorizationFailed.Code}, wire.ErrTransactionalIDAuthorizationFailed, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, kafkatest.SeedTopic("out", 1), kafkatest.TransactionsV2(false))
			p, ctx := txnProducer(t, c, "errs")
			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := p.SendAsync(ctx, Record{Topic: "out", Value: []byte("v")}, nil); err != nil {
				t.Fatal(err)
			}
			tt.fault.Broker = kafkatest.AnyBroker
			c.InjectFault(tt.fault)
			offsets, want := roundOffsets(1)
			err := p.SendOffsetsToTransaction(ctx, offsets, ConsumerGroupMetadata{GroupID: "g"})
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err := p.SendAsync(ctx, Record{Topic: "out", Value: []byte("w")}, nil); !errors.Is(err, ErrTransactionState) {
				t.Fatalf("send after the failure: %v", err)
			}
			if err := p.CommitTransaction(ctx); !errors.Is(err, ErrTransactionState) && !errors.Is(err, tt.want) {
				t.Fatalf("commit after the failure: %v", err)
			}
			err = p.AbortTransaction(ctx)
			if tt.fatal {
				if !errors.Is(err, ErrTransactionState) {
					t.Fatalf("abort after a fatal error: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("abort: %v", err)
			}
			checkCommitted(t, c, "g", nil, "aborted")
			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := p.SendOffsetsToTransaction(ctx, offsets, ConsumerGroupMetadata{GroupID: "g"}); err != nil {
				t.Fatal(err)
			}
			if err := p.CommitTransaction(ctx); err != nil {
				t.Fatal(err)
			}
			checkCommitted(t, c, "g", want, "committed after the abort")
			if got := committedValues(c, "out"); len(got) != 0 {
				t.Fatalf("records of the aborted transaction committed: %q", got)
			}
		})
	}
}

// TestSendOffsetsGroupMetadata checks that the consumer's generation, member id and instance
// id reach the group coordinator (KIP-447): a zombie of an older generation cannot commit.
func TestSendOffsetsGroupMetadata(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("out", 1))
	c.SetGroupMembers("g", 5, kafkatest.GroupMember{MemberID: "m1", InstanceID: "static-1"}, kafkatest.GroupMember{MemberID: "m2"})
	p, ctx := txnProducer(t, c, "meta")
	for i, tt := range []struct {
		group ConsumerGroupMetadata
		want  error
	}{
		{ConsumerGroupMetadata{GroupID: "g", GenerationID: 5, MemberID: "m1", GroupInstanceID: "static-1"}, nil},
		{ConsumerGroupMetadata{GroupID: "g", GenerationID: 5, MemberID: "m2"}, nil},
		{ConsumerGroupMetadata{GroupID: "g"}, nil}, // Java's deprecated form: generation -1
		{ConsumerGroupMetadata{GroupID: "g", GenerationID: 4, MemberID: "m2"}, wire.ErrIllegalGeneration},
		{ConsumerGroupMetadata{GroupID: "g", GenerationID: 5, MemberID: "gone"}, wire.ErrUnknownMemberID},
		{ConsumerGroupMetadata{GroupID: "g", GenerationID: 5, MemberID: "m2", GroupInstanceID: "static-1"}, wire.ErrFencedInstanceID},
	} {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		offsets, want := roundOffsets(int64(i + 1))
		err := p.SendOffsetsToTransaction(ctx, offsets, tt.group)
		if tt.want == nil {
			if err != nil {
				t.Fatalf("%+v: %v", tt.group, err)
			}
			if err := p.CommitTransaction(ctx); err != nil {
				t.Fatal(err)
			}
			checkCommitted(t, c, "g", want, fmt.Sprintf("%+v", tt.group))
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Fatalf("%+v: %v, want %v", tt.group, err, tt.want)
		}
		if err := p.AbortTransaction(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEndWaitsForSendOffsets checks that a CommitTransaction or AbortTransaction called
// while SendOffsetsToTransaction runs waits for it, sends no EndTxn before it returned, and
// then ends the transaction with its offsets (Java queues EndTxn behind the offsets): a
// commit commits them, an abort drops them, a commit after offsets that failed fails with
// their error, and an end whose ctx ends while it waits leaves the transaction open.
func TestEndWaitsForSendOffsets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		commit bool
		fail   *wire.Error // the TxnOffsetCommit's final answer, nil for success
	}{
		{name: "commit", commit: true},
		{name: "abort"},
		{name: "commit after failed offsets", commit: true, fail: wire.ErrIllegalGeneration},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, kafkatest.SeedTopic("out", 1))
			p, ctx := txnProducer(t, c, "busy")
			h := c.InjectFault(kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, Broker: kafkatest.AnyBroker, ErrorCode: wire.ErrCoordinatorLoadInProgress.Code, Times: -1})
			if err := p.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Send(ctx, Record{Topic: "out", Value: []byte("v")}).Get(ctx); err != nil {
				t.Fatal(err)
			}
			offsets, want := roundOffsets(1)
			sent := make(chan error, 1)
			go func() { sent <- p.SendOffsetsToTransaction(ctx, offsets, ConsumerGroupMetadata{GroupID: "g"}) }()
			for c.RequestCount(wire.KeyTxnOffsetCommit) == 0 {
				time.Sleep(time.Millisecond)
			}

			// An end whose ctx ends while it waits changes nothing.
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			err := p.CommitTransaction(short)
			cancel()
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("commit with a short ctx during SendOffsetsToTransaction: %v, want ErrTimeout", err)
			}

			ended := make(chan error, 1)
			end := p.AbortTransaction
			if tc.commit {
				end = p.CommitTransaction
			}
			go func() { ended <- end(ctx) }()
			before := c.RequestCount(wire.KeyTxnOffsetCommit)
			for c.RequestCount(wire.KeyTxnOffsetCommit) < before+3 { // the offsets are still retried
				select {
				case err := <-ended:
					t.Fatalf("the end returned during SendOffsetsToTransaction: %v", err)
				case <-time.After(time.Millisecond):
				}
			}
			if n := c.RequestCount(wire.KeyEndTxn); n != 0 {
				t.Fatalf("%d EndTxn requests during SendOffsetsToTransaction", n)
			}
			if tc.fail != nil {
				c.InjectFault(kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, Broker: kafkatest.AnyBroker, ErrorCode: tc.fail.Code, Times: 1})
			}
			h.Remove()
			if err := <-sent; !errors.Is(err, errOrNil(tc.fail)) {
				t.Fatalf("SendOffsetsToTransaction: %v, want %v", err, tc.fail)
			}
			err = <-ended
			switch {
			case tc.fail != nil:
				if !errors.Is(err, ErrTransactionState) || !errors.Is(err, tc.fail) {
					t.Fatalf("commit after failed offsets: %v", err)
				}
				if err := p.AbortTransaction(ctx); err != nil {
					t.Fatal(err)
				}
				checkCommitted(t, c, "g", nil, "failed offsets")
			case err != nil:
				t.Fatal(err)
			case tc.commit:
				checkCommitted(t, c, "g", want, "committed")
			default:
				checkCommitted(t, c, "g", nil, "aborted")
			}
			if n := c.RequestCount(wire.KeyEndTxn); n != 1 {
				t.Fatalf("%d EndTxn requests, want 1", n)
			}
		})
	}
}

// errOrNil returns e as an error, nil when e is nil.
func errOrNil(e *wire.Error) error {
	if e == nil {
		return nil
	}
	return e
}

// TestSendOffsetsTimeout checks that SendOffsetsToTransaction gives up when ctx ends while
// the coordinator keeps answering a retriable error, leaving the transaction abortable.
func TestSendOffsetsTimeout(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("out", 1))
	p, ctx := txnProducer(t, c, "slow")
	h := c.InjectFault(kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, Broker: kafkatest.AnyBroker, ErrorCode: wire.ErrCoordinatorLoadInProgress.Code, Times: -1})
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	offsets, _ := roundOffsets(1)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err := p.SendOffsetsToTransaction(short, offsets, ConsumerGroupMetadata{GroupID: "g"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the deadline", err)
	}
	if h.Hits() < 2 {
		t.Fatalf("%d attempts", h.Hits())
	}
	if err := p.CommitTransaction(ctx); err == nil {
		t.Fatal("a transaction whose offsets failed committed")
	}
	h.Remove()
	if err := p.AbortTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	checkCommitted(t, c, "g", nil, "aborted")
}

// TestSendOffsetsClose checks that Close does not wait for a TxnOffsetCommit whose answer is
// held back: the call fails, the connection is closed, nothing leaks.
func TestSendOffsetsClose(t *testing.T) {
	testutil.CheckNoLeaks(t)
	c := newCluster(t, kafkatest.SeedTopic("out", 1))
	p := newProducer(t, Config{BootstrapServers: c.Addrs(), TransactionalID: "closing", RequestTimeout: 3 * time.Second})
	ctx := ctxTimeout(t, 30*time.Second)
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	c.InjectFault(kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, Broker: kafkatest.AnyBroker, Delay: time.Hour})
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	offsets, _ := roundOffsets(1)
	done := make(chan error, 1)
	go func() { done <- p.SendOffsetsToTransaction(ctx, offsets, ConsumerGroupMetadata{GroupID: "g"}) }()
	for c.RequestCount(wire.KeyTxnOffsetCommit) == 0 {
		select {
		case err := <-done:
			t.Fatalf("SendOffsetsToTransaction returned early: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Close aborted the call: it did not wait for request.timeout.ms.
	if err := <-done; !errors.Is(err, ErrClosed) || errors.Is(err, conn.ErrRequestTimeout) {
		t.Fatalf("SendOffsetsToTransaction through Close: %v", err)
	}
}

// A SendOffsetsToTransaction waiting for another one's TxnOffsetCommit (one group
// coordinator request at a time) gives up when its ctx ends. Before, it waited on a mutex
// for the other request's answer, 2 s here, whatever its ctx.
func TestSendOffsetsWaitEndsWithCtx(t *testing.T) {
	c := newCluster(t, kafkatest.SeedTopic("out", 1))
	p, ctx := txnProducer(t, c, "two")
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	c.InjectFault(kafkatest.Fault{Key: wire.KeyTxnOffsetCommit, Broker: kafkatest.AnyBroker, Delay: 2 * time.Second})
	offsets, _ := roundOffsets(1)
	first := make(chan error, 1)
	go func() { first <- p.SendOffsetsToTransaction(ctx, offsets, ConsumerGroupMetadata{GroupID: "g"}) }()
	waitFor(t, ctx, "the first TxnOffsetCommit", func() bool { return c.RequestCount(wire.KeyTxnOffsetCommit) > 0 })
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	second := make(chan error, 1)
	go func() { second <- p.SendOffsetsToTransaction(short, offsets, ConsumerGroupMetadata{GroupID: "g"}) }()
	select {
	case err := <-second:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the second call: %v, want its deadline", err)
		}
	case err := <-first:
		t.Fatalf("the first call returned (%v) before the second gave up", err)
	}
	if err := <-first; err != nil {
		t.Fatalf("the first call: %v", err)
	}
}
