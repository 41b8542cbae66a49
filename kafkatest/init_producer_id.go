package kafkatest

import (
	"math"

	"github.com/gregor-kafka/producer/wire"
)

// handleInitProducerID answers InitProducerId (key 22). Without a transactional id every
// call gets a new producer id with epoch 0, as Kafka gives idempotent producers. With one,
// the same id is kept and its epoch bumped on every call (a new id once the epoch would
// pass 32767), which fences the previous holder; transaction coordination proper comes
// with FindCoordinator and EndTxn.
func handleInitProducerID(cn *conn, ex *exchange) (wire.Response, error) {
	var req wire.InitProducerIDRequest
	if err := req.Decode(ex.body, ex.hdr.APIVersion); err != nil {
		return nil, err
	}
	c := cn.b.c
	if code := ex.faultCode(); code != 0 {
		return &wire.InitProducerIDResponse{ErrorCode: code, ProducerID: -1, ProducerEpoch: -1}, nil
	}
	if req.TransactionalID == nil {
		return &wire.InitProducerIDResponse{ProducerID: c.newProducerID()}, nil
	}
	c.txnMu.Lock()
	defer c.txnMu.Unlock()
	p := c.txnProducers[*req.TransactionalID]
	switch {
	case p == nil:
		p = &txnProducer{id: c.newProducerID()}
		c.txnProducers[*req.TransactionalID] = p
	case p.epoch == math.MaxInt16:
		p.id, p.epoch = c.newProducerID(), 0
	default:
		p.epoch++
	}
	return &wire.InitProducerIDResponse{ProducerID: p.id, ProducerEpoch: p.epoch}, nil
}

// newProducerID returns a producer id no one has been given.
func (c *Cluster) newProducerID() int64 {
	return c.nextProducerID.Add(1) - 1
}
