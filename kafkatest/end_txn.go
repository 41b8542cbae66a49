package kafkatest

import (
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// handleEndTxn answers EndTxn (key 26, v0–5) on the transactional id's coordinator
// (NOT_COORDINATOR elsewhere): it commits or aborts the ongoing transaction, writing a marker
// to every partition in it before answering, so the outcome is visible in Records at once
// and CONCURRENT_TRANSACTIONS never arises. An unknown transactional id or another producer
// id is INVALID_PRODUCER_ID_MAPPING, another epoch PRODUCER_FENCED (INVALID_PRODUCER_EPOCH
// below v2).
//
// Up to v4 (transactions V1) the epoch stays; committing or aborting again what was just
// committed or aborted succeeds, anything else without an ongoing transaction is
// INVALID_TXN_STATE. v5 (transactions V2, KIP-890 part 2) bumps the epoch at every end, writes
// the markers with the new epoch and answers the producer id and epoch to continue with; a
// retry with the epoch before the bump gets the same answer, and an abort with no transaction
// ongoing succeeds and bumps the epoch too, as in Kafka.
func handleEndTxn(cn *conn, ex *exchange) (wire.Response, error) {
	v := ex.hdr.APIVersion
	var req wire.EndTxnRequest
	if err := req.Decode(ex.body, v); err != nil {
		return nil, err
	}
	c := cn.b.c
	resp := &wire.EndTxnResponse{ProducerID: -1, ProducerEpoch: -1}
	if code := ex.standIn(); code != 0 {
		resp.ErrorCode = code
		return resp, nil
	}
	pid, epoch, code := c.endTxn(cn.b.id, &req, v >= 5)
	if code == wire.ErrProducerFenced.Code && v < 2 {
		code = wire.ErrInvalidProducerEpoch.Code
	}
	resp.ErrorCode = code
	if code == 0 && v >= 5 {
		resp.ProducerID, resp.ProducerEpoch = pid, epoch
	}
	if code := ex.faultCode(); code != 0 {
		*resp = wire.EndTxnResponse{ErrorCode: code, ProducerID: -1, ProducerEpoch: -1}
	}
	return resp, nil
}

// endTxn makes the request checks of Kafka's coordinator, then ends the transaction.
func (c *Cluster) endTxn(broker int32, req *wire.EndTxnRequest, v2 bool) (int64, int16, int16) {
	if req.TransactionalID == "" {
		return -1, -1, wire.ErrInvalidRequest.Code
	}
	now := time.Now()
	c.coord.mu.Lock()
	defer c.coord.mu.Unlock()
	if c.coordinatorLocked(req.TransactionalID) != broker {
		return -1, -1, wire.ErrNotCoordinator.Code
	}
	c.expireLocked(now)
	t := c.coord.txns[req.TransactionalID]
	if t == nil {
		return -1, -1, wire.ErrInvalidProducerIDMapping.Code
	}
	return c.endTxnLocked(t, req.ProducerID, req.ProducerEpoch, req.Committed, v2, now)
}
