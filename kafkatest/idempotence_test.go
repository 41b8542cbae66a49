package kafkatest

import (
	"math"
	"testing"

	"github.com/gregor-kafka/producer/wire"
)

func TestInitProducerID(t *testing.T) {
	c := newTestCluster(t)
	tc := dial(t, c.Addrs()[0])
	seen := map[int64]bool{}
	for v := int16(0); v <= 5; v++ {
		var resp wire.InitProducerIDResponse
		tc.roundTrip(v, &wire.InitProducerIDRequest{TransactionTimeoutMs: 1000, ProducerID: -1, ProducerEpoch: -1}, &resp)
		if resp.ErrorCode != 0 || resp.ProducerEpoch != 0 || resp.ProducerID < 0 || seen[resp.ProducerID] {
			t.Fatalf("v%d: %+v", v, resp)
		}
		seen[resp.ProducerID] = true
	}
	// Other brokers hand out other ids too.
	pid, _ := dial(t, c.Addrs()[2]).initProducerID()
	if seen[pid] {
		t.Fatalf("producer id %d handed out twice", pid)
	}
	// A transactional id keeps its producer id and bumps the epoch.
	txn := "txn"
	tc = dial(t, c.Addrs()[c.TransactionCoordinator(txn)])
	var first, second wire.InitProducerIDResponse
	tc.roundTrip(4, &wire.InitProducerIDRequest{TransactionalID: &txn, TransactionTimeoutMs: 1000, ProducerID: -1, ProducerEpoch: -1}, &first)
	tc.roundTrip(4, &wire.InitProducerIDRequest{TransactionalID: &txn, TransactionTimeoutMs: 1000, ProducerID: -1, ProducerEpoch: -1}, &second)
	if first.ErrorCode != 0 || second.ProducerID != first.ProducerID || second.ProducerEpoch != first.ProducerEpoch+1 {
		t.Fatalf("transactional: %+v then %+v", first, second)
	}
}

func TestIdempotentProduce(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 1))
	tc := dialLeader(t, c, "t", 0)
	pid, epoch := tc.initProducerID()
	produce := func(e int16, seq int32, n int) wire.ProducePartitionResponse {
		t.Helper()
		return tc.produce(11, "t", 0, makeBatch(t, idemSpec(pid, e, seq), values(n)...))
	}
	expect := func(got wire.ProducePartitionResponse, code int16, offset int64) {
		t.Helper()
		if got.ErrorCode != code || (code == 0 && got.BaseOffset != offset) {
			t.Fatalf("got error %d offset %d, want error %d offset %d", got.ErrorCode, got.BaseOffset, code, offset)
		}
	}
	count := func() int { return len(c.Records("t", 0)) }

	expect(produce(epoch, 0, 3), 0, 0)
	expect(produce(epoch, 3, 2), 0, 3)
	// A retry of the last batch and of the one before: the original offsets, nothing added.
	expect(produce(epoch, 3, 2), 0, 3)
	expect(produce(epoch, 0, 3), 0, 0)
	if count() != 5 {
		t.Fatalf("%d records after duplicates", count())
	}
	// A retry with a different range is no duplicate: out of order.
	expect(produce(epoch, 3, 1), wire.ErrOutOfOrderSequenceNumber.Code, 0)
	// A gap.
	expect(produce(epoch, 6, 1), wire.ErrOutOfOrderSequenceNumber.Code, 0)
	// Five more batches push the first two out of the cache.
	for i := range 5 {
		expect(produce(epoch, int32(5+i), 1), 0, int64(5+i))
	}
	expect(produce(epoch, 9, 1), 0, 9)                                     // still cached
	expect(produce(epoch, 3, 2), wire.ErrOutOfOrderSequenceNumber.Code, 0) // no longer
	// A new epoch must start at 0.
	expect(produce(epoch+1, 10, 1), wire.ErrOutOfOrderSequenceNumber.Code, 0)
	expect(produce(epoch+1, 0, 2), 0, 10)
	// The old epoch is fenced, even for what was its duplicate.
	expect(produce(epoch, 10, 1), wire.ErrInvalidProducerEpoch.Code, 0)
	expect(produce(epoch, 9, 1), wire.ErrInvalidProducerEpoch.Code, 0)
	expect(produce(epoch+1, 2, 1), 0, 12)
	if count() != 13 {
		t.Fatalf("%d records, want 13", count())
	}
	recs := c.Records("t", 0)
	if r := recs[11]; r.ProducerID != pid || r.ProducerEpoch != epoch+1 || r.Sequence != 1 || r.Offset != 11 {
		t.Fatalf("record 11: %+v", r)
	}
	// Another producer on the same partition has its own sequence, from any value (KIP-360).
	other, _ := tc.initProducerID()
	if got := tc.produce(11, "t", 0, makeBatch(t, idemSpec(other, 0, 42), values(1)...)); got.ErrorCode != 0 || got.BaseOffset != 13 {
		t.Fatalf("second producer: %+v", got)
	}
}

func TestSequenceWrap(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 1))
	tc := dialLeader(t, c, "t", 0)
	pid, epoch := tc.initProducerID()
	const top = math.MaxInt32
	for _, step := range []struct {
		seq    int32
		n      int
		code   int16
		offset int64
	}{
		{top - 1, 3, 0, 0}, // first batch: any sequence; covers top-1, top, 0
		{1, 2, 0, 3},       // continues after the wrap
		{top - 1, 3, 0, 0}, // duplicate across the wrap
		{4, 1, wire.ErrOutOfOrderSequenceNumber.Code, 0},
		{3, 1, 0, 5},
	} {
		got := tc.produce(9, "t", 0, makeBatch(t, idemSpec(pid, epoch, step.seq), values(step.n)...))
		if got.ErrorCode != step.code || (step.code == 0 && got.BaseOffset != step.offset) {
			t.Fatalf("seq %d: %+v", step.seq, got)
		}
	}
	var seqs []int32
	for _, r := range c.Records("t", 0) {
		seqs = append(seqs, r.Sequence)
	}
	want := []int32{top - 1, top, 0, 1, 2, 3}
	if len(seqs) != len(want) {
		t.Fatalf("sequences %v", seqs)
	}
	for i := range want {
		if seqs[i] != want[i] {
			t.Fatalf("sequences %v, want %v", seqs, want)
		}
	}
}

func TestTransactionalBatchWithoutTransactionalID(t *testing.T) {
	c := newTestCluster(t, SeedTopic("t", 2))
	tc := dial(t, c.Addrs()[c.Leader("t", 0)])
	pid, epoch := tc.initProducerID()
	s := idemSpec(pid, epoch, 0)
	s.transactional = true
	// Kafka refuses the whole request, the non-transactional partition too.
	req := produceReq(-1, "t", 0, makeBatch(t, s, values(1)...))
	req.Topics[0].Partitions = append(req.Topics[0].Partitions, wire.ProducePartition{Index: 1, Records: makeBatch(t, plainSpec(), values(1)...)})
	var resp wire.ProduceResponse
	tc.roundTrip(11, req, &resp)
	for _, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != wire.ErrTransactionalIDAuthorizationFailed.Code {
			t.Fatalf("partition %d: error %d, want TRANSACTIONAL_ID_AUTHORIZATION_FAILED", p.Index, p.ErrorCode)
		}
	}
	if n := len(c.Records("t", 0)) + len(c.Records("t", 1)); n != 0 {
		t.Fatalf("%d records written", n)
	}
}
