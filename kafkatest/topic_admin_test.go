package kafkatest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// metadataOf returns the answer for one topic from a Metadata v12 request.
func (tc *testClient) metadataOf(topic string) wire.MetadataTopic {
	tc.t.Helper()
	md := tc.metadata(12, topic)
	if len(md.Topics) != 1 {
		tc.t.Fatalf("Metadata for %q: %d topics", topic, len(md.Topics))
	}
	return md.Topics[0]
}

func TestCreatePartitions(t *testing.T) {
	c := newTestCluster(t, AutoCreateTopics(false), SeedTopic("t", 2))
	id, _ := c.TopicID("t")
	tc := dial(t, c.Addrs()[0])
	if got := tc.produce(9, "t", 0, makeBatch(t, plainSpec(), values(2)...)); got.ErrorCode != 0 {
		t.Fatalf("produce to p0: %+v", got)
	}
	if got := tc.produce(9, "t", 2, makeBatch(t, plainSpec(), values(1)...)); got.ErrorCode != wire.ErrUnknownTopicOrPartition.Code {
		t.Fatalf("produce to p2 before it exists: error %d", got.ErrorCode)
	}

	if err := c.CreatePartitions("t", 5); err != nil {
		t.Fatal(err)
	}
	mt := tc.metadataOf("t")
	if mt.ErrorCode != 0 || mt.TopicID != id || len(mt.Partitions) != 5 {
		t.Fatalf("metadata after CreatePartitions: error %d, id %x (was %x), %d partitions", mt.ErrorCode, mt.TopicID, id, len(mt.Partitions))
	}
	leaders := map[int32]bool{}
	for i, mp := range mt.Partitions {
		if mp.PartitionIndex != int32(i) || mp.LeaderID != c.Leader("t", int32(i)) || c.Leader("t", int32(i)) < 0 {
			t.Fatalf("partition %d: %+v, Leader %d", i, mp, c.Leader("t", int32(i)))
		}
		leaders[mp.LeaderID] = true
	}
	if len(leaders) != 3 {
		t.Errorf("5 partitions led by %d of 3 brokers", len(leaders))
	}
	if c.Partitions("t") != 5 {
		t.Fatalf("Partitions = %d", c.Partitions("t"))
	}
	// The old partitions keep their logs; the new ones start empty and take records.
	if n := len(c.Records("t", 0)); n != 2 {
		t.Fatalf("p0 holds %d records after growing, want 2", n)
	}
	for p := int32(2); p < 5; p++ {
		lc := dialLeader(t, c, "t", p)
		if got := lc.produce(9, "t", p, makeBatch(t, plainSpec(), values(1)...)); got.ErrorCode != 0 || got.BaseOffset != 0 {
			t.Fatalf("produce to new p%d: %+v", p, got)
		}
		if got := lc.produceTo(c, 13, -1, "t", p, makeBatch(t, plainSpec(), values(1)...)); got.ErrorCode != 0 || got.BaseOffset != 1 {
			t.Fatalf("produce by id to new p%d: %+v", p, got)
		}
	}
	if err := c.MoveLeader("t", 4, 0); err != nil || c.Leader("t", 4) != 0 {
		t.Fatalf("MoveLeader on a new partition: %v, leader %d", err, c.Leader("t", 4))
	}

	for _, total := range []int32{5, 3, 0, -1} {
		if err := c.CreatePartitions("t", total); err == nil {
			t.Errorf("CreatePartitions(t, %d) with 5 partitions worked", total)
		}
	}
	if err := c.CreatePartitions("missing", 4); !errors.Is(err, ErrUnknownTopic) {
		t.Errorf("CreatePartitions(missing): %v", err)
	}
	if c.Partitions("t") != 5 {
		t.Fatalf("failed calls changed the count to %d", c.Partitions("t"))
	}
}

