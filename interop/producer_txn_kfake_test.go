package interop

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	producer "github.com/gregor-kafka/producer"
)

// TestTransactionsKfake commits and aborts transactions spanning several partitions
// against kfake's transaction coordinator; a read_committed franz-go consumer must see the
// committed records, in order, and never the aborted ones.
func TestTransactionsKfake(t *testing.T) {
	t.Run("v2", func(t *testing.T) { transactionsKfake(t, nil) })
	// Kafka 3.9: no transactions V2, so partitions join with AddPartitionsToTxn.
	t.Run("v1", func(t *testing.T) { transactionsKfake(t, kversion.V3_9_0()) })
}

func transactionsKfake(t *testing.T, versions *kversion.Versions) {
	const topic = "txn"
	opts := []kfake.Opt{kfake.NumBrokers(3), kfake.SeedTopics(4, topic)}
	if versions != nil {
		opts = append(opts, kfake.MaxVersions(versions))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	adds := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.AddPartitionsToTxn}, Observe: true, Count: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	p, err := producer.New(producer.Config{BootstrapServers: c.ListenAddrs(), TransactionalID: "gregor-txn"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if err := p.SendAsync(ctx, producer.Record{Topic: topic, Value: []byte("x")}, nil); !errors.Is(err, producer.ErrTransactionState) {
		t.Fatalf("send before InitTransactions: %v", err)
	}
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.CommitTransaction(ctx); !errors.Is(err, producer.ErrTransactionState) {
		t.Fatalf("commit without begin: %v", err)
	}
	want := 0
	for round := 0; round < 6; round++ {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			if err := p.BeginTransaction(); !errors.Is(err, producer.ErrTransactionState) {
				t.Fatalf("begin twice: %v", err)
			}
		}
		commit := round%2 == 0
		for i := 0; i < 200; i++ {
			v := fmt.Sprintf("%s-%d-%d", map[bool]string{true: "commit", false: "abort"}[commit], round, i)
			if err := p.SendAsync(ctx, producer.Record{Topic: topic, Key: []byte(fmt.Sprint(i % 8)), Value: []byte(v)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if commit {
			want += 200
			err = p.CommitTransaction(ctx)
		} else {
			err = p.AbortTransaction(ctx)
		}
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d committed records", len(got), want)
		}
		got = append(got, fs.Records()...)
	}
	// Nothing more arrives: aborted records stay invisible.
	short, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	got = append(got, cl.PollFetches(short).Records()...)
	for _, r := range got {
		if !strings.HasPrefix(string(r.Value), "commit-") {
			t.Fatalf("read_committed consumer saw %q", r.Value)
		}
	}
	if len(got) != want {
		t.Fatalf("read %d committed records, want %d", len(got), want)
	}
	if v2 := versions == nil; v2 != (adds.Hits() == 0) {
		t.Fatalf("transactions V2 %v, but %d AddPartitionsToTxn requests", v2, adds.Hits())
	}
}
