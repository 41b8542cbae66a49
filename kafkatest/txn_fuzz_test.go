package kafkatest

import (
	"math"
	"testing"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// FuzzTransactions drives the transaction coordinator of a one-broker cluster through the
// request handlers with a sequence of operations read from the input: InitProducerId,
// AddPartitionsToTxn, transactional and plain Produce, EndTxn at V1 and V2 versions, with
// current or stale producer ids and epochs, plus timeouts and exhausted epochs. After every
// operation it checks what must always hold: a settled record never changes its outcome,
// CommittedRecords is exactly the committed records, epochs never go back within a
// producer id on a partition, and every open transactional record belongs to an ongoing
// transaction that holds its partition (no hanging transaction).
func FuzzTransactions(f *testing.F) {
	f.Add([]byte{0, 0, 1, 3, 2, 0, 2, 1, 4, 1})
	f.Add([]byte{0, 0, 2, 0x80, 2, 0x81, 4, 0x80, 2, 0x80, 4, 0x82})
	f.Add([]byte{0, 0, 1, 1, 2, 0, 0, 1, 0, 1, 2, 0, 4, 1})
	f.Add([]byte{0, 0, 1, 3, 2, 0, 5, 0, 2, 1, 1, 3, 4, 0, 3, 0})
	f.Add([]byte{0, 0, 6, 0, 2, 0x80, 4, 0x81, 4, 0x81, 2, 0x80})
	c, err := NewCluster(NumBrokers(1))
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 200 {
			ops = ops[:200]
		}
		// A fresh topic and coordinator for every input, on one cluster: starting a cluster
		// per input would make the fuzzer's minimisation crawl.
		c.coord.mu.Lock()
		c.coord.txns = nil
		c.coord.mu.Unlock()
		c.mu.Lock()
		if old := c.topics["t"]; old != nil {
			delete(c.topics, "t")
			delete(c.topicIDs, old.id)
		}
		c.createTopicLocked("t", 2)
		c.mu.Unlock()
		fz := &txnFuzzer{t: t, c: c, cn: &conn{b: c.brokers[0], nc: &fakeConn{}, done: make(chan struct{})}, settled: map[int64]int32{}}
		for i := 0; i+1 < len(ops); i += 2 {
			fz.step(ops[i], ops[i+1])
			fz.check()
		}
	})
}

type txnFuzzer struct {
	t       *testing.T
	c       *Cluster
	cn      *conn
	corr    int32
	settled map[int64]int32 // by partition<<32|offset: outcome once committed or aborted
}

var fuzzTxnIDs = [2]string{"a", "b"}

// send hands one request to the broker as a frame, the way the connection would.
func (fz *txnFuzzer) send(version int16, req wire.Request) {
	fz.corr++
	frame := wire.AppendRequest(nil, wire.RequestHeader{APIVersion: version, CorrelationID: fz.corr}, req)
	fz.cn.nc.(*fakeConn).out = nil
	fz.cn.handle(frame[4:])
}

// current returns the producer id and epoch the coordinator holds for id, adjusted by the
// low bits of arg: most often the current ones, else one epoch back or ahead, or another id.
func (fz *txnFuzzer) current(id string, arg byte) (int64, int16) {
	fz.c.coord.mu.Lock()
	defer fz.c.coord.mu.Unlock()
	pid, epoch := int64(5), int16(0)
	if tx := fz.c.coord.txns[id]; tx != nil {
		pid, epoch = tx.producerID, tx.epoch
	}
	switch arg >> 4 & 7 {
	case 1:
		epoch--
	case 2:
		epoch++
	case 3:
		pid++
	}
	return pid, epoch
}

// nextSeq returns the sequence the partition expects next of pid at epoch, or 0.
func (fz *txnFuzzer) nextSeq(p int32, pid int64, epoch int16) int32 {
	part := fz.c.partition("t", p)
	part.mu.Lock()
	defer part.mu.Unlock()
	if s := part.producers[pid]; s != nil && s.epoch == epoch {
		return s.nextSeq()
	}
	return 0
}

