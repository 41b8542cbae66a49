package kafkatest

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// handleProduce answers Produce (key 0, v3–13). Each partition's batch is judged on its own,
// in Kafka's order: unknown topic or partition (UNKNOWN_TOPIC_OR_PARTITION, or
// UNKNOWN_TOPIC_ID at v13), the request-level batch checks, leadership
// (NOT_LEADER_OR_FOLLOWER, naming the leader at v10+), the log's batch and record checks,
// then the idempotent producer's sequence. Acks other than -1, 0 and 1 fail every partition
// with INVALID_REQUIRED_ACKS. With acks=0 nothing is answered, and any error closes the
// connection, as Kafka does.
func handleProduce(cn *conn, ex *exchange) (wire.Response, error) {
	v := ex.hdr.APIVersion
	req := &cn.produce
	if err := req.Decode(ex.body, v); err != nil {
		return nil, err
	}
	c := cn.b.c

	// Resolve the topics and find the faults for every partition in one pass.
	topics := make([]*topic, len(req.Topics))
	var tps []topicPartition
	sparing := c.faults.sparing()
	for i := range req.Topics {
		rt := &req.Topics[i]
		if v >= 13 {
			topics[i] = c.topicByID(rt.TopicID)
		} else {
			topics[i] = c.topicByName(rt.Name)
		}
		name := rt.Name
		if topics[i] != nil {
			name = topics[i].name
		}
		for j := range rt.Partitions {
			pt := &rt.Partitions[j]
			tps = append(tps, topicPartition{topic: name, partition: pt.Index, held: sparing && holdsBatch(topics[i], pt)})
		}
	}
	faults := c.faults.matchProduce(wire.KeyProduce, cn.b.id, tps)

	validAcks := req.Acks == -1 || req.Acks == 0 || req.Acks == 1
	// Kafka refuses transactional batches without a transactional id to authorise them, for
	// the whole request.
	txnWithoutID := req.TransactionalID == nil && hasTransactionalBatch(req)
	resp := &wire.ProduceResponse{Topics: make([]wire.ProduceTopicResponse, len(req.Topics))}
	var endpoints []int32
	failed := 0
	k := 0
	now := time.Now()
	for i := range req.Topics {
		rt := &req.Topics[i]
		out := &resp.Topics[i]
		out.Name, out.TopicID = rt.Name, rt.TopicID
		out.Partitions = make([]wire.ProducePartitionResponse, len(rt.Partitions))
		for j := range rt.Partitions {
			pt := &rt.Partitions[j]
			po := &out.Partitions[j]
			var f *Fault
			if faults != nil {
				f = faults[k]
			}
			k++
			var berr *batchError
			var base int64
			switch {
			case !validAcks:
				berr = batchErrorf(wire.ErrInvalidRequiredAcks.Code, "acks must be -1, 0 or 1, is %d", req.Acks)
			case txnWithoutID:
				berr = batchErrorf(wire.ErrTransactionalIDAuthorizationFailed.Code, "transactional batches need a transactional id")
			case f != nil && !f.AppendAnyway && (f.ErrorCode != 0 || f.Swallow || f.DropConnection):
				// The fault stands in for the broker: nothing is written.
			default:
				base, berr = cn.producePartition(topics[i], pt, v, req.TransactionalID, now)
			}
			if f != nil {
				ex.addEffects(f)
				if f.ErrorCode != 0 {
					berr = batchErrorf(f.ErrorCode, "fault injected")
				}
			}
			*po = wire.ProducePartitionResponse{
				Index:           pt.Index,
				BaseOffset:      base,
				LogAppendTimeMs: -1,
				LogStartOffset:  0,
				CurrentLeader:   wire.LeaderIDAndEpoch{LeaderID: -1, LeaderEpoch: -1},
			}
			if berr != nil {
				cn.logRefused(out.Name, topics[i], pt.Index, berr)
				failed++
				po.ErrorCode, po.BaseOffset, po.LogStartOffset = berr.code, -1, -1
				if berr.msg != "" {
					m := berr.msg
					po.ErrorMessage = &m
				}
				po.RecordErrors = berr.recordErrors
				if berr.leader != nil && v >= 10 {
					po.CurrentLeader = *berr.leader
					endpoints = appendUnique(endpoints, berr.leader.LeaderID)
				}
			}
		}
	}
	if req.Acks == 0 {
		if failed > 0 {
			return nil, fmt.Errorf("acks=0 Produce failed in %d partitions", failed)
		}
		return nil, nil
	}
	for _, id := range endpoints {
		if b := c.broker(id); b != nil {
			host, port := b.endpoint()
			resp.NodeEndpoints = append(resp.NodeEndpoints, wire.NodeEndpoint{NodeID: id, Host: host, Port: port})
		}
	}
	return resp, nil
}

