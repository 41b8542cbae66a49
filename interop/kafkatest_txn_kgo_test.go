package interop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/gregor-kafka/producer/kafkatest"
	"github.com/gregor-kafka/producer/wire"
)

// TestKafkatestKgoTransactions has franz-go's transactional producer run transactions against
// kafkatest, committing some and aborting others, and checks that CommittedRecords holds
// exactly the committed records in the order produced, that Records marks the others
// aborted, and that the transaction protocol franz-go chose is the one the cluster offers:
// transactions V2 (Produce v12 adding partitions itself, EndTxn v5 bumping the epoch) on a
// default cluster; AddPartitionsToTxn and EndTxn v4 on a cluster without V2, or when the
// client is capped at Kafka 3.9's versions.
func TestKafkatestKgoTransactions(t *testing.T) {
	for _, tt := range []struct {
		name string
		v2   bool
		max  *kversion.Versions
	}{
		{"v2", true, nil},
		{"v1-cluster", false, nil},
		{"v1-client-3.9", true, kversion.V3_9_0()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const topic = "txn"
			c, err := kafkatest.NewCluster(kafkatest.SeedTopic(topic, 3), kafkatest.TransactionsV2(tt.v2))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			opts := []kgo.Opt{
				kgo.SeedBrokers(c.Addrs()...),
				kgo.TransactionalID("kgo-" + tt.name),
				kgo.TransactionTimeout(30 * time.Second),
				kgo.DefaultProduceTopic(topic),
				kgo.ProducerLinger(time.Millisecond),
				kgo.RecordPartitioner(kgo.ManualPartitioner()),
			}
			if tt.max != nil {
				opts = append(opts, kgo.MaxVersions(tt.max))
			}
			cl, err := kgo.NewClient(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			committed := map[int32][]string{}
			const txns, perTxn = 8, 12
			for i := range txns {
				if err := cl.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				commit := i%3 != 1
				var recs []*kgo.Record
				for j := range perTxn {
					p := int32((i + j) % 3)
					if i%4 == 3 {
						p = 2 // some transactions touch one partition only
					}
					recs = append(recs, &kgo.Record{Partition: p, Value: fmt.Appendf(nil, "t%d-r%d-%v", i, j, commit)})
				}
				if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
					t.Fatalf("transaction %d: %v", i, err)
				}
				if commit {
					for _, r := range recs {
						committed[r.Partition] = append(committed[r.Partition], string(r.Value))
					}
				}
				if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
					t.Fatalf("transaction %d: EndTransaction(%v): %v", i, commit, err)
				}
			}

			total := 0
			for p := range int32(3) {
				var got []string
				for _, r := range c.CommittedRecords(topic, p) {
					if !r.Transactional || !r.Committed || r.Aborted {
						t.Fatalf("partition %d: committed record %+v", p, r)
					}
					got = append(got, string(r.Value))
				}
				if !slices.Equal(got, committed[p]) {
					t.Fatalf("partition %d: committed %q, want %q", p, got, committed[p])
				}
				all := c.Records(topic, p)
				total += len(all)
				for _, r := range all {
					if r.Committed == r.Aborted {
						t.Fatalf("partition %d: record %q committed %v aborted %v", p, r.Value, r.Committed, r.Aborted)
					}
					if wantCommit := string(r.Value[len(r.Value)-4:]) == "true"; r.Committed != wantCommit {
						t.Fatalf("partition %d: record %q committed %v", p, r.Value, r.Committed)
					}
				}
			}
			if total != txns*perTxn {
				t.Fatalf("%d records stored, %d produced", total, txns*perTxn)
			}

			adds := c.RequestCount(wire.KeyAddPartitionsToTxn)
			usedV2 := tt.v2 && tt.max == nil
			if usedV2 != (adds == 0) {
				t.Fatalf("%d AddPartitionsToTxn requests, transactions V2 %v", adds, usedV2)
			}
			// Under V2 the epoch moves at every transaction end.
			epochs := map[int16]bool{}
			for p := range int32(3) {
				for _, r := range c.Records(topic, p) {
					epochs[r.ProducerEpoch] = true
				}
			}
			if usedV2 != (len(epochs) > 1) {
				t.Fatalf("records carry epochs %v, transactions V2 %v", epochs, usedV2)
			}
		})
	}
}

// TestKafkatestKgoTransactionFenced starts a second franz-go producer with the same
// transactional id while the first is in a transaction: the first one's records are
// aborted, and it learns it was fenced.
func TestKafkatestKgoTransactionFenced(t *testing.T) {
	const topic = "fenced"
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic(topic, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	newClient := func() *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID("shared"), kgo.DefaultProduceTopic(topic))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	first := newClient()
	if err := first.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := first.ProduceSync(ctx, &kgo.Record{Value: []byte("zombie")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	second := newClient()
	if err := second.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := second.ProduceSync(ctx, &kgo.Record{Value: []byte("live")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := second.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}

	// The second producer's InitProducerId aborted the first one's transaction and was
	// told CONCURRENT_TRANSACTIONS, then retried: three InitProducerId at least.
	if n := c.RequestCount(wire.KeyInitProducerID); n < 3 {
		t.Fatalf("%d InitProducerId requests", n)
	}
	err = first.EndTransaction(ctx, kgo.TryCommit)
	t.Logf("fenced producer's commit: %v", err)
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("fenced producer's commit: %v", err)
	}
	recs := c.Records(topic, 0)
	if len(recs) != 2 || string(recs[0].Value) != "zombie" || !recs[0].Aborted || string(recs[1].Value) != "live" || !recs[1].Committed {
		t.Fatalf("records %+v", recs)
	}
	if got := c.CommittedRecords(topic, 0); len(got) != 1 || string(got[0].Value) != "live" {
		t.Fatalf("committed %+v", got)
	}
}

// TestKafkatestKgoTransactionTimeout lets franz-go's transaction outlive its
// transaction.timeout.ms: the coordinator aborts it, and the producer's commit fails.
func TestKafkatestKgoTransactionTimeout(t *testing.T) {
	const topic = "slow"
	c, err := kafkatest.NewCluster(kafkatest.SeedTopic(topic, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID("slow"), kgo.TransactionTimeout(100*time.Millisecond), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("late")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err == nil {
		t.Fatal("a timed-out transaction committed")
	}
	if recs := c.Records(topic, 0); len(recs) != 1 || !recs[0].Aborted {
		t.Fatalf("records %+v", recs)
	}
	if got := c.CommittedRecords(topic, 0); len(got) != 0 {
		t.Fatalf("committed %+v", got)
	}
}
