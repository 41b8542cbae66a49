package interop

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	producer "github.com/gregor-kafka/producer"
	"github.com/gregor-kafka/producer/wire"
)

// TestSendOffsetsToTransactionKfake runs consume-transform-produce with a franz-go group
// consumer reading "in" and gregor writing "out" against kfake: the offsets gregor commits
// with a transaction, under the consumer's group metadata (KIP-447), are the group's
// committed offsets for franz-go, and those of an aborted transaction are not; a new member
// of the group resumes where the committed transaction left off.
func TestSendOffsetsToTransactionKfake(t *testing.T) {
	t.Run("v2", func(t *testing.T) { sendOffsetsKfake(t, nil) })
	// Kafka 3.9: no transactions V2, so the group joins with AddOffsetsToTxn.
	t.Run("v1", func(t *testing.T) { sendOffsetsKfake(t, kversion.V3_9_0()) })
}

func sendOffsetsKfake(t *testing.T, versions *kversion.Versions) {
	const in, out, group = "in", "out", "transformers"
	const perPartition = 10
	opts := []kfake.Opt{kfake.NumBrokers(3), kfake.SeedTopics(2, in, out)}
	if versions != nil {
		opts = append(opts, kfake.MaxVersions(versions))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addOffsets := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.AddOffsetsToTxn}, Observe: true, Count: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The input: perPartition records in each partition of "in".
	seed, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(in),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Close()
	for p := int32(0); p < 2; p++ {
		for i := 0; i < perPartition; i++ {
			r := &kgo.Record{Partition: p, Value: fmt.Appendf(nil, "p%d-%d", p, i)}
			if err := seed.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}

	consumer := func() *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(in),
			kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	cons := consumer()
	var polled []*kgo.Record
	for len(polled) < 2*perPartition {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records", len(polled), 2*perPartition)
		}
		polled = append(polled, fs.Records()...)
	}
	memberID, generation := cons.GroupMetadata()
	meta := producer.ConsumerGroupMetadata{GroupID: group, GenerationID: generation, MemberID: memberID}
	if memberID == "" || generation <= 0 {
		t.Fatalf("consumer group metadata %+v", meta)
	}

	p, err := producer.New(producer.Config{BootstrapServers: c.ListenAddrs(), TransactionalID: "transformer-0",
		RetryBackoff: 10 * time.Millisecond, RetryBackoffMax: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	// transform sends the records of batch and commits (or aborts) them with the offsets
	// after the last record of each partition.
	transform := func(batch []*kgo.Record, commit bool) {
		t.Helper()
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		offsets := map[string]map[int32]producer.Offset{}
		for _, r := range batch {
			if err := p.SendAsync(ctx, producer.Record{Topic: out, Value: append([]byte("t-"), r.Value...)}, nil); err != nil {
				t.Fatal(err)
			}
			if offsets[r.Topic] == nil {
				offsets[r.Topic] = map[int32]producer.Offset{}
			}
			epoch := r.LeaderEpoch
			offsets[r.Topic][r.Partition] = producer.Offset{Offset: r.Offset + 1, LeaderEpoch: &epoch, Metadata: "gregor"}
		}
		if err := p.SendOffsetsToTransaction(ctx, offsets, meta); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = p.CommitTransaction(ctx)
		} else {
			err = p.AbortTransaction(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// The first half of each partition commits; the rest aborts.
	var first, second []*kgo.Record
	for _, r := range polled {
		if r.Offset < perPartition/2 {
			first = append(first, r)
		} else {
			second = append(second, r)
		}
	}
	transform(first, true)
	transform(second, false)

	// franz-go reads the group's committed offsets: those of the committed transaction.
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Group = group
	resp, err := fetch.RequestWith(ctx, cons)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatal(err)
	}
	got := map[int32]int64{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				t.Fatalf("%s-%d: %v", rt.Topic, rp.Partition, err)
			}
			if rt.Topic != in || rp.Metadata == nil || *rp.Metadata != "gregor" {
				t.Fatalf("committed %s-%d with metadata %v", rt.Topic, rp.Partition, rp.Metadata)
			}
			got[rp.Partition] = rp.Offset
		}
	}
	if want := map[int32]int64{0: perPartition / 2, 1: perPartition / 2}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("committed offsets %v, want %v (the aborted transaction's would be %d)", got, want, perPartition)
	}

	// The records went with their offsets: those of the committed half only.
	reader, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(out),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var outs []*kgo.Record
	for len(outs) < len(first) {
		fs := reader.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d committed records", len(outs), len(first))
		}
		outs = append(outs, fs.Records()...)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	outs = append(outs, reader.PollFetches(short).Records()...)
	cancelShort()
	committedValues := map[string]bool{}
	for _, r := range first {
		committedValues["t-"+string(r.Value)] = true
	}
	for _, r := range outs {
		if !committedValues[string(r.Value)] {
			t.Fatalf("read_committed consumer saw %q", r.Value)
		}
	}
	if len(outs) != len(first) {
		t.Fatalf("read %d committed records, want %d", len(outs), len(first))
	}

	// A zombie: once the consumer has left the group, its metadata no longer commits.
	cons.LeaveGroup()
	cons.Close()
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	err = p.SendOffsetsToTransaction(ctx, map[string]map[int32]producer.Offset{in: {0: {Offset: perPartition}}}, meta)
	if !errors.Is(err, wire.ErrUnknownMemberID) && !errors.Is(err, wire.ErrIllegalGeneration) {
		t.Fatalf("offsets of a member that left: %v", err)
	}
	if err := p.AbortTransaction(ctx); err != nil {
		t.Fatal(err)
	}

	// A new member of the group resumes after the committed transaction's offsets.
	next := consumer()
	defer next.Close()
	var resumed []*kgo.Record
	for len(resumed) < perPartition {
		fs := next.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("the new member consumed %d of %d records", len(resumed), perPartition)
		}
		resumed = append(resumed, fs.Records()...)
	}
	for _, r := range resumed {
		if r.Offset < perPartition/2 {
			t.Fatalf("the new member consumed %s-%d at %d, before the committed offset", r.Topic, r.Partition, r.Offset)
		}
	}
	if v2 := versions == nil; v2 != (addOffsets.Hits() == 0) {
		t.Fatalf("transactions V2 %v, but %d AddOffsetsToTxn requests", v2, addOffsets.Hits())
	}
}