// hasTransactionalBatch reports whether any batch of req has the transactional bit, read
// without validating the batch, as Kafka's ProduceRequest does.
func hasTransactionalBatch(req *wire.ProduceRequest) bool {
	for i := range req.Topics {
		for _, pt := range req.Topics[i].Partitions {
			r := pt.Records
			if len(r) >= batchAttrOffset+2 && binary.BigEndian.Uint16(r[batchAttrOffset:])&uint16(wire.AttrTransactional) != 0 {
				return true
			}
		}
	}
	return false
}

func appendUnique(s []int32, v int32) []int32 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// producePartition writes one partition's batch if it is acceptable, returning its base
// offset, or says why not.
func (cn *conn) producePartition(t *topic, pt *wire.ProducePartition, version int16, txnID *string, now time.Time) (int64, *batchError) {
	c := cn.b.c
	if t == nil {
		return 0, unknownTopic(version)
	}
	if pt.Index < 0 || int(pt.Index) >= len(t.partitions) {
		return 0, batchErrorf(wire.ErrUnknownTopicOrPartition.Code, "topic %s has no partition %d", t.name, pt.Index)
	}
	p := t.partitions[pt.Index]
	if berr := checkRequestBatch(pt.Records, version); berr != nil {
		return 0, berr
	}
	if berr := cn.checkLeader(p); berr != nil {
		return 0, berr
	}
	vb, berr := c.validateBatch(pt.Records, &cn.recs, now)
	if berr != nil {
		return 0, berr
	}
	h := &vb.hdr
	raw := sealBatch(h, vb.records)
	var txn *txnOutcome
	if h.Attributes&wire.AttrTransactional != 0 {
		if version >= 12 && c.txnV2 && txnID != nil {
			c.awaitMarkers(*txnID)
		}
		// The coordinator's state must not change between its check and the append, or a
		// batch could land after its transaction's marker: hold its lock throughout.
		c.coord.mu.Lock()
		defer c.coord.mu.Unlock()
		var berr *batchError
		if txn, berr = c.checkTxnProduceLocked(txnID, p, h, version, now); berr != nil {
			return 0, berr
		}
	}
	p.mu.Lock()
	if p.deleted {
		p.mu.Unlock()
		return 0, unknownTopic(version)
	}
	if berr := cn.checkLeaderLocked(p); berr != nil {
		p.mu.Unlock()
		return 0, berr
	}
	if h.ProducerID >= 0 {
		off, dup, berr := p.checkProducerLocked(h)
		if berr == nil && !dup && txn == nil {
			berr = p.openTxnLocked(h)
		}
		if berr != nil || dup {
			p.mu.Unlock()
			return off, berr
		}
	}
	base := p.appendLocked(h, raw, txn)
	if h.ProducerID >= 0 {
		p.recordProducerLocked(h, base, txn)
	}
	p.mu.Unlock()
	c.waits.notify()
	return base, nil
}

