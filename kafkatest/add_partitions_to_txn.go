package kafkatest

import (
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// handleAddPartitionsToTxn answers AddPartitionsToTxn (key 24, v0–5). The client form (v0–3)
// adds partitions to the producer's transaction, starting it: when a topic or partition does
// not exist it gets UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, with
// nothing added; otherwise the coordinator's answer goes to every partition:
// NOT_COORDINATOR, INVALID_PRODUCER_ID_MAPPING (unknown transactional id, or another producer
// id), PRODUCER_FENCED (another epoch; INVALID_PRODUCER_EPOCH below v2) or success. The
// batched broker form (v4+) does the same per transaction, or with VerifyOnly checks that the
// partitions are in the transaction (TRANSACTION_ABORTABLE for those that are not), as a
// partition leader asks before appending a transactional batch. A fault's ErrorCode answers
// for every partition (v0–3) or as the top-level error (v4+).
func handleAddPartitionsToTxn(cn *conn, ex *exchange) (wire.Response, error) {
	v := ex.hdr.APIVersion
	var req wire.AddPartitionsToTxnRequest
	if err := req.Decode(ex.body, v); err != nil {
		return nil, err
	}
	c := cn.b.c
	resp := &wire.AddPartitionsToTxnResponse{}
	stand := ex.standIn()
	if v >= 4 {
		if stand != 0 {
			resp.ErrorCode = stand
			return resp, nil
		}
		for i := range req.Transactions {
			t := &req.Transactions[i]
			resp.ResultsByTransaction = append(resp.ResultsByTransaction, wire.AddPartitionsToTxnResult{
				TransactionalID: t.TransactionalID,
				TopicResults:    c.addPartitions(cn.b.id, t.TransactionalID, t.ProducerID, t.ProducerEpoch, t.Topics, t.VerifyOnly, v),
			})
		}
		if code := ex.faultCode(); code != 0 {
			*resp = wire.AddPartitionsToTxnResponse{ErrorCode: code}
		}
		return resp, nil
	}
	if stand != 0 {
		resp.ResultsByTopicV3AndBelow = txnTopicResults(req.Topics, nil, stand)
		return resp, nil
	}
	resp.ResultsByTopicV3AndBelow = c.addPartitions(cn.b.id, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Topics, false, v)
	if code := ex.faultCode(); code != 0 {
		resp.ResultsByTopicV3AndBelow = txnTopicResults(req.Topics, nil, code)
	}
	return resp, nil
}

// addPartitions adds the partitions named by topics to the transaction of id, or only checks
// them with verifyOnly, and returns the result of each.
func (c *Cluster) addPartitions(broker int32, id string, pid int64, epoch int16, topics []wire.AddPartitionsToTxnTopic, verifyOnly bool, version int16) []wire.AddPartitionsToTxnTopicResult {
	var parts []*partition
	missing := false
	for _, rt := range topics {
		for _, idx := range rt.Partitions {
			p := c.partition(rt.Name, idx)
			missing = missing || p == nil
			parts = append(parts, p)
		}
	}
	if missing {
		codes := make([]int16, len(parts))
		for i, p := range parts {
			codes[i] = wire.ErrOperationNotAttempted.Code
			if p == nil {
				codes[i] = wire.ErrUnknownTopicOrPartition.Code
			}
		}
		return txnTopicResults(topics, codes, 0)
	}
	codes := c.coordinateAdd(broker, id, pid, epoch, parts, verifyOnly)
	if version < 2 {
		for i, code := range codes {
			if code == wire.ErrProducerFenced.Code {
				codes[i] = wire.ErrInvalidProducerEpoch.Code
			}
		}
	}
	return txnTopicResults(topics, codes, 0)
}

// coordinateAdd is the coordinator's side of addPartitions: one error code per partition.
func (c *Cluster) coordinateAdd(broker int32, id string, pid int64, epoch int16, parts []*partition, verifyOnly bool) []int16 {
	codes := make([]int16, len(parts))
	all := func(code int16) []int16 {
		for i := range codes {
			codes[i] = code
		}
		return codes
	}
	if id == "" {
		return all(wire.ErrInvalidRequest.Code)
	}
	now := time.Now()
	c.coord.mu.Lock()
	defer c.coord.mu.Unlock()
	if c.coordinatorLocked(id) != broker {
		return all(wire.ErrNotCoordinator.Code)
	}
	c.expireLocked(now)
	t := c.coord.txns[id]
	if t == nil {
		return all(wire.ErrInvalidProducerIDMapping.Code)
	}
	if !verifyOnly {
		return all(c.addPartitionsLocked(t, pid, epoch, parts, now))
	}
	for i, p := range parts {
		codes[i] = t.verify(pid, epoch, p)
	}
	return codes
}

// txnTopicResults returns the results for the partitions of topics, in request order: codes
// holds one error code per partition, in the same order, or is nil to give all of them code.
func txnTopicResults(topics []wire.AddPartitionsToTxnTopic, codes []int16, code int16) []wire.AddPartitionsToTxnTopicResult {
	out := make([]wire.AddPartitionsToTxnTopicResult, len(topics))
	k := 0
	for i, rt := range topics {
		out[i].Name = rt.Name
		out[i].Results = make([]wire.AddPartitionsToTxnPartitionResult, len(rt.Partitions))
		for j, idx := range rt.Partitions {
			r := &out[i].Results[j]
			r.PartitionIndex, r.ErrorCode = idx, code
			if codes != nil {
				r.ErrorCode = codes[k]
			}
			k++
		}
	}
	return out
}