func (fz *txnFuzzer) step(op, arg byte) {
	id := fuzzTxnIDs[arg>>7]
	p := int32(arg & 1)
	switch op % 8 {
	case 0: // InitProducerId, as a new producer or (v3+) as the holder of the current epoch
		req := &wire.InitProducerIDRequest{TransactionalID: &id, TransactionTimeoutMs: 60000, ProducerID: -1, ProducerEpoch: -1}
		v := int16(arg>>1) % 6
		if arg&1 != 0 && v >= 3 {
			req.ProducerID, req.ProducerEpoch = fz.current(id, arg)
		}
		fz.send(v, req)
	case 1: // AddPartitionsToTxn (client form)
		pid, epoch := fz.current(id, arg)
		var parts []int32
		if arg&1 != 0 {
			parts = append(parts, 0)
		}
		if arg&2 != 0 {
			parts = append(parts, 1)
		}
		fz.send(int16(arg>>2&3), &wire.AddPartitionsToTxnRequest{TransactionalID: id, ProducerID: pid, ProducerEpoch: epoch,
			Topics: []wire.AddPartitionsToTxnTopic{{Name: "t", Partitions: parts}}})
	case 2, 3: // transactional or plain Produce with the transactional id's producer
		pid, epoch := fz.current(id, arg)
		seq := fz.nextSeq(p, pid, epoch)
		if arg&2 != 0 {
			seq++ // out of order
		}
		s := idemSpec(pid, epoch, seq)
		s.transactional = op%8 == 2
		req := produceReq(-1, "t", p, makeBatch(fz.t, s, values(int(arg>>2&3)+1)...))
		v := int16(11)
		if arg&4 != 0 {
			v = 12
		}
		if s.transactional {
			req.TransactionalID = &id
		}
		fz.send(v, req)
	case 4: // EndTxn, V1 or V2, commit or abort
		pid, epoch := fz.current(id, arg)
		v := int16(3)
		if arg&2 != 0 {
			v = 5
		}
		fz.send(v, &wire.EndTxnRequest{TransactionalID: id, ProducerID: pid, ProducerEpoch: epoch, Committed: arg&1 != 0})
	case 5: // the transaction times out
		fz.c.coord.mu.Lock()
		if tx := fz.c.coord.txns[id]; tx != nil {
			tx.started = time.Now().Add(-time.Hour)
		}
		fz.c.coord.mu.Unlock()
	case 6: // the epoch runs out
		fz.c.coord.mu.Lock()
		if tx := fz.c.coord.txns[id]; tx != nil && tx.state != txnOngoing {
			tx.epoch = math.MaxInt16 - 1 - int16(arg&1)
		}
		fz.c.coord.mu.Unlock()
	case 7: // AddPartitionsToTxn (broker form), adding or verifying
		pid, epoch := fz.current(id, arg)
		fz.send(4+int16(arg>>2&1), &wire.AddPartitionsToTxnRequest{Transactions: []wire.AddPartitionsToTxnTransaction{{
			TransactionalID: id, ProducerID: pid, ProducerEpoch: epoch, VerifyOnly: arg&2 != 0,
			Topics: []wire.AddPartitionsToTxnTopic{{Name: "t", Partitions: []int32{p}}},
		}}})
	}
}

func (fz *txnFuzzer) check() {
	t, c := fz.t, fz.c
	c.expireTransactions(time.Now())
	c.coord.mu.Lock()
	defer c.coord.mu.Unlock()
	ongoing := map[*txnOutcome]*transaction{}
	for _, tx := range c.coord.txns {
		if (tx.state == txnOngoing) != (tx.outcome != nil) || (tx.state != txnOngoing && len(tx.partitions) > 0) {
			t.Fatalf("transaction %q: state %d, outcome %v, %d partitions", tx.id, tx.state, tx.outcome, len(tx.partitions))
		}
		if tx.outcome != nil {
			ongoing[tx.outcome] = tx
		}
	}
	for pi := range int32(2) {
		p := c.partition("t", pi)
		var committed []Record
		lastEpoch := map[int64]int16{}
		var prev int64 = -1
		for _, b := range p.snapshot() {
			if b.baseOffset <= prev {
				t.Fatalf("p%d: batch at offset %d after %d", pi, b.baseOffset, prev)
			}
			prev = b.baseOffset
			if h := b.hdr; h.ProducerID >= 0 {
				if e, ok := lastEpoch[h.ProducerID]; ok && h.ProducerEpoch < e {
					t.Fatalf("p%d: producer %d epoch %d at offset %d after epoch %d", pi, h.ProducerID, h.ProducerEpoch, b.baseOffset, e)
				}
				lastEpoch[h.ProducerID] = h.ProducerEpoch
			}
			if b.outcome == nil {
				continue
			}
			state := b.outcome.state.Load()
			key := int64(pi)<<32 | b.baseOffset
			if old, ok := fz.settled[key]; ok && old != state {
				t.Fatalf("p%d offset %d: outcome %d became %d", pi, b.baseOffset, old, state)
			}
			if state != outcomeOpen {
				fz.settled[key] = state
				continue
			}
			tx := ongoing[b.outcome]
			if tx == nil || !tx.has(p) || tx.producerID != b.hdr.ProducerID {
				t.Fatalf("p%d offset %d: open transactional batch of producer %d outside any ongoing transaction holding the partition", pi, b.baseOffset, b.hdr.ProducerID)
			}
		}
		for _, r := range c.appendRecords(nil, p, false) {
			if r.Committed && r.Aborted || (!r.Transactional && !r.Committed) {
				t.Fatalf("p%d offset %d: transactional %v committed %v aborted %v", pi, r.Offset, r.Transactional, r.Committed, r.Aborted)
			}
			if r.Committed {
				committed = append(committed, r)
			}
		}
		got := c.appendRecords(nil, p, true)
		if len(got) != len(committed) {
			t.Fatalf("p%d: %d committed records, %d records marked committed", pi, len(got), len(committed))
		}
		for i := range got {
			if got[i].Offset != committed[i].Offset {
				t.Fatalf("p%d: committed record %d at offset %d, want %d", pi, i, got[i].Offset, committed[i].Offset)
			}
		}
	}
}
