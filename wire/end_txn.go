package wire

// EndTxnRequest is the body of an EndTxn request (key 26, versions 0–5, flexible from 3): a
// transactional producer asks its transaction coordinator to commit or abort the ongoing
// transaction. The fields are the same at every version; v5 marks a client that uses
// transactions V2 (KIP-890 part 2), whose epoch the coordinator bumps at every transaction end.
type EndTxnRequest struct {
	// TransactionalID is the producer's transactional.id.
	TransactionalID string
	// ProducerID is the producer id from InitProducerId.
	ProducerID int64
	// ProducerEpoch is the producer's current epoch.
	ProducerEpoch int16
	// Committed is true to commit the transaction, false to abort it.
	Committed bool
}

// Key returns [KeyEndTxn].
func (*EndTxnRequest) Key() int16 { return KeyEndTxn }

// AppendTo appends the request body encoded at version to dst.
func (m *EndTxnRequest) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyEndTxn, version)
	dst = AppendString(dst, m.TransactionalID, flex)
	dst = AppendInt64(dst, m.ProducerID)
	dst = AppendInt16(dst, m.ProducerEpoch)
	dst = AppendBool(dst, m.Committed)
	return AppendEmptyTags(dst, flex)
}

// Decode replaces m with the request body decoded from b at version.
func (m *EndTxnRequest) Decode(b []byte, version int16) error {
	*m = EndTxnRequest{}
	if err := CheckVersion(KeyEndTxn, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyEndTxn, version)
	r := NewReader(b)
	m.TransactionalID = r.String(flex)
	m.ProducerID = r.Int64()
	m.ProducerEpoch = r.Int16()
	m.Committed = r.Bool()
	r.Tags(flex, nil)
	return decodeError(KeyEndTxn, version, "request", r.Complete())
}

// EndTxnResponse is the body of an EndTxn response (key 26, versions 0–5).
type EndTxnResponse struct {
	// ThrottleTimeMs is how long the broker throttled the request for quota, or 0.
	ThrottleTimeMs int32
	// ErrorCode is 0 or a Kafka error code; see [ErrorForCode].
	ErrorCode int16
	// ProducerID is the producer id to use from now on (v5+, KIP-890 part 2), default -1.
	ProducerID int64
	// ProducerEpoch is the bumped epoch to use from now on (v5+, KIP-890 part 2), default -1.
	ProducerEpoch int16
}

// Key returns [KeyEndTxn].
func (*EndTxnResponse) Key() int16 { return KeyEndTxn }

// AppendTo appends the response body encoded at version to dst. ProducerID and ProducerEpoch
// are written only from v5.
func (m *EndTxnResponse) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyEndTxn, version)
	dst = AppendInt32(dst, m.ThrottleTimeMs)
	dst = AppendInt16(dst, m.ErrorCode)
	if version >= 5 {
		dst = AppendInt64(dst, m.ProducerID)
		dst = AppendInt16(dst, m.ProducerEpoch)
	}
	return AppendEmptyTags(dst, flex)
}

// Decode replaces m with the response body decoded from b at version. Below v5 ProducerID
// and ProducerEpoch are -1.
func (m *EndTxnResponse) Decode(b []byte, version int16) error {
	*m = EndTxnResponse{ProducerID: -1, ProducerEpoch: -1}
	if err := CheckVersion(KeyEndTxn, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyEndTxn, version)
	r := NewReader(b)
	m.ThrottleTimeMs = r.Int32()
	m.ErrorCode = r.Int16()
	if version >= 5 {
		m.ProducerID = r.Int64()
		m.ProducerEpoch = r.Int16()
	}
	r.Tags(flex, nil)
	return decodeError(KeyEndTxn, version, "response", r.Complete())
}
