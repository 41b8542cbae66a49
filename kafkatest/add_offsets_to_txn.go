package kafkatest

import (
	"slices"
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// handleAddOffsetsToTxn answers AddOffsetsToTxn (key 25, v0–4) on the transactional id's
// coordinator (NOT_COORDINATOR elsewhere): it adds the group's offsets (Kafka's
// __consumer_offsets partition of the group) to the producer's transaction, starting it if
// none is ongoing, so that a TxnOffsetCommit for the group may follow and its offsets settle
// with the transaction. An unknown transactional id or another producer id is
// INVALID_PRODUCER_ID_MAPPING, another epoch PRODUCER_FENCED (INVALID_PRODUCER_EPOCH below
// v2). As in Kafka the group id is not checked here (TxnOffsetCommit does). A fault's
// ErrorCode is the answer's.
func handleAddOffsetsToTxn(cn *conn, ex *exchange) (wire.Response, error) {
	v := ex.hdr.APIVersion
	var req wire.AddOffsetsToTxnRequest
	if err := req.Decode(ex.body, v); err != nil {
		return nil, err
	}
	resp := &wire.AddOffsetsToTxnResponse{}
	if code := ex.standIn(); code != 0 {
		resp.ErrorCode = code
		return resp, nil
	}
	code := cn.b.c.addOffsets(cn.b.id, &req)
	if code == wire.ErrProducerFenced.Code && v < 2 {
		code = wire.ErrInvalidProducerEpoch.Code
	}
	resp.ErrorCode = code
	if code := ex.faultCode(); code != 0 {
		resp.ErrorCode = code
	}
	return resp, nil
}

// addOffsets makes the checks of Kafka's transaction coordinator, then adds the group to the
// transaction.
func (c *Cluster) addOffsets(broker int32, req *wire.AddOffsetsToTxnRequest) int16 {
	if req.TransactionalID == "" {
		return wire.ErrInvalidRequest.Code
	}
	now := time.Now()
	c.coord.mu.Lock()
	defer c.coord.mu.Unlock()
	if c.coordinatorLocked(req.TransactionalID) != broker {
		return wire.ErrNotCoordinator.Code
	}
	c.expireLocked(now)
	t := c.coord.txns[req.TransactionalID]
	if t == nil {
		return wire.ErrInvalidProducerIDMapping.Code
	}
	if code := c.addPartitionsLocked(t, req.ProducerID, req.ProducerEpoch, nil, now); code != 0 {
		return code
	}
	if !t.hasGroup(req.GroupID) {
		t.groups = append(t.groups, req.GroupID)
	}
	return 0
}

// hasGroup reports whether group's offsets are in t's ongoing transaction.
func (t *transaction) hasGroup(group string) bool { return slices.Contains(t.groups, group) }
