package wire

// AddOffsetsToTxnRequest is the body of an AddOffsetsToTxn request (key 25, versions 0–4,
// flexible from 3). A transactional producer sends it to its transaction coordinator before
// committing a consumer group's offsets in a transaction ([TxnOffsetCommitRequest]): the
// coordinator adds the group's __consumer_offsets partition to the transaction, so that the
// offsets commit or abort with it. The fields are the same at every version; v2 may answer
// PRODUCER_FENCED and v4 TRANSACTION_ABORTABLE (KIP-890). With transactions V2 a producer
// skips it: TxnOffsetCommit v5+ adds the group implicitly.
type AddOffsetsToTxnRequest struct {
	// TransactionalID is the producer's transactional.id.
	TransactionalID string
	// ProducerID is the producer id from InitProducerId.
	ProducerID int64
	// ProducerEpoch is the producer's current epoch.
	ProducerEpoch int16
	// GroupID is the consumer group whose offsets join the transaction.
	GroupID string
}

// Key returns [KeyAddOffsetsToTxn].
func (*AddOffsetsToTxnRequest) Key() int16 { return KeyAddOffsetsToTxn }

// AppendTo appends the request body encoded at version to dst.
func (m *AddOffsetsToTxnRequest) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyAddOffsetsToTxn, version)
	dst = AppendString(dst, m.TransactionalID, flex)
	dst = AppendInt64(dst, m.ProducerID)
	dst = AppendInt16(dst, m.ProducerEpoch)
	dst = AppendString(dst, m.GroupID, flex)
	return AppendEmptyTags(dst, flex)
}

// Decode replaces m with the request body decoded from b at version.
func (m *AddOffsetsToTxnRequest) Decode(b []byte, version int16) error {
	*m = AddOffsetsToTxnRequest{}
	if err := CheckVersion(KeyAddOffsetsToTxn, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyAddOffsetsToTxn, version)
	r := NewReader(b)
	m.TransactionalID = r.String(flex)
	m.ProducerID = r.Int64()
	m.ProducerEpoch = r.Int16()
	m.GroupID = r.String(flex)
	r.Tags(flex, nil)
	return decodeError(KeyAddOffsetsToTxn, version, "request", r.Complete())
}

// AddOffsetsToTxnResponse is the body of an AddOffsetsToTxn response (key 25, versions 0–4).
type AddOffsetsToTxnResponse struct {
	// ThrottleTimeMs is how long the broker throttled the request for quota, or 0.
	ThrottleTimeMs int32
	// ErrorCode is 0 or a Kafka error code; see [ErrorForCode].
	ErrorCode int16
}

// Key returns [KeyAddOffsetsToTxn].
func (*AddOffsetsToTxnResponse) Key() int16 { return KeyAddOffsetsToTxn }

// AppendTo appends the response body encoded at version to dst.
func (m *AddOffsetsToTxnResponse) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyAddOffsetsToTxn, version)
	dst = AppendInt32(dst, m.ThrottleTimeMs)
	dst = AppendInt16(dst, m.ErrorCode)
	return AppendEmptyTags(dst, flex)
}

// Decode replaces m with the response body decoded from b at version.
func (m *AddOffsetsToTxnResponse) Decode(b []byte, version int16) error {
	*m = AddOffsetsToTxnResponse{}
	if err := CheckVersion(KeyAddOffsetsToTxn, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyAddOffsetsToTxn, version)
	r := NewReader(b)
	m.ThrottleTimeMs = r.Int32()
	m.ErrorCode = r.Int16()
	r.Tags(flex, nil)
	return decodeError(KeyAddOffsetsToTxn, version, "response", r.Complete())
}
