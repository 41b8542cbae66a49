package wire

// InitProducerIDRequest is the body of an InitProducerId request (key 22, versions 0–5,
// flexible from 2). An idempotent producer sends it to any broker to get a producer id and
// epoch; a transactional producer sends it to its transaction coordinator, which also fences
// older producers with the same transactional id.
type InitProducerIDRequest struct {
	// TransactionalID is the producer's transactional.id, or nil for a producer that is only
	// idempotent.
	TransactionalID *string
	// TransactionTimeoutMs is transaction.timeout.ms: how long the coordinator waits before
	// aborting an idle transaction. Brokers ignore it without a TransactionalID.
	TransactionTimeoutMs int32
	// ProducerID is the id the producer already holds, or -1 (v3+, KIP-360): with it the
	// coordinator bumps the epoch of that id instead of handing out a new one.
	ProducerID int64
	// ProducerEpoch is the epoch the producer already holds, or -1 (v3+, KIP-360).
	ProducerEpoch int16
}

// Key returns [KeyInitProducerID].
func (*InitProducerIDRequest) Key() int16 { return KeyInitProducerID }

// AppendTo appends the request body encoded at version to dst. ProducerID and ProducerEpoch
// are not written below v3.
func (m *InitProducerIDRequest) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyInitProducerID, version)
	dst = AppendNullableString(dst, m.TransactionalID, flex)
	dst = AppendInt32(dst, m.TransactionTimeoutMs)
	if version >= 3 {
		dst = AppendInt64(dst, m.ProducerID)
		dst = AppendInt16(dst, m.ProducerEpoch)
	}
	return AppendEmptyTags(dst, flex)
}

// Decode replaces m with the request body decoded from b at version. Below v3 ProducerID and
// ProducerEpoch are -1.
func (m *InitProducerIDRequest) Decode(b []byte, version int16) error {
	*m = InitProducerIDRequest{ProducerID: -1, ProducerEpoch: -1}
	if err := CheckVersion(KeyInitProducerID, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyInitProducerID, version)
	r := NewReader(b)
	m.TransactionalID = r.NullableString(flex)
	m.TransactionTimeoutMs = r.Int32()
	if version >= 3 {
		m.ProducerID = r.Int64()
		m.ProducerEpoch = r.Int16()
	}
	r.Tags(flex, nil)
	return decodeError(KeyInitProducerID, version, "request", r.Complete())
}

// InitProducerIDResponse is the body of an InitProducerId response (key 22, versions 0–5).
// v4 adds PRODUCER_FENCED and v5 TRANSACTION_ABORTABLE to the error codes it may carry; the
// fields are the same at every version.
type InitProducerIDResponse struct {
	// ThrottleTimeMs is how long the broker throttled the request for quota, or 0.
	ThrottleTimeMs int32
	// ErrorCode is 0 or a Kafka error code; see [ErrorForCode].
	ErrorCode int16
	// ProducerID is the producer id assigned (or kept), -1 on error.
	ProducerID int64
	// ProducerEpoch is the epoch that goes with ProducerID.
	ProducerEpoch int16
}

// Key returns [KeyInitProducerID].
func (*InitProducerIDResponse) Key() int16 { return KeyInitProducerID }

// AppendTo appends the response body encoded at version to dst.
func (m *InitProducerIDResponse) AppendTo(dst []byte, version int16) []byte {
	flex := IsFlexible(KeyInitProducerID, version)
	dst = AppendInt32(dst, m.ThrottleTimeMs)
	dst = AppendInt16(dst, m.ErrorCode)
	dst = AppendInt64(dst, m.ProducerID)
	dst = AppendInt16(dst, m.ProducerEpoch)
	return AppendEmptyTags(dst, flex)
}

// Decode replaces m with the response body decoded from b at version.
func (m *InitProducerIDResponse) Decode(b []byte, version int16) error {
	*m = InitProducerIDResponse{}
	if err := CheckVersion(KeyInitProducerID, version); err != nil {
		return err
	}
	flex := IsFlexible(KeyInitProducerID, version)
	r := NewReader(b)
	m.ThrottleTimeMs = r.Int32()
	m.ErrorCode = r.Int16()
	m.ProducerID = r.Int64()
	m.ProducerEpoch = r.Int16()
	r.Tags(flex, nil)
	return decodeError(KeyInitProducerID, version, "response", r.Complete())
}