func TestDeleteTopic(t *testing.T) {
	c := newTestCluster(t, AutoCreateTopics(false), SeedTopic("t", 3))
	oldID, ok := c.TopicID("t")
	if !ok || oldID == (wire.UUID{}) {
		t.Fatal("no id for a seeded topic")
	}
	p2 := dialLeader(t, c, "t", 2)
	if got := p2.produce(9, "t", 2, makeBatch(t, plainSpec(), values(3)...)); got.ErrorCode != 0 {
		t.Fatal(got)
	}
	if err := c.DeleteTopic("t"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.TopicID("t"); ok || c.Partitions("t") != 0 || c.Records("t", 2) != nil || c.Leader("t", 0) != -1 {
		t.Fatal("the deleted topic is still visible")
	}
	if mt := p2.metadataOf("t"); mt.ErrorCode != wire.ErrUnknownTopicOrPartition.Code {
		t.Fatalf("metadata of a deleted topic: error %d", mt.ErrorCode)
	}
	var byID wire.MetadataResponse
	p2.roundTrip(12, &wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{{TopicID: oldID}}}, &byID)
	if len(byID.Topics) != 1 || byID.Topics[0].ErrorCode != wire.ErrUnknownTopicID.Code {
		t.Fatalf("metadata by the deleted id: %+v", byID.Topics)
	}
	if got := p2.produce(9, "t", 2, makeBatch(t, plainSpec(), values(1)...)); got.ErrorCode != wire.ErrUnknownTopicOrPartition.Code {
		t.Fatalf("produce by name to a deleted topic: error %d", got.ErrorCode)
	}
	req := produceReq(-1, "", 2, makeBatch(t, plainSpec(), values(1)...))
	req.Topics[0].TopicID = oldID
	var resp wire.ProduceResponse
	p2.roundTrip(13, req, &resp)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != wire.ErrUnknownTopicID.Code {
		t.Fatalf("produce by the deleted id: error %d", code)
	}
	if recs := c.RecordsByTopicID(oldID, 2); len(recs) != 3 || recs[0].Topic != "t" || recs[2].Offset != 2 {
		t.Fatalf("records of the deleted topic by id: %+v", recs)
	}
	if c.DeleteTopic("t") == nil || !errors.Is(c.DeleteTopic("missing"), ErrUnknownTopic) {
		t.Fatal("deleting a missing topic worked")
	}

	// Created again with fewer partitions: a new id, empty logs, the old ones apart.
	if err := c.CreateTopic("t", 1); err != nil {
		t.Fatal(err)
	}
	newID, ok := c.TopicID("t")
	if !ok || newID == oldID {
		t.Fatalf("recreated topic id %x, old %x", newID, oldID)
	}
	mt := p2.metadataOf("t")
	if mt.ErrorCode != 0 || mt.TopicID != newID || len(mt.Partitions) != 1 {
		t.Fatalf("metadata of the recreated topic: %+v", mt)
	}
	p0 := dialLeader(t, c, "t", 0)
	if got := p0.produce(9, "t", 0, makeBatch(t, plainSpec(), values(1)...)); got.ErrorCode != 0 || got.BaseOffset != 0 {
		t.Fatalf("produce to the recreated topic: %+v", got)
	}
	if got := p0.produce(9, "t", 2, makeBatch(t, plainSpec(), values(1)...)); got.ErrorCode != wire.ErrUnknownTopicOrPartition.Code {
		t.Fatalf("produce to a partition the new topic lacks: error %d", got.ErrorCode)
	}
	if n := len(c.RecordsByTopicID(oldID, 2)); n != 3 {
		t.Fatalf("old incarnation holds %d records after the recreate, want 3", n)
	}
	if recs := c.RecordsByTopicID(newID, 0); len(recs) != 1 || len(c.Records("t", 0)) != 1 {
		t.Fatalf("new incarnation: %d by id, %d by name", len(recs), len(c.Records("t", 0)))
	}
	if c.RecordsByTopicID(wire.UUID{7}, 0) != nil || c.RecordsByTopicID(newID, 1) != nil {
		t.Fatal("records for an unknown id or partition")
	}
}

func TestDeleteTopicAutoCreatesAgain(t *testing.T) {
	c := newTestCluster(t, DefaultPartitions(2), SeedTopic("t", 5))
	oldID, _ := c.TopicID("t")
	if err := c.DeleteTopic("t"); err != nil {
		t.Fatal(err)
	}
	mt := dial(t, c.Addrs()[1]).metadataOf("t")
	if mt.ErrorCode != 0 || mt.TopicID == oldID || len(mt.Partitions) != 2 {
		t.Fatalf("metadata after delete with auto-creation: error %d, id %x (old %x), %d partitions", mt.ErrorCode, mt.TopicID, oldID, len(mt.Partitions))
	}
}

