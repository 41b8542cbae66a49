package kafkatest

import (
	"time"

	"github.com/gregor-kafka/producer/wire"
)

// handleInitProducerID answers InitProducerId (key 22, v0–5). Without a transactional id any
// broker hands out a new producer id with epoch 0, as Kafka does for idempotent producers.
// With one, only its coordinator answers (NOT_COORDINATOR elsewhere), after checking the
// timeout against MaxTransactionTimeout (INVALID_TRANSACTION_TIMEOUT): the first call gets a
// new producer id at epoch 0; later ones keep the id and bump the epoch, which fences the
// previous holder, or get a new id once the epoch is exhausted. A call while a transaction is
// ongoing aborts it and answers CONCURRENT_TRANSACTIONS, so the retry gets the epoch after
// the abort, as in Kafka. From v3 a producer may name the id and epoch it holds (KIP-360) to
// have that epoch bumped; a stale one is PRODUCER_FENCED, answered as INVALID_PRODUCER_EPOCH
// below v4.
func handleInitProducerID(cn *conn, ex *exchange) (wire.Response, error) {
	v := ex.hdr.APIVersion
	var req wire.InitProducerIDRequest
	if err := req.Decode(ex.body, v); err != nil {
		return nil, err
	}
	c := cn.b.c
	resp := &wire.InitProducerIDResponse{ProducerID: -1, ProducerEpoch: -1}
	if code := ex.standIn(); code != 0 {
		resp.ErrorCode = code
		return resp, nil
	}
	pid, epoch, code := c.initProducerID(cn.b.id, &req)
	if code == wire.ErrProducerFenced.Code && v < 4 {
		code = wire.ErrInvalidProducerEpoch.Code
	}
	if code == 0 {
		resp.ProducerID, resp.ProducerEpoch = pid, epoch
	}
	resp.ErrorCode = code
	if code := ex.faultCode(); code != 0 {
		*resp = wire.InitProducerIDResponse{ErrorCode: code, ProducerID: -1, ProducerEpoch: -1}
	}
	return resp, nil
}

// initProducerID makes the checks of Kafka's KafkaApis and TransactionCoordinator, in their
// order, then asks the coordinator state for an id and epoch.
func (c *Cluster) initProducerID(broker int32, req *wire.InitProducerIDRequest) (int64, int16, int16) {
	if (req.ProducerID == -1) != (req.ProducerEpoch == -1) {
		return 0, 0, wire.ErrInvalidRequest.Code
	}
	if req.TransactionalID == nil {
		return c.newProducerID(), 0, 0
	}
	id := *req.TransactionalID
	timeout := time.Duration(req.TransactionTimeoutMs) * time.Millisecond
	switch {
	case id == "":
		return 0, 0, wire.ErrInvalidRequest.Code
	case req.TransactionTimeoutMs <= 0 || timeout > c.cfg.maxTxnTimeout:
		return 0, 0, wire.ErrInvalidTransactionTimeout.Code
	}
	now := time.Now()
	c.coord.mu.Lock()
	defer c.coord.mu.Unlock()
	if c.coordinatorLocked(id) != broker {
		return 0, 0, wire.ErrNotCoordinator.Code
	}
	c.expireLocked(now)
	return c.initLocked(id, timeout, req.ProducerID, req.ProducerEpoch, now)
}

// newProducerID returns a producer id no one has been given.
func (c *Cluster) newProducerID() int64 {
	return c.nextProducerID.Add(1) - 1
}
