package kafkatest

import (
	"github.com/gregor-kafka/producer/wire"
)

// handleFindCoordinator answers FindCoordinator (key 10, v0–6) from any broker: the
// coordinator of a transactional id is [Cluster.TransactionCoordinator]'s, that of a consumer
// group [Cluster.GroupCoordinator]'s (the broker that answers TxnOffsetCommit for it; kafkatest
// answers no other group API, but a client looking up a group gets a broker, as from Kafka).
// Share groups (key type 2) and unknown key types get
// INVALID_REQUEST. Up to v3 one key is answered in the top-level fields, from v4 (KIP-699)
// every key of the batch in Coordinators. A fault's ErrorCode answers for every key.
func handleFindCoordinator(cn *conn, ex *exchange) (wire.Response, error) {
	v := ex.hdr.APIVersion
	var req wire.FindCoordinatorRequest
	if err := req.Decode(ex.body, v); err != nil {
		return nil, err
	}
	c := cn.b.c
	keys := req.CoordinatorKeys
	if v <= 3 {
		keys = []string{req.CoordinatorKey}
	}
	resp := &wire.FindCoordinatorResponse{Coordinators: make([]wire.Coordinator, 0, len(keys))}
	for _, key := range keys {
		co := wire.Coordinator{Key: key, NodeID: -1, Port: -1}
		var node int32
		switch req.KeyType {
		case wire.CoordinatorKeyGroup:
			node = c.groupCoordinator(key)
		case wire.CoordinatorKeyTransaction:
			node = c.TransactionCoordinator(key)
		default:
			co.ErrorCode = wire.ErrInvalidRequest.Code
		}
		if code := ex.faultCode(); code != 0 {
			co.ErrorCode = code
		}
		if co.ErrorCode == 0 {
			co.NodeID = node
			co.Host, co.Port = c.brokers[node].endpoint()
		} else {
			co.ErrorMessage = errorMessage(co.ErrorCode)
		}
		resp.Coordinators = append(resp.Coordinators, co)
	}
	if v <= 3 {
		co := resp.Coordinators[0]
		resp.ErrorCode, resp.ErrorMessage = co.ErrorCode, co.ErrorMessage
		resp.NodeID, resp.Host, resp.Port = co.NodeID, co.Host, co.Port
		resp.Coordinators = nil
	}
	return resp, nil
}

// errorMessage returns Kafka's description of error code, as brokers put in ErrorMessage
// fields.
func errorMessage(code int16) *string {
	var msg string
	if e, ok := wire.ErrorForCode(code).(*wire.Error); ok {
		msg = e.Description
	}
	return &msg
}