// TestDeleteTopicStopsAppends deletes a topic while clients write to it: every batch the
// brokers acknowledged is in the old log, and nothing lands there once DeleteTopic returned.
func TestDeleteTopicStopsAppends(t *testing.T) {
	c := newTestCluster(t, AutoCreateTopics(false), SeedTopic("t", 3))
	id, _ := c.TopicID("t")
	var acked atomic.Int64
	var wg sync.WaitGroup
	deleted := make(chan struct{})
	var afterDelete atomic.Int64 // batches acknowledged that were sent after DeleteTopic returned
	for p := int32(0); p < 3; p++ {
		tc := dialLeader(t, c, "t", p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-deleted:
					// One more after the delete: it must fail.
					if got := tc.produce(9, "t", p, makeBatch(t, plainSpec(), values(1)...)); got.ErrorCode == 0 {
						afterDelete.Add(1)
					}
					return
				default:
				}
				got := tc.produce(9, "t", p, makeBatch(t, plainSpec(), values(2)...))
				switch got.ErrorCode {
				case 0:
					acked.Add(2)
				case wire.ErrUnknownTopicOrPartition.Code:
				default:
					t.Errorf("p%d: error %d", p, got.ErrorCode)
					return
				}
			}
		}()
	}
	for c.RequestCount(wire.KeyProduce) < 30 {
		time.Sleep(time.Millisecond)
	}
	if err := c.DeleteTopic("t"); err != nil {
		t.Fatal(err)
	}
	n := 0
	for p := int32(0); p < 3; p++ {
		n += len(c.RecordsByTopicID(id, p))
	}
	close(deleted)
	wg.Wait()
	if afterDelete.Load() != 0 {
		t.Fatalf("%d batches sent after DeleteTopic were acknowledged", afterDelete.Load())
	}
	m := 0
	for p := int32(0); p < 3; p++ {
		m += len(c.RecordsByTopicID(id, p))
	}
	if m != n || int64(m) != acked.Load() {
		t.Fatalf("old log: %d records when DeleteTopic returned, %d at the end; %d acknowledged", n, m, acked.Load())
	}
}

func TestTxnEnded(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 1), TransactionsV2(false))
	const id = "ended"
	cc := dial(t, c.Addrs()[c.TransactionCoordinator(id)])
	pid, epoch := cc.mustInitTxn(id)
	lc := dialLeader(t, c, "t", 0)
	seq := int32(0)
	write := func() {
		t.Helper()
		if got := lc.produceTxn(11, id, "t", 0, makeBatch(t, txnSpec(pid, epoch, seq), values(1)...)); got.ErrorCode != 0 {
			t.Fatal(got)
		}
		seq++
	}
	if got := lc.produce(9, "t", 0, makeBatch(t, plainSpec(), values(1)...)); got.ErrorCode != 0 {
		t.Fatal(got)
	}
	cc.addPartitions(3, id, pid, epoch, "t", 0)
	write()
	before := time.Now()
	if got := cc.endTxn(3, id, pid, epoch, true); got.ErrorCode != 0 {
		t.Fatal(got)
	}
	after := time.Now()
	cc.addPartitions(3, id, pid, epoch, "t", 0)
	write()
	recs := c.Records("t", 0)
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	if !recs[0].TxnEnded.IsZero() || !recs[2].TxnEnded.IsZero() {
		t.Fatalf("TxnEnded set for a plain record (%v) or an open transaction (%v)", recs[0].TxnEnded, recs[2].TxnEnded)
	}
	if e := recs[1].TxnEnded; !recs[1].Committed || e.Before(before) || e.After(after) {
		t.Fatalf("committed record: TxnEnded %v, want within [%v, %v]", e, before, after)
	}
	before = time.Now()
	if got := cc.endTxn(3, id, pid, epoch, false); got.ErrorCode != 0 {
		t.Fatal(got)
	}
	r := c.Records("t", 0)[2]
	if !r.Aborted || r.TxnEnded.Before(before) || r.TxnEnded.After(time.Now()) {
		t.Fatalf("aborted record: %+v", r)
	}
}