// holdsBatch reports whether the partition of t that pt names already holds pt's batch from
// its idempotent producer: a retry it would answer as a duplicate.
func holdsBatch(t *topic, pt *wire.ProducePartition) bool {
	if t == nil || pt.Index < 0 || int(pt.Index) >= len(t.partitions) {
		return false
	}
	h, _, _, err := wire.ParseBatchHeader(pt.Records)
	if err != nil || h.ProducerID < 0 {
		return false
	}
	p := t.partitions[pt.Index]
	p.mu.Lock()
	defer p.mu.Unlock()
	_, dup, _ := p.checkProducerLocked(&h)
	return dup
}

// unknownTopic is the error for a batch whose topic does not exist (any more).
func unknownTopic(version int16) *batchError {
	if version >= 13 {
		return batchErrorf(wire.ErrUnknownTopicID.Code, "unknown topic id")
	}
	return batchErrorf(wire.ErrUnknownTopicOrPartition.Code, "unknown topic")
}

// checkTxnProduceLocked checks a transactional batch for p against the transaction of
// transactional id *id and returns the outcome the batch will share. Kafka's partition
// leader asks the coordinator to verify that p is in the transaction (KIP-890 part 1), or
// with transactions V2 and Produce v12+ to add it (part 2); the coordinator's PRODUCER_FENCED
// reaches the producer as INVALID_PRODUCER_EPOCH, and a partition not in the transaction gets
// TRANSACTION_ABORTABLE from v11, INVALID_TXN_STATE below. c.coord.mu must be held.
func (c *Cluster) checkTxnProduceLocked(id *string, p *partition, h *wire.BatchHeader, version int16, now time.Time) (*txnOutcome, *batchError) {
	if id == nil {
		return nil, batchErrorf(wire.ErrTransactionalIDAuthorizationFailed.Code, "transactional batches need a transactional id")
	}
	txnID := *id
	if h.ProducerID < 0 {
		return nil, batchErrorf(wire.ErrInvalidRecord.Code, "transactional batch without a producer id")
	}
	c.expireLocked(now)
	t := c.coord.txns[txnID]
	if t == nil {
		return nil, batchErrorf(wire.ErrInvalidProducerIDMapping.Code, "transactional id %q has no producer id", txnID)
	}
	var code int16
	if version >= 12 && c.txnV2 {
		code = c.addPartitionsLocked(t, h.ProducerID, h.ProducerEpoch, []*partition{p}, now)
	} else {
		code = t.verify(h.ProducerID, h.ProducerEpoch, p)
	}
	switch code {
	case 0:
		return t.outcome, nil
	case wire.ErrProducerFenced.Code:
		return nil, batchErrorf(wire.ErrInvalidProducerEpoch.Code, "producer %d epoch %d is fenced: transactional id %q has epoch %d", h.ProducerID, h.ProducerEpoch, txnID, t.epoch)
	case wire.ErrTransactionAbortable.Code:
		if version <= 10 {
			code = wire.ErrInvalidTxnState.Code
		}
		return nil, batchErrorf(code, "partition %s/%d was not added to the transaction", p.topic.name, p.index)
	case wire.ErrInvalidProducerIDMapping.Code:
		return nil, batchErrorf(code, "producer %d does not hold transactional id %q", h.ProducerID, txnID)
	case wire.ErrConcurrentTransactions.Code:
		return nil, batchErrorf(code, "the markers of transactional id %q's last transaction are being written", txnID)
	}
	return nil, batchErrorf(code, "transaction check failed")
}

// checkLeader returns NOT_LEADER_OR_FOLLOWER, naming the current leader, unless this broker
// leads p.
func (cn *conn) checkLeader(p *partition) *batchError {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cn.checkLeaderLocked(p)
}

func (cn *conn) checkLeaderLocked(p *partition) *batchError {
	if p.leader == cn.b.id {
		return nil
	}
	e := batchErrorf(wire.ErrNotLeaderOrFollower.Code, "broker %d does not lead %s/%d; broker %d does", cn.b.id, p.topic.name, p.index, p.leader)
	e.leader = &wire.LeaderIDAndEpoch{LeaderID: p.leader, LeaderEpoch: p.leaderEpoch}
	return e
}
